"""Benchmark flowzip against the usual lossless codecs on folders of images.

    flowzip bench DIR... -o OUT [--codecs png,webp,...] [--models default,...] [--max-images N]
    python -m bench DIR... -o OUT ...            (the same, from the repository root)

Every image of every folder is coded with every codec asked for; every output is decoded
and compared with the input pixels (``verified``), and every codec is charged the same
way: the whole file, in bits per sub-pixel (8 x bytes / (H x W x C)). Writes:

- ``OUT/results.json``: one record per image and codec (:class:`records.Record`);
- ``OUT/report.md`` with ``OUT/plots/*.png``: a table per set (a folder, or by default a
  folder and a file-name prefix: ``dev/set14_*``), a row per set at a glance, flowzip's
  overhead, tile coding paths and worst image against PNG, machine, versions, command;
- ``OUT/cache/<codec>/<folder>/<file>.json``: one result each, keyed by the image's size and
  mtime and by the codec's exact version and settings, so an interrupted run resumes and a
  re-run computes only what is missing (``--fresh`` ignores the cache).

Baselines: PNG (Pillow, optimize), WebP lossless (Pillow, method 6), JPEG XL lossless at
efforts 7 and 9, JPEG-LS and JPEG 2000 lossless (imagecodecs), QOI (imagecodecs, or
Pillow when it can write QOI). A codec whose library is missing is reported and skipped;
so is an unreadable file. Nothing here keeps module-level mutable state.

The modules, in the order a run uses them: :mod:`.cli` (options, the run), :mod:`.codecs`
(the codecs under test), :mod:`.runner` (finding and reading images, coding and verifying
them, the cache), :mod:`.report` (summaries, report.md) and :mod:`.plots`, all writing
:mod:`.records`. It is a subpackage rather than part of the repository's ``bench/`` folder
because the installed ``flowzip bench`` command runs it; nothing else in flowzip imports it.
"""

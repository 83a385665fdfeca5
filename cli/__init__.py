"""The ``flowzip`` command: gzip/zstd conventions with subcommands.

    flowzip compress [FILE...] [-o OUT | -c] [-f] [-k | --rm] [-1..-9 | -m MODEL] [--strip] [-q | -v]
    flowzip decompress [FILE.fz...] [-o OUT | -c] [-f] [-k | --rm] [-m MODEL_PATH] [--strip]
    flowzip info [FILE.fz...] [--json]     flowzip test [FILE.fz...]     flowzip models [--json]
    flowzip bench DIR... -o OUT [--codecs ...] [--models ...] [--max-images N]
    flowzip -d ... / -z ... / -t ... / -l ...: gzip's and zstd's mode flags for the command

Sources are kept unless ``--rm``; an existing output (a dangling symlink too) is never
overwritten without ``-f``; outputs are written to a temporary file and renamed, so an
error or Ctrl-C leaves nothing behind (a killed run's temporary goes with the next write of
that output), and get their source's permissions and modification time (as gzip's do). No
file named: standard input to standard output. Errors are one line on stderr. Exit status:
0 success, 1 error, 2 usage error (with the command's usage), 130 interrupted; a reader
that goes away (``| head``) ends the command quietly with status 1. Pillow's
decompression-bomb warning is not shown (its error, at twice the size, still refuses a
file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Callable

    from flowzip import Compressor, Decompressor

SUFFIX = ".fz"


class CliError(Exception):
    """One line for stderr; the file is skipped."""


# -- output -------------------------------------------------------------------------


def _write_atomic(path: Path, write, like: Path | None = None) -> None:
    """:func:`flowzip.files.write_atomic` over an output already checked (so it replaces
    what is there); a failure is one CliError line."""
    from flowzip.files import write_atomic

    try:
        write_atomic(path, write, overwrite=True, like=like)
    except OSError as e:
        raise CliError(f"{path}: cannot write ({e.strerror or e})") from None


def _check_output(out: Path, src: Path | None, force: bool) -> None:
    if src is not None and out.exists() and src.exists() and os.path.samefile(out, src):
        raise CliError(f"{out}: output is the input file; not overwritten")
    if (
        os.path.lexists(out) and not force
    ):  # a dangling symlink too: replacing it loses where it pointed
        raise CliError(f"{out} already exists; not overwritten (use -f to overwrite)")
    if out.exists() and not out.is_file():
        raise CliError(f"{out}: not a regular file; not overwritten")
    folder = out.parent
    if not folder.is_dir():
        raise CliError(f"{out}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"{out}: folder {folder} is not writable")


def _with_progress(args, name: str, work, data):
    """Run ``work(data, progress=...)`` with a bar of tiles on stderr (on a terminal, once
    the work takes over a second); returns (result, seconds)."""
    from flowzip.progress import ProgressLine, bar

    line = ProgressLine(sys.stderr.isatty() and not args.quiet, delay=1.0)

    def progress(done: int, total: int) -> None:
        line.show(f"{name}: {bar(done, total)} tiles")

    t0 = time.monotonic()
    try:
        result = work(data, progress=progress)
    finally:
        line.clear()
    return result, time.monotonic() - t0


def _say(args, line: str) -> None:
    if not args.quiet:
        print(line, file=sys.stderr)


def _detail(args, line: str) -> None:
    """A line for -v only."""
    if getattr(args, "verbose", 0) and not args.quiet:
        print(line, file=sys.stderr)


# -- commands -----------------------------------------------------------------------


def _read_input(name: str) -> tuple[bytes, Path | None]:
    if name == "-":
        return sys.stdin.buffer.read(), None
    path = Path(name)
    if not path.exists():
        raise CliError(f"{name}: no such file")
    if path.is_dir():
        raise CliError(f"{name}: a folder; skipped (-r goes into folders)")
    if not path.is_file():
        raise CliError(f"{name}: not a regular file; skipped")
    return path.read_bytes(), path


def _check_stdout(args) -> None:
    """Refuse a terminal as the output before any work (gzip and zstd do)."""
    if args.stdout:
        if sys.stdout is None:
            raise CliError("standard output is closed")
        if sys.stdout.isatty() and not args.force:
            raise CliError("refusing to write binary data to a terminal (use -f to force)")


def _emit(args, data_writer, out: Path | None, src: Path | None) -> str:
    """Send output to stdout (-c) or to ``out``; returns where it went."""
    if args.stdout:
        _check_stdout(args)
        try:
            data_writer(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        except BrokenPipeError:
            raise  # the reader has gone: main ends quietly, as gzip does
        except OSError as e:
            raise CliError(f"standard output: cannot write ({e.strerror or e})") from None
        return "stdout"
    assert out is not None
    _check_output(out, src, args.force)
    _write_atomic(out, data_writer, like=src)
    return str(out)


def _out_path(args, name: str, default: Path | None) -> Path | None:
    if args.stdout:
        return None
    if args.output:
        return Path(args.output)
    if default is None:
        raise CliError(f"{name}: reading stdin needs -o OUT or -c")
    return default


def _carried(attached) -> str:
    """'ICC profile, EXIF, 2 text chunks' (what a file carries), or ''."""
    parts = (["ICC profile"] if attached.icc_profile else []) + (["EXIF"] if attached.exif else [])
    if attached.text:
        parts.append(f"{len(attached.text)} text chunk{'s' if len(attached.text) > 1 else ''}")
    return ", ".join(parts)


def _lossy_source(im, raw: bytes) -> str | None:
    """What lossy format ``im`` was decoded from, or None: its pixels are not the original's
    signal, and stored losslessly they take more room than the file they came from."""
    if im.format in ("JPEG", "MPO"):
        return "a JPEG"
    if im.format == "WEBP":  # lossy WebP has a "VP8 " chunk, lossless a "VP8L"
        pos = 12
        while pos + 8 <= len(raw):
            fourcc, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
            if fourcc == b"VP8 ":
                return "a lossy WebP"
            pos += 8 + size + (size & 1)
    return None


def _open_image(source):
    """``Image.open`` without Pillow's DecompressionBombWarning (from 89 Mpx): flowzip codes
    a big image tile by tile and the user named the file, so a warning would only add lines
    to stderr. Pillow's error at twice that size stays, as the guard against a small file
    that claims a huge size."""
    import warnings

    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(source)


class _Compressing(NamedTuple):
    """What ``compress`` works with: the compressor, and with --rm the decompressor that
    checks each file written before its source goes (one for all files: it keeps the model)."""

    compressor: Compressor
    verifier: Decompressor | None


def _compressing(args) -> _Compressing:
    import flowzip

    compressor = flowzip.Compressor(args.model, backend=args.backend, threads=_threads(args))
    verifier = None
    if args.rm:
        models = [args.model] if Path(str(args.model)).is_file() else []
        verifier = flowzip.Decompressor(models=models, backend=args.backend, threads=_threads(args))
    return _Compressing(compressor, verifier)


def cmd_compress(args, name: str, worker: _Compressing) -> None:
    from flowzip import Attached
    from flowzip.container import is_flowzip
    from flowzip.files import load_image
    from flowzip.image import attached_of

    compressor = worker.compressor
    _check_stdout(args)
    raw, src = _read_input(name)
    if is_flowzip(raw):
        raise CliError(f"{name}: already a flowzip file")
    out = _out_path(args, name, None if src is None else src.with_name(src.name + SUFFIX))
    if out is not None:
        _check_output(out, src, args.force)  # before the work, as gzip does

    def refuse_lossy(im) -> None:
        lossy = _lossy_source(im, raw)
        if lossy:
            raise CliError(
                f"{name}: {lossy} is lossy: its decoded pixels would take more room than the file and "
                "could not give it back; keep it as it is (or convert it to PNG first)"
            )

    with load_image(raw, name, inspect=refuse_lossy) as im:
        attached = Attached() if args.strip else attached_of(im)
        encoded, seconds = _with_progress(
            args,
            name,
            lambda i, progress: compressor.encode(i, attached=attached, progress=progress),
            im,
        )
    where = _emit(args, lambda fh: fh.write(encoded.data), out, src)
    s = encoded.stats
    ratio = len(raw) / s.nbytes
    carried = _carried(attached)
    _say(
        args,
        f"{name}: {s.width}x{s.height}x{s.channels} -> {s.nbytes:,} B  {s.bpsp:.3f} bpsp "
        f"(model {s.model_bpsp:.3f})  {ratio:.2f}x vs input  {s.subpixels / s.channels / 1e6 / max(seconds, 1e-9):.2f} Mpx/s"
        + (f"  keeps {carried}" if carried else "")
        + ("" if where == "stdout" else f"  -> {where}"),
    )
    _detail(
        args,
        f"{name}: model {compressor.model.model_id}, tiles {', '.join(f'{n} {k}' for k, n in s.tile_paths.items())}, "
        f"{seconds:.2f} s",
    )
    if worker.verifier is not None and src is not None and where != "stdout":
        # never lose a source: decode what was written before removing it
        worker.verifier.decode(Path(where).read_bytes())
        src.unlink()


def _decompressor(args):
    import flowzip

    return flowzip.Decompressor(
        models=args.model or (), backend=args.backend, threads=_threads(args)
    )


def _image_writer(decoded, fmt: str, strip: bool):
    """The writer of the decoded image as ``fmt``, its PIL image, and the attached metadata
    it writes (TIFF: the ICC profile only); refuses (before any output file exists) what that
    format would not keep of the pixels."""
    from flowzip import Attached
    from flowzip.image import save_options

    im = decoded.to_pil()
    if (
        fmt == "PNG"
        and im.mode == "I"
        and int(decoded.array.min(initial=0)) >= 0
        and int(decoded.array.max(initial=0)) < 2**16
    ):
        im = im.convert("I;16")  # 16-bit values: PNG keeps them as a 16-bit gray image
    if fmt == "TIFF" and "transparency" in im.info:
        raise CliError("TIFF would drop this image's transparency (a tRNS colour key); write .png")
    other = "use -o NAME.tif" if fmt == "PNG" else "use -o NAME.png"
    options, kept = save_options(Attached() if strip else decoded.attached, fmt)

    def write(fh) -> None:
        try:
            im.save(fh, format=fmt, **options)
        except (OSError, ValueError, KeyError) as e:
            if (
                isinstance(e, OSError) and e.errno is not None
            ):  # the disk or the pipe, not the format
                raise
            raise CliError(
                f"{fmt} cannot hold mode {im.mode}; {other}, or the Python API"
            ) from None

    return write, im, kept


_OUT_FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}


def cmd_decompress(args, name: str, decompressor) -> None:
    from flowzip import Attached

    _check_stdout(args)
    raw, src = _read_input(name)
    default = None
    if src is not None and src.suffix.lower() == SUFFIX:
        stem = src.with_suffix("")
        default = stem if stem.suffix.lower() == ".png" else stem.with_name(stem.name + ".png")
    elif src is not None and not (args.output or args.stdout):
        raise CliError(
            f"{name}: unknown suffix (expected {SUFFIX}); name the output with -o OUT, or use -c"
        )
    out = _out_path(args, name, default)
    fmt = "PNG" if out is None else _OUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise CliError(f"{out}: output must be .png or .tif (lossless for every mode)")
    if out is not None:
        _check_output(out, src, args.force)
    decoded, seconds = _with_progress(args, name, decompressor.decode, raw)
    write, im, kept = _image_writer(decoded, fmt, args.strip)
    where = _emit(args, write, out, src)
    h = decoded.header
    _say(
        args,
        f"{name}: {h.width}x{h.height}x{h.channels} OK  {h.width * h.height / 1e6 / max(seconds, 1e-9):.2f} Mpx/s"
        + (f"  with {_carried(kept)}" if kept else "")
        + ("" if where == "stdout" else f"  -> {where}"),
    )
    a = decoded.attached
    lost = Attached(b"", b"" if kept.exif else a.exif, () if kept.text else a.text)
    if lost and not args.strip:
        _say(
            args,
            f"{name}: note: {fmt} has no place for its {_carried(lost)}; not written (write .png to keep them)",
        )
    _detail(args, f"{name}: model {h.model_id}, format v{h.version}, {seconds:.2f} s")
    if args.rm and src is not None and where != "stdout":
        _check_written(Path(where), im)
        src.unlink()


def _check_written(path: Path, im) -> None:
    """Before --rm removes a .fz: the image file written reads back to the same pixels."""
    import numpy as np

    with _open_image(path) as back:
        same = back.mode == im.mode and np.array_equal(np.asarray(back), np.asarray(im))
    if not same:
        raise CliError(f"{path}: does not read back to the decoded pixels; source kept")


def cmd_test(args, name: str, decompressor) -> None:
    raw, _ = _read_input(name)
    decompressor.decode(raw)
    _say(args, f"{name}: OK")


def _info_record(name: str, raw: bytes) -> dict:
    import flowzip
    from flowzip.container import read, tile_count

    h = read(raw)[0]  # the whole file's framing: a truncated file, or two, are errors, not a bpsp

    rec = asdict(h)
    rec["model_hash"] = h.model_hash.hex()
    rec["stream_count"] = len(h.stream_sizes)
    rec["tile_count"] = tile_count(h.width, h.height, h.tile)
    del rec["stream_sizes"], rec["version"]
    rec.update(
        file=name,
        format_version=h.version,
        bytes=len(raw),
        bpsp=8 * len(raw) / h.subpixels,
        tile_paths=flowzip.read_tile_paths(raw),
        attached=h.attached.summary(),
    )
    return rec


def _mode_line(header) -> str:
    """'RGB', 'RGB, coded as palette indices (227 colours)' or '3 x uint16', as the codec
    reads the header."""
    from flowzip.codec import index_colours, pillow_mode

    mode = pillow_mode(header) or f"{header.channels} x uint16"
    colours = index_colours(header)
    return mode if colours is None else f"{mode}, coded as palette indices ({colours} colours)"


def cmd_info(args, name: str, _unused) -> None:
    raw, _ = _read_input(name)
    rec = _info_record(name, raw)
    if args.json:
        print(json.dumps(rec))
        return
    from flowzip.container import read_header

    mode = _mode_line(read_header(raw)[0])
    a = rec["attached"]
    carried = (
        ", ".join(
            ([f"ICC profile {a['icc_profile']:,} B"] if "icc_profile" in a else [])
            + ([f"EXIF {a['exif']:,} B"] if "exif" in a else [])
            + ([f"text {', '.join(a['text'])}"] if "text" in a else [])
        )
        or "none"
    )
    print(
        f"{name}: flowzip v{rec['format_version']}  {rec['width']}x{rec['height']}x{rec['channels']}  mode {mode}\n"
        f"  model {rec['model_id']} ({rec['model_hash']})  tiles {rec['tile_count']} of {rec['tile']}px: "
        f"{', '.join(f'{n} {k}' for n, k in rec['tile_paths'].items())}\n"
        f"  metadata: {carried}\n"
        f"  {rec['bytes']:,} bytes  {rec['bpsp']:.3f} bpsp  CRC32 {rec['pixel_crc']:08x}"
    )


def cmd_models(args) -> int:
    import flowzip

    records = [
        {
            "name": m.name,
            "default": m.default,
            "bits_back": m.bits_back,
            "description": m.description,
            "dev_bpsp": m.dev_bpsp,
            "levels": list(m.levels),
            "speed_mpx_s": None
            if m.speed_mpx_s is None
            else {"compress": m.speed_mpx_s[0], "decompress": m.speed_mpx_s[1]},
        }
        for m in flowzip.MODELS
    ]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for r in records:
        bpsp = "n/a" if r["dev_bpsp"] is None else f"{r['dev_bpsp']:.3f}"
        speed = (
            ""
            if r["speed_mpx_s"] is None
            else "  {compress:.2f}/{decompress:.2f} Mpx/s".format(**r["speed_mpx_s"])
        )
        levels = r["levels"]
        level = (
            ""
            if not levels
            else f"  levels {levels[0]}-{levels[-1]}"
            if len(levels) > 1
            else f"  level {levels[0]}"
        )
        print(
            f"{r['name']}{' (default)' if r['default'] else ''}  dev {bpsp} bpsp{speed}  "
            f"bits-back {'yes' if r['bits_back'] else 'no'}{level}"
        )
        print(f"    {r['description']}")
    print(_backend_report(args.backend))
    return 0


def cmd_train(args) -> int:
    from flowzip.train.run import TrainOptions, stderr_say, train

    out = Path(args.output)
    if out.exists() and not args.force:
        raise CliError(f"{out} already exists (use -f to overwrite)")
    for folder in (args.data, args.dev):
        if folder and not Path(folder).is_dir():
            raise CliError(f"{folder}: not a folder")
    if args.init:
        from flowzip.registry import resolve

        resolve(args.init)  # an unknown model fails now, not after the first flow trained
    from flowzip.train.augment import AugmentMix

    try:
        AugmentMix.parse(args.augment)
    except ValueError as e:
        raise CliError(f"--augment: {e}") from None
    options = TrainOptions(
        data=args.data,
        out=out,
        dev=args.dev,
        init=args.init,
        steps=args.steps,
        gray_steps=args.gray_steps,
        hidden=args.hidden,
        checkerboard=args.checkerboard,
        scale_from_level=args.scale_from_level,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        seed=args.seed,
        threads=args.threads,
        run_dir=args.run_dir,
        eval_images=args.eval_images,
        augment=args.augment,
    )
    try:
        result = train(options, say=(lambda s: None) if args.quiet else stderr_say)
    except KeyboardInterrupt:
        print(
            "\nflowzip: interrupted; the same command resumes from the last checkpoint",
            file=sys.stderr,
        )
        return 130
    dev = (
        ""
        if result.dev_file_bpsp is None
        else f", dev {result.dev_file_bpsp:.4f} bpsp on {result.dev_images} images"
    )
    print(f"{result.model_path}: sha256 {result.sha256}{dev}, {result.seconds:.0f} s")
    return 0


# -- main -----------------------------------------------------------------------------


def _backend_report(chosen: str | None = None) -> str:
    """'backend numba (available: numba, reference, cuda)', or what is wrong with the choice."""
    from flowzip import FlowzipError
    from flowzip.kernels import available_backends, resolve_backend_name

    try:
        return (
            f"backend {resolve_backend_name(chosen)} (available: {', '.join(available_backends())})"
        )
    except FlowzipError as e:
        return str(e)


class _Version(argparse.Action):
    """``--version``: the backend report is made only when asked for (probing for a GPU may
    start the CUDA driver, which no other command should wait for)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(
            option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, nargs=0, **kwargs
        )

    def __call__(self, parser, namespace, values, option_string=None):
        from flowzip import __version__

        print(f"flowzip {__version__} ({_backend_report()})")
        parser.exit()


class _SubcommandParser(argparse.ArgumentParser):
    """A subcommand's parser: options and files in any order (as gzip takes them), and an
    unknown option reported with this subcommand's usage, not the top level's."""

    _intermixing = False

    def parse_known_args(self, args=None, namespace=None):
        if self._intermixing:  # parse_known_intermixed_args calls back here
            return super().parse_known_args(args, namespace)
        self._intermixing = True
        try:
            namespace, extras = self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return namespace, extras


class _Level(argparse.Action):
    """``-1`` .. ``-9``, ``--fast``, ``--best``: the shipped model of that level, as ``-m``
    would name it (the last of them and ``-m`` wins, as in gzip)."""

    def __init__(self, option_strings, dest, level: int, **kwargs):
        super().__init__(option_strings, dest, nargs=0, **kwargs)
        self.level = level

    def __call__(self, parser, namespace, values, option_string=None):
        from flowzip.registry import model_for_level

        setattr(namespace, self.dest, model_for_level(self.level))


def _levels_help() -> str:
    """'levels: 1-6 idf-base-v4 (the default), 7-9 idf-bb-v5', from the registry."""
    from flowzip.registry import MODELS

    spans = [
        f"{m.levels[0]}{f'-{m.levels[-1]}' if len(m.levels) > 1 else ''} {m.name}"
        + (" (the default)" if m.default else "")
        for m in MODELS
        if m.levels
    ]
    return "levels: " + ", ".join(spans)


def _add_file_options(sp, outputs: bool) -> None:
    """What every file command takes: files (none: standard input), and how much it says."""
    sp.add_argument(
        "files", nargs="*", metavar="FILE", help="input files ('-' or none: standard input)"
    )
    if outputs:
        sp.add_argument("-o", "--output", metavar="OUT", help="output file (one input only)")
        sp.add_argument(
            "-c",
            "--stdout",
            action="store_true",
            help="write to standard output (one input; the default when reading standard input)",
        )
        sp.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
        sp.add_argument("-k", "--keep", action="store_true", help="keep the sources (the default)")
        sp.add_argument(
            "--strip",
            action="store_true",
            help="without the ICC profile, EXIF and PNG text (kept by default)",
        )
    sp.add_argument("-q", "--quiet", action="store_true", help="no summary lines")
    sp.add_argument(
        "-v", "--verbose", action="count", default=0, help="also the model, tile paths and times"
    )
    sp.add_argument("--backend", help="compute backend (default: $FLOWZIP_BACKEND or the fastest)")
    sp.set_defaults(subparser=sp)


def _add_levels(sp) -> None:
    from flowzip.registry import LEVELS

    for level in LEVELS:
        sp.add_argument(
            f"-{level}",
            action=_Level,
            level=level,
            dest="model",
            help=f"-1 .. -9, {_levels_help()} (see 'flowzip models')"
            if level == 1
            else argparse.SUPPRESS,
        )
    sp.add_argument("--fast", action=_Level, level=LEVELS[0], dest="model", help="-1")
    sp.add_argument("--best", action=_Level, level=LEVELS[-1], dest="model", help="-9")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flowzip",
        description="Lossless image compression with integer discrete flows.",
        epilog="gzip's and zstd's mode flags name the command too: flowzip -d FILE.fz, "
        "-z (compress), -t (test), -l (info).",
    )
    p.add_argument(
        "--version", action=_Version, help="show the version and the compute backends usable here"
    )
    sub = p.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_SubcommandParser
    )

    c = sub.add_parser("compress", help="compress images to FILE.fz")
    _add_file_options(c, True)
    _add_batch_options(c)
    c.add_argument(
        "-m", "--model", default="default", help="model name (see 'flowzip models') or .npz path"
    )
    _add_levels(c)
    c.add_argument("--rm", action="store_true", help="remove each source after a verified success")
    d = sub.add_parser("decompress", help="decompress FILE.fz to PNG")
    _add_file_options(d, True)
    _add_batch_options(d)
    d.add_argument(
        "-m", "--model", action="append", help="extra model .npz that files may need (repeatable)"
    )
    d.add_argument(
        "--rm",
        action="store_true",
        help="remove each .fz once its image is written and reads back the same",
    )
    t = sub.add_parser("test", help="decode and check the CRC; write nothing")
    _add_file_options(t, False)
    t.add_argument("-m", "--model", action="append", help="extra model .npz (repeatable)")
    i = sub.add_parser("info", help="print the header: size, mode, model, bpsp, metadata carried")
    i.add_argument(
        "files", nargs="*", metavar="FILE", help="flowzip files ('-' or none: standard input)"
    )
    i.add_argument("--json", action="store_true")
    i.set_defaults(quiet=False, backend=None, subparser=i)
    from flowzip.bench import cli as bench_cli

    bench_cli.add_arguments(
        sub.add_parser("bench", help="benchmark against PNG, WebP, JPEG XL, ... (verified)")
    )
    tr = sub.add_parser("train", help="train or fine-tune a model on a folder of images")
    tr.add_argument(
        "data", help="folder of training images (any size; converted to RGB and to luma)"
    )
    tr.add_argument(
        "-o", "--output", required=True, metavar="MODEL.npz", help="the model file to write"
    )
    tr.add_argument(
        "--dev", help="folder of held-out images: dev bpsp while training, real files at the end"
    )
    tr.add_argument(
        "--init",
        metavar="MODEL",
        help="fine-tune this model ('default', a shipped name, or a .npz)",
    )
    tr.add_argument("--steps", type=int, default=4000, help="RGB flow steps (default 4000)")
    tr.add_argument("--gray-steps", type=int, help="grayscale flow steps (default steps/4)")
    tr.add_argument(
        "--hidden", type=int, default=64, help="RGB conditioner width, new models only (default 64)"
    )
    tr.add_argument(
        "--checkerboard",
        action="store_true",
        help="two-pass priors (an --init model is warm-started)",
    )
    tr.add_argument(
        "--scale-from-level",
        type=int,
        metavar="N",
        help="scale layers (bits-back) in levels N and up (an --init model is warm-started, scales at 1)",
    )
    tr.add_argument("--lr", type=float, help="learning rate (default 1e-3, fine-tuning 2e-4)")
    tr.add_argument("--batch", type=int, default=16)
    tr.add_argument("--crop", type=int, default=64)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument(
        "--augment",
        default="none",
        metavar="MIX",
        help="crops through flowzip.train.augment: none (default), default, or KIND=W,... "
        "(clean, chroma, jpeg, resample, noise)",
    )
    tr.add_argument("--threads", type=int, default=2)
    tr.add_argument("--run-dir", help="checkpoints and logs (default: MODEL.run beside the output)")
    tr.add_argument(
        "--eval-images", type=int, default=8, help="dev images coded for real at the end"
    )
    tr.add_argument("-f", "--force", action="store_true", help="overwrite an existing model file")
    tr.add_argument("-q", "--quiet", action="store_true", help="no progress")
    m = sub.add_parser("models", help="list the shipped models")
    m.add_argument("--json", action="store_true")
    m.add_argument("--backend")
    return p


# gzip's and zstd's mode flags, in place of the command word
_MODE_FLAGS = {
    "-z": "compress",
    "--compress": "compress",
    "-d": "decompress",
    "--decompress": "decompress",
    "--uncompress": "decompress",
    "-t": "test",
    "--test": "test",
    "-l": "info",
    "--list": "info",
}
_FLAG_LETTERS = set(
    "cfkqrv123456789"
)  # the short flags that take no value, which may share a cluster


def _command_from_mode_flags(argv: list[str]) -> list[str]:
    """``flowzip -d x.fz`` is ``flowzip decompress x.fz``; ``flowzip -dc x.fz`` is
    ``flowzip decompress -c x.fz``. Only when the command word is missing."""
    if not argv or not argv[0].startswith("-") or argv[0] in ("-h", "--help", "--version"):
        return argv
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg in _MODE_FLAGS:
            return [_MODE_FLAGS[arg], *argv[:i], *argv[i + 1 :]]
        if re.fullmatch(r"-[a-z0-9]{2,}", arg):
            modes = [ch for ch in arg[1:] if f"-{ch}" in _MODE_FLAGS]
            rest = arg[1:].replace(modes[0], "", 1) if len(modes) == 1 else ""
            if rest and set(rest) <= _FLAG_LETTERS:
                return [_MODE_FLAGS[f"-{modes[0]}"], *argv[:i], f"-{rest}", *argv[i + 1 :]]
    return argv


def _settle_inputs(args) -> None:
    """gzip's rules for what is read and where it goes; a contradiction is a usage error
    (exit 2, with the command's usage), found before any work."""
    error = args.subparser.error
    output, stdout = getattr(args, "output", None), getattr(args, "stdout", False)
    if not args.files:
        if sys.stdin is None or sys.stdin.isatty():
            error("no input files (and standard input is a terminal)")
        args.files = ["-"]
    _expand_folders(args)  # -r: the checks below count the files found
    if args.files.count("-") > 1:
        error("standard input ('-') can be read only once")
    if output and stdout:
        error("-o and -c exclude each other")
    if output and len(args.files) > 1:
        error("-o takes one input file")
    if stdout and len(args.files) > 1:
        error(
            "-c takes one input file: flowzip files and images do not concatenate (write one file each)"
        )
    if getattr(args, "keep", False) and getattr(args, "rm", False):
        error("-k and --rm exclude each other")
    if hasattr(args, "stdout") and args.files == ["-"] and not output:
        args.stdout = True  # standard input goes to standard output, as in gzip


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:  # the reader went away (| head): quietly, as gzip does
        _discard_stdout()
        return 1
    except KeyboardInterrupt:  # Ctrl-C while the modules load, before any file
        print("flowzip: interrupted", file=sys.stderr)
        return 130


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that Python's flush at exit finds no broken
    pipe to complain about."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def _main(argv: list[str] | None) -> int:
    argv = _command_from_mode_flags(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(argv)
    from flowzip import FlowzipError

    try:
        if getattr(
            args, "backend", None
        ):  # named, it must be usable, even where no file needs a flow
            from flowzip.kernels import resolve_backend_name

            resolve_backend_name(args.backend)
        if args.command == "models":
            return cmd_models(args)
        if args.command == "train":
            return cmd_train(args)
        if args.command == "bench":
            from flowzip.bench import cli as bench_cli

            return bench_cli.run(args)
        _settle_inputs(args)
        command: Callable[[argparse.Namespace, str, Any], None]
        if args.command == "compress":
            worker, command = _compressing(args), cmd_compress
        elif args.command == "info":
            worker, command = None, cmd_info
        else:
            worker = _decompressor(args)
            command = cmd_decompress if args.command == "decompress" else cmd_test
    except (CliError, FlowzipError, ValueError) as e:
        print(f"flowzip: {e}", file=sys.stderr)
        return 1
    return _run_files(args, command, worker)


# -- many files: -r, -j, -T ---------------------------------------------------------------


def _add_batch_options(sp) -> None:
    sp.add_argument(
        "-r",
        "--recursive",
        action="store_true",
        help="into folders, recursively: the images Pillow opens (decompress: the .fz files)",
    )
    sp.add_argument(
        "-j",
        "--jobs",
        type=_count,
        default=1,
        metavar="N",
        help="N files at a time, in processes (default 1)",
    )
    sp.add_argument(
        "-T",
        "--threads",
        type=_count,
        metavar="N",
        help="threads per file (default: one per core; with -j, the cores shared out)",
    )


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, not {text!r}")
    return int(text)


def _threads(args) -> int | None:
    from flowzip.batch import threads_per_job

    return threads_per_job(getattr(args, "jobs", 1), getattr(args, "threads", None))


def _expand_folders(args) -> None:
    """With -r, each folder named becomes the files under it that the command takes."""
    if not getattr(args, "recursive", False):
        return
    from flowzip.files import image_suffixes, walk

    if args.command == "compress":
        suffixes = image_suffixes()
        found = walk(args.files, lambda p: p.suffix.lower() in suffixes)
    else:
        found = walk(args.files, lambda p: p.suffix.lower() == SUFFIX)
    args.files = [str(path) for path, _ in found]  # "-" stays "-"


def _run_files(args, command, worker) -> int:
    """Each file in turn, or -j N at a time in worker processes that get the loaded worker
    once; the exit status is the worst file's."""
    from flowzip.batch import map_jobs

    jobs = getattr(args, "jobs", 1)
    if jobs > 1 and ("-" in args.files or getattr(args, "stdout", False)):
        print("flowzip: -j does not combine with standard input or -c", file=sys.stderr)
        return 1
    state = (
        argparse.Namespace(
            **{k: v for k, v in vars(args).items() if not isinstance(v, argparse.ArgumentParser)}
        ),
        command,
        worker,
    )
    try:
        return max(
            (status for _, status in map_jobs(_run_one, args.files, jobs=jobs, state=state)),
            default=0,
        )
    except KeyboardInterrupt:
        print("flowzip: interrupted", file=sys.stderr)
        return 130


def _run_one(state, name: str) -> int:
    """One file: 0, or 1 with its error on one line (the other files go on); 130 on Ctrl-C."""
    from flowzip import FlowzipError

    args, command, worker = state
    try:
        command(args, name, worker)
    except KeyboardInterrupt:
        print(f"flowzip: {name}: interrupted", file=sys.stderr)
        return 130
    except (CliError, FlowzipError) as e:
        message = str(e)
        print(
            f"flowzip: {message if message.startswith(name) else f'{name}: {message}'}",
            file=sys.stderr,
        )
        return 1
    except BrokenPipeError:
        raise  # no reader for the other files either: main ends quietly
    except OSError as e:
        print(f"flowzip: {name}: {e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001  a bug of ours: still one line, the other files go on
        print(f"flowzip: {name}: internal error ({e.__class__.__name__}: {e})", file=sys.stderr)
        return 1
    return 0

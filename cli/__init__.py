"""The ``flowzip`` command: gzip/zstd conventions with subcommands.

    flowzip compress FILE... [-o OUT | -c] [-f] [--rm] [-m MODEL]
    flowzip decompress FILE.fz... [-o OUT | -c] [-f] [-m MODEL_PATH]
    flowzip info FILE.fz... [--json]     flowzip test FILE.fz...     flowzip models [--json]
    flowzip bench DIR... -o OUT [--codecs ...] [--models ...] [--max-images N]

Sources are kept unless ``--rm``; an existing output is never overwritten without ``-f``;
outputs are written to a temporary file and renamed, so an error or Ctrl-C leaves nothing
behind. Errors are one line on stderr. Exit status: 0 success, 1 error, 2 usage error.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

SUFFIX = ".fz"


class CliError(Exception):
    """One line for stderr; the file is skipped."""


# -- output -------------------------------------------------------------------------


def _write_atomic(path: Path, write) -> None:
    """Write via a temporary file in the same folder, fsync, rename; remove it on failure."""
    tmp = path.with_name(f".{path.name[:200]}.{os.getpid()}.tmp")  # fits where the name fits
    try:
        with open(tmp, "xb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise CliError(f"{path}: cannot write ({e.strerror or e})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _check_output(out: Path, src: Path | None, force: bool) -> None:
    if src is not None and out.exists() and src.exists() and os.path.samefile(out, src):
        raise CliError(f"{out}: output is the input file; not overwritten")
    if out.exists() and not force:
        raise CliError(f"{out} already exists; not overwritten (use -f to overwrite)")
    if out.exists() and not out.is_file():
        raise CliError(f"{out}: not a regular file; not overwritten")
    folder = out.parent
    if not folder.is_dir():
        raise CliError(f"{out}: no such folder {folder}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(f"{out}: folder {folder} is not writable")


class _Progress:
    """A progress bar on stderr, only on a terminal and only once work takes over a second."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled, self.start, self.shown = label, enabled, time.monotonic(), False

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.start < 1.0:
            return
        width = 30
        fill = int(width * done / max(1, total))
        sys.stderr.write(f"\r{self.label} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} tiles")
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _with_progress(args, name: str, work, data):
    """Run ``work(data, progress=...)`` with a progress bar; returns (result, seconds)."""
    progress = _Progress(f"{name}:", sys.stderr.isatty() and not args.quiet)
    t0 = time.monotonic()
    try:
        result = work(data, progress=progress)
    finally:
        progress.close()
    return result, time.monotonic() - t0


def _say(args, line: str) -> None:
    if not args.quiet:
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


def _emit(args, data_writer, out: Path | None, src: Path | None) -> str:
    """Send output to stdout (-c) or to ``out``; returns where it went."""
    if args.stdout:
        if sys.stdout is None:
            raise CliError("standard output is closed")
        if sys.stdout.isatty() and not args.force:
            raise CliError("refusing to write binary data to a terminal (use -f to force)")
        data_writer(sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return "stdout"
    assert out is not None
    _check_output(out, src, args.force)
    _write_atomic(out, data_writer)
    return str(out)


def _out_path(args, name: str, default: Path | None) -> Path | None:
    if args.stdout:
        return None
    if args.output:
        return Path(args.output)
    if default is None:
        raise CliError(f"{name}: reading stdin needs -o OUT or -c")
    return default


def cmd_compress(args, name: str, compressor) -> None:
    from PIL import Image, UnidentifiedImageError

    from flowzip.container import is_flowzip

    from flowzip.image import check_pil_source

    raw, src = _read_input(name)
    if is_flowzip(raw):
        raise CliError(f"{name}: already a flowzip file")
    out = _out_path(args, name, None if src is None else src.with_name(src.name + SUFFIX))
    if out is not None:
        _check_output(out, src, args.force)  # before the work, as gzip does
    try:
        with Image.open(io.BytesIO(raw)) as im:
            check_pil_source(im)
            im.load()
            encoded, seconds = _with_progress(args, name, compressor.encode, im)
    except Image.DecompressionBombError:
        raise CliError(f"{name}: image too large (Pillow's decompression-bomb limit)") from None
    except (UnidentifiedImageError, SyntaxError):
        raise CliError(f"{name}: not a readable image") from None
    except OSError as e:
        raise CliError(f"{name}: cannot read image ({e})") from None
    where = _emit(args, lambda fh: fh.write(encoded.data), out, src)
    s = encoded.stats
    ratio = len(raw) / s.nbytes
    _say(
        args,
        f"{name}: {s.width}x{s.height}x{s.channels} -> {s.nbytes:,} B  {s.bpsp:.3f} bpsp "
        f"(model {s.model_bpsp:.3f})  {ratio:.2f}x vs input  {s.subpixels / s.channels / 1e6 / max(seconds, 1e-9):.2f} Mpx/s"
        + ("" if where == "stdout" else f"  -> {where}"),
    )
    if args.rm and src is not None and where != "stdout":
        # never lose a source: decode what was written before removing it
        import flowzip

        check = flowzip.Decompressor(models=[args.model] if Path(str(args.model)).is_file() else [])
        check.decode(Path(where).read_bytes())
        src.unlink()


def _decompressor(args):
    import flowzip

    return flowzip.Decompressor(models=args.model or (), backend=args.backend, threads=_threads(args))


def _png_writer(decoded, fmt: str):
    """The writer of the decoded image as ``fmt``; refuses (before any output file exists)
    what that format would not keep."""
    im = decoded.to_pil()
    if fmt == "PNG" and im.mode == "I" and int(decoded.array.min(initial=0)) >= 0 and int(decoded.array.max(initial=0)) < 2**16:
        im = im.convert("I;16")  # 16-bit values: PNG keeps them as a 16-bit gray image
    if fmt == "TIFF" and "transparency" in im.info:
        raise CliError("TIFF would drop this image's transparency (a tRNS colour key); write .png")
    other = "use -o NAME.tif" if fmt == "PNG" else "use -o NAME.png"

    def write(fh) -> None:
        try:
            im.save(fh, format=fmt)
        except (OSError, ValueError, KeyError):
            raise CliError(f"{fmt} cannot hold mode {im.mode}; {other}, or the Python API") from None

    return write


_OUT_FORMATS = {".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}


def cmd_decompress(args, name: str, decompressor) -> None:
    raw, src = _read_input(name)
    default = None
    if src is not None and src.suffix.lower() == SUFFIX:
        stem = src.with_suffix("")
        default = stem if stem.suffix.lower() == ".png" else stem.with_name(stem.name + ".png")
    elif src is not None and not (args.output or args.stdout):
        raise CliError(f"{name}: unknown suffix (expected {SUFFIX}); name the output with -o OUT, or use -c")
    out = _out_path(args, name, default)
    fmt = "PNG" if out is None else _OUT_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise CliError(f"{out}: output must be .png or .tif (lossless for every mode)")
    if out is not None:
        _check_output(out, src, args.force)
    decoded, seconds = _with_progress(args, name, decompressor.decode, raw)
    where = _emit(args, _png_writer(decoded, fmt), out, src)
    h = decoded.header
    _say(args, f"{name}: {h.width}x{h.height}x{h.channels} OK  {h.width * h.height / 1e6 / max(seconds, 1e-9):.2f} Mpx/s"
         + ("" if where == "stdout" else f"  -> {where}"))


def cmd_test(args, name: str, decompressor) -> None:
    raw, _ = _read_input(name)
    decompressor.decode(raw)
    _say(args, f"{name}: OK")


def _info_record(name: str, raw: bytes) -> dict:
    import flowzip

    h = flowzip.read_header(raw)
    from flowzip.container import tile_count

    rec = asdict(h)
    rec["model_hash"] = h.model_hash.hex()
    rec["stream_count"] = len(h.stream_sizes)
    rec["tile_count"] = tile_count(h.width, h.height, h.tile)
    del rec["stream_sizes"], rec["version"]
    rec.update(file=name, format_version=h.version, bytes=len(raw), bpsp=8 * len(raw) / h.subpixels,
               tile_paths=flowzip.read_tile_paths(raw))
    return rec


def _default_mode(channels: int, bytes_per_sample: int) -> str:
    from flowzip.image import default_mode

    return default_mode(channels, bytes_per_sample) or f"{channels} x uint16"


def cmd_info(args, name: str, _unused) -> None:
    raw, _ = _read_input(name)
    rec = _info_record(name, raw)
    if args.json:
        print(json.dumps(rec))
        return
    mode = rec["meta"].get("mode") or _default_mode(rec["channels"], rec["bytes_per_sample"])
    if "index_palette" in rec["meta"]:
        mode += f", coded as palette indices ({len(rec['meta']['index_palette']) * 3 // 4 // 3} colours)"
    print(
        f"{name}: flowzip v{rec['format_version']}  {rec['width']}x{rec['height']}x{rec['channels']}  mode {mode}\n"
        f"  model {rec['model_id']} ({rec['model_hash']})  tiles {rec['tile_count']} of {rec['tile']}px: "
        f"{', '.join(f'{n} {k}' for n, k in rec['tile_paths'].items())}\n"
        f"  {rec['bytes']:,} bytes  {rec['bpsp']:.3f} bpsp  CRC32 {rec['pixel_crc']:08x}"
    )


def cmd_models(args) -> int:
    import flowzip
    from flowzip.kernels import resolve_backend_name

    resolve_backend_name(args.backend)  # an unknown backend is an error (exit 1), not a report line

    records = [
        {"name": m.name, "default": m.default, "bits_back": m.bits_back, "description": m.description,
         "dev_bpsp": m.dev_bpsp,
         "speed_mpx_s": None if m.speed_mpx_s is None else {"compress": m.speed_mpx_s[0], "decompress": m.speed_mpx_s[1]}}
        for m in flowzip.MODELS
    ]
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    for r in records:
        bpsp = "n/a" if r["dev_bpsp"] is None else f"{r['dev_bpsp']:.3f}"
        speed = "" if r["speed_mpx_s"] is None else "  {compress:.2f}/{decompress:.2f} Mpx/s".format(**r["speed_mpx_s"])
        print(f"{r['name']}{' (default)' if r['default'] else ''}  dev {bpsp} bpsp{speed}  "
              f"bits-back {'yes' if r['bits_back'] else 'no'}")
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
        data=args.data, out=out, dev=args.dev, init=args.init, steps=args.steps, gray_steps=args.gray_steps,
        hidden=args.hidden, checkerboard=args.checkerboard, scale_from_level=args.scale_from_level,
        batch=args.batch, crop=args.crop, lr=args.lr, seed=args.seed, threads=args.threads,
        run_dir=args.run_dir, eval_images=args.eval_images, augment=args.augment,
    )
    try:
        result = train(options, say=(lambda s: None) if args.quiet else stderr_say)
    except KeyboardInterrupt:
        print("\nflowzip: interrupted; the same command resumes from the last checkpoint", file=sys.stderr)
        return 130
    dev = "" if result.dev_file_bpsp is None else f", dev {result.dev_file_bpsp:.4f} bpsp on {result.dev_images} images"
    print(f"{result.model_path}: sha256 {result.sha256}{dev}, {result.seconds:.0f} s")
    return 0


# -- main -----------------------------------------------------------------------------


def _backend_report(chosen: str | None = None) -> str:
    """'backend numba (available: numba, reference, cuda)', or what is wrong with the choice."""
    from flowzip import FlowzipError
    from flowzip.kernels import available_backends, resolve_backend_name

    try:
        return f"backend {resolve_backend_name(chosen)} (available: {', '.join(available_backends())})"
    except FlowzipError as e:
        return str(e)


def _parser() -> argparse.ArgumentParser:
    from flowzip import __version__

    p = argparse.ArgumentParser(prog="flowzip", description="Lossless image compression with integer discrete flows.")
    p.add_argument("--version", action="version", version=f"flowzip {__version__} ({_backend_report()})")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(sp, outputs: bool):
        sp.add_argument("files", nargs="+", metavar="FILE", help="input files ('-' for stdin)")
        if outputs:
            sp.add_argument("-o", "--output", metavar="OUT", help="output file (one input only)")
            sp.add_argument("-c", "--stdout", action="store_true", help="write to standard output")
            sp.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
        sp.add_argument("-q", "--quiet", action="store_true", help="no summary lines")
        sp.add_argument("--backend", help="compute backend (default: $FLOWZIP_BACKEND or the fastest)")

    c = sub.add_parser("compress", help="compress images to FILE.fz")
    common(c, True)
    _add_batch_options(c)
    c.add_argument("-m", "--model", default="default", help="model name (see 'flowzip models') or .npz path")
    c.add_argument("--rm", action="store_true", help="remove each source after a verified success")
    d = sub.add_parser("decompress", help="decompress FILE.fz to PNG")
    common(d, True)
    _add_batch_options(d)
    d.add_argument("-m", "--model", action="append", help="extra model .npz that files may need (repeatable)")
    t = sub.add_parser("test", help="decode and check the CRC; write nothing")
    common(t, False)
    t.add_argument("-m", "--model", action="append", help="extra model .npz (repeatable)")
    i = sub.add_parser("info", help="print the header: size, mode, model, bpsp")
    i.add_argument("files", nargs="+", metavar="FILE")
    i.add_argument("--json", action="store_true")
    i.set_defaults(quiet=False, backend=None)
    from flowzip import benchmark

    benchmark.add_arguments(sub.add_parser("bench", help="benchmark against PNG, WebP, JPEG XL, ... (verified)"))
    tr = sub.add_parser("train", help="train or fine-tune a model on a folder of images")
    tr.add_argument("data", help="folder of training images (any size; converted to RGB and to luma)")
    tr.add_argument("-o", "--output", required=True, metavar="MODEL.npz", help="the model file to write")
    tr.add_argument("--dev", help="folder of held-out images: dev bpsp while training, real files at the end")
    tr.add_argument("--init", metavar="MODEL", help="fine-tune this model ('default', a shipped name, or a .npz)")
    tr.add_argument("--steps", type=int, default=4000, help="RGB flow steps (default 4000)")
    tr.add_argument("--gray-steps", type=int, help="grayscale flow steps (default steps/4)")
    tr.add_argument("--hidden", type=int, default=64, help="RGB conditioner width, new models only (default 64)")
    tr.add_argument("--checkerboard", action="store_true", help="two-pass priors (an --init model is warm-started)")
    tr.add_argument("--scale-from-level", type=int, metavar="N",
                    help="scale layers (bits-back) in levels N and up (an --init model is warm-started, scales at 1)")
    tr.add_argument("--lr", type=float, help="learning rate (default 1e-3, fine-tuning 2e-4)")
    tr.add_argument("--batch", type=int, default=16)
    tr.add_argument("--crop", type=int, default=64)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--augment", default="none", metavar="MIX",
                    help="crops through flowzip.train.augment: none (default), default, or KIND=W,... "
                         "(clean, chroma, jpeg, resample, noise)")
    tr.add_argument("--threads", type=int, default=2)
    tr.add_argument("--run-dir", help="checkpoints and logs (default: MODEL.run beside the output)")
    tr.add_argument("--eval-images", type=int, default=8, help="dev images coded for real at the end")
    tr.add_argument("-f", "--force", action="store_true", help="overwrite an existing model file")
    tr.add_argument("-q", "--quiet", action="store_true", help="no progress")
    m = sub.add_parser("models", help="list the shipped models")
    m.add_argument("--json", action="store_true")
    m.add_argument("--backend")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    import flowzip
    from flowzip import FlowzipError

    try:
        if args.command == "models":
            return cmd_models(args)
        if args.command == "train":
            return cmd_train(args)
        if args.command == "bench":
            from flowzip import benchmark

            return benchmark.run(args)
        _expand_folders(args)
        if getattr(args, "output", None) and len(args.files) > 1:
            raise CliError("-o takes one input file")
        if getattr(args, "output", None) and getattr(args, "stdout", False):
            print("flowzip: -o and -c exclude each other", file=sys.stderr)
            return 2
        if args.command == "compress":
            worker, command = flowzip.Compressor(args.model, backend=args.backend, threads=_threads(args)), cmd_compress
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
    sp.add_argument("-r", "--recursive", action="store_true",
                    help="into folders, recursively: the images Pillow opens (decompress: the .fz files)")
    sp.add_argument("-j", "--jobs", type=_count, default=1, metavar="N", help="N files at a time, in processes (default 1)")
    sp.add_argument("-T", "--threads", type=_count, metavar="N",
                    help="threads per file (default: one per core; with -j, the cores shared out)")


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
    from flowzip.batch import image_extensions, walk

    if args.command == "compress":
        exts = image_extensions()
        found = walk(args.files, lambda p: p.suffix.lower() in exts)
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
    state = (argparse.Namespace(**{k: v for k, v in vars(args).items() if not isinstance(v, argparse.ArgumentParser)}),
             command, worker)
    try:
        return max((status for _, status in map_jobs(_run_one, args.files, jobs=jobs, state=state)), default=0)
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
        print(f"flowzip: {message if message.startswith(name) else f'{name}: {message}'}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"flowzip: {name}: {e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:  # a bug of ours: still one line, and the other files go on
        print(f"flowzip: {name}: internal error ({e.__class__.__name__}: {e})", file=sys.stderr)
        return 1
    return 0

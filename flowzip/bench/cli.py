"""The benchmark's command line: ``python -m bench`` (:func:`main`) and ``flowzip bench``
(:func:`add_arguments` on its subparser, then :func:`run`).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="python -m bench")
    >>> add_arguments(parser)
    >>> args = parser.parse_args(["photos", "-o", "out", "--codecs", "png,gif"])
    >>> check_args(args)
    "unknown codec 'gif' (known: flowzip, flowzip:MODEL, png, webp, jxl-e7, jxl-e9, jpegls, jpeg2000, qoi)"
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from .codecs import BASELINES, build_codecs, parse_codec_list, unknown_codec
from .records import FLOWZIP, RunResult

KNOWN = f"{FLOWZIP}, {FLOWZIP}:MODEL, {', '.join(BASELINES)}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The benchmark's options, for ``flowzip bench`` and ``python -m bench`` alike."""
    parser.add_argument(
        "dirs", nargs="+", metavar="DIR", help="folders of images (searched recursively)"
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="folder for results.json, report.md, plots/ and cache/",
    )
    parser.add_argument(
        "--codecs",
        action="append",
        metavar="LIST",
        help=f"comma-separated codecs (default all): {KNOWN}",
    )
    parser.add_argument(
        "--models",
        action="append",
        metavar="LIST",
        help="comma-separated flowzip models: names or .npz paths (default: default)",
    )
    parser.add_argument(
        "--sets",
        choices=("prefix", "folder"),
        default="prefix",
        help="one report table per folder, or (default) per folder and file-name prefix "
        "before '_' (dev/set14_lenna.png is in set dev/set14)",
    )
    parser.add_argument(
        "--max-images", type=int, metavar="N", help="at most N images of each set (in path order)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="threads per codec (torch and numba for flowzip, JPEG XL, JPEG 2000); default 1",
    )
    parser.add_argument(
        "--backend", help="flowzip compute backend (default: $FLOWZIP_BACKEND or the fastest)"
    )
    parser.add_argument(
        "--fresh", action="store_true", help="ignore cached results (they are still rewritten)"
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no per-image lines (problems are still shown)"
    )


def check_args(args: argparse.Namespace) -> str | None:
    """Why ``args`` cannot run, in one line, or None."""
    names = parse_codec_list(args.codecs)
    unknown = unknown_codec(names)
    if unknown is not None:
        return f"unknown codec {unknown!r} (known: {KNOWN})"
    if args.max_images is not None and args.max_images < 1:
        return "--max-images must be at least 1"
    if args.threads < 1:
        return "--threads must be at least 1"
    if any(n.startswith(FLOWZIP) for n in names):
        from flowzip.threads import check_threads

        try:
            check_threads(args.threads)  # flowzip's numba pool has a fixed size
        except ValueError as e:
            return f"--threads {args.threads}: {str(e).split(': ', 1)[-1]}"
    return None


def _models(values: Sequence[str] | None) -> list[str]:
    return list(
        dict.fromkeys(m.strip() for v in (values or ["default"]) for m in v.split(",") if m.strip())
    )


def command_line(prog: str | None = None, argv: Sequence[str] | None = None) -> str:
    """The command as typed, for the report: ``prog`` and ``argv`` when given, else
    ``sys.argv`` (its ``.../bench/__main__.py`` shown as ``python -m bench``)."""
    if prog is None:
        first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("flowzip")
        prog = f"python -m {first.parent.name}" if first.name == "__main__.py" else first.name
    args = sys.argv[1:] if argv is None else list(argv)
    return f"{prog} {shlex.join(args)}".strip()


def run(args: argparse.Namespace, *, command: str | None = None) -> int:
    """Run the benchmark for parsed ``args``. Exit status: 0 done, 1 a codec failed or
    decoded wrong pixels (or nothing to do), 2 usage error, 130 interrupted."""
    from .plots import write_plots
    from .report import write_report, write_results
    from .runner import Cache, Progress, discover, folder_names, run_all

    error = check_args(args)
    if error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    out = Path(args.output)
    images, problems = discover(args.dirs, args.max_images, args.sets)
    for p in problems:
        print(f"bench: {p.what}: {p.reason}", file=sys.stderr)
    if not images:
        print("bench: no images to benchmark", file=sys.stderr)
        return 1
    try:
        codecs, unavailable = build_codecs(
            parse_codec_list(args.codecs), _models(args.models), args.threads, args.backend
        )
        for u in unavailable:
            print(f"bench: codec {u.name} unavailable, skipped: {u.reason}", file=sys.stderr)
        if not codecs:
            print("bench: no codec available", file=sys.stderr)
            return 1
        progress = Progress(len(images), sys.stderr.isatty(), args.quiet)
        records, bad, computed, cached = run_all(
            images, codecs, Cache(out / "cache", not args.fresh), progress
        )
    except KeyboardInterrupt:
        clear = "\r\033[K" if sys.stderr.isatty() else ""
        print(
            f"{clear}bench: interrupted; finished results are cached: run again to resume",
            file=sys.stderr,
        )
        return 130
    folders = dict(
        zip(folder_names([Path(d) for d in args.dirs]), args.dirs, strict=True)
    )  # folder name -> the path as given
    result = RunResult(records, codecs, unavailable, problems + bad, computed, cached, folders)
    out.mkdir(parents=True, exist_ok=True)
    write_results(out, records)
    plots, no_plots = write_plots(out, records, [c.name for c in codecs])
    if no_plots:
        print(f"bench: {no_plots}", file=sys.stderr)
    report = write_report(out, result, command or command_line(), args.threads, plots)
    print(
        f"bench: {len(records)} results ({computed} computed, {cached} from the cache) -> {report}",
        file=sys.stderr,
    )
    failed = [r for r in records if r.bytes is None or not r.verified]
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bench``: parse ``argv`` (default: the command line) and run."""
    import flowzip.bench

    parser = argparse.ArgumentParser(
        prog="python -m bench", description=flowzip.bench.__doc__.split("\n\n")[0]
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    command = command_line() if argv is None else command_line("python -m bench", argv)
    return run(args, command=command)

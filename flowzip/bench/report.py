"""The report: per-set summaries (bpsp as total bits over total sub-pixels, speeds as
medians) and report.md, with the machine, the library versions and each codec's settings.

Example:
    >>> from .records import Record
    >>> rows = [Record("s/a.png", "s", "png", 8, 8, 3, "RGB", 96, 4.0, 1.0, 2.0, True)]
    >>> summary, left_out = summarize(rows, ["png"])
    >>> summary[0].bpsp, left_out
    (4.0, [])
    >>> _table(["codec", "bpsp"], [["png", "4.000"]])
    ['| codec | bpsp |', '|---|---|', '| png | 4.000 |']
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from flowzip.files import write_atomic

from .records import FLOWZIP, CodecSummary, Record, RunResult

# -- summaries ----------------------------------------------------------------------


def common_images(
    records: Sequence[Record], codec_names: Sequence[str]
) -> tuple[list[str], list[str]]:
    """(images every codec has a result for, images left out because some codec failed)."""
    have: dict[str, set[str]] = {}
    for r in records:
        if r.bytes is not None:
            have.setdefault(r.image, set()).add(r.codec)
    images = list(dict.fromkeys(r.image for r in records))
    full = [im for im in images if have.get(im, set()) >= set(codec_names)]
    return full, [im for im in images if im not in full]


def _worst_vs_png(rs: Sequence[Record], png: dict[str, int]) -> tuple[str, float] | None:
    """The image whose file is largest against PNG's, and that ratio (None without PNG)."""
    ratios = [(r.bytes / png[r.image], r.image) for r in rs if r.bytes and png.get(r.image)]
    if not ratios:
        return None
    ratio, image = max(ratios, key=lambda x: x[0])
    return image, ratio


def _sum_tile_paths(rs: Sequence[Record]) -> tuple[dict[str, int] | None, int]:
    """Tiles per coding path over the records that carry them, and how many do."""
    total: dict[str, int] = {}
    counted = 0
    for r in rs:
        if r.tile_paths is not None:
            counted += 1
            for name, n in r.tile_paths.items():
                total[name] = total.get(name, 0) + n
    return (total if counted else None), counted


def summarize(
    records: Sequence[Record], codec_names: Sequence[str]
) -> tuple[list[CodecSummary], list[str]]:
    """Per codec: bpsp as total bits over total sub-pixels, speeds as medians over images.
    For flowzip also its overhead, its tiles' coding paths and its worst image against PNG
    (when PNG is in the run), over the same images."""
    included, left_out = common_images(records, codec_names)
    keep = set(included)
    png = {r.image: r.bytes for r in records if r.codec == "png" and r.image in keep and r.bytes}
    rows = []
    for name in codec_names:
        rs = [r for r in records if r.codec == name and r.image in keep]
        if not rs:
            continue
        sub = sum(r.subpixels for r in rs)
        row = CodecSummary(
            codec=name,
            images=len(rs),
            bpsp=8.0 * sum(r.bytes or 0 for r in rs) / sub,
            enc_mpps=statistics.median(r.enc_mpps or 0.0 for r in rs),
            dec_mpps=statistics.median(r.dec_mpps or 0.0 for r in rs),
            verified=sum(r.verified for r in rs),
        )
        if name.startswith(FLOWZIP):
            tiles, tile_images = _sum_tile_paths(rs)
            row = CodecSummary(
                **{
                    **asdict(row),
                    "model_bpsp": sum((r.model_bpsp or 0.0) * r.subpixels for r in rs) / sub,
                    "header_bpsp": 8.0 * sum(r.header_bytes or 0 for r in rs) / sub,
                    "padding_bpsp": 8.0 * sum(r.padding_bytes or 0.0 for r in rs) / sub,
                    "escapes": sum(r.escapes or 0 for r in rs),
                    "tile_paths": tiles,
                    "tile_path_images": tile_images,
                    "worst_vs_png": _worst_vs_png(rs, png) if "png" in codec_names else None,
                },
            )
        rows.append(row)
    return rows, left_out


# -- environment --------------------------------------------------------------------


def machine_info() -> dict[str, str]:
    """CPU model (from /proc/cpuinfo where there is one), cores, memory, OS."""
    cpu = platform.processor() or platform.machine()
    mem = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.split(":")[0].strip() in ("model name", "Model", "Hardware"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "memory": mem or "unknown",
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def library_versions() -> dict[str, str]:
    """Versions of everything whose speed or output the numbers depend on."""
    from importlib import metadata

    versions: dict[str, str] = {}
    for dist in (
        "flowzip",
        "numpy",
        "torch",
        "constriction",
        "pillow",
        "imagecodecs",
        "matplotlib",
    ):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "not installed"
    from PIL import features

    versions["libwebp"] = features.version("webp") or "n/a"
    versions["zlib (Pillow)"] = features.version("zlib") or "n/a"
    try:
        import imagecodecs

        for lib in ("jpegxl", "jpegls", "jpeg2k", "qoi"):
            versions[f"{lib} (imagecodecs)"] = getattr(imagecodecs, f"{lib}_version")()
    except (ImportError, AttributeError):
        pass
    return versions


# -- report.md ----------------------------------------------------------------------


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _speed(x: float) -> str:
    return f"{x:.3g}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _set_section(title: str, records: Sequence[Record], names: Sequence[str]) -> list[str]:
    rows, left_out = summarize(records, names)
    n_images = len({r.image for r in records})
    lines = [f"## {title}", ""]
    if not rows:
        return [*lines, "No image was coded by every codec.", ""]
    lines.append(f"{rows[0].images} of {n_images} images in the totals.")
    if left_out:
        lines.append(f" Left out because a codec failed on them: {', '.join(left_out)}.")
    lines.append("")
    png = next((r.bpsp for r in rows if r.codec == "png"), None)
    body = []
    for r in rows:
        check = f"{r.verified}/{r.images}" + ("" if r.verified == r.images else " **MISMATCH**")
        vs_png = f"{100 * r.bpsp / png:.1f}%" if png else "n/a"
        body.append([r.codec, _fmt(r.bpsp), vs_png, _speed(r.enc_mpps), _speed(r.dec_mpps), check])
    lines += _table(["codec", "bpsp", "of PNG", "encode MP/s", "decode MP/s", "verified"], body)
    flow = [r for r in rows if r.model_bpsp is not None]
    if flow:
        lines += [
            "",
            "flowzip's file bpsp = model bpsp + header + padding (stream ends; for a bits-back model also "
            "its chunk lists and the chunks coded without bits-back):",
            "",
        ]
        lines += _table(
            ["codec", "model bpsp", "header", "padding", "file bpsp", "escapes"],
            (
                [
                    r.codec,
                    _fmt(r.model_bpsp),
                    _fmt(r.header_bpsp, 4),
                    _fmt(r.padding_bpsp, 4),
                    _fmt(r.bpsp),
                    str(r.escapes),
                ]
                for r in flow
            ),
        )
        lines.append("")
        lines += [
            f"- {r.codec}: {_tile_paths_text(r)}" + _worst_text(r, png is not None) for r in flow
        ]
    return [*lines, ""]


def _tile_paths_text(r: CodecSummary) -> str:
    """The share of tiles per coding path: ``tiles: flow 95.0%, predictive 5.0% (400 tiles)``."""
    if not r.tile_paths:
        return "tiles: coding paths not recorded"
    total = sum(r.tile_paths.values())
    if total == 0:
        return "tiles: none"
    shares = ", ".join(
        f"{name} {100 * n / total:.1f}%"
        for name, n in sorted(r.tile_paths.items(), key=lambda x: (-x[1], x[0]))
    )
    partial = (
        f" in {r.tile_path_images} of {r.images} images" if r.tile_path_images < r.images else ""
    )
    return f"tiles: {shares} ({total} tile{'s' if total != 1 else ''}{partial})"


def _worst_text(r: CodecSummary, have_png: bool) -> str:
    if not have_png or r.worst_vs_png is None:
        return ""
    image, ratio = r.worst_vs_png
    return f"; worst against PNG: `{image}`, {100 * ratio:.1f}% of PNG's bytes"


def _overview(
    records: Sequence[Record], datasets: Sequence[str], names: Sequence[str]
) -> list[str]:
    """One row per set: its bpsp per codec (over the images every codec coded), lowest in bold."""
    body = []
    for ds in datasets:
        rows, _ = summarize([r for r in records if r.dataset == ds], names)
        by = {r.codec: r.bpsp for r in rows}
        best = min(by.values(), default=None)
        cells = [
            ("**" + _fmt(by[n]) + "**" if by[n] == best else _fmt(by[n])) if n in by else "n/a"
            for n in names
        ]
        body.append([ds, str(rows[0].images if rows else 0), *cells])
    return [
        "## Sets at a glance",
        "",
        "bpsp per set (lower is better; each set's own table below has the rest).",
        "",
        *_table(["set", "images", *names], body),
        "",
    ]


def _problem_lines(result: RunResult) -> list[str]:
    lines: list[str] = []
    for u in result.unavailable:
        lines.append(f"- codec **{u.name}** unavailable, skipped: {u.reason}")
    for p in result.problems:
        lines.append(f"- `{p.what}` skipped: {p.reason}")
    for r in result.records:
        if r.bytes is None:
            lines.append(f"- `{r.image}` **{r.codec}** failed: {r.error}")
        elif not r.verified:
            lines.append(f"- `{r.image}` **{r.codec}** MISMATCH: {r.error}")
    return lines


def write_report(
    out: Path, result: RunResult, command: str, threads: int, plots: list[tuple[str, str]]
) -> Path:
    """report.md: the tables per folder, model load times, plots, problems, machine, versions."""
    names = [c.name for c in result.codecs]
    datasets = list(dict.fromkeys(r.dataset for r in result.records))
    lines = [
        "# flowzip benchmark",
        "",
        f"`{command}`",
        "",
        f"{datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}; {len(result.records)} results "
        f"({result.computed} computed in this run, {result.cached} from the cache).",
        "",
        "Folders: "
        + ", ".join(f"{name} = `{path}`" for name, path in result.folders.items())
        + ".",
        "",
        "bpsp = 8 x (whole file bytes) / (sub-pixels), totalled over a set (total bits over total "
        "sub-pixels, not a mean of ratios); every codec is charged the same way. Speeds are medians "
        "over the images of megapixels (H x W) per second, encoding and decoding timed apart, "
        "without reading the image or loading a model. Every output was decoded and compared with "
        f"the input pixels (`verified`). {threads} thread(s) for the codecs that can use them "
        f"(flowzip's torch and numba, libjxl, OpenJPEG; `--threads {threads}`). Gray images "
        "are stored as RGB by WebP and QOI (they have no grayscale), and those bytes count.",
        "",
    ]
    if len(datasets) > 1:
        lines += _overview(result.records, datasets, names)
    for ds in datasets:
        lines += _set_section(f"Set {ds}", [r for r in result.records if r.dataset == ds], names)
    if len(datasets) > 1:
        lines += _set_section("All sets", result.records, names)
    loads = [c for c in result.codecs if c.load_seconds]
    if loads:
        lines += ["## Model load (not in the speeds above)", ""]
        lines += _table(
            ["codec", "encoder: Compressor(model) s", "decoder: first 8x8 decode s"],
            (
                [c.name, f"{c.load_seconds['encoder']:.3f}", f"{c.load_seconds['decoder']:.3f}"]
                for c in loads
            ),
        )
        lines.append("")
    if plots:
        lines += ["## Plots", ""] + [f"![{title}]({rel})" for title, rel in plots] + [""]
    problems = _problem_lines(result)
    lines += ["## Problems", ""] + (problems or ["None."]) + [""]
    lines += ["## Machine", "", *_table(["", ""], machine_info().items()), ""]
    lines += ["## Versions", "", *_table(["library", "version"], library_versions().items()), ""]
    settings = ((c.name, f"`{c.version}`") for c in result.codecs)
    lines += ["## Codec settings", "", *_table(["codec", "version and settings"], settings), ""]
    path = out / "report.md"
    write_atomic(path, "\n".join(lines).encode(), overwrite=True)
    return path


def write_results(out: Path, records: Sequence[Record]) -> Path:
    """results.json: every record, as :meth:`Record.to_json` gives it."""
    path = out / "results.json"
    write_atomic(
        path, json.dumps([r.to_json() for r in records], indent=1).encode(), overwrite=True
    )
    return path

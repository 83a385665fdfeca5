"""The report's plots, drawn through matplotlib's object API (an Agg canvas, no pyplot
state); without matplotlib the report says so and has none."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from .codecs import INSTALL_HINT
from .records import FLOWZIP, CodecSummary, Record
from .report import summarize


def write_plots(
    out: Path, records: Sequence[Record], names: Sequence[str]
) -> tuple[list[tuple[str, str]], str | None]:
    """PNG plots through matplotlib's object API (Agg canvas, no pyplot state).

    Returns (title, path relative to OUT) pairs, and why there are none when matplotlib is missing.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return [], f"matplotlib is not installed ({INSTALL_HINT}): no plots"
    folder = out / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    datasets = list(dict.fromkeys(r.dataset for r in records))
    sums = {ds: summarize([r for r in records if r.dataset == ds], names)[0] for ds in datasets}
    made = []
    for title, file, draw in (
        ("bpsp per codec", "bpsp.png", _plot_bpsp),
        ("bpsp against decode speed", "bpsp_vs_decode.png", _plot_speed),
        (
            "flowzip: model bpsp against file bpsp, per image",
            "model_vs_file.png",
            _plot_model_vs_file,
        ),
    ):
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        FigureCanvasAgg(fig)
        if draw(fig.add_subplot(), sums, records):
            fig.savefig(folder / file, dpi=110)
            made.append((title, f"plots/{file}"))
    return made, None


def _plot_bpsp(ax, sums: dict[str, list[CodecSummary]], records) -> bool:
    codecs = list(dict.fromkeys(r.codec for rows in sums.values() for r in rows))
    if not codecs:
        return False
    width = 0.8 / max(1, len(sums))
    for k, (ds, rows) in enumerate(sums.items()):
        by = {r.codec: r.bpsp for r in rows}
        xs = [i + k * width for i, c in enumerate(codecs) if c in by]
        ax.bar(xs, [by[c] for c in codecs if c in by], width, label=ds)
    ax.set_xticks(
        [i + width * (len(sums) - 1) / 2 for i in range(len(codecs))],
        codecs,
        rotation=30,
        ha="right",
    )
    ax.set_ylabel("bits per sub-pixel (whole file)")
    ax.set_title("bpsp per codec (lower is better)")
    ax.legend(fontsize="small")
    return True


def _plot_speed(ax, sums: dict[str, list[CodecSummary]], records) -> bool:
    """One colour per codec, one marker per folder."""
    markers = "osD^v<>p*h"
    colours = {
        c: f"C{i % 10}"
        for i, c in enumerate(dict.fromkeys(r.codec for rows in sums.values() for r in rows))
    }
    any_point = False
    for k, (ds, rows) in enumerate(sums.items()):
        for r in rows:
            if r.dec_mpps > 0:
                ax.scatter(
                    r.dec_mpps,
                    r.bpsp,
                    marker=markers[k % len(markers)],
                    color=colours[r.codec],
                    label=ds if len(sums) > 1 and r is rows[0] else None,
                )
                ax.annotate(
                    r.codec,
                    (r.dec_mpps, r.bpsp),
                    fontsize="x-small",
                    xytext=(3, 3),
                    textcoords="offset points",
                    color=colours[r.codec],
                )
                any_point = True
    if len(sums) > 1:
        ax.legend(fontsize="small", title="folder (marker)")
    ax.set_xscale("log")
    ax.set_xlabel("decode speed, MP/s (median, log scale)")
    ax.set_ylabel("bpsp")
    ax.set_title("bpsp against decode speed (down and right is better)")
    return any_point


def _plot_model_vs_file(ax, sums, records: Sequence[Record]) -> bool:
    flow = [
        r
        for r in records
        if r.codec.startswith(FLOWZIP) and r.model_bpsp is not None and r.bpsp is not None
    ]
    if not flow:
        return False
    for k, name in enumerate(dict.fromkeys(r.codec for r in flow)):
        rs = [r for r in flow if r.codec == name]
        ax.scatter(
            [r.model_bpsp for r in rs], [r.bpsp for r in rs], s=12, color=f"C{k}", label=name
        )
    values = [v for r in flow for v in (r.model_bpsp, r.bpsp) if v is not None]
    lo, hi = min(values), max(values)
    ax.plot([lo, hi], [lo, hi], color="gray", linewidth=0.8, label="file = model")
    ax.set_xlabel("model bpsp (-log2 p)")
    ax.set_ylabel("file bpsp")
    ax.set_title("flowzip per image: file against model code length")
    ax.legend(fontsize="small")
    return True

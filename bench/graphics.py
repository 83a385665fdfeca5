"""Synthetic computer-generated test images: documents, charts, UI screens, flat drawings
and logos, pixel art, gradients and few-colour renders, scanned line art.

    python bench/graphics.py OUT_DIR [--seed 0] [--count-per-kind 4] [--scale 1.0] [--force]

writes ``OUT_DIR/gen_<kind>_<k>.png`` (RGB, about 0.4 to 1.6 Mpx each at ``--scale 1``).
Only numpy and Pillow are used (text in Pillow's built-in font, ``ImageFont.load_default``).
Every image is drawn from its own generator, seeded by (seed, kind, k), so the same seed
gives the same pixels on every run (with the same Pillow and FreeType: text and
resampling are theirs), and an image does not change when ``--count-per-kind`` does.
The folder is meant to live outside the repository (see bench/README.md): generated
images are never committed.
"""

from __future__ import annotations

import argparse
import builtins
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, features

REPO = Path(__file__).resolve().parent.parent
KINDS = ("document", "chart", "ui", "flat", "pixelart", "gradient", "lineart")

Colour = tuple[int, int, int]
WORDS = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "id",
    "est",
    "laborum",
    "data",
    "model",
    "image",
    "file",
    "system",
    "report",
    "value",
    "result",
    "table",
    "figure",
    "section",
    "method",
    "analysis",
    "network",
]
# matplotlib's tab10, the colours most charts are drawn in
TAB10 = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
    (188, 189, 34),
    (23, 190, 207),
)
# PICO-8's 16 colours
PICO8 = (
    (0, 0, 0),
    (29, 43, 83),
    (126, 37, 83),
    (0, 135, 81),
    (171, 82, 54),
    (95, 87, 79),
    (194, 195, 199),
    (255, 241, 232),
    (255, 0, 77),
    (255, 163, 0),
    (255, 236, 39),
    (0, 228, 54),
    (41, 173, 255),
    (131, 118, 156),
    (255, 119, 168),
    (255, 204, 170),
)


class Canvas:
    """What every kind draws with: its generator, the scale, and fonts by pixel size."""

    def __init__(self, rng: np.random.Generator, scale: float):
        self.rng = rng
        self.scale = scale
        self._fonts: dict[int, ImageFont.FreeTypeFont | ImageFont.ImageFont] = {}

    def px(self, n: float) -> int:
        """A length of ``n`` pixels at scale 1, at this scale (at least 1)."""
        return max(1, round(n * self.scale))

    def size(self, choices: Sequence[tuple[int, int]]) -> tuple[int, int]:
        w, h = choices[int(self.rng.integers(len(choices)))]
        return max(16, round(w * self.scale)), max(16, round(h * self.scale))

    def font(self, size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        n = max(6, round(size))
        if n not in self._fonts:
            # Pillow >= 10.1 with FreeType: the built-in Aileron at any size, anti-aliased;
            # otherwise the old fixed bitmap font
            self._fonts[n] = (
                ImageFont.load_default(size=n)
                if features.check("freetype2")
                else ImageFont.load_default()
            )
        return self._fonts[n]

    def int(self, lo: int, hi: int) -> int:
        """An integer in [lo, hi]."""
        return int(self.rng.integers(lo, hi + 1))

    def uniform(self, lo: float, hi: float) -> float:
        return float(self.rng.uniform(lo, hi))

    def pick(self, seq: Sequence):
        return seq[builtins.int(self.rng.integers(len(seq)))]

    def colour(self, lo: builtins.int = 0, hi: builtins.int = 255) -> Colour:
        # in the class body "int" is the method above: the builtin is named in full
        return tuple(builtins.int(v) for v in self.rng.integers(lo, hi + 1, size=3))  # type: ignore[return-value]

    def words(self, n: builtins.int, capital: bool = True) -> str:
        text = " ".join(WORDS[i] for i in self.rng.integers(len(WORDS), size=n))
        return text[:1].upper() + text[1:] if capital else text


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _wrap(text: str, font, width: float) -> list[str]:
    lines, line = [], ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and font.getlength(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return lines + ([line] if line else [])


def _supersampled(
    size: tuple[int, int],
    factor: int,
    background: Colour,
    draw: Callable[[Image.Image, ImageDraw.ImageDraw, int], None],
) -> Image.Image:
    """Draw at ``factor`` times the size and box-filter down: anti-aliased edges."""
    w, h = size
    big = Image.new("RGB", (w * factor, h * factor), background)
    draw(big, ImageDraw.Draw(big), factor)
    return big.reduce(factor)


def _shadow(im: Image.Image, box: tuple[int, int, int, int], radius: float, strength: int) -> None:
    """A soft drop shadow under ``box`` (blurred, so it is a gradient)."""
    x0, y0, x1, y1 = box
    pad = max(2, int(3 * radius))
    mask = Image.new("L", (x1 - x0 + 2 * pad, y1 - y0 + 2 * pad), 0)
    ImageDraw.Draw(mask).rectangle(
        (pad, pad + pad // 3, pad + x1 - x0, pad + y1 - y0 + pad // 3), fill=strength
    )
    mask = mask.filter(ImageFilter.GaussianBlur(radius))
    im.paste((0, 0, 0), (x0 - pad, y0 - pad), mask)


# -- documents ------------------------------------------------------------------------


def document(c: Canvas, k: int) -> Image.Image:
    """A page: title, headings, paragraphs, a bullet list, a ruled table, callouts, footer."""
    w, h = c.size([(1000, 1414), (850, 1100), (1190, 842), (1100, 1240)])
    paper = c.pick([(255, 255, 255), (255, 255, 255), (250, 249, 246), (253, 253, 250)])
    im = Image.new("RGB", (w, h), paper)
    d = ImageDraw.Draw(im)
    ink = c.pick([(0, 0, 0), (33, 33, 33), (20, 24, 32)])
    accent = c.pick([(31, 78, 140), (150, 30, 40), (20, 110, 90), (60, 60, 60)])
    body = c.font(c.uniform(14, 18) * c.scale)
    margin, leading = c.px(c.uniform(60, 90)), c.uniform(1.35, 1.6)
    line_h = round(body.size * leading) if hasattr(body, "size") else 14
    text_w = w - 2 * margin
    y = margin
    title = c.font(c.uniform(30, 40) * c.scale)
    for line in _wrap(c.words(c.int(3, 8)).title(), title, text_w):
        d.text((margin, y), line, fill=accent, font=title)
        y += round(getattr(title, "size", 12) * 1.25)
    d.text((margin, y), c.words(c.int(4, 9)), fill=_mix(ink, paper, 0.45), font=body)
    y += 2 * line_h
    bottom = h - margin - 2 * line_h
    section = 1
    while y < bottom - 3 * line_h:
        block = c.pick(["para", "para", "para", "heading", "bullets", "table", "callout", "rule"])
        if block == "para":
            lines = _wrap(c.words(c.int(30, 110)) + ".", body, text_w)
            justify = k % 2 == 1
            for i, line in enumerate(lines):
                if y > bottom:
                    break
                words = line.split()
                if justify and i < len(lines) - 1 and len(words) > 1:
                    gap = (text_w - sum(body.getlength(wd) for wd in words)) / (len(words) - 1)
                    x = float(margin)
                    for wd in words:
                        d.text((round(x), y), wd, fill=ink, font=body)
                        x += body.getlength(wd) + gap
                else:
                    d.text((margin, y), line, fill=ink, font=body)
                y += line_h
            y += line_h // 2
        elif block == "heading":
            head = c.font(getattr(body, "size", 12) * c.uniform(1.3, 1.6))
            y += line_h // 2
            d.text(
                (margin, y),
                f"{section}. {c.words(c.int(2, 5)).title()}",
                fill=accent,
                font=head,
                stroke_width=c.int(0, 1),
                stroke_fill=accent,
            )
            section += 1
            y += round(getattr(head, "size", 12) * 1.6)
        elif block == "bullets":
            for _ in range(c.int(3, 6)):
                if y > bottom:
                    break
                r = max(1, line_h // 8)
                cy = y + line_h // 2 - r
                d.ellipse((margin + r, cy - r, margin + 3 * r, cy + r), fill=ink)
                for line in _wrap(c.words(c.int(4, 18)), body, text_w - 4 * line_h // 2)[:2]:
                    d.text((margin + 2 * line_h // 2 + r, y), line, fill=ink, font=body)
                    y += line_h
            y += line_h // 2
        elif block == "table":
            cols, rows = c.int(3, 5), c.int(3, 7)
            col_w = text_w // cols
            small = c.font(getattr(body, "size", 12) * 0.9)
            row_h = round(line_h * 1.3)
            rows = min(rows, (bottom - y) // row_h - 2)
            if rows < 2:
                continue
            d.rectangle(
                (margin, y, margin + col_w * cols, y + row_h), fill=_mix(accent, paper, 0.85)
            )
            for r in range(rows + 1):
                for col in range(cols):
                    text = (
                        c.words(c.int(1, 2)).title()
                        if r == 0
                        else (
                            f"{c.uniform(0, 1000):.{c.int(0, 2)}f}" if col else c.words(c.int(1, 2))
                        )
                    )
                    d.text(
                        (margin + col * col_w + c.px(6), y + (row_h - line_h) // 2 + c.px(2)),
                        text,
                        fill=ink,
                        font=small,
                    )
                y += row_h
                d.line(
                    (margin, y, margin + col_w * cols, y),
                    fill=_mix(ink, paper, 0.7 if r else 0.2),
                    width=1,
                )
            y += line_h
        elif block == "callout":
            lines = _wrap(c.words(c.int(12, 40)) + ".", body, text_w - 2 * line_h)
            box_h = line_h * len(lines) + line_h
            if y + box_h > bottom:
                continue
            d.rectangle(
                (margin, y, margin + text_w, y + box_h),
                fill=c.pick([(255, 248, 220), (232, 242, 252), (236, 247, 236)]),
            )
            d.rectangle((margin, y, margin + c.px(5), y + box_h), fill=accent)
            for i, line in enumerate(lines):
                d.text((margin + line_h, y + line_h // 2 + i * line_h), line, fill=ink, font=body)
            y += box_h + line_h
        else:
            d.line(
                (margin, y + line_h // 2, margin + text_w, y + line_h // 2),
                fill=_mix(ink, paper, 0.6),
                width=c.px(1),
            )
            y += line_h
    footer = f"{c.int(1, 40)}"
    d.text((w // 2, h - margin // 2), footer, fill=_mix(ink, paper, 0.3), font=body, anchor="mm")
    return im


# -- charts ---------------------------------------------------------------------------


def chart(c: Canvas, k: int) -> Image.Image:
    """A bar chart, line plot, scatter plot or stacked area chart with axes, ticks, labels,
    gridlines, a title and a legend; drawn at 2x and reduced (anti-aliased, as plotting
    libraries draw)."""
    size = c.size([(1200, 800), (1000, 700), (1400, 900), (1280, 720)])
    style = ("bar", "line", "scatter", "area")[k % 4]
    dark = c.rng.random() < 0.25
    bg = (30, 30, 36) if dark else c.pick([(255, 255, 255), (255, 255, 255), (247, 247, 247)])
    fg = (220, 220, 220) if dark else (30, 30, 30)
    grid = (70, 70, 80) if dark else (225, 225, 225)
    n_series = c.int(2, 4) if style != "scatter" else c.int(2, 3)
    n = {
        "bar": c.int(4, 9),
        "line": c.int(30, 120),
        "scatter": c.int(60, 200),
        "area": c.int(12, 40),
    }[style]
    colours = list(TAB10)
    start = c.int(0, 9)
    colours = colours[start:] + colours[:start]
    if style == "bar":
        values = c.rng.uniform(0.2, 1.0, size=(n_series, n)) * c.uniform(10, 1000)
    elif style == "line":
        values = np.cumsum(c.rng.normal(0, 1, size=(n_series, n)), axis=1) + c.rng.uniform(
            5, 15, size=(n_series, 1)
        )
    elif style == "area":
        values = (
            np.cumsum(c.rng.uniform(0.2, 1.5, size=(n_series, n)), axis=0)
            * (1 + 0.3 * np.sin(np.linspace(0, c.uniform(2, 8), n)))[None, :]
        )
    else:
        xs = c.rng.uniform(0, 10, size=(n_series, n))
        values = xs * c.rng.uniform(-1, 2, size=(n_series, 1)) + c.rng.normal(
            0, 2, size=(n_series, n)
        )
    title = c.words(c.int(2, 6)).title()
    labels = [c.words(1).title() for _ in range(n_series)]
    cats = [c.words(1).title()[:8] for _ in range(n)] if style == "bar" else []
    rng_lw = c.uniform(1.5, 3.0)
    c_xlabel = c.words(c.int(1, 3)).title()

    def draw(im: Image.Image, d: ImageDraw.ImageDraw, f: int) -> None:
        w, h = im.size
        s = f * c.scale
        label_font, title_font = c.font(13 * s), c.font(19 * s)
        left, right, top, bottom = round(80 * s), round(30 * s), round(60 * s), round(70 * s)
        x0, x1, y0, y1 = left, w - right, top, h - bottom
        if style == "scatter":
            xlo, xhi = float(xs.min()), float(xs.max())
        elif style == "bar":
            xlo, xhi = -0.5, n - 0.5
        else:
            xlo, xhi = 0.0, float(n - 1)
        lo = 0.0 if style in ("bar", "area") else float(values.min())
        hi = float(values.max() if style != "area" else values[-1].max())
        step = 10 ** math.floor(math.log10(max(hi - lo, 1e-9) / 5))
        step *= min((1, 2, 5, 10), key=lambda m: abs((hi - lo) / (step * m) - 6))
        lo, hi = math.floor(lo / step) * step, math.ceil(hi / step) * step

        def X(v: float) -> float:
            return x0 + (v - xlo) / (xhi - xlo or 1) * (x1 - x0)

        def Y(v: float) -> float:
            return y1 - (v - lo) / (hi - lo or 1) * (y1 - y0)

        tick = lo
        while tick <= hi + step / 2:
            yy = round(Y(tick))
            d.line((x0, yy, x1, yy), fill=grid, width=max(1, round(s)))
            d.text((x0 - round(8 * s), yy), f"{tick:g}", fill=fg, font=label_font, anchor="rm")
            tick += step
        if style == "bar":
            group = 0.8 / n_series
            for i in range(n):
                for j in range(n_series):
                    bx = i - 0.4 + j * group
                    d.rectangle(
                        (
                            round(X(bx)),
                            round(Y(values[j, i])),
                            round(X(bx + group)) - f,
                            round(Y(0)),
                        ),
                        fill=colours[j],
                    )
                d.text(
                    (round(X(i)), y1 + round(8 * s)), cats[i], fill=fg, font=label_font, anchor="mt"
                )
        else:
            for t in np.linspace(xlo, xhi, 6):
                xx = round(X(t))
                d.line((xx, y0, xx, y1), fill=grid, width=max(1, round(s)))
                d.text((xx, y1 + round(8 * s)), f"{t:.3g}", fill=fg, font=label_font, anchor="mt")
        if style == "line":
            for j in range(n_series):
                pts = [(X(i), Y(v)) for i, v in enumerate(values[j])]
                d.line(pts, fill=colours[j], width=round(rng_lw * s), joint="curve")
                if n < 60:
                    r = 2.5 * s
                    for px, py in pts:
                        d.ellipse((px - r, py - r, px + r, py + r), fill=colours[j])
        elif style == "scatter":
            r = 3.5 * s
            for j in range(n_series):
                for px, py in zip(xs[j], values[j], strict=True):
                    d.ellipse(
                        (X(px) - r, Y(py) - r, X(px) + r, Y(py) + r), fill=colours[j], outline=bg
                    )
        elif style == "area":
            below = [(X(i), Y(0)) for i in range(n)]
            for j in range(n_series):
                above = [(X(i), Y(v)) for i, v in enumerate(values[j])]
                d.polygon(above + below[::-1], fill=_mix(colours[j], bg, 0.25))
                d.line(above, fill=colours[j], width=round(1.5 * s))
                below = above
        d.line((x0, y1, x1, y1), fill=fg, width=round(1.5 * s))
        d.line((x0, y0, x0, y1), fill=fg, width=round(1.5 * s))
        d.text(((x0 + x1) // 2, round(20 * s)), title, fill=fg, font=title_font, anchor="mt")
        d.text(((x0 + x1) // 2, h - round(25 * s)), c_xlabel, fill=fg, font=label_font, anchor="mm")
        # legend, top right, in a framed box
        lx, ly = x1 - round(150 * s), y0 + round(10 * s)
        box_h = round((10 + 20 * n_series) * s)
        d.rectangle(
            (lx, ly, x1 - round(10 * s), ly + box_h), fill=bg, outline=grid, width=max(1, round(s))
        )
        for j, name in enumerate(labels):
            yy = ly + round((15 + 20 * j) * s)
            d.rectangle(
                (lx + round(8 * s), yy - round(5 * s), lx + round(24 * s), yy + round(5 * s)),
                fill=colours[j],
            )
            d.text((lx + round(32 * s), yy), name, fill=fg, font=label_font, anchor="lm")

    return _supersampled(size, 2, bg, draw)


# -- UI screens -----------------------------------------------------------------------


def _button(
    d: ImageDraw.ImageDraw,
    box,
    label: str,
    font,
    fill: Colour,
    text: Colour,
    border: Colour,
    radius: int,
):
    d.rounded_rectangle(box, radius=radius, fill=fill, outline=border, width=1)
    d.text(
        ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2), label, fill=text, font=font, anchor="mm"
    )


def _icon(c: Canvas, d: ImageDraw.ImageDraw, x: int, y: int, size: int) -> None:
    """A small toolbar icon: one or two flat glyphs."""
    col = c.pick(TAB10)
    shape = c.int(0, 4)
    box = (x, y, x + size, y + size)
    if shape == 0:
        d.rectangle(
            (x + size // 6, y + size // 6, x + size - size // 6, y + size - size // 6),
            outline=col,
            width=max(1, size // 8),
        )
    elif shape == 1:
        d.ellipse(box, fill=col)
    elif shape == 2:
        d.polygon([(x + size // 2, y), (x + size, y + size), (x, y + size)], fill=col)
    elif shape == 3:
        for i in range(3):
            yy = y + size // 6 + i * size // 3
            d.line((x, yy, x + size, yy), fill=col, width=max(1, size // 8))
    else:
        d.rectangle((x, y + size // 3, x + size, y + size), fill=col)
        d.rectangle((x, y, x + size // 2, y + size // 3), fill=col)


def ui(c: Canvas, k: int) -> Image.Image:
    """A desktop: wallpaper, windows with gradient title bars and shadows, a menu bar,
    toolbar icons, a sidebar list, a form (text fields, checkboxes, buttons, a progress
    bar), tabs, an open drop-down menu and a status bar."""
    w, h = c.size([(1280, 800), (1440, 900), (1024, 768), (1366, 768)])
    top, bottom = c.colour(40, 120), c.colour(90, 200)
    t = np.linspace(0, 1, h)[:, None, None]
    wall = np.round(np.array(top) * (1 - t) + np.array(bottom) * t).astype(np.uint8)
    im = Image.fromarray(np.broadcast_to(wall, (h, w, 3)).copy())
    d = ImageDraw.Draw(im)
    dark = k % 3 == 2
    panel = (45, 45, 48) if dark else c.pick([(240, 240, 240), (246, 246, 246), (236, 236, 236)])
    fg = (225, 225, 225) if dark else (25, 25, 25)
    muted = _mix(fg, panel, 0.5)
    field = (30, 30, 30) if dark else (255, 255, 255)
    border = (80, 80, 85) if dark else (190, 190, 190)
    accent = c.pick([(0, 120, 215), (52, 120, 246), (46, 160, 67), (200, 60, 90)])
    font, small, big = c.font(13 * c.scale), c.font(11 * c.scale), c.font(16 * c.scale)
    bar_h = c.px(26)
    # top menu bar across the screen
    d.rectangle((0, 0, w, bar_h), fill=panel)
    x = c.px(12)
    for _ in range(c.int(4, 7)):
        name = c.words(1).title()
        d.text((x, bar_h // 2), name, fill=fg, font=font, anchor="lm")
        x += round(font.getlength(name)) + c.px(20)
    d.text(
        (w - c.px(12), bar_h // 2),
        f"{c.int(0, 23):02d}:{c.int(0, 59):02d}",
        fill=fg,
        font=font,
        anchor="rm",
    )
    for n_win in range(c.int(1, 2) + (k % 2)):
        ww, wh = round(w * c.uniform(0.5, 0.8)), round(h * c.uniform(0.5, 0.8))
        wx = c.int(c.px(10), max(c.px(10), w - ww - c.px(10)))
        wy = c.int(bar_h + c.px(10), max(bar_h + c.px(10), h - wh - c.px(10)))
        _shadow(im, (wx, wy, wx + ww, wy + wh), c.px(8), 110)
        d.rectangle((wx, wy, wx + ww, wy + wh), fill=panel, outline=border)
        # title bar: a subtle vertical gradient
        tb = c.px(30)
        g0 = (62, 62, 66) if dark else (232, 232, 232)
        g1 = (52, 52, 56) if dark else (212, 212, 212)
        for i in range(tb):
            d.line(
                (wx + 1, wy + 1 + i, wx + ww - 1, wy + 1 + i), fill=_mix(g0, g1, i / max(1, tb - 1))
            )
        r = max(2, tb // 5)
        for j, col in enumerate(((255, 95, 87), (254, 188, 46), (40, 200, 64))):
            cx = wx + c.px(14) + j * c.px(20)
            d.ellipse((cx - r, wy + tb // 2 - r, cx + r, wy + tb // 2 + r), fill=col)
        d.text(
            (wx + ww // 2, wy + tb // 2),
            c.words(c.int(1, 4)).title(),
            fill=fg,
            font=font,
            anchor="mm",
        )
        # toolbar
        ty = wy + tb + c.px(6)
        isz = c.px(20)
        for i in range(c.int(5, 12)):
            _icon(c, d, wx + c.px(12) + i * c.px(32), ty, isz)
        ty += isz + c.px(8)
        d.line((wx + 1, ty, wx + ww - 1, ty), fill=border)
        # sidebar list with a selected row
        sw = round(ww * c.uniform(0.2, 0.3))
        d.rectangle((wx + 1, ty + 1, wx + sw, wy + wh - c.px(24)), fill=_mix(panel, fg, 0.04))
        row = c.px(24)
        selected = c.int(0, 5)
        for i in range(max(0, (wy + wh - c.px(24) - ty) // row - 1)):
            ry = ty + c.px(6) + i * row
            if i == selected:
                d.rectangle((wx + c.px(4), ry, wx + sw - c.px(4), ry + row - 2), fill=accent)
            col = (255, 255, 255) if i == selected else fg
            d.rectangle(
                (wx + c.px(12), ry + row // 4, wx + c.px(12) + row // 2, ry + 3 * row // 4),
                fill=c.pick(TAB10),
            )
            d.text(
                (wx + c.px(20) + row // 2, ry + row // 2 - 1),
                c.words(c.int(1, 3)),
                fill=col,
                font=font,
                anchor="lm",
            )
        # tabs
        fx = wx + sw + c.px(20)
        fy = ty + c.px(12)
        tx = fx
        for i in range(c.int(2, 4)):
            label = c.words(1).title()
            tw = round(font.getlength(label)) + c.px(24)
            d.rectangle(
                (tx, fy, tx + tw, fy + c.px(26)),
                fill=field if i == 0 else _mix(panel, fg, 0.08),
                outline=border,
            )
            d.text((tx + tw // 2, fy + c.px(13)), label, fill=fg, font=font, anchor="mm")
            tx += tw + c.px(2)
        fy += c.px(40)
        # a form: labels and text fields, a checkbox group, a progress bar, buttons
        field_w = wx + ww - c.px(20) - fx - c.px(110)
        for _ in range(c.int(2, 5)):
            if fy > wy + wh - c.px(120) or field_w < c.px(40):
                break
            d.text(
                (fx, fy + c.px(12)),
                c.words(c.int(1, 2)).title() + ":",
                fill=fg,
                font=font,
                anchor="lm",
            )
            d.rectangle(
                (fx + c.px(110), fy, fx + c.px(110) + field_w, fy + c.px(24)),
                fill=field,
                outline=border,
            )
            placeholder = c.rng.random() < 0.4
            d.text(
                (fx + c.px(116), fy + c.px(12)),
                c.words(c.int(1, 4), capital=not placeholder),
                fill=muted if placeholder else fg,
                font=font,
                anchor="lm",
            )
            fy += c.px(36)
        for _ in range(c.int(2, 3)):
            if fy > wy + wh - c.px(90):
                break
            box = (fx, fy, fx + c.px(14), fy + c.px(14))
            on = c.rng.random() < 0.5
            d.rectangle(box, fill=accent if on else field, outline=accent if on else border)
            if on:
                d.line(
                    [
                        (fx + c.px(3), fy + c.px(7)),
                        (fx + c.px(6), fy + c.px(11)),
                        (fx + c.px(11), fy + c.px(3)),
                    ],
                    fill=(255, 255, 255),
                    width=c.px(2),
                )
            d.text(
                (fx + c.px(22), fy + c.px(7)), c.words(c.int(2, 5)), fill=fg, font=font, anchor="lm"
            )
            fy += c.px(24)
        if fy < wy + wh - c.px(80):
            pw = field_w + c.px(110)
            d.rounded_rectangle(
                (fx, fy, fx + pw, fy + c.px(8)), radius=c.px(4), fill=_mix(panel, fg, 0.12)
            )
            d.rounded_rectangle(
                (fx, fy, fx + round(pw * c.uniform(0.1, 0.9)), fy + c.px(8)),
                radius=c.px(4),
                fill=accent,
            )
        by = wy + wh - c.px(24) - c.px(40)
        bx = wx + ww - c.px(20)
        for label, primary in ((c.words(1).title(), True), ("Cancel", False)):
            bw = round(font.getlength(label)) + c.px(36)
            _button(
                d,
                (bx - bw, by, bx, by + c.px(28)),
                label,
                font,
                accent if primary else field,
                (255, 255, 255) if primary else fg,
                accent if primary else border,
                c.px(5),
            )
            bx -= bw + c.px(10)
        # status bar
        d.rectangle(
            (wx + 1, wy + wh - c.px(24), wx + ww - 1, wy + wh - 1), fill=_mix(panel, fg, 0.06)
        )
        d.text(
            (wx + c.px(10), wy + wh - c.px(12)),
            c.words(c.int(2, 6)),
            fill=muted,
            font=small,
            anchor="lm",
        )
        if n_win == 0 and fy < wy + wh - c.px(140):
            d.text((fx, fy + c.px(20)), c.words(c.int(1, 3)).title(), fill=fg, font=big)
    # an open drop-down menu from the menu bar
    mx, mw = c.px(12) + c.int(0, 3) * c.px(60), c.px(200)
    items = c.int(5, 10)
    mh = items * c.px(24) + c.px(8)
    _shadow(im, (mx, bar_h, mx + mw, bar_h + mh), c.px(5), 90)
    d.rectangle((mx, bar_h, mx + mw, bar_h + mh), fill=field, outline=border)
    hot = c.int(0, items - 1)
    for i in range(items):
        iy = bar_h + c.px(4) + i * c.px(24)
        if i == hot:
            d.rectangle((mx + c.px(4), iy, mx + mw - c.px(4), iy + c.px(22)), fill=accent)
        col = (255, 255, 255) if i == hot else fg
        d.text(
            (mx + c.px(16), iy + c.px(11)),
            c.words(c.int(1, 2)).title(),
            fill=col,
            font=font,
            anchor="lm",
        )
        d.text(
            (mx + mw - c.px(12), iy + c.px(11)),
            f"Ctrl+{chr(65 + c.int(0, 25))}",
            fill=muted if i != hot else col,
            font=small,
            anchor="rm",
        )
        if c.rng.random() < 0.15 and i < items - 1:
            d.line((mx + c.px(8), iy + c.px(23), mx + mw - c.px(8), iy + c.px(23)), fill=border)
    return im


# -- flat drawings and logos --------------------------------------------------------------


def flat(c: Canvas, k: int) -> Image.Image:
    """Flat-colour art, anti-aliased (drawn at 4x and reduced): a logo (emblem and
    wordmark) or a composition of shapes in a small palette, some with outlines."""
    size = c.size([(1000, 1000), (1200, 800), (900, 900), (1280, 720)])
    palette = [c.colour(20, 240) for _ in range(c.int(3, 6))]
    bg = c.pick([(255, 255, 255), c.colour(200, 255), c.colour(10, 60)])
    logo = k % 2 == 0
    shapes = []
    for _ in range(c.int(8, 25) if not logo else c.int(2, 4)):
        shapes.append(
            (
                c.int(0, 4),
                c.uniform(0, 1),
                c.uniform(0, 1),
                c.uniform(0.04, 0.3),
                c.pick(palette),
                c.uniform(0, math.tau),
                c.rng.random() < 0.3,
                c.int(5, 8),
            )
        )
    word = c.words(1).upper()[:9]
    outline = c.pick([(0, 0, 0), (30, 30, 40), bg])

    def draw(im: Image.Image, d: ImageDraw.ImageDraw, f: int) -> None:
        w, h = im.size
        m = min(w, h)
        if logo:
            cx, cy, r = w // 2, round(h * 0.4), round(m * 0.25)
            d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=palette[0])
            d.ellipse((cx - 0.8 * r, cy - 0.8 * r, cx + 0.8 * r, cy + 0.8 * r), fill=bg)
            pts = shapes[0][7]
            star = [
                (
                    cx
                    + (0.7 if i % 2 == 0 else 0.3) * r * math.cos(shapes[0][5] + math.pi * i / pts),
                    cy
                    + (0.7 if i % 2 == 0 else 0.3) * r * math.sin(shapes[0][5] + math.pi * i / pts),
                )
                for i in range(2 * pts)
            ]
            d.polygon(star, fill=palette[1 % len(palette)])
            d.text((cx, cy + 1.25 * r), word, fill=palette[-1], font=c.font(0.14 * m), anchor="mt")
            d.rectangle(
                (cx - r, cy + 1.25 * r + 0.2 * m, cx + r, cy + 1.25 * r + 0.215 * m),
                fill=palette[0],
            )
            return
        for kind, fx, fy, fr, col, angle, lined, pts in shapes:
            x, y, r = fx * w, fy * h, fr * m  # type: ignore[assignment]  # r was the int radius above
            width = max(1, round(0.008 * m)) if lined else 0
            line = outline if lined else None
            if kind == 0:
                d.ellipse((x - r, y - r, x + r, y + r), fill=col, outline=line, width=width)
            elif kind == 1:
                d.rounded_rectangle(
                    (x - r, y - 0.6 * r, x + r, y + 0.6 * r),
                    radius=0.2 * r,
                    fill=col,
                    outline=line,
                    width=width,
                )
            elif kind == 2:
                d.regular_polygon(
                    (x, y, r),
                    n_sides=3 + pts % 4,
                    rotation=math.degrees(angle),
                    fill=col,
                    outline=line,
                    width=width,
                )
            elif kind == 3:
                star = [
                    (
                        x + (1 if i % 2 == 0 else 0.45) * r * math.cos(angle + math.pi * i / pts),
                        y + (1 if i % 2 == 0 else 0.45) * r * math.sin(angle + math.pi * i / pts),
                    )
                    for i in range(2 * pts)
                ]
                d.polygon(star, fill=col, outline=line, width=width)
            else:
                d.arc(
                    (x - r, y - r, x + r, y + r),
                    math.degrees(angle),
                    math.degrees(angle) + 220,
                    fill=col,
                    width=max(1, round(0.25 * r)),
                )

    return _supersampled(size, 4, bg, draw)


# -- pixel art ------------------------------------------------------------------------------


def _sprite(c: Canvas, n_colours: int, palette_size: int) -> np.ndarray:
    """A mirrored random sprite (palette indices, -1 transparent) with a dark outline."""
    sh, half = c.int(8, 16), c.int(4, 8)
    cols = c.rng.choice(np.arange(2, palette_size), size=n_colours, replace=False)
    body = c.rng.random((sh, half)) < 0.55
    idx = np.where(body, cols[c.rng.integers(n_colours, size=(sh, half))], -1)
    idx = np.concatenate([idx, idx[:, ::-1]], axis=1)
    pad = np.pad(idx, 1, constant_values=-1)
    solid = pad >= 0
    near = np.zeros_like(solid)
    for dy, dx in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        near |= np.roll(np.roll(solid, dy, axis=0), dx, axis=1)
    pad[near & ~solid] = 0
    return pad


def pixelart(c: Canvas, k: int) -> Image.Image:
    """A low-resolution scene (sky, clouds, tiled ground, bricks, sprites) in a 16-colour
    palette, upscaled by an integer factor with nearest neighbour."""
    (lw, lh), factor = c.pick(
        [((160, 120), 6), ((128, 96), 8), ((200, 150), 5), ((96, 64), 12), ((240, 160), 4)]
    )
    palette = np.array(PICO8 if k % 2 == 0 else [c.colour() for _ in range(16)], dtype=np.uint8)
    if k % 2:
        palette[0] = (0, 0, 0)
    a = np.full((lh, lw), c.int(1, 15), dtype=np.int16)
    band = c.int(2, 6)
    sky2 = c.int(1, 15)
    a[: lh // band] = sky2  # a darker band at the top of the sky
    for _ in range(c.int(2, 5)):  # clouds: unions of discs
        cx, cy = c.int(0, lw), c.int(0, lh // 2)
        for _ in range(c.int(3, 6)):
            r = c.int(3, 8)
            ox, oy = cx + c.int(-8, 8), cy + c.int(-3, 3)
            yy, xx = np.ogrid[:lh, :lw]
            a[(yy - oy) ** 2 + (xx - ox) ** 2 <= r * r] = 7
    ground = lh - c.int(lh // 6, lh // 3)
    grass, dirt, speck = c.int(2, 15), c.int(2, 15), c.int(2, 15)
    a[ground:] = dirt
    a[ground : ground + 2] = grass
    specks = c.rng.random((lh - ground - 2, lw)) < 0.06
    a[ground + 2 :][specks] = speck
    tile = 8
    brick = c.int(2, 15)
    bx = c.int(0, lw - 5 * tile)
    by = ground - c.int(3, 6) * tile
    for i in range(c.int(3, 6)):  # a row of brick tiles
        x0 = bx + i * tile
        if x0 + tile > lw or by < 0:
            break
        a[by : by + tile, x0 : x0 + tile] = brick
        a[by + tile // 2, x0 : x0 + tile] = 0
        a[by : by + tile // 2, x0] = 0
        a[by + tile // 2 : by + tile, x0 + tile // 2] = 0
    for _ in range(c.int(4, 10)):
        s = _sprite(c, c.int(2, 3), 16)
        sh, sw = s.shape
        x0 = c.int(0, max(0, lw - sw))
        y0 = (
            min(max(0, ground - sh + c.int(-2, 1)), lh - sh)
            if c.rng.random() < 0.6
            else c.int(0, max(0, ground - sh))
        )
        view = a[y0 : y0 + sh, x0 : x0 + sw]
        mask = s[: view.shape[0], : view.shape[1]] >= 0
        view[mask] = s[: view.shape[0], : view.shape[1]][mask]
    f = max(1, round(factor * c.scale))
    rgb = palette[a].repeat(f, axis=0).repeat(f, axis=1)
    return Image.fromarray(np.ascontiguousarray(rgb))


# -- gradients and renders with few colours ----------------------------------------------


BAYER8 = (
    np.array(
        [
            [0, 32, 8, 40, 2, 34, 10, 42],
            [48, 16, 56, 24, 50, 18, 58, 26],
            [12, 44, 4, 36, 14, 46, 6, 38],
            [60, 28, 52, 20, 62, 30, 54, 22],
            [3, 35, 11, 43, 1, 33, 9, 41],
            [51, 19, 59, 27, 49, 17, 57, 25],
            [15, 47, 7, 39, 13, 45, 5, 37],
            [63, 31, 55, 23, 61, 29, 53, 21],
        ]
    )
    / 64.0
)


def _linear_field(c: Canvas, h: int, w: int) -> np.ndarray:
    """A multi-stop linear gradient in a random direction, float RGB 0..255."""
    angle = c.uniform(0, math.tau)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    t = xx * math.cos(angle) + yy * math.sin(angle)
    t = (t - t.min()) / max(1e-9, t.max() - t.min())
    stops = np.sort(np.concatenate([[0.0, 1.0], c.rng.uniform(0, 1, size=c.int(1, 3))]))
    colours = np.array([c.colour() for _ in stops], dtype=np.float64)
    return np.stack([np.interp(t, stops, colours[:, i]) for i in range(3)], axis=-1)


def _radial_field(c: Canvas, h: int, w: int) -> np.ndarray:
    """A background colour with two or three soft radial glows, float RGB."""
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    out = np.empty((h, w, 3))
    out[:] = c.colour(0, 80)
    for _ in range(c.int(2, 3)):
        cx, cy, r = c.uniform(0, w), c.uniform(0, h), c.uniform(0.3, 0.9) * max(h, w)
        glow = np.clip(1 - np.hypot(xx - cx, yy - cy) / r, 0, 1) ** c.uniform(1.2, 2.5)
        out += glow[..., None] * (np.array(c.colour(60, 255)) - out) * 0.9
    return out


def gradient(c: Canvas, k: int) -> Image.Image:
    """k % 4: 0 a smooth linear gradient with translucent flat shapes; 1 radial glows
    posterised into bands; 2 a toon-shaded render of spheres (a few shades each);
    3 a gradient dithered to a few colours (ordered Bayer, or Floyd-Steinberg for k >= 4)."""
    w, h = c.size([(1024, 768), (1600, 900), (1280, 1024), (1200, 1200)])
    style = k % 4
    if style == 0:
        field = _linear_field(c, h, w)
        im = Image.fromarray(np.round(field).astype(np.uint8))
        layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
        ld = ImageDraw.Draw(layer)
        for _ in range(c.int(2, 5)):
            x, y, r = c.uniform(0, w), c.uniform(0, h), c.uniform(0.1, 0.4) * min(w, h)
            ld.ellipse((x - r, y - r, x + r, y + r), fill=(*c.colour(), c.int(40, 110)))
        return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")
    if style == 1:
        levels = c.int(6, 16)
        field = _radial_field(c, h, w)
        return Image.fromarray(
            (np.floor(field / 256 * levels) * (255 / (levels - 1))).clip(0, 255).astype(np.uint8)
        )
    if style == 2:
        yy, xx = np.mgrid[:h, :w].astype(np.float64)
        floor_y = h * c.uniform(0.55, 0.75)
        sky, floor = np.array(c.colour(150, 255), float), np.array(c.colour(40, 140), float)
        out = np.where((yy < floor_y)[..., None], sky, floor)
        light = np.array([c.uniform(-1, 1), c.uniform(-1, -0.2), c.uniform(0.4, 1)])
        light /= np.linalg.norm(light)
        shades = c.int(3, 5)
        spheres = sorted(
            (
                (
                    c.uniform(0.1, 0.9) * w,
                    floor_y - c.uniform(0, 0.1) * h,
                    c.uniform(0.06, 0.2) * min(w, h),
                    np.array(c.colour(30, 255), float),
                )
                for _ in range(c.int(3, 6))
            ),
            key=lambda s: s[2],
        )
        for cx, centre_y, r, col in spheres:
            cy = centre_y - r * 0.9
            dx, dy = (xx - cx) / r, (yy - cy) / r
            inside = dx * dx + dy * dy <= 1
            dz = np.sqrt(np.clip(1 - dx * dx - dy * dy, 0, 1))
            lum = np.clip(dx * light[0] + dy * light[1] + dz * light[2], 0, 1)
            lum = np.floor(lum * shades) / shades * 0.8 + 0.2  # toon: a few flat shades
            spec = (lum >= 0.2 + 0.8 * (shades - 1) / shades) & (
                dx * light[0] + dy * light[1] + dz * light[2] > 0.97
            )
            shaded = col * lum[..., None]
            shaded[spec] = 255
            shadow = ((xx - cx - 0.3 * r) / (1.1 * r)) ** 2 + (
                (yy - cy - 0.9 * r) / (0.25 * r)
            ) ** 2 <= 1
            out[shadow & ~inside & (yy >= floor_y)] *= 0.6
            out[inside] = shaded[inside]
        return Image.fromarray(np.round(out).clip(0, 255).astype(np.uint8))
    field = _linear_field(c, h, w) * 0.6 + _radial_field(c, h, w) * 0.4
    if (k // 4) % 2 == 0:
        levels = c.int(2, 4)  # per channel: 8 to 64 colours
        threshold = np.tile(BAYER8, (h // 8 + 1, w // 8 + 1))[:h, :w, None]
        q = np.floor(field / 255 * (levels - 1) + threshold).clip(0, levels - 1)
        return Image.fromarray((q * (255 // (levels - 1))).astype(np.uint8))
    pal = Image.new("P", (1, 1))
    colours = [v for _ in range(16) for v in c.colour()]
    pal.putpalette(colours + [0] * (768 - len(colours)))
    im = Image.fromarray(np.round(field).astype(np.uint8))
    return im.quantize(palette=pal, dither=Image.Dither.FLOYDSTEINBERG).convert("RGB")


# -- scanned line art ----------------------------------------------------------------------


def lineart(c: Canvas, k: int) -> Image.Image:
    """A black line drawing (curves, outlines, hatching, a caption) on uneven paper,
    slightly blurred, with mild gaussian noise: what a scanner gives."""
    w, h = c.size([(1200, 900), (1000, 1300), (1400, 1000), (1100, 1100)])
    f = 2
    ink = Image.new("L", (w * f, h * f), 255)
    d = ImageDraw.Draw(ink)
    W, H = w * f, h * f

    def lw() -> int:
        return max(1, round(c.uniform(1.5, 4) * c.scale * f))

    for _ in range(c.int(15, 40)):
        p = np.array([[c.uniform(0, W), c.uniform(0, H)] for _ in range(4)])
        p[1:] = p[0] + (p[1:] - p[0]) * c.uniform(0.1, 0.5)
        t = np.linspace(0, 1, 60)[:, None]
        pts = (
            (1 - t) ** 3 * p[0]
            + 3 * (1 - t) ** 2 * t * p[1]
            + 3 * (1 - t) * t**2 * p[2]
            + t**3 * p[3]
        )
        d.line([tuple(q) for q in pts], fill=0, width=lw(), joint="curve")
    for _ in range(c.int(3, 8)):
        x, y, r = c.uniform(0, W), c.uniform(0, H), c.uniform(0.03, 0.15) * min(W, H)
        if c.rng.random() < 0.5:
            d.ellipse((x - r, y - 0.7 * r, x + r, y + 0.7 * r), outline=0, width=lw())
        else:
            a = c.uniform(0, math.pi)
            corners = [
                (x + r * math.cos(a + q), y + r * math.sin(a + q)) for q in (0.6, 2.5, 3.7, 5.6)
            ]
            d.polygon(corners, outline=0, width=lw())
    for _ in range(c.int(1, 3)):  # hatching inside a box
        x0, y0 = c.uniform(0, W * 0.8), c.uniform(0, H * 0.8)
        bw, bh = c.uniform(0.05, 0.2) * W, c.uniform(0.05, 0.2) * H
        gap = max(2, round(c.uniform(6, 14) * c.scale * f))
        for i in range(0, round(bw + bh), gap):
            d.line(
                (x0 + max(0, i - bh), y0 + min(i, bh), x0 + min(i, bw), y0 + max(0, i - bw)),
                fill=0,
                width=max(1, round(c.scale * f)),
            )
    d.text((W * 0.08, H * 0.92), c.words(c.int(2, 6)), fill=0, font=c.font(28 * c.scale * f))
    ink = ink.reduce(f).filter(ImageFilter.GaussianBlur(c.uniform(0.6, 1.1) * max(c.scale, 0.3)))
    ink_share = np.asarray(ink, dtype=np.float64)[..., None] / 255
    paper = np.array([c.uniform(236, 250), c.uniform(230, 244), c.uniform(212, 232)])
    low = c.rng.normal(0, 1, size=(6, 8))  # the paper's unevenness: a few levels, smooth
    uneven = (
        np.asarray(
            Image.fromarray(((low * 20) + 128).clip(0, 255).astype(np.uint8)).resize(
                (w, h), Image.Resampling.BICUBIC
            ),
            dtype=np.float64,
        )
        - 128
    )
    colour = paper + uneven[..., None] * 0.2
    pen = np.array([c.uniform(10, 40)] * 3)
    out = (
        colour * ink_share
        + pen * (1 - ink_share)
        + c.rng.normal(0, c.uniform(2, 5), size=(h, w, 3))
    )
    return Image.fromarray(np.round(out).clip(0, 255).astype(np.uint8))


GENERATORS: dict[str, Callable[[Canvas, int], Image.Image]] = {
    "document": document,
    "chart": chart,
    "ui": ui,
    "flat": flat,
    "pixelart": pixelart,
    "gradient": gradient,
    "lineart": lineart,
}


def render(kind: str, k: int, seed: int = 0, scale: float = 1.0) -> Image.Image:
    """Image ``k`` of ``kind``: an RGB image from a generator seeded by (seed, kind, k)."""
    rng = np.random.default_rng([seed, KINDS.index(kind), k])
    return GENERATORS[kind](Canvas(rng, scale), k).convert("RGB")


def check_output(out: Path, force: bool, what: str = "OUT_DIR") -> str | None:
    """Why ``out`` may not be written (inside the repository, or not empty), else None."""
    if out.resolve().is_relative_to(REPO):
        return f"{out} is inside the repository: generated images are never committed; use e.g. ../bench-sets/"
    if out.exists() and not out.is_dir():
        return f"{out} is not a folder"
    if out.is_dir() and any(out.iterdir()) and not force:
        return f"{out} is not empty (--force writes into it anyway)"
    return None


def generate(
    out: Path,
    seed: int = 0,
    count_per_kind: int = 4,
    scale: float = 1.0,
    kinds: Sequence[str] = KINDS,
    log: Callable[[str], None] | None = None,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in kinds:
        for k in range(count_per_kind):
            im = render(kind, k, seed, scale)
            path = out / f"gen_{kind}_{k}.png"
            im.save(path, format="PNG")
            written.append(path)
            if log:
                colours = len(np.unique(np.asarray(im).reshape(-1, 3), axis=0))
                log(
                    f"{path}  {im.width}x{im.height}  {im.width * im.height / 1e6:.2f} Mpx  {colours} colours  "
                    f"{path.stat().st_size / 1e3:.0f} KB"
                )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python bench/graphics.py", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "out",
        metavar="OUT_DIR",
        type=Path,
        help="folder for gen_<kind>_<k>.png (outside the repository)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count-per-kind", type=int, default=4, metavar="N")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="size factor (small values for quick tests)"
    )
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help=f"comma-separated subset of {','.join(KINDS)}"
    )
    parser.add_argument(
        "--force", action="store_true", help="write into a folder that is not empty"
    )
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or args.count_per_kind < 1 or not 0 < args.scale <= 4:
        parser.error(
            f"unknown kinds {unknown}"
            if unknown
            else "--count-per-kind must be >= 1, --scale in (0, 4]"
        )
    problem = check_output(args.out, args.force)
    if problem:
        print(f"graphics: {problem}", file=sys.stderr)
        return 1
    written = generate(args.out, args.seed, args.count_per_kind, args.scale, kinds, log=print)
    print(f"graphics: {len(written)} images written to {args.out} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training crops that carry what real images went through: chroma subsampling, JPEG,
resampling, sensor noise (issue 13).

The training photos (../shared/data/train) are downsampled from large originals, so they
have full-resolution chroma, no JPEG blocks and no interpolation; most images people
compress have been through a camera's or a video codec's 4:2:0, a JPEG or a resize. With a
mix, :class:`~flowzip.train.run.CropSampler` draws each crop's kind from its proportions and
makes the crop the way a tile of such an image looks: a larger region of a training image is
processed as a whole (as if it were the image), then the crop is cut 16 pixels in, an
offset on the JPEG MCU grid (16x16 covers 4:2:0, 4:2:2 and 4:4:4) and on every chroma grid,
so block edges and chroma phases fall where they fall in a tile of a real image (tiles start
at multiples of 512); noise needs no margin. A horizontal flip, when drawn, is applied before the processing.

Kinds and what each draws (uniformly where no weights are given):

- ``clean``: the crop as is (the only kind without augmentation).
- ``chroma``: 4:2:0 (70%) or 4:2:2 (30%), the planes rounded to 8 bits after every step,
  as one of three pipelines: *libjpeg* (JFIF full-range BT.601, centred chroma, box
  average down, "fancy" triangle up 75% or replicate up 25%), *Pillow* (JFIF, centred,
  box, triangle or bicubic down; bilinear or bicubic up) or *ffmpeg* (limited-range
  BT.601 or BT.709, chroma co-sited horizontally (MPEG-2/H.264's "left"), bilinear or
  bicubic down and up).
- ``jpeg``: a Pillow (libjpeg) round trip at a quality from 70 to 100, with 4:2:0 (60%),
  4:4:4 (25%) or 4:2:2 (15%) chroma; one channel: a grayscale JPEG.
- ``resample``: upscaled (60%: exactly 2x half the time, else 1.2-3x) or downscaled
  (0.5-0.9x, antialiased), bilinear, bicubic or Lanczos-3 (Pillow's conventions: centred
  pixels, the kernel stretched on downscaling); an exact 2x upscale is cut on its 2-pixel
  phase.
- ``noise``: Poisson-Gaussian sensor-like noise, read noise 0.3-1.5 levels and shot noise
  0-2 levels at mid grey, per channel, half the time smoothed by a [1, 2, 1] kernel as a
  demosaic would.

A grayscale flow (one channel) draws no ``chroma`` crops; their share goes to the others.
Everything is seeded through the sampler's generator: the same seed gives the same crops.

    >>> import numpy as np
    >>> mix = AugmentMix.parse("clean=2,jpeg=1,chroma=1")
    >>> mix.spec()
    'clean=0.5,chroma=0.25,jpeg=0.25'
    >>> image = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    >>> a = augmented_crop(image, 64, mix, np.random.default_rng(7))
    >>> b = augmented_crop(image, 64, mix, np.random.default_rng(7))
    >>> a.shape, a.dtype, bool((a == b).all())
    ((64, 64, 3), dtype('uint8'), True)
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np

KINDS = ("clean", "chroma", "jpeg", "resample", "noise")
MARGIN = 16  # crops are cut this far inside the processed region: on every block grid
# The mix behind --augment default, from bench/augment_mix.py (docs/experiments.md, row A1):
# the per-crop statistics of dev and its four variants are matched best by chroma 0.20-0.24,
# jpeg 0.43-0.46, resample 0.34-0.35 and no clean crops (seeds 0-2, 1,200 crops each);
# rounded, with 5% clean and 5% noise kept (which those statistics cannot see), at a cost
# of at most 0.011 in each statistic's total-variation distance.
DEFAULT_SPEC = "clean=0.05,chroma=0.25,jpeg=0.4,resample=0.25,noise=0.05"


@dataclass(frozen=True)
class AugmentMix:
    """The share of each kind of crop (they sum to 1)."""

    clean: float = 1.0
    chroma: float = 0.0
    jpeg: float = 0.0
    resample: float = 0.0
    noise: float = 0.0

    @classmethod
    def parse(cls, spec: str) -> AugmentMix | None:
        """``none`` (None: plain crops), ``default``, or weights such as
        ``clean=1,jpeg=2`` (kinds left out get 0; the weights are normalised)."""
        spec = spec.strip()
        if spec == "none":
            return None
        if spec == "default":
            spec = DEFAULT_SPEC
        weights = dict.fromkeys(KINDS, 0.0)
        for part in spec.split(","):
            name, eq, value = part.partition("=")
            name = name.strip()
            if name not in weights or not eq:
                raise ValueError(
                    f"augment mix {spec!r}: expected none, default or KIND=WEIGHT,... "
                    f"with kinds {', '.join(KINDS)}"
                )
            try:
                weights[name] = float(value)
            except ValueError:
                raise ValueError(
                    f"augment mix {spec!r}: {value.strip()!r} is not a number"
                ) from None
            if not math.isfinite(weights[name]) or weights[name] < 0:
                raise ValueError(f"augment mix {spec!r}: weights must be finite and not negative")
        total = sum(weights.values())
        if total <= 0:
            raise ValueError(f"augment mix {spec!r}: the weights sum to 0")
        return cls(**{k: v / total for k, v in weights.items()})

    def spec(self) -> str:
        """The canonical text of this mix (what checkpoints record)."""
        return ",".join(
            f"{f.name}={round(getattr(self, f.name), 6):g}"
            for f in fields(self)
            if getattr(self, f.name)
        )

    def shares(self, channels: int) -> np.ndarray:
        """The probability of each of :data:`KINDS` for a flow of ``channels`` channels."""
        p = np.array([getattr(self, k) for k in KINDS], dtype=np.float64)
        if channels == 1:
            p[KINDS.index("chroma")] = 0.0
        if p.sum() <= 0:  # only chroma, for a grayscale flow: plain crops
            p[0] = 1.0
        return p / p.sum()


# -- filters -------------------------------------------------------------------------------


def _box(x: np.ndarray) -> np.ndarray:
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)


def _triangle(x: np.ndarray) -> np.ndarray:
    return np.maximum(0.0, 1.0 - np.abs(x))


def _bicubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:  # Pillow's (and Keys') a = -0.5
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def _lanczos3(x: np.ndarray) -> np.ndarray:
    return np.where(np.abs(x) < 3, np.sinc(x) * np.sinc(x / 3), 0.0)


FILTERS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], float]] = {
    # name: (kernel, support radius in the coarser grid's samples)
    "box": (_box, 0.5),
    "triangle": (_triangle, 1.0),
    "bicubic": (_bicubic, 2.0),
    "lanczos3": (_lanczos3, 3.0),
}


def resample_taps(
    n_in: int, n_out: int, kernel: str, cosited: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """``(indices, weights)``, each (n_out, taps): output ``j`` of a line of ``n_in`` samples
    resampled to ``n_out`` is ``sum(weights[j] * line[indices[j]])``.

    Pillow's convention: output sample ``j`` sits at input position ``(j + 0.5) * n_in / n_out
    - 0.5`` (pixel centres), and on downscaling the kernel is stretched by the ratio
    (antialiasing). ``cosited`` puts the coarser grid's samples on every other fine pixel
    instead of between them (MPEG-2/H.264 chroma, "left"), for a ratio of exactly 2. Taps
    beyond the ends take the edge sample (libjpeg's and ffmpeg's edge replication).
    """
    fn, support = FILTERS[kernel]
    scale = n_in / n_out
    stretch = max(1.0, scale)
    j = np.arange(n_out, dtype=np.float64)
    if cosited:  # coarse sample k at fine pixel 2k
        centre = j * 2 if scale > 1 else j / 2
    else:
        centre = (j + 0.5) * scale - 0.5
    reach = math.ceil(support * stretch) + 1
    taps = np.floor(centre)[:, None] + np.arange(-reach, reach + 2)[None, :]
    w = fn((taps - centre[:, None]) / stretch)
    return np.clip(taps, 0, n_in - 1).astype(np.intp), w / w.sum(axis=1, keepdims=True)


def resample_matrix(n_in: int, n_out: int, kernel: str, cosited: bool = False) -> np.ndarray:
    """:func:`resample_taps` as an (n_out, n_in) matrix.

    >>> resample_matrix(4, 2, "triangle")[0] * 8     # 2:1 down, centred: [1, 3, 3, 1] / 8
    array([4., 3., 1., 0.])
    >>> resample_matrix(2, 4, "box")                 # 1:2 up, box: replicate
    array([[1., 0.],
           [1., 0.],
           [0., 1.],
           [0., 1.]])
    """
    idx, w = resample_taps(n_in, n_out, kernel, cosited)
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.repeat(np.arange(n_out), idx.shape[1]), idx.ravel()), w.ravel())
    return m


def _round8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(x + 0.5), 0, 255)


def _resample_axis0(x: np.ndarray, n_out: int, kernel: str, cosited: bool) -> np.ndarray:
    # a sum over gathered taps rather than a matrix product: BLAS threads on these small
    # products cost 10x their arithmetic beside torch's threads
    idx, w = resample_taps(x.shape[0], n_out, kernel, cosited)
    keep = np.abs(w).max(axis=0) > 0  # tap columns that are zero for every output
    idx, w = idx[:, keep], w[:, keep].reshape(n_out, -1, *([1] * (x.ndim - 1)))
    out = w[:, 0] * x[idx[:, 0]]
    for k in range(1, idx.shape[1]):
        out += w[:, k] * x[idx[:, k]]
    return out


def resize(
    plane: np.ndarray,
    height: int,
    width: int,
    kernel: str,
    cosited: tuple[bool, bool] = (False, False),
) -> np.ndarray:
    """A float plane (H, W) or image (H, W, C) resampled to (height, width), unrounded."""
    x = _resample_axis0(plane.astype(np.float64), height, kernel, cosited[0])
    x = _resample_axis0(np.ascontiguousarray(np.swapaxes(x, 0, 1)), width, kernel, cosited[1])
    return np.swapaxes(x, 0, 1)


# -- colour ---------------------------------------------------------------------------------

MATRICES = {"bt601": (0.299, 0.114), "bt709": (0.2126, 0.0722)}  # (Kr, Kb)


def rgb_to_ycbcr(rgb: np.ndarray, matrix: str = "bt601", full_range: bool = True) -> np.ndarray:
    """8-bit Y'CbCr planes (H, W, 3) as integers (float64): JFIF when full-range BT.601,
    else studio range (Y 16-235, Cb/Cr 16-240) as video and ffmpeg's yuv420p use."""
    kr, kb = MATRICES[matrix]
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = kr * r + (1 - kr - kb) * g + kb * b
    cb, cr = (b - y) / (2 * (1 - kb)), (r - y) / (2 * (1 - kr))
    if full_range:
        return _round8(np.stack([y, cb + 128, cr + 128], axis=-1))
    return _round8(
        np.stack([16 + y * 219 / 255, 128 + cb * 224 / 255, 128 + cr * 224 / 255], axis=-1)
    )


def ycbcr_to_rgb(ycc: np.ndarray, matrix: str = "bt601", full_range: bool = True) -> np.ndarray:
    """The inverse of :func:`rgb_to_ycbcr`, rounded and clipped to uint8."""
    kr, kb = MATRICES[matrix]
    y, cb, cr = (ycc[..., i].astype(np.float64) for i in range(3))
    if full_range:
        cb, cr = cb - 128, cr - 128
    else:
        y, cb, cr = (y - 16) * 255 / 219, (cb - 128) * 255 / 224, (cr - 128) * 255 / 224
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return _round8(np.stack([r, g, b], axis=-1)).astype(np.uint8)


@dataclass(frozen=True)
class ChromaPipeline:
    """One way of subsampling chroma and bringing it back: what a codec's pixels carry."""

    scheme: str = "420"  # "420" (half width and height) or "422" (half width)
    matrix: str = "bt601"
    full_range: bool = True
    cosited: bool = False  # horizontally co-sited chroma (MPEG-2/H.264 "left"), else centred
    down: str = "box"
    up: str = "triangle"

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """``rgb`` (H, W, 3) uint8 through the subsampling, back to uint8 RGB.

        >>> flat = np.full((16, 16, 3), (200, 30, 90), np.uint8)
        >>> bool((ChromaPipeline()(flat).astype(int) - flat).max() <= 1)  # flat colour survives
        True
        """
        h, w = rgb.shape[:2]
        ycc = rgb_to_ycbcr(rgb, self.matrix, self.full_range)
        ch, cw = ((h + 1) // 2 if self.scheme == "420" else h), (w + 1) // 2
        siting = (False, self.cosited)
        small = _round8(resize(ycc[..., 1:], ch, cw, self.down, siting))
        ycc[..., 1:] = _round8(resize(small, h, w, self.up, siting))
        return ycbcr_to_rgb(ycc, self.matrix, self.full_range)


def draw_chroma_pipeline(rng: np.random.Generator) -> ChromaPipeline:
    """A pipeline as libjpeg, Pillow or ffmpeg would run it (see the module docstring)."""
    scheme = "420" if rng.random() < 0.7 else "422"
    tool = ("libjpeg", "pillow", "ffmpeg")[rng.integers(3)]
    if tool == "libjpeg":
        return ChromaPipeline(scheme, up="triangle" if rng.random() < 0.75 else "box")
    if tool == "pillow":
        return ChromaPipeline(
            scheme,
            down=("box", "triangle", "bicubic")[rng.integers(3)],
            up=("triangle", "bicubic")[rng.integers(2)],
        )
    return ChromaPipeline(
        scheme,
        matrix=("bt601", "bt709")[rng.integers(2)],
        full_range=False,
        cosited=True,
        down=("triangle", "bicubic")[rng.integers(2)],
        up=("triangle", "bicubic")[rng.integers(2)],
    )


# -- the other kinds --------------------------------------------------------------------------

JPEG_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}  # Pillow's subsampling codes


def jpeg_round_trip(image: np.ndarray, quality: int, subsampling: int = 2) -> np.ndarray:
    """``image`` (H, W, C) uint8 encoded as a JPEG by Pillow (libjpeg) and decoded again."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(image[..., 0] if image.shape[2] == 1 else image))
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=int(quality), subsampling=subsampling)
    buf.seek(0)
    with Image.open(buf) as out:
        return np.asarray(out.convert(im.mode)).reshape(image.shape)


def sensor_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson-Gaussian noise (variance ``read**2 + gain * level``), rounded, clipped."""
    read = rng.uniform(0.3, 1.5)
    gain = rng.uniform(0.0, 2.0) ** 2 / 128  # shot noise 0-2 levels at mid grey
    x = image.astype(np.float64)
    noise = rng.standard_normal(x.shape)
    if rng.random() < 0.5:  # smoothed like a demosaic's interpolation, then back to unit variance
        p = np.pad(noise, ((1, 1), (1, 1), (0, 0)), mode="edge")
        noise = (p[:-2] + 2 * p[1:-1] + p[2:]) / 4
        noise = (noise[:, :-2] + 2 * noise[:, 1:-1] + noise[:, 2:]) / 4 / math.sqrt(9 / 64)
    return _round8(x + noise * np.sqrt(read**2 + gain * x)).astype(np.uint8)


def _processed_region(
    region: np.ndarray, kind: str, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """``(processed region, grid)``: the crop must start at a multiple of ``grid``."""
    if kind == "chroma":
        return draw_chroma_pipeline(rng)(region), 2
    if kind == "jpeg":
        quality = int(rng.integers(70, 101))
        subsampling = (2, 0, 1)[rng.choice(3, p=(0.6, 0.25, 0.15))]
        return jpeg_round_trip(region, quality, subsampling), 16
    if kind == "noise":
        return sensor_noise(region, rng), 1
    raise ValueError(kind)


def _resample_factor(rng: np.random.Generator) -> float:
    if rng.random() < 0.6:
        return 2.0 if rng.random() < 0.5 else rng.uniform(1.2, 3.0)
    return rng.uniform(0.5, 0.9)


def augmented_crop(
    image: np.ndarray, crop: int, mix: AugmentMix, rng: np.random.Generator
) -> np.ndarray:
    """One ``crop`` x ``crop`` crop of ``image`` (H, W, C) uint8, of a kind drawn from ``mix``.

    An image too small for the region a kind needs gives a plain crop (the training images
    are far larger than any region: 64-pixel crops need at most 194x194)."""
    h, w, c = image.shape
    kind = KINDS[rng.choice(len(KINDS), p=mix.shares(c))]
    factor = _resample_factor(rng) if kind == "resample" else 1.0
    margin = 0 if kind in ("clean", "noise") else MARGIN  # noise has no edges to keep away from
    out_size = crop + 2 * margin
    size = math.ceil(out_size / factor) + (2 if kind == "resample" else 0)
    if size > min(h, w):
        kind, size = "clean", crop
    y = rng.integers(0, h - size + 1)
    x = rng.integers(0, w - size + 1)
    region = image[y : y + size, x : x + size]
    if rng.random() < 0.5:
        region = region[:, ::-1]
    if kind == "clean":
        return np.ascontiguousarray(region)
    if kind == "resample":
        n = max(out_size, round(size * factor))
        kernel = ("triangle", "bicubic", "lanczos3")[rng.integers(3)]
        out, grid = (
            _round8(resize(region, n, n, kernel)).astype(np.uint8),
            2 if factor == 2.0 else 1,
        )
    else:
        out, grid = _processed_region(np.ascontiguousarray(region), kind, rng)
    offset = -(-margin // grid) * grid
    return np.ascontiguousarray(out[offset : offset + crop, offset : offset + crop])

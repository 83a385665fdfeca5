"""Benchmark flowzip against the usual lossless codecs on folders of images.

    flowzip bench DIR... -o OUT [--codecs png,webp,...] [--models default,...] [--max-images N]
    python -m bench DIR... -o OUT ...            (the same, from the repository root)

Every image of every folder is coded with every codec asked for; every output is decoded
and compared with the input pixels (``verified``), and every codec is charged the same
way: the whole file, in bits per sub-pixel (8 x bytes / (H x W x C)). Writes:

- ``OUT/results.json``: one record per image and codec (:class:`Record`);
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
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import platform
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .api import CompressionStats

BASELINES = ("png", "webp", "jxl-e7", "jxl-e9", "jpegls", "jpeg2000", "qoi")
FLOWZIP = "flowzip"
FLOWZIP_FIELDS = (
    "model_bpsp",
    "header_bytes",
    "escapes",
    "padding_bytes",
    "seed_bytes",
    "tile_paths",
)
INSTALL_HINT = "pip install 'flowzip[bench]'"


# -- records ------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One image coded by one codec; what results.json holds and the cache stores.

    Speeds are megapixels (H x W, not sub-pixels) per second of encoding or decoding
    alone: reading the image and loading a model are not in them.
    """

    image: str  # "<folder>/<path inside it>"
    dataset: str  # the set: one table of the report (folder, or folder/prefix)
    codec: str
    H: int
    W: int
    C: int
    mode: str  # the Pillow mode of the file (P and 1 are coded as RGB and L)
    bytes: int | None
    bpsp: float | None
    enc_mpps: float | None
    dec_mpps: float | None
    verified: bool
    error: str | None = None  # why there is no result, or how the decoded pixels differ
    # flowzip only: the model's own code length and where the rest of the file goes
    model_bpsp: float | None = None
    header_bytes: int | None = None
    escapes: int | None = None
    padding_bytes: float | None = None  # stream bytes beyond bits_theoretical / 8
    seed_bytes: int | None = (
        None  # always 0: a bits-back model's costs beyond its model bpsp are in padding_bytes
    )
    # tiles per coding path ("flow", "palette", "predictive", "stored"); None when this
    # flowzip does not say (older versions, and results cached before it did)
    tile_paths: dict[str, int] | None = field(default=None, hash=False)

    @property
    def subpixels(self) -> int:
        return self.H * self.W * self.C

    def to_json(self) -> dict:
        """A flat dict; baselines leave out the flowzip-only fields rather than carry nulls."""
        d = asdict(self)
        if not self.codec.startswith(FLOWZIP):
            for name in FLOWZIP_FIELDS:
                del d[name]
        return d

    @classmethod
    def from_json(cls, d: dict) -> Record:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


@dataclass(frozen=True)
class CodecOutput:
    """What an encoder hands back: the file, and flowzip's statistics when it is flowzip."""

    data: bytes
    stats: CompressionStats | None = None


@dataclass(frozen=True)
class Problem:
    """A file, folder or codec left out, with the reason; listed in the report."""

    what: str
    reason: str


# -- codecs -------------------------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    """An encoder/decoder pair with a ``version`` that names everything that decides its
    output (library versions, settings), so cached results go stale when any of it changes."""

    name: str
    version: str
    encode: Callable[[np.ndarray], CodecOutput]
    decode: Callable[[bytes], np.ndarray]
    load_seconds: dict[str, float] = field(default_factory=dict)  # flowzip: encoder/decoder load


@dataclass(frozen=True)
class Unavailable:
    name: str
    reason: str


def _gray_as_rgb(img: np.ndarray) -> np.ndarray:
    """WebP and QOI have no grayscale: a gray image is stored as RGB (the bytes count)."""
    return np.repeat(img[:, :, None], 3, axis=2) if img.ndim == 2 else img


def _pillow_encoder(fmt: str, rgb_only: bool, **options) -> Callable[[np.ndarray], CodecOutput]:
    from PIL import Image

    def encode(img: np.ndarray) -> CodecOutput:
        buf = io.BytesIO()
        Image.fromarray(_gray_as_rgb(img) if rgb_only else img).save(buf, format=fmt, **options)
        return CodecOutput(buf.getvalue())

    return encode


def _pillow_decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im)


def _png(threads: int) -> Codec | Unavailable:
    import PIL
    from PIL import features

    version = f"Pillow {PIL.__version__} zlib {features.version('zlib')} optimize=True"
    return Codec("png", version, _pillow_encoder("PNG", False, optimize=True), _pillow_decode)


def _webp(threads: int) -> Codec | Unavailable:
    import PIL
    from PIL import features

    if not features.check("webp"):
        return Unavailable("webp", "this Pillow was built without WebP")
    # quality is the lossless effort in libwebp; 100 with method 6 is cwebp -lossless -z 9
    options = {"lossless": True, "method": 6, "quality": 100, "exact": True}
    version = f"Pillow {PIL.__version__} libwebp {features.version('webp')} {options}"
    return Codec("webp", version, _pillow_encoder("WEBP", True, **options), _pillow_decode)


def _imagecodecs(name: str, flag: str) -> tuple[object | None, str]:
    """The imagecodecs module when it has the codec ``flag`` (e.g. "JPEGXL"), else a reason."""
    try:
        import imagecodecs
    except ImportError:
        return None, f"imagecodecs is not installed ({INSTALL_HINT})"
    if not getattr(getattr(imagecodecs, flag, None), "available", False):
        return None, f"this imagecodecs build has no {flag}"
    return imagecodecs, ""


def _jxl(effort: int) -> Callable[[int], Codec | Unavailable]:
    def make(threads: int) -> Codec | Unavailable:
        name = f"jxl-e{effort}"
        ic, reason = _imagecodecs(name, "JPEGXL")
        if ic is None:
            return Unavailable(name, reason)
        version = f"imagecodecs {ic.__version__} {ic.jpegxl_version()} lossless effort={effort} threads={threads}"
        return Codec(
            name,
            version,
            lambda img: CodecOutput(
                bytes(ic.jpegxl_encode(img, lossless=True, effort=effort, numthreads=threads))
            ),
            lambda data: ic.jpegxl_decode(data, numthreads=threads),
        )

    return make


def _jpegls(threads: int) -> Codec | Unavailable:
    ic, reason = _imagecodecs("jpegls", "JPEGLS")
    if ic is None:
        return Unavailable("jpegls", reason)
    version = f"imagecodecs {ic.__version__} {ic.jpegls_version()} near=0"
    # level is JPEG-LS's NEAR: 0 is lossless
    return Codec(
        "jpegls",
        version,
        lambda img: CodecOutput(bytes(ic.jpegls_encode(img, level=0))),
        ic.jpegls_decode,
    )


def _jpeg2000(threads: int) -> Codec | Unavailable:
    ic, reason = _imagecodecs("jpeg2000", "JPEG2K")
    if ic is None:
        return Unavailable("jpeg2000", reason)
    version = (
        f"imagecodecs {ic.__version__} {ic.jpeg2k_version()} level=0 reversible threads={threads}"
    )
    # level=0 asks for no rate limit (lossless), reversible=True the 5/3 wavelet and RCT
    return Codec(
        "jpeg2000",
        version,
        lambda img: CodecOutput(
            bytes(ic.jpeg2k_encode(img, level=0, reversible=True, numthreads=threads))
        ),
        lambda data: ic.jpeg2k_decode(data, numthreads=threads),
    )


def _qoi(threads: int) -> Codec | Unavailable:
    ic, reason = _imagecodecs("qoi", "QOI")
    if ic is not None:
        version = f"imagecodecs {ic.__version__} {ic.qoi_version()}"
        return Codec(
            "qoi",
            version,
            lambda img: CodecOutput(bytes(ic.qoi_encode(_gray_as_rgb(img)))),
            ic.qoi_decode,
        )
    import PIL
    from PIL import Image

    Image.init()
    if "QOI" not in Image.SAVE:
        return Unavailable("qoi", reason + "; this Pillow cannot write QOI either")
    return Codec(
        "qoi", f"Pillow {PIL.__version__} QOI", _pillow_encoder("QOI", True), _pillow_decode
    )


BASELINE_FACTORIES: dict[str, Callable[[int], Codec | Unavailable]] = {
    "png": _png,
    "webp": _webp,
    "jxl-e7": _jxl(7),
    "jxl-e9": _jxl(9),
    "jpegls": _jpegls,
    "jpeg2000": _jpeg2000,
    "qoi": _qoi,
}


def _source_digest() -> str:
    """A hash of flowzip's own code (and the kernels), so that cached flowzip results go
    stale when the codec changes, even while the version number stays the same."""
    import flowzip
    import flowzip.kernels

    h = hashlib.sha256()
    roots = {Path(flowzip.__file__).parent, Path(flowzip.kernels.__file__).parent}
    for root in sorted(roots):
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            # training code and weights do not decide a file's bytes (the weights' own hash
            # is in the key), and editing this benchmark must not invalidate its results
            skip = rel.parts[0] in ("train", "weights", "__pycache__") or rel.name == "benchmark.py"
            if path.suffix in (".py", ".npz") and not skip and path.is_file():
                h.update(rel.as_posix().encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def flowzip_codec(
    model: str, backend: str | None, source: str, taken: Iterable[str] = ()
) -> Codec | Unavailable:
    """flowzip with one model, named ``flowzip:<model id>`` (plus ``@<sha256 prefix>`` when
    another model of the same id, e.g. two checkpoints both called model.npz, took that name).

    Loading is timed apart from coding: the encoder's load is ``Compressor(model)``; the
    decoder loads its model on its first file, so its load is the first decode of an 8x8
    image, done here and not in any speed.
    """
    import flowzip
    from flowzip.registry import resolve, sha256_file

    try:
        model_id, path, _ = resolve(model)
        if not path.is_file():
            return Unavailable(f"{FLOWZIP}:{model}", f"weights file missing: {path}")
        t0 = time.perf_counter()
        compressor = flowzip.Compressor(model, backend=backend)
        t1 = time.perf_counter()
        decompressor = flowzip.Decompressor(models=[path], backend=backend)
        probe = np.zeros((8, 8, 3), dtype=np.uint8)
        warm = compressor.compress(probe)
        t2 = time.perf_counter()
        decompressor.decompress(warm)
        t3 = time.perf_counter()
    except (flowzip.FlowzipError, OSError, ValueError) as e:
        return Unavailable(f"{FLOWZIP}:{model}", f"cannot load model: {e}")
    sha = sha256_file(path)
    name = f"{FLOWZIP}:{compressor.model.model_id}"
    if name in set(taken):
        name = f"{name}@{sha[:8]}"
    version = (
        f"flowzip {flowzip.__version__} source {source} model {model_id} sha256 {sha} "
        f"backend {compressor.model.backend_name} tile {compressor.tile}"
    )

    def encode(img: np.ndarray) -> CodecOutput:
        enc = compressor.encode(img)
        return CodecOutput(enc.data, enc.stats)

    return Codec(
        name, version, encode, decompressor.decompress, {"encoder": t1 - t0, "decoder": t3 - t2}
    )


def parse_codec_list(values: Sequence[str] | None) -> list[str]:
    """``--codecs`` values (comma-separated, repeatable) as names; ``all`` or none means all."""
    names: list[str] = []
    for value in values or ["all"]:
        for name in (v.strip() for v in value.split(",")):
            if name == "all":
                names += [FLOWZIP, *BASELINES]
            elif name and name not in names:
                names.append(name)
    return list(dict.fromkeys(names))


def build_codecs(
    names: Sequence[str],
    models: Sequence[str],
    threads: int,
    backend: str | None,
) -> tuple[list[Codec], list[Unavailable]]:
    """The codecs asked for, in the order asked, and the ones that cannot run here.

    A codec asked for twice (a model by name and by path) runs once: same version string.
    """
    codecs: list[Codec] = []
    unavailable: list[Unavailable] = []

    def keep(codec: Codec | Unavailable) -> None:
        if isinstance(codec, Unavailable):
            if codec.name not in {u.name for u in unavailable}:
                unavailable.append(codec)
        elif all(codec.version != c.version and codec.name != c.name for c in codecs):
            codecs.append(codec)

    source = _source_digest() if any(n.startswith(FLOWZIP) for n in names) else ""
    for name in names:
        if name == FLOWZIP or name.startswith(FLOWZIP + ":"):
            for model in models if name == FLOWZIP else [name.split(":", 1)[1]]:
                keep(flowzip_codec(model, backend, source, [c.name for c in codecs]))
        else:
            keep(BASELINE_FACTORIES[name](threads))
    return codecs, unavailable


# -- images -------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageFile:
    dataset: str  # the set it is reported in (see set_name)
    path: Path
    key: str  # "<folder name>/<relative path>": names it in records and in the cache
    size: int
    mtime_ns: int


class BadImage(Exception):
    """An input file that cannot be benchmarked; it is reported and skipped."""


def _image_suffixes() -> set[str]:
    from PIL import Image

    Image.init()
    return {s.lower() for s in Image.registered_extensions()}


def set_name(folder: str, file_name: str, sets: str) -> str:
    """The set an image is reported in: its folder's name, or with ``sets="prefix"`` the
    folder and the file name's prefix before the first "_" (``dev/set14_lenna.png`` is in
    set ``dev/set14``), since one folder often holds several benchmark sets."""
    prefix, sep, rest = file_name.partition("_")
    return f"{folder}/{prefix}" if sets == "prefix" and sep and prefix and rest else folder


def folder_names(dirs: Sequence[Path]) -> list[str]:
    """One name per folder (its own name), made unique with -2, -3... when two collide."""
    names: list[str] = []
    for d in dirs:
        base = d.resolve().name or "root"
        name, n = base, 1
        while name in names:
            n += 1
            name = f"{base}-{n}"
        names.append(name)
    return names


def discover(
    dirs: Sequence[str], max_images: int | None, sets: str = "prefix"
) -> tuple[list[ImageFile], list[Problem]]:
    """The image files of each folder (recursively, in path order; files with an image
    suffix), at most ``max_images`` of each set."""
    suffixes = _image_suffixes()
    images: list[ImageFile] = []
    problems: list[Problem] = []
    taken: dict[str, int] = {}
    paths = [Path(d) for d in dirs]
    for folder, name in zip(paths, folder_names(paths)):
        if not folder.is_dir():
            problems.append(Problem(str(folder), "not a folder"))
            continue
        found = sorted(
            p
            for p in folder.rglob("*")
            if p.suffix.lower() in suffixes
            and p.is_file()
            and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        )
        if not found:
            problems.append(Problem(str(folder), "no image files"))
        for path in found:
            dataset = set_name(name, path.name, sets)
            if max_images is not None and taken.get(dataset, 0) >= max_images:
                continue
            taken[dataset] = taken.get(dataset, 0) + 1
            st = path.stat()
            rel = path.relative_to(folder).as_posix()
            images.append(ImageFile(dataset, path, f"{name}/{rel}", st.st_size, st.st_mtime_ns))
    return images, problems


def read_pixels(path: Path) -> tuple[np.ndarray, str]:
    """The pixels to benchmark: RGB as uint8 (H, W, 3), L as (H, W).

    P and 1 are converted to RGB and L (no pixel changes); RGBA and LA are taken as RGB
    and L only when fully opaque. Anything else (16-bit, CMYK...) is refused.
    """
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            mode = im.mode
            if mode in ("RGB", "L"):
                return np.asarray(im), mode
            if mode == "P":
                return np.asarray(im.convert("RGB")), mode
            if mode == "1":
                return np.asarray(im.convert("L")), mode
            if mode in ("RGBA", "LA"):
                arr = np.asarray(im)
                if (arr[..., -1] == 255).all():
                    return np.ascontiguousarray(
                        arr[..., :-1].squeeze(-1) if mode == "LA" else arr[..., :3]
                    ), mode
                raise BadImage(f"mode {mode} with transparency (only RGB and L are benchmarked)")
            raise BadImage(f"mode {mode} (only RGB and L are benchmarked)")
    except BadImage:
        raise
    except Exception as e:  # whatever Pillow raises on a broken file: never a crash
        raise BadImage(f"not a readable image ({type(e).__name__}: {e})") from None


# -- measuring ----------------------------------------------------------------------


def _as_layout(decoded: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Undo a gray-as-RGB storage (WebP, QOI) only where the three channels agree, so a
    wrong pixel still shows as a mismatch."""
    decoded = np.asarray(decoded)
    if like.ndim == 2 and decoded.ndim == 3 and decoded.shape[2] in (1, 3):
        if (decoded == decoded[:, :, :1]).all():
            return decoded[:, :, 0]
    return decoded


def compare(decoded: np.ndarray, img: np.ndarray) -> str | None:
    """None when the decoded image is the input exactly, else how it differs."""
    if decoded.shape != img.shape:
        return f"decoded shape {decoded.shape} differs from the input's {img.shape}"
    if decoded.dtype != img.dtype:
        return f"decoded dtype {decoded.dtype} differs from the input's {img.dtype}"
    wrong = int(np.count_nonzero(decoded != img))
    return None if wrong == 0 else f"decoded pixels differ: {wrong} of {img.size} sub-pixels"


def _mpps(pixels: int, seconds: float) -> float:
    return pixels / 1e6 / max(seconds, 1e-9)


def measure(codec: Codec, img: np.ndarray, image: ImageFile, mode: str) -> Record:
    """Encode, decode and compare one image; a codec's exception becomes the record's error."""
    h, w = img.shape[:2]
    c = 1 if img.ndim == 2 else img.shape[2]
    base = dict(image=image.key, dataset=image.dataset, codec=codec.name, H=h, W=w, C=c, mode=mode)
    try:
        t0 = time.perf_counter()
        out = codec.encode(img)
        t1 = time.perf_counter()
        decoded = codec.decode(out.data)
        t2 = time.perf_counter()
    except Exception as e:  # a baseline library refusing an image must not stop the run
        return Record(
            **base,
            bytes=None,
            bpsp=None,
            enc_mpps=None,
            dec_mpps=None,
            verified=False,
            error=f"{type(e).__name__}: {e}",
        )
    mismatch = compare(_as_layout(decoded, img), img)
    n = len(out.data)
    extra = _flowzip_fields(out.stats) if out.stats is not None else {}
    return Record(
        **base,
        bytes=n,
        bpsp=8.0 * n / (h * w * c),
        enc_mpps=_mpps(h * w, t1 - t0),
        dec_mpps=_mpps(h * w, t2 - t1),
        verified=mismatch is None,
        error=mismatch,
        **extra,
    )


def _flowzip_fields(stats: CompressionStats) -> dict:
    """The model's own code length, the file's overhead and the tiles' coding paths, from
    flowzip's statistics."""
    stream_bytes = stats.nbytes - stats.header_bytes
    return {
        "model_bpsp": stats.model_bpsp,
        "header_bytes": stats.header_bytes,
        "escapes": stats.escapes,
        "padding_bytes": stream_bytes - stats.bits_theoretical / 8.0,
        "seed_bytes": 0,
        "tile_paths": _tile_paths(stats),
    }


def _tile_paths(stats: object) -> dict[str, int] | None:
    """``stats.tile_paths`` (coding path name -> tiles) as a plain dict, or None where this
    flowzip's statistics have no such field (or it is empty, or not a mapping of counts)."""
    paths = getattr(stats, "tile_paths", None)
    if not paths:  # missing, or empty: an image has at least one tile, so nothing was recorded
        return None
    try:
        return {str(name): int(n) for name, n in dict(paths).items()}
    except (TypeError, ValueError):
        return None


# -- cache --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cache:
    """One JSON file per image and codec; a result is reused only when the image's size and
    mtime and the codec's version string are all the same."""

    root: Path
    enabled: bool = True

    def path(self, codec: Codec, image: ImageFile) -> Path:
        folder = codec.name.replace(":", "_").replace("/", "_")
        return self.root / folder / f"{image.key}.json"

    @staticmethod
    def key(codec: Codec, image: ImageFile) -> dict:
        return {"size": image.size, "mtime_ns": image.mtime_ns, "codec": codec.version}

    def load(self, codec: Codec, image: ImageFile) -> Record | None:
        if not self.enabled:
            return None
        try:
            entry = json.loads(self.path(codec, image).read_text())
            if entry.get("key") == self.key(codec, image):
                return Record.from_json(entry["record"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass  # missing or damaged: compute again
        return None

    def store(self, codec: Codec, image: ImageFile, record: Record) -> None:
        entry = {"key": self.key(codec, image), "record": record.to_json()}
        _write_text(self.path(codec, image), json.dumps(entry, indent=1))


def _write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so an interrupt never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# -- progress -----------------------------------------------------------------------


def _duration(seconds: float) -> str:
    s = int(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


@dataclass
class Progress:
    """A bar on stderr when it is a terminal; otherwise one line per image."""

    total: int
    tty: bool
    quiet: bool
    shown: bool = False
    start: float = field(default_factory=time.monotonic)

    def step(self, done: int, label: str) -> None:
        if not self.tty or self.quiet:
            return
        width = 30
        fill = width * done // max(1, self.total)
        elapsed = time.monotonic() - self.start
        eta = (
            f" ETA {_duration(elapsed / done * (self.total - done))}"
            if 0 < done < self.total
            else ""
        )
        bar = f"[{'#' * fill}{'.' * (width - fill)}] {done}/{self.total} {_duration(elapsed)}{eta} {label}"
        sys.stderr.write(f"\r\033[K{bar[:160]}")
        sys.stderr.flush()
        self.shown = True

    def image_done(self, done: int, image: str, records: Sequence[Record], cached: int) -> None:
        if self.tty or self.quiet:
            return
        parts = "  ".join(
            f"{r.codec} {'ERR' if r.bpsp is None else f'{r.bpsp:.3f}'}" for r in records
        )
        note = f" ({cached} cached)" if cached else ""
        print(f"bench: [{done}/{self.total}] {image}: {parts}{note}", file=sys.stderr)

    def say(self, line: str) -> None:
        """A message that must be seen even under the bar (and even with -q)."""
        if self.shown:
            sys.stderr.write("\r\033[K")
        print(f"bench: {line}", file=sys.stderr)

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


# -- the run ------------------------------------------------------------------------


@dataclass
class RunResult:
    records: list[Record]
    codecs: list[Codec]
    unavailable: list[Unavailable]
    problems: list[Problem]
    computed: int
    cached: int
    folders: dict[str, str] = field(default_factory=dict)  # folder name -> the path as given


def benchmark(
    images: Sequence[ImageFile],
    codecs: Sequence[Codec],
    cache: Cache,
    progress: Progress,
) -> tuple[list[Record], list[Problem], int, int]:
    """Every image with every codec: from the cache when it is there, else measured."""
    records: list[Record] = []
    problems: list[Problem] = []
    computed = cached = 0
    for i, image in enumerate(images):
        found = {c.name: cache.load(c, image) for c in codecs}
        todo = [c for c in codecs if found[c.name] is None]
        if todo:
            progress.step(i, f"{image.key} (reading)")
            try:
                img, mode = read_pixels(image.path)
            except BadImage as e:
                problems.append(Problem(image.key, str(e)))
                progress.say(f"{image.key}: {e}; skipped")
                continue
            for codec in todo:
                progress.step(i, f"{image.key} {codec.name}")
                record = measure(codec, img, image, mode)
                if record.bytes is not None:  # failures are retried on the next run
                    cache.store(codec, image, record)
                else:
                    progress.say(f"{image.key}: {codec.name} failed: {record.error}")
                if record.bytes is not None and not record.verified:
                    progress.say(f"{image.key}: {codec.name} MISMATCH: {record.error}")
                found[codec.name] = record
                computed += 1
        cached += len(codecs) - len(todo)
        ordered = [found[c.name] for c in codecs if found[c.name] is not None]
        records += ordered
        progress.image_done(i + 1, image.key, ordered, len(codecs) - len(todo))
    progress.step(len(images), "done")
    progress.close()
    return records, problems, computed, cached


# -- summaries ----------------------------------------------------------------------


@dataclass(frozen=True)
class CodecSummary:
    """One row of a report table: totals over the images every codec coded."""

    codec: str
    images: int
    bpsp: float
    enc_mpps: float
    dec_mpps: float
    verified: int
    model_bpsp: float | None = None
    header_bpsp: float | None = None
    padding_bpsp: float | None = None
    seed_bpsp: float | None = None
    escapes: int | None = None
    # flowzip only: tiles per coding path, summed over the images that recorded them
    tile_paths: dict[str, int] | None = field(default=None, hash=False)
    tile_path_images: int = 0  # how many of the images recorded their tiles' paths
    worst_vs_png: tuple[str, float] | None = None  # (image, file bytes / PNG's), the largest


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
                    "seed_bpsp": 8.0 * sum(r.seed_bytes or 0 for r in rs) / sub,
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


def command_line(prog: str | None = None, argv: Sequence[str] | None = None) -> str:
    """The command as typed, for the report: ``prog`` and ``argv`` when given, else
    ``sys.argv`` (its ``.../bench/__main__.py`` shown as ``python -m bench``)."""
    if prog is None:
        first = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path("flowzip")
        prog = f"python -m {first.parent.name}" if first.name == "__main__.py" else first.name
    args = sys.argv[1:] if argv is None else list(argv)
    return f"{prog} {shlex.join(args)}".strip()


# -- report -------------------------------------------------------------------------


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
        return lines + ["No image was coded by every codec.", ""]
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
            "its chunk lists and the chunks coded without bits-back; the seed column is not measured apart):",
            "",
        ]
        lines += _table(
            ["codec", "model bpsp", "header", "padding", "seed", "file bpsp", "escapes"],
            (
                [
                    r.codec,
                    _fmt(r.model_bpsp),
                    _fmt(r.header_bpsp, 4),
                    _fmt(r.padding_bpsp, 4),
                    _fmt(r.seed_bpsp, 4),
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
    return lines + [""]


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
    return (
        [
            "## Sets at a glance",
            "",
            "bpsp per set (lower is better; each set's own table below has the rest).",
            "",
        ]
        + _table(["set", "images", *names], body)
        + [""]
    )


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
        f"(flowzip's torch, libjxl, OpenJPEG; `--threads {threads}`). Gray images "
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
    lines += ["## Machine", ""] + _table(["", ""], machine_info().items()) + [""]
    lines += ["## Versions", ""] + _table(["library", "version"], library_versions().items()) + [""]
    lines += (
        ["## Codec settings", ""]
        + _table(
            ["codec", "version and settings"], ((c.name, f"`{c.version}`") for c in result.codecs)
        )
        + [""]
    )
    path = out / "report.md"
    _write_text(path, "\n".join(lines))
    return path


# -- plots --------------------------------------------------------------------------


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
    lo = min(min(r.model_bpsp for r in flow), min(r.bpsp for r in flow))
    hi = max(max(r.model_bpsp for r in flow), max(r.bpsp for r in flow))
    ax.plot([lo, hi], [lo, hi], color="gray", linewidth=0.8, label="file = model")
    ax.set_xlabel("model bpsp (-log2 p)")
    ax.set_ylabel("file bpsp")
    ax.set_title("flowzip per image: file against model code length")
    ax.legend(fontsize="small")
    return True


# -- command line -------------------------------------------------------------------


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
        help=f"comma-separated codecs (default all): {FLOWZIP}, {FLOWZIP}:MODEL, {', '.join(BASELINES)}",
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
        help="threads per codec (torch for flowzip, JPEG XL, JPEG 2000); default 1",
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


def _check_args(args) -> str | None:
    known = {FLOWZIP, *BASELINES}
    for name in parse_codec_list(args.codecs):
        if name not in known and not name.startswith(FLOWZIP + ":"):
            return f"unknown codec {name!r} (known: {FLOWZIP}, {FLOWZIP}:MODEL, {', '.join(BASELINES)})"
    if args.max_images is not None and args.max_images < 1:
        return "--max-images must be at least 1"
    if args.threads < 1:
        return "--threads must be at least 1"
    return None


def _models(values: Sequence[str] | None) -> list[str]:
    return list(
        dict.fromkeys(m.strip() for v in (values or ["default"]) for m in v.split(",") if m.strip())
    )


def _torch_threads(n: int) -> Callable[[], None]:
    """Set torch's intra-op threads for the run; returns the undo (the caller's process
    may go on using torch)."""
    try:
        import torch
    except ImportError:
        return lambda: None
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    return lambda: torch.set_num_threads(before)


def run(args: argparse.Namespace, *, command: str | None = None) -> int:
    """Run the benchmark for parsed ``args``. Exit status: 0 done, 1 a codec failed or
    decoded wrong pixels (or nothing to do), 2 usage error."""
    error = _check_args(args)
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
    restore = _torch_threads(args.threads)
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
        records, bad, computed, cached = benchmark(
            images, codecs, Cache(out / "cache", not args.fresh), progress
        )
    except KeyboardInterrupt:
        clear = "\r\033[K" if sys.stderr.isatty() else ""
        print(
            f"{clear}bench: interrupted; finished results are cached: run again to resume",
            file=sys.stderr,
        )
        return 130
    finally:
        restore()
    folders = {name: d for d, name in zip(args.dirs, folder_names([Path(d) for d in args.dirs]))}
    result = RunResult(records, codecs, unavailable, problems + bad, computed, cached, folders)
    _write_text(out / "results.json", json.dumps([r.to_json() for r in records], indent=1))
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
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    command = command_line() if argv is None else command_line("python -m bench", argv)
    return run(args, command=command)

"""The codecs under test: the baselines (Pillow, imagecodecs) and flowzip with each model,
each a :class:`~.records.BenchCodec` whose version string names its exact settings.

Example:
    >>> parse_codec_list(["png,flowzip", "png"])
    ['png', 'flowzip']
    >>> png = build_codecs(["png"], [], threads=1, backend=None)[0][0]
    >>> png.name, png.version.startswith("Pillow")
    ('png', True)
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .records import FLOWZIP, BenchCodec, CodecOutput, Unavailable

BASELINES = ("png", "webp", "jxl-e7", "jxl-e9", "jpegls", "jpeg2000", "qoi")
INSTALL_HINT = "pip install 'flowzip[bench]'"


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


def _png(threads: int) -> BenchCodec | Unavailable:
    import PIL
    from PIL import features

    version = f"Pillow {PIL.__version__} zlib {features.version('zlib')} optimize=True"
    return BenchCodec("png", version, _pillow_encoder("PNG", False, optimize=True), _pillow_decode)


def _webp(threads: int) -> BenchCodec | Unavailable:
    import PIL
    from PIL import features

    if not features.check("webp"):
        return Unavailable("webp", "this Pillow was built without WebP")
    # quality is the lossless effort in libwebp; 100 with method 6 is cwebp -lossless -z 9
    options = {"lossless": True, "method": 6, "quality": 100, "exact": True}
    version = f"Pillow {PIL.__version__} libwebp {features.version('webp')} {options}"
    return BenchCodec("webp", version, _pillow_encoder("WEBP", True, **options), _pillow_decode)


def _imagecodecs(name: str, flag: str) -> tuple[Any, str]:
    """The imagecodecs module when it has the codec ``flag`` (e.g. "JPEGXL"), else a reason."""
    try:
        import imagecodecs
    except ImportError:
        return None, f"imagecodecs is not installed ({INSTALL_HINT})"
    if not getattr(getattr(imagecodecs, flag, None), "available", False):
        return None, f"this imagecodecs build has no {flag}"
    return imagecodecs, ""


def _jxl(effort: int) -> Callable[[int], BenchCodec | Unavailable]:
    def make(threads: int) -> BenchCodec | Unavailable:
        name = f"jxl-e{effort}"
        ic, reason = _imagecodecs(name, "JPEGXL")
        if ic is None:
            return Unavailable(name, reason)
        version = f"imagecodecs {ic.__version__} {ic.jpegxl_version()} lossless effort={effort} threads={threads}"
        return BenchCodec(
            name,
            version,
            lambda img: CodecOutput(
                bytes(ic.jpegxl_encode(img, lossless=True, effort=effort, numthreads=threads))
            ),
            lambda data: ic.jpegxl_decode(data, numthreads=threads),
        )

    return make


def _jpegls(threads: int) -> BenchCodec | Unavailable:
    ic, reason = _imagecodecs("jpegls", "JPEGLS")
    if ic is None:
        return Unavailable("jpegls", reason)
    version = f"imagecodecs {ic.__version__} {ic.jpegls_version()} near=0"
    # level is JPEG-LS's NEAR: 0 is lossless
    return BenchCodec(
        "jpegls",
        version,
        lambda img: CodecOutput(bytes(ic.jpegls_encode(img, level=0))),
        ic.jpegls_decode,
    )


def _jpeg2000(threads: int) -> BenchCodec | Unavailable:
    ic, reason = _imagecodecs("jpeg2000", "JPEG2K")
    if ic is None:
        return Unavailable("jpeg2000", reason)
    version = (
        f"imagecodecs {ic.__version__} {ic.jpeg2k_version()} level=0 reversible threads={threads}"
    )
    # level=0 asks for no rate limit (lossless), reversible=True the 5/3 wavelet and RCT
    return BenchCodec(
        "jpeg2000",
        version,
        lambda img: CodecOutput(
            bytes(ic.jpeg2k_encode(img, level=0, reversible=True, numthreads=threads))
        ),
        lambda data: ic.jpeg2k_decode(data, numthreads=threads),
    )


def _qoi(threads: int) -> BenchCodec | Unavailable:
    ic, reason = _imagecodecs("qoi", "QOI")
    if ic is not None:
        version = f"imagecodecs {ic.__version__} {ic.qoi_version()}"
        return BenchCodec(
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
    return BenchCodec(
        "qoi", f"Pillow {PIL.__version__} QOI", _pillow_encoder("QOI", True), _pillow_decode
    )


BASELINE_FACTORIES: dict[str, Callable[[int], BenchCodec | Unavailable]] = {
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
            skip = rel.parts[0] in ("train", "weights", "bench", "__pycache__")
            if path.suffix in (".py", ".npz") and not skip and path.is_file():
                h.update(rel.as_posix().encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def flowzip_codec(
    model: str, backend: str | None, threads: int, source: str, taken: Iterable[str] = ()
) -> BenchCodec | Unavailable:
    """flowzip with one model, named ``flowzip:<model id>`` (plus ``@<sha256 prefix>`` when
    another model of the same id, e.g. two checkpoints both called model.npz, took that name),
    coding with ``threads`` torch and numba threads.

    Loading is timed apart from coding: the encoder's load is ``Compressor(model)``; the
    decoder loads its model on its first file, so its load is the first decode of an 8x8
    image, done here and not in any speed. The thread count is not in the version: it does
    not change a byte of the output.
    """
    import flowzip
    from flowzip.registry import resolve, sha256_file

    try:
        model_id, path, _ = resolve(model)
        if not path.is_file():
            return Unavailable(f"{FLOWZIP}:{model}", f"weights file missing: {path}")
        t0 = time.perf_counter()
        compressor = flowzip.Compressor(model, backend=backend, threads=threads)
        t1 = time.perf_counter()
        decompressor = flowzip.Decompressor(models=[path], backend=backend, threads=threads)
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

    return BenchCodec(
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


def unknown_codec(names: Sequence[str]) -> str | None:
    """The first name that is no codec here, or None."""
    known = {FLOWZIP, *BASELINES}
    return next((n for n in names if n not in known and not n.startswith(FLOWZIP + ":")), None)


def build_codecs(
    names: Sequence[str],
    models: Sequence[str],
    threads: int,
    backend: str | None,
) -> tuple[list[BenchCodec], list[Unavailable]]:
    """The codecs asked for, in the order asked, and the ones that cannot run here.

    A codec asked for twice (a model by name and by path) runs once: same version string.
    """
    codecs: list[BenchCodec] = []
    unavailable: list[Unavailable] = []

    def keep(codec: BenchCodec | Unavailable) -> None:
        if isinstance(codec, Unavailable):
            if codec.name not in {u.name for u in unavailable}:
                unavailable.append(codec)
        elif all(codec.version != c.version and codec.name != c.name for c in codecs):
            codecs.append(codec)

    source = _source_digest() if any(n.startswith(FLOWZIP) for n in names) else ""
    for name in names:
        if name == FLOWZIP or name.startswith(FLOWZIP + ":"):
            for model in models if name == FLOWZIP else [name.split(":", 1)[1]]:
                keep(flowzip_codec(model, backend, threads, source, [c.name for c in codecs]))
        else:
            keep(BASELINE_FACTORIES[name](threads))
    return codecs, unavailable

"""Running the benchmark: finding the images, reading their pixels, coding and verifying
each with each codec, and the cache that lets a run resume.

Example:
    >>> set_name("dev", "set14_lenna.png", "prefix"), set_name("dev", "lenna.png", "prefix")
    ('dev/set14', 'dev')
    >>> compare(np.zeros((2, 2), np.uint8), np.ones((2, 2), np.uint8))
    'decoded pixels differ: 4 of 4 sub-pixels'
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from flowzip.files import find_images, write_atomic
from flowzip.progress import ProgressLine, bar

from .records import BenchCodec, ImageFile, Problem, Record, flowzip_fields

# -- images -------------------------------------------------------------------------


class BadImage(Exception):
    """An input file that cannot be benchmarked; it is reported and skipped."""


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
    """The image files of each folder (:func:`flowzip.files.find_images`: recursively, in
    path order), at most ``max_images`` of each set."""
    images: list[ImageFile] = []
    problems: list[Problem] = []
    taken: dict[str, int] = {}
    paths = [Path(d) for d in dirs]
    for folder, name in zip(paths, folder_names(paths), strict=True):
        if not folder.is_dir():
            problems.append(Problem(str(folder), "not a folder"))
            continue
        found = find_images(folder)
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
    except Exception as e:  # noqa: BLE001  whatever Pillow raises on a broken file: never a crash
        raise BadImage(f"not a readable image ({type(e).__name__}: {e})") from None


# -- measuring ----------------------------------------------------------------------


def as_layout(decoded: np.ndarray, like: np.ndarray) -> np.ndarray:
    """Undo a gray-as-RGB storage (WebP, QOI) only where the three channels agree, so a
    wrong pixel still shows as a mismatch."""
    decoded = np.asarray(decoded)
    gray_as_rgb = like.ndim == 2 and decoded.ndim == 3 and decoded.shape[2] in (1, 3)
    if gray_as_rgb and (decoded == decoded[:, :, :1]).all():
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


def measure(codec: BenchCodec, img: np.ndarray, image: ImageFile, mode: str) -> Record:
    """Encode, decode and compare one image; a codec's exception becomes the record's error."""
    h, w = img.shape[:2]
    c = 1 if img.ndim == 2 else img.shape[2]
    base = {
        "image": image.key,
        "dataset": image.dataset,
        "codec": codec.name,
        "H": h,
        "W": w,
        "C": c,
        "mode": mode,
    }
    try:
        t0 = time.perf_counter()
        out = codec.encode(img)
        t1 = time.perf_counter()
        decoded = codec.decode(out.data)
        t2 = time.perf_counter()
    except Exception as e:  # noqa: BLE001  a baseline library refusing an image must not stop the run
        return Record(
            **base,
            bytes=None,
            bpsp=None,
            enc_mpps=None,
            dec_mpps=None,
            verified=False,
            error=f"{type(e).__name__}: {e}",
        )
    mismatch = compare(as_layout(decoded, img), img)
    n = len(out.data)
    extra = flowzip_fields(out.stats) if out.stats is not None else {}
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


# -- cache --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cache:
    """One JSON file per image and codec; a result is reused only when the image's size and
    mtime and the codec's version string are all the same."""

    root: Path
    enabled: bool = True

    def path(self, codec: BenchCodec, image: ImageFile) -> Path:
        folder = codec.name.replace(":", "_").replace("/", "_")
        return self.root / folder / f"{image.key}.json"

    @staticmethod
    def key(codec: BenchCodec, image: ImageFile) -> dict:
        return {"size": image.size, "mtime_ns": image.mtime_ns, "codec": codec.version}

    def load(self, codec: BenchCodec, image: ImageFile) -> Record | None:
        if not self.enabled:
            return None
        try:
            entry = json.loads(self.path(codec, image).read_text())
            if entry.get("key") == self.key(codec, image):
                return Record.from_json(entry["record"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            pass  # missing or damaged: compute again
        return None

    def store(self, codec: BenchCodec, image: ImageFile, record: Record) -> None:
        path = self.path(codec, image)
        path.parent.mkdir(parents=True, exist_ok=True)
        entry = {"key": self.key(codec, image), "record": record.to_json()}
        write_atomic(path, json.dumps(entry, indent=1).encode(), overwrite=True)


# -- progress -----------------------------------------------------------------------


def _duration(seconds: float) -> str:
    s = int(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


class Progress:
    """A bar on stderr when it is a terminal; otherwise one line per image (none with -q)."""

    def __init__(self, total: int, tty: bool, quiet: bool):
        self.total, self.tty, self.quiet = total, tty, quiet
        self.line = ProgressLine(tty and not quiet)

    def step(self, done: int, label: str) -> None:
        elapsed = self.line.elapsed()
        eta = (
            f" ETA {_duration(elapsed / done * (self.total - done))}"
            if 0 < done < self.total
            else ""
        )
        self.line.show(f"{bar(done, self.total)} {_duration(elapsed)}{eta} {label}")

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
        self.line.clear()
        print(f"bench: {line}", file=sys.stderr)

    def close(self) -> None:
        self.line.clear()


# -- the run ------------------------------------------------------------------------


def run_all(
    images: Sequence[ImageFile],
    codecs: Sequence[BenchCodec],
    cache: Cache,
    progress: Progress,
) -> tuple[list[Record], list[Problem], int, int]:
    """Every image with every codec: from the cache when it is there, else measured.
    Returns (records, images skipped, results computed, results from the cache)."""
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
        ordered = [r for c in codecs if (r := found[c.name]) is not None]
        records += ordered
        progress.image_done(i + 1, image.key, ordered, len(codecs) - len(todo))
    progress.step(len(images), "done")
    progress.close()
    return records, problems, computed, cached

"""The one table of shipped models, and loading a model by name, path or hash.

Weights ship inside the package (``flowzip/weights/*.npz``) with their sha256 in
:data:`MODELS`; loading checks the hash and never touches the network. A file names its
model by the stable string id plus the first 8 bytes of the weights' sha256.

Example:
    >>> [m.name for m in MODELS if m.default]
    ['idf-base-v4']
"""

from __future__ import annotations

import hashlib
import os
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .architecture import check_flow_params, split_bundle
from .errors import UnknownModelError
from .kernels import get_backend

if TYPE_CHECKING:
    from .codec import CodecModel

# what reading a damaged or foreign file raises (not a zip, truncated, pickled objects, a
# .npy, arrays that the schema refuses); anything else is a bug of ours and propagates
_BAD_FILE_ERRORS = (OSError, EOFError, ValueError, zipfile.BadZipFile, zlib.error)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    file: str
    sha256: str
    description: str
    default: bool = False
    bits_back: bool = False
    dev_bpsp: float | None = None  # file bpsp on ../shared/data/dev, verified round trips
    # compress, decompress Mpx/s on a 0.41 Mpx photo, numba backend, 2 cores, model loaded
    # (python bench/speed_memory.py speed 2; v3 and bb-v1: models idf-base-v3,idf-bb-v1,idf-base-v2 2,
    # in which v2 measured 0.394 / 0.401; v4: the median of three runs of
    # models idf-base-v4,idf-bb-v2,idf-bb-v1,idf-base-v3 2 (bb-v2: a candidate, not shipped),
    # after the kernel changes of that session, in which v3 measured 0.569 / 0.553; bb-v1
    # and bb-v4: models idf-bb-v4,idf-base-v4,idf-bb-v1 2 with the fused MST, in which v4
    # measured 0.527 / 0.568; bb-v5: models idf-bb-v5,idf-base-v4,idf-bb-v4 2, in which v4
    # measured 0.545 / 0.543 and bb-v4 0.379 / 0.355; this machine varies by +-20% from run to
    # run). dev_bpsp of v1-v3 is of format-1 files; v4 and the bb models' of format 2 (bb-v1
    # was 3.587 in format 1)
    speed_mpx_s: tuple[float, float] | None = None
    # the compression levels (gzip's -1 .. -9) that pick this model: each level one model
    levels: tuple[int, ...] = ()


MODELS: tuple[ModelEntry, ...] = (
    ModelEntry(
        name="idf-base-v1",
        file="idf-base-v1.npz",
        sha256="d75979620fda7691d71e5bfb36d5896543e4ce9bb5711d41e745a33871f07092",
        description="IDF, 3 levels x 4 couplings, 64-channel integer conditioners, logistic priors",
        dev_bpsp=3.655,
        speed_mpx_s=(0.386, 0.402),
    ),
    ModelEntry(
        name="idf-base-v2",
        file="idf-base-v2.npz",
        sha256="03ae0695ec2ecd9e096f3144f2f65e17bcc954818aeaf91a0fb9b16ac90785f4",
        description="idf-base-v1 trained 5,000 steps longer (RGB flow); same architecture and speed",
        dev_bpsp=3.623,
        speed_mpx_s=(0.416, 0.471),
    ),
    ModelEntry(
        name="idf-base-v3",
        file="idf-base-v3.npz",
        sha256="1d96d2274738003528a720776953a6ebda1c0f6f1ea24339914f205f63ca9026",
        description="idf-base-v2 trained 5,000 steps longer (RGB flow); same architecture and speed",
        dev_bpsp=3.608,
        speed_mpx_s=(0.407, 0.408),
    ),
    ModelEntry(
        name="idf-base-v4",
        file="idf-base-v4.npz",
        sha256="7bdf29353acf3ee35ec1ae042299f9c3d060a673608f00607999288233120af8",
        description="idf-base-v3 trained 5,000 steps longer on fresh crops (RGB flow); same architecture and speed",
        default=True,
        dev_bpsp=3.594,
        speed_mpx_s=(0.543, 0.463),
        levels=(1, 2, 3, 4, 5, 6),  # the fastest shipped model is also the default
    ),
    ModelEntry(
        name="idf-bb-v1",
        file="idf-bb-v1.npz",
        sha256="74e14b46e2a532840776be54a9794e22a603873b0dba8f31b6f661207016cebf",
        description="idf-base-v2 with scale layers (iFlow's MST, bits-back) in levels 1-2, "
        "trained 5,000 steps more; about 25% slower than the default",
        bits_back=True,
        dev_bpsp=3.583,
        speed_mpx_s=(0.409, 0.402),
    ),
    ModelEntry(
        name="idf-bb-v4",
        file="idf-bb-v4.npz",
        sha256="cb79b7199ee27b4bdce99f8b1aeee92643232a9cd527f6702a2c05174ccdf0aa",
        description="idf-bb-v1 trained 15,000 steps more, the last 5,000 on what a tile pays "
        "(scale pops its earlier latents do not fund are charged); about 25% slower than the default",
        bits_back=True,
        dev_bpsp=3.549,
        speed_mpx_s=(0.394, 0.414),
    ),
    ModelEntry(
        name="idf-bb-v5",
        file="idf-bb-v5.npz",
        sha256="ffb2498bff7eee2256e5cc15a47a404ca222537861448ea55a1400b3d1e0bdcd",
        description="max ratio: idf-bb-v4 trained 5,000 steps more on what a tile pays, fresh crops; "
        "about 25% slower than the default",
        bits_back=True,
        dev_bpsp=3.538,
        speed_mpx_s=(0.416, 0.399),
        levels=(7, 8, 9),
    ),
)


def default_model_name() -> str:
    return next(m.name for m in MODELS if m.default)


LEVELS = range(1, 10)  # gzip's -1 (fastest) .. -9 (smallest files)


def model_for_level(level: int) -> str:
    """The shipped model a compression level picks.

    Example:
        >>> model_for_level(1) == default_model_name(), model_for_level(9)
        (True, 'idf-bb-v5')
    """
    for entry in MODELS:
        if level in entry.levels:
            return entry.name
    raise ValueError(f"compression level {level}: expected 1 to 9")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_model_file(path: Path | str) -> dict[str, dict[str, np.ndarray]]:
    """Each flow's arrays of a model file (``{kind: {key: array}}``, see
    :func:`flowzip.architecture.split_bundle`), checked against the schema; a file that is
    not a flowzip model raises :class:`UnknownModelError`."""
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("one array (.npy), not an .npz")
        with z:
            flows = split_bundle({k: z[k] for k in z.files})
    except KeyError as e:  # a .npz of something else, or of an older/newer flowzip
        raise UnknownModelError(f"{path} is not a flowzip model file (no {e.args[0]!r})") from None
    except _BAD_FILE_ERRORS:  # numpy's messages speak of pickles and magic strings
        raise UnknownModelError(f"{path} is not a flowzip model file") from None
    try:
        for kind, params in flows.items():
            check_flow_params(kind, params)
    except ValueError as e:
        raise UnknownModelError(f"{path} is not a flowzip model file: {e}") from None
    return flows


def load_weights_file(
    path: Path | str, model_id: str, backend: str | None = None, sha256: str | None = None
) -> CodecModel:
    """Load a weights ``.npz`` (keys ``rgb/...`` and ``gray/...``) as a :class:`CodecModel`."""
    from .codec import CodecModel
    from .model import IntFlowModel  # torch: with the first model, not with ``import flowzip``
    from .threads import install_fork_handlers

    install_fork_handlers()  # torch's and numba's OpenMP pools start from here on
    path = Path(path)
    digest = sha256_file(path)
    if sha256 is not None and digest != sha256:
        raise UnknownModelError(
            f"weights of model {model_id!r} are damaged (sha256 mismatch): {path}"
        )
    be = get_backend(backend)
    models = {}
    for kind, params in read_model_file(path).items():
        try:
            models[kind] = IntFlowModel.load(params, be)
        except KeyError as e:  # an array that the flow's config calls for
            raise UnknownModelError(
                f"{path} is not a flowzip model file (no {kind + '/' + e.args[0]!r})"
            ) from None
    return CodecModel(model_id, digest, models, be.name)


def find_weights_file(
    candidates: Iterable[tuple[str, Path, str | None]], hash_prefix: bytes
) -> tuple[str, Path, str] | None:
    """The first of ``candidates`` (model id, path, expected sha256 or None, as from
    :func:`resolve`) whose weights' sha256 starts with ``hash_prefix``, with that sha256;
    the files are hashed, not loaded."""
    for model_id, path, _ in candidates:
        try:
            digest = sha256_file(path)
        except OSError as e:
            raise UnknownModelError(f"cannot read model file {path}: {e.strerror}") from None
        if bytes.fromhex(digest)[: len(hash_prefix)] == hash_prefix:
            return model_id, path, digest
    return None


def resolve(model: str | os.PathLike) -> tuple[str, Path, str | None]:
    """(model id, weights path, expected sha256 or None) for a registry name or a file path."""
    name = str(model)
    if name == "default":
        name = default_model_name()
    for entry in MODELS:
        if entry.name == name:
            path = Path(str(resources.files("flowzip.weights").joinpath(entry.file)))
            return entry.name, path, entry.sha256
    path = Path(name)
    if path.suffix == ".npz" or path.exists():
        if not path.is_file():
            missing = not path.exists()
            raise UnknownModelError(
                f"model file not found: {path}"
                if missing
                else f"{path}: not a model file (a folder?)"
            )
        return path.stem, path, None
    known = ", ".join(m.name for m in MODELS)
    raise UnknownModelError(
        f"unknown model {name!r} (shipped models: {known}; or give a .npz path)"
    )


def load_model(
    model: str | os.PathLike = "default", backend: str | None = None, sha256: str | None = None
) -> CodecModel:
    """Load a shipped model by name (or ``"default"``) or a trained model from a path;
    ``sha256`` pins the weights (an unpickled Compressor loads the ones it was made with)."""
    model_id, path, expected = resolve(model)
    if not path.is_file():
        raise UnknownModelError(f"weights of model {model_id!r} are missing: {path}")
    if sha256 is not None and expected not in (None, sha256):
        raise UnknownModelError(
            f"model {model_id!r} here is not the one the object was made with (sha256)"
        )
    return load_weights_file(path, model_id, backend, sha256 or expected)


def find_shipped(model_id: str, hash_prefix: bytes) -> ModelEntry | None:
    """The shipped model a file was made with, if this flowzip has it."""
    for entry in MODELS:
        if entry.name == model_id and entry.sha256[:16] == hash_prefix.hex():
            return entry
    return None

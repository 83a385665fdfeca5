"""Bundle an RGB flow and a grayscale flow (each exported by ``python -m flowzip.train``)
into one model file, the unit that the registry ships and a .fz file names.

    python -m flowzip.train.bundle runs/rgb/rgb.npz runs/gray/gray.npz -o model.npz
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from ..architecture import join_bundle
from ..files import write_atomic


def write_bundle(flows: dict[str, dict[str, np.ndarray]], out: Path) -> str:
    """Write ``out`` (atomically) with keys ``rgb/...`` and ``gray/...``; returns its sha256."""
    out = Path(out)
    arrays = join_bundle(flows)

    def save(fh) -> None:
        np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]  # numpy types **kwds as allow_pickle

    write_atomic(out, save, overwrite=True)
    return hashlib.sha256(out.read_bytes()).hexdigest()


def bundle(rgb: Path, gray: Path, out: Path) -> str:
    """Bundle two exported flow files into ``out``; returns its sha256."""
    flows = {}
    for kind, path in (("rgb", rgb), ("gray", gray)):
        with np.load(path) as z:
            flows[kind] = {k: z[k] for k in z.files}
    return write_bundle(flows, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m flowzip.train.bundle", description=__doc__.split("\n")[0]
    )
    ap.add_argument("rgb", type=Path)
    ap.add_argument("gray", type=Path)
    ap.add_argument("-o", "--out", type=Path, required=True)
    args = ap.parse_args(argv)
    print(f"{args.out}  sha256 {bundle(args.rgb, args.gray, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

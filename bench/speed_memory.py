"""Speed on a ~0.4 Mpx photo (model loaded), per backend, where the time goes, the cold-start
compile time, and peak memory on a 6 Mpx image.

    python bench/speed_memory.py speed [THREADS]       # 640x640 crop of dev/wiki_045.png, every backend
    python bench/speed_memory.py models A,B [THREADS]  # the same crop, numba, models A and B alternating
    python bench/speed_memory.py profile               # seconds per layer type, every CPU backend
    python bench/speed_memory.py coldstart             # numba: first call with an empty cache vs a warm one
    python bench/speed_memory.py memory compress       # 3000x2000 tiling of wiki_045 (run alone:
    python bench/speed_memory.py memory decompress     #  peak RSS is per process)

Backends are measured in the same run, alternating, best of ``ROUNDS``; every measurement is
a verified round trip. ``FLOWZIP_MODEL`` picks another model (name or path);
``FLOWZIP_FLOW_ONLY=1`` codes every tile with the flow (what the backends differ in: the
default codec now codes most photo tiles with the classic coders, the same on every backend).
"""

from __future__ import annotations

import cProfile
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

import flowzip

DEV = Path(__file__).resolve().parents[2] / "shared" / "data" / "dev"
SIX_MPX = Path(tempfile.gettempdir()) / "flowzip-six-mpx.fz"
CPU_BACKENDS = ("reference", "numba")
ROUNDS = 3
MODEL = os.environ.get("FLOWZIP_MODEL", "default")
FLOW_ONLY = os.environ.get("FLOWZIP_FLOW_ONLY", "") == "1"


def photo() -> np.ndarray:
    return np.asarray(Image.open(DEV / "wiki_045.png").convert("RGB"))


def crop() -> np.ndarray:
    return np.ascontiguousarray(photo()[:640, :640])


def _coders(backend: str):
    c, d = (
        flowzip.Compressor(MODEL, backend=backend, flow_only=FLOW_ONLY),
        flowzip.Decompressor(models=_model_paths(), backend=backend),
    )
    small = crop()[:64, :64]
    d.decompress(c.compress(small))  # loads the decoder's model, compiles or loads kernels
    return c, d


def _model_paths(model: str = MODEL) -> list[str]:
    return [model] if Path(model).exists() else []


def _best_round_trip(c, d, a: np.ndarray, best: list[float]) -> None:
    """Time one verified round trip; keep the best compress and decompress seconds in ``best``."""
    t = time.perf_counter()
    e = c.encode(a)
    enc = time.perf_counter() - t
    t = time.perf_counter()
    ok = np.array_equal(d.decompress(e.data), a)
    dec = time.perf_counter() - t
    assert ok, "round trip FAILED"
    best[:] = [min(best[0], enc), min(best[1], dec), e.stats.bpsp]


def models_speed(names: list[str], threads: int) -> None:
    """Models compared in one run (numba backend, alternating, best of ROUNDS)."""
    torch.set_num_threads(threads)
    a = crop()
    mpx = a.shape[0] * a.shape[1] / 1e6
    coders = {}
    for m in names:
        c, d = (
            flowzip.Compressor(m, backend="numba"),
            flowzip.Decompressor(models=_model_paths(m), backend="numba"),
        )
        d.decompress(c.compress(a[:64, :64]))
        coders[m] = (c, d)
    best = {m: [float("inf"), float("inf"), 0.0] for m in names}
    for _ in range(ROUNDS):
        for m, (c, d) in coders.items():
            _best_round_trip(c, d, a, best[m])
    print(
        f"{threads} thread(s), {a.shape[1]}x{a.shape[0]} ({mpx:.2f} Mpx), numba, best of {ROUNDS}, round trips verified"
    )
    for m, (enc, dec, bpsp) in best.items():
        print(
            f"  {m:32s} {bpsp:.3f} bpsp  compress {mpx / enc:.3f} Mpx/s  decompress {mpx / dec:.3f} Mpx/s"
        )


def speed(threads: int) -> None:
    torch.set_num_threads(threads)
    a = crop()
    mpx = a.shape[0] * a.shape[1] / 1e6
    coders = {be: _coders(be) for be in CPU_BACKENDS}
    best = {be: [float("inf"), float("inf"), 0.0] for be in CPU_BACKENDS}
    for _ in range(ROUNDS):
        for be, (c, d) in coders.items():
            _best_round_trip(c, d, a, best[be])
    print(
        f"{threads} thread(s), {a.shape[1]}x{a.shape[0]} ({mpx:.2f} Mpx), model {MODEL}"
        f"{' (flow only)' if FLOW_ONLY else ''}, {best['numba'][2]:.3f} bpsp, "
        f"best of {ROUNDS}, round trips verified"
    )
    for be, (enc, dec, _) in best.items():
        print(f"  {be:9s} compress {mpx / enc:.3f} Mpx/s  decompress {mpx / dec:.3f} Mpx/s")
    ref, fast = best["reference"], best["numba"]
    print(
        f"  numba vs reference: compress {ref[0] / fast[0]:.2f}x, decompress {ref[1] / fast[1]:.2f}x"
    )


# Where the time goes: cumulative time of the functions that stand for each layer type.
LAYER_TYPES = {
    "coupling networks": ("coupling.py", "_shift"),
    "prior networks": ("model.py", "prior"),
    "1x1 conv (lifting)": ("conv1x1.py", ("forward", "inverse")),
    "entropy coder": ("coder.py", ("encode", "decode", "finish")),
}


def _by_layer_type(stats: pstats.Stats) -> dict[str, float]:
    out = dict.fromkeys(LAYER_TYPES, 0.0)
    total = 0.0
    for (file, _, func), (_, _, _, cum, _) in stats.stats.items():  # type: ignore[attr-defined]  # pstats has no stub for it
        if func in ("encode", "decode") and file.endswith("api.py"):
            total = max(total, cum)
        for name, (suffix, funcs) in LAYER_TYPES.items():
            if file.endswith(suffix) and func in ((funcs,) if isinstance(funcs, str) else funcs):
                out[name] += cum
    out["everything else"] = total - sum(out.values())
    out["total"] = total
    return out


def profile() -> None:
    a = crop()
    print(
        f"seconds per layer type on {a.shape[1]}x{a.shape[0]}, model {MODEL} (cProfile, so a little slower)"
    )
    rows = {}
    for be in CPU_BACKENDS:
        c, d = _coders(be)
        for op in ("compress", "decompress"):
            data = c.compress(a)
            prof = cProfile.Profile()
            prof.enable()
            c.encode(a) if op == "compress" else d.decode(data)
            prof.disable()
            rows[(be, op)] = _by_layer_type(pstats.Stats(prof))
    names = list(next(iter(rows.values())))
    print("| layer type | " + " | ".join(f"{be} {op}" for be, op in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for n in names:
        print(f"| {n} | " + " | ".join(f"{r[n]:.3f}" for r in rows.values()) + " |")


COLD = (
    "import time, numpy as np; t = time.perf_counter(); import flowzip; "
    "a = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8); "
    "d = flowzip.compress(a, backend='numba'); assert np.array_equal(flowzip.decompress(d, backend='numba'), a); "
    "print(time.perf_counter() - t)"
)


def coldstart() -> None:
    """A fresh process compresses and decompresses a 64x64 image: empty numba cache, then warm."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}

        def run() -> float:
            return float(
                subprocess.run(
                    [sys.executable, "-c", COLD],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )

        cold, warm = run(), min(run() for _ in range(ROUNDS))
        ref = min(
            float(
                subprocess.run(
                    [sys.executable, "-c", COLD.replace("'numba'", "'reference'")],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            for _ in range(ROUNDS)
        )
    print(
        f"fresh process, import + 64x64 round trip: numba with an empty cache {cold:.1f} s (compiling), "
        f"with its cache {warm:.2f} s; reference {ref:.2f} s"
    )


def memory(op: str) -> None:
    src = photo()
    a = np.ascontiguousarray(
        np.tile(src, (-(-2000 // src.shape[0]), -(-3000 // src.shape[1]), 1))[:2000, :3000]
    )
    if op == "compress":
        SIX_MPX.write_bytes(flowzip.compress(a))
    else:
        assert np.array_equal(flowzip.decompress(SIX_MPX.read_bytes()), a)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{op} 3000x2000 RGB: peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else "speed"
    if cmd == "speed":
        speed(int(sys.argv[2]) if len(sys.argv) > 2 else 2)
    elif cmd == "models":
        models_speed(sys.argv[2].split(","), int(sys.argv[3]) if len(sys.argv) > 3 else 2)
    elif cmd == "profile":
        profile()
    elif cmd == "coldstart":
        coldstart()
    else:
        memory(sys.argv[2])

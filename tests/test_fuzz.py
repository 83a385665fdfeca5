"""A fuzzer that stays: seeded mutations of the small frozen fixtures (truncations, bit flips,
overwritten bytes, header fields forged with the header CRC recomputed) decoded in a child
under a CPU-time and an address-space limit. Every case must be a FlowzipError or the exact
original image: never another exception, a hang, a blow-up or a different image.

The long mode runs more cases and prints the counts::

    FLOWZIP_FUZZ_CASES=5000 python -m pytest tests/test_fuzz.py -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CASES = int(os.environ.get("FLOWZIP_FUZZ_CASES", "160"))
SEED = int(os.environ.get("FLOWZIP_FUZZ_SEED", "2026"))
ADDRESS_SPACE = 6 << 30  # the child's limit: torch and numba map ~2-3 GB of address space at rest

CHILD = r"""
import dataclasses, json, random, resource, sys, time
from pathlib import Path
import numpy as np
cases, seed, limit, cpu = (int(a) for a in sys.argv[1:5])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
import flowzip
from flowzip import container
from flowzip.errors import FlowzipError
fixtures = Path(sys.argv[5])
files = sorted(p for v in ("v2", "v3", "v4") for p in (fixtures / v).glob("tiny-*.fz"))
files += sorted((fixtures / "v7").glob("tiny-subsampled-*.fz"))
originals = [(p.name, p.read_bytes(), np.load(p.with_suffix(".npy"))) for p in files]
dec = flowzip.Decompressor(models=[fixtures / "tiny-v1.npz", fixtures / "tiny-bb-v1.npz"])
FIELDS = ("width", "height", "tile", "channels", "bytes_per_sample", "first_tile")

def forge(data, rng):
    header, streams = container.read(data)
    field = rng.choice(FIELDS)
    value = rng.choice([0, 1, 2, 3, 7, 8, 64, 65, 1024, 4096, 16384, 1 << 16, getattr(header, field) + 1])
    return container.write(dataclasses.replace(header, **{field: value}), streams)

def mutate(data, rng):
    kind = rng.randrange(4)
    if kind == 0:
        return "truncate", data[: rng.randrange(len(data))]
    out = bytearray(data)
    if kind == 1:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(out))
            out[i] ^= 1 << rng.randrange(8)
        return "flip", bytes(out)
    if kind == 2:
        start = rng.randrange(len(out))
        for i in range(start, min(len(out), start + rng.randint(1, 32))):
            out[i] = rng.randrange(256)
        return "overwrite", bytes(out)
    try:
        return "forge", forge(data, rng)
    except Exception:  # a header the writer cannot make (tile 0, a field out of its range)
        return "forge", data[:-1]

rng = random.Random(seed)
counts, worst = {}, (0.0, "")
for case in range(cases):
    name, data, expected = rng.choice(originals)
    kind, bad = mutate(data, rng)
    t0 = time.process_time()
    try:
        got = dec.decompress(bad)
        outcome = "exact" if got.dtype == expected.dtype and np.array_equal(got, expected) else "WRONG IMAGE"
    except FlowzipError:
        outcome = "clean error"
    except Exception as e:  # anything else is a bug: name it
        outcome = f"{type(e).__name__}: {str(e)[:80]}"
    spent = time.process_time() - t0
    worst = max(worst, (spent, f"{kind} of {name} ({len(bad)} bytes)"))
    counts[outcome] = counts.get(outcome, 0) + 1
    if outcome not in ("exact", "clean error"):
        print(json.dumps({"case": case, "file": name, "mutation": kind, "outcome": outcome}), file=sys.stderr)
print(json.dumps({"counts": counts, "worst_cpu_s": worst[0], "worst_case": worst[1]}))
"""


@pytest.mark.slow
def test_mutated_fixtures_decode_exactly_or_fail_cleanly():
    cpu = 60 + CASES // 4  # the child's whole budget, imports and numba's first calls included
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(CASES),
            str(SEED),
            str(ADDRESS_SPACE),
            str(cpu),
            str(ROOT / "tests" / "fixtures"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=4 * cpu,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nfuzz: {CASES} cases, seed {SEED}: {report}")
    counts = report["counts"]
    assert set(counts) <= {"exact", "clean error"}, proc.stderr[-2000:]
    assert sum(counts.values()) == CASES and counts.get("clean error", 0) > CASES // 2
    assert report["worst_cpu_s"] < 10, report  # no mutation makes a tiny file expensive

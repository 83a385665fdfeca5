"""Start-up, threads and processes: ``import flowzip`` stays light, ``threads=`` is exact,
Compressor objects pickle, and Pools work with fork and spawn before and after the parent
coded an image (GNU OpenMP pools across fork: flowzip/threads.py)."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import flowzip

from .conftest import TINY_MODEL, photo_crop

ROOT = Path(__file__).resolve().parent.parent


def _python(
    code: str, timeout: float = 240, args: list[str] | None = None, cwd: Path = ROOT
) -> tuple[int, str]:
    """Run Python in a fresh process group: on a timeout the whole group (Pool workers
    included) is killed and the test fails rather than hangs."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, *(args or ["-c", code])],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"timed out after {timeout} s (a hang): {out}")
    return proc.returncode, out


def test_import_and_quick_commands_do_not_load_torch_or_numba():
    rc, out = _python(
        textwrap.dedent("""
        import sys, flowzip
        from flowzip.cli import main
        flowzip.MODELS, flowzip.FlowzipError, flowzip.__version__
        heavy = [m for m in ("torch", "numba", "flowzip.codec") if m in sys.modules]
        assert not heavy, heavy
        assert main(["models"]) == 0
        heavy = [m for m in ("torch", "numba") if m in sys.modules]
        assert not heavy, heavy
        assert callable(flowzip.compress) and "torch" not in sys.modules
        print("light")
    """)
    )
    assert rc == 0 and "light" in out, out


def test_lazy_names_resolve_and_unknown_ones_fail():
    assert flowzip.Compressor is flowzip.api.Compressor
    assert set(flowzip.__all__) <= set(dir(flowzip))
    assert all(getattr(flowzip, name) is not None for name in flowzip.__all__)
    with pytest.raises(AttributeError):
        _ = flowzip.no_such_thing


def test_threads_are_exactly_what_the_call_says():
    import numba
    import torch

    seen = []

    def record(done, total):
        seen.append((torch.get_num_threads(), numba.get_num_threads()))

    before = (torch.get_num_threads(), numba.get_num_threads())
    encoded = flowzip.Compressor(TINY_MODEL, tile=64, threads=1).encode(
        photo_crop(), progress=record
    )
    flowzip.Decompressor(models=[TINY_MODEL], threads=1).decode(encoded.data, progress=record)
    assert seen and set(seen) == {(1, 1)}
    assert (torch.get_num_threads(), numba.get_num_threads()) == before  # put back
    for bad in (0, -1, 2.5, True, numba.config.NUMBA_NUM_THREADS + 1):
        with pytest.raises(ValueError):
            flowzip.Compressor(TINY_MODEL, threads=bad)


SAME_BYTES_SCRIPT = """
import hashlib, sys
import numba, numpy as np, torch, flowzip
from PIL import Image
threads = int(sys.argv[1])
seen = set()

def note(done, total):
    seen.add((torch.get_num_threads(), numba.get_num_threads()))

image = np.asarray(Image.open(sys.argv[2]))
encoded = flowzip.Compressor(sys.argv[3], tile=64, threads=threads).encode(image, progress=note)
decoded = flowzip.Decompressor(models=[sys.argv[3]], threads=threads).decode(
    encoded.data, progress=note
)
assert np.array_equal(decoded.array, image)
print(hashlib.sha256(encoded.data).hexdigest(), sorted(seen))
"""


@pytest.mark.slow
def test_same_bytes_with_one_and_two_threads_of_torch_and_numba(tmp_path):
    """threads=1 and threads=2 set both libraries (seen inside the coding calls, in a fresh
    process whose defaults are neither) and give the same bytes."""
    script = tmp_path / "threads.py"
    script.write_text(SAME_BYTES_SCRIPT)
    image = TINY_MODEL.parent / "images" / "urban051-256.png"
    lines = {}
    for n in (1, 2):
        # defaults of 3 for both: a setting that was ignored would show as 3
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "NUMBA_NUM_THREADS": "3",
            "OMP_NUM_THREADS": "3",
        }
        proc = subprocess.run(
            [sys.executable, str(script), str(n), str(image), str(TINY_MODEL)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        lines[n] = proc.stdout.split(maxsplit=1)
    assert lines[1][0] == lines[2][0]  # the same file
    assert lines[1][1].strip() == "[(1, 1)]" and lines[2][1].strip() == "[(2, 2)]"


def test_compressor_and_decompressor_pickle_by_settings():
    c = flowzip.Compressor(TINY_MODEL, tile=32, flow_only=True, threads=1)
    c2 = pickle.loads(pickle.dumps(c))
    assert (c2.tile, c2.flow_only, c2.threads, c2.model.sha256) == (32, True, 1, c.model.sha256)
    image = photo_crop()
    data = c.compress(image)
    assert c2.compress(image) == data
    assert len(pickle.dumps(c)) < 1000  # settings, not weights
    d = pickle.loads(pickle.dumps(flowzip.Decompressor(models=[TINY_MODEL], threads=1)))
    assert np.array_equal(d.decompress(data), image)


def test_unpickled_compressor_refuses_other_weights(tmp_path):
    model = tmp_path / "m.npz"
    model.write_bytes(TINY_MODEL.read_bytes())
    state = pickle.dumps(flowzip.Compressor(model))
    model.write_bytes(Path(TINY_MODEL.parent / "tiny-bb-v1.npz").read_bytes())  # replaced since
    with pytest.raises(flowzip.UnknownModelError):
        pickle.loads(state)


POOL_SCRIPT = """
import multiprocessing as mp, sys
import numpy as np, flowzip
sys.path.insert(0, {root!r})
from tests.conftest import TINY_MODEL, photo_crop

def work(compressor):
    data = compressor.compress(photo_crop())
    decoded = flowzip.Decompressor(models=[TINY_MODEL]).decompress(data)
    return data, bool(np.array_equal(decoded, photo_crop()))

if __name__ == "__main__":
    compressor = flowzip.Compressor(TINY_MODEL, tile=64, threads=2)
    expected = None
    for parent_first in (False, True):
        if parent_first:
            expected = compressor.compress(photo_crop())
        for method in ("fork", "spawn"):
            with mp.get_context(method).Pool(2) as pool:
                results = pool.map(work, [compressor] * 2)
            assert all(ok for _, ok in results)
            assert expected is None or all(data == expected for data, _ in results), method
            print(method, "after" if parent_first else "before", "ok", flush=True)
"""


@pytest.mark.slow
def test_pool_with_fork_and_spawn_before_and_after_the_parent_compressed(tmp_path):
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT.format(root=str(ROOT)))
    rc, out = _python("", timeout=300, args=[str(script)], cwd=tmp_path)
    assert rc == 0, out
    assert out.split("\n")[:4] == [
        "fork before ok",
        "spawn before ok",
        "fork after ok",
        "spawn after ok",
    ]

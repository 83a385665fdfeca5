"""Every compute backend keeps the Backend protocol and gives the same integers, operation by
operation: the same bytes for one image, and a file made by any backend decodes with any
other. The cuda kernels run under numba's CUDA simulator (in a subprocess: the simulator is
chosen when numba is first imported)."""

from __future__ import annotations

import importlib.util
import inspect
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import flowzip
from flowzip.errors import FormatError
from flowzip.kernels import Backend, available_backends, get_backend
from flowzip.mst import MST_VALUE_LIMIT, SCALE_DENOM, SCALE_NUMERATORS

from .conftest import TINY_BB_MODEL, TINY_MODEL, photo_crop

CPU_BACKENDS = ["reference", "numba"]
HAS_NUMBA_CUDA = importlib.util.find_spec("numba_cuda") is not None
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def assert_keeps_the_protocol(backend) -> None:
    """``backend`` is a :class:`Backend`: every operation there, with the protocol's parameters."""
    assert isinstance(backend, Backend), type(backend).__name__
    operations = [n for n, v in vars(Backend).items() if callable(v) and not n.startswith("_")]
    assert {"prepare_net", "run_net", "lift_forward", "lift_inverse", "mst_forward"} <= set(
        operations
    )
    for name in operations:
        wanted = list(inspect.signature(getattr(Backend, name)).parameters)[1:]  # less self
        assert list(inspect.signature(getattr(backend, name)).parameters) == wanted, name
    assert isinstance(backend.name, str)


def assert_same_mst_as_reference(backend) -> None:
    """The MST both ways, on every numerator and at the edges of the exact range, gives the
    reference's integers, undoes itself, and refuses what the reference refuses."""
    ref = get_backend("reference")
    rng = np.random.default_rng(7)
    numer = torch.tensor(SCALE_NUMERATORS).repeat(40)
    x = torch.from_numpy(rng.integers(-(2**20), 2**20, numer.numel()))
    x[:4] = torch.tensor([MST_VALUE_LIMIT - 1, -(MST_VALUE_LIMIT - 1), 0, -1])
    r_d = torch.from_numpy(rng.integers(0, numer.numpy()))
    y, r_e = backend.mst_forward(x, r_d, numer)
    y_ref, r_e_ref = ref.mst_forward(x, r_d, numer)
    assert torch.equal(y, y_ref) and torch.equal(r_e, r_e_ref)
    assert (
        y.dtype == r_e.dtype == torch.int64 and int(r_e.min()) >= 0 and int(r_e.max()) < SCALE_DENOM
    )
    x_back, r_d_back = backend.mst_inverse(y, r_e, numer)
    assert torch.equal(x_back, x) and torch.equal(r_d_back, r_d)
    # a layer's shapes: a strided slice of a batch, its numerators an expanded view
    xb = x[:360].view(2, 3, 6, 10)[:, 1:]
    nb = torch.tensor([SCALE_NUMERATORS[0], SCALE_NUMERATORS[-1]]).view(1, 2, 1, 1).expand(xb.shape)
    zeros = torch.zeros(xb.shape, dtype=torch.int64)
    for got, want in zip(
        backend.mst_forward(xb, zeros, nb), ref.mst_forward(xb, zeros, nb), strict=True
    ):
        assert got.shape == xb.shape and torch.equal(got, want)
    empty = torch.zeros((0,), dtype=torch.int64)
    assert all(t.numel() == 0 for t in backend.mst_inverse(empty, empty, empty))
    for op in (backend.mst_forward, backend.mst_inverse):
        for bad in (MST_VALUE_LIMIT, -MST_VALUE_LIMIT):
            with pytest.raises(FormatError, match="scale layer out of its exact range"):
                op(torch.tensor([3, bad]), torch.tensor([0, 0]), torch.tensor([256, 256]))


def images(rng) -> dict[str, np.ndarray]:
    photo = photo_crop()
    return {
        "rgb": photo,
        "gray": photo[:40, :56, 1].copy(),
        "rgba": np.concatenate(
            [photo[:24, :32], rng.integers(0, 256, (24, 32, 1), dtype=np.uint8)], axis=2
        ),
        "uint16": rng.integers(0, 2**16, (9, 13), dtype=np.uint16),
    }


def test_default_backend_is_numba():
    assert available_backends()[0] == "numba"
    assert flowzip.Compressor(TINY_MODEL).model.backend_name == "numba"


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_every_backend_keeps_the_protocol(name):
    assert_keeps_the_protocol(get_backend(name))


def test_the_protocol_check_can_fail():
    class NoScales:  # what the backends were before the MST joined them
        name = "partial"
        prepare_net = run_net = lift_forward = lift_inverse = staticmethod(print)

    assert not isinstance(NoScales(), Backend)
    with pytest.raises(AssertionError):
        assert_keeps_the_protocol(NoScales())


@pytest.mark.parametrize("name", CPU_BACKENDS)
def test_mst_same_integers_on_every_backend(name):
    assert_same_mst_as_reference(get_backend(name))


def test_reference_backend_runs_the_scale_layers_without_numba():
    """The reference backend is pure torch: its scale layers, MST and bits-back included,
    never import numba (the numba backend's own kernels live in kernels/numba_cpu.py)."""
    script = """
import sys, numpy as np, torch
from flowzip.entropy.bitsback import ScaleCoder
from flowzip.entropy.stack import AnsStack
from flowzip.flows.conv1x1 import LiftingConv1x1
from flowzip.kernels import get_backend

be = get_backend("reference")
none = torch.zeros(4, 4, dtype=torch.int64)
conv = LiftingConv1x1(torch.arange(4), none, none, be, torch.tensor([64, 9, -64, 32]))
x = torch.arange(-128, 128).view(1, 4, 8, 8)
stack = AnsStack()
stack.push_uniform(np.arange(1000) % 200, 200)  # bits to borrow: the MST runs
before = stack.words().copy()
coder = ScaleCoder(stack)
y = conv.forward(x, coder)
assert coder.seed_elements == 0, "every element went through the MST"
assert torch.equal(conv.inverse(y, ScaleCoder(stack)), x) and np.array_equal(stack.words(), before)
be.mst_inverse(*be.mst_forward(x, x.abs() % 200, torch.full(x.shape, 300)), torch.full(x.shape, 300))
assert "numba" not in sys.modules, sorted(m for m in sys.modules if "numba" in m)
print("no numba")
"""
    proc = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert proc.returncode == 0 and "no numba" in proc.stdout, proc.stderr[-3000:]


def assert_one_file_read_by_all(model, image: np.ndarray, **options) -> None:
    """Every CPU backend writes the same bytes for ``image``, and reads every other's file."""
    files = {
        be: flowzip.Compressor(model, backend=be, tile=32, **options).compress(image)
        for be in CPU_BACKENDS
    }
    assert files["reference"] == files["numba"]
    for made_by, data in files.items():
        for reader in CPU_BACKENDS:
            assert np.array_equal(
                flowzip.decompress(data, models=[model], backend=reader), image
            ), (made_by, reader)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rgb", "gray", "rgba", "uint16"])
def test_cpu_backends_write_the_same_bytes_and_read_each_other(kind, rng):
    assert_one_file_read_by_all(TINY_MODEL, images(rng)[kind])


def test_cpu_backends_write_the_same_bits_back_bytes():
    """A model with scale layers: the MST of every backend, through the coder, gives one file."""
    assert_one_file_read_by_all(TINY_BB_MODEL, photo_crop()[:48, :64], flow_only=True)


@pytest.mark.slow
@pytest.mark.parametrize("outputs", range(1, 10))
def test_net_outputs_every_count_same_integers(outputs):
    """Each output count runs in its own kernel shape (a dot per output, vectors, or padded to
    a vector with dropped zero outputs): all give the reference's integers."""
    from flowzip.flows.intnet import IntConvLayer
    from flowzip.kernels import get_backend

    rng = np.random.default_rng(outputs)
    layers = [
        IntConvLayer(rng.integers(-900, 900, (16, 3, 3, 3)), rng.integers(-99, 99, 16), 6),
        IntConvLayer(
            rng.integers(-900, 900, (outputs, 16, 3, 3)), rng.integers(-99, 99, outputs), 0
        ),
    ]
    x = torch.from_numpy(rng.integers(-200, 200, (1, 3, 9, 11)))
    results = [
        get_backend(be).run_net(get_backend(be).prepare_net(layers), x) for be in CPU_BACKENDS
    ]
    assert results[0].shape == (1, outputs, 9, 11)
    assert torch.equal(results[0], results[1])


def test_shipped_model_same_bytes_on_every_cpu_backend():
    image = photo_crop()[:48, :64]
    files = {be: flowzip.compress(image, backend=be) for be in CPU_BACKENDS}
    assert files["reference"] == files["numba"]
    assert np.array_equal(flowzip.decompress(files["reference"], backend="numba"), image)


def test_cuda_without_gpu_or_package_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowzip",
            "compress",
            "--backend",
            "cuda",
            "-c",
            str(TINY_MODEL.parent / "images" / "lenna-96x80.png"),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "0"},
        check=False,
    )
    assert proc.returncode != 0
    assert "cuda" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


SIMULATED = """
import numpy as np, torch, flowzip
from flowzip.kernels import get_backend
from flowzip.entropy.bitsback import ScaleCoder
from tests.test_backends import assert_keeps_the_protocol, assert_same_mst_as_reference
from tests.test_flows import assert_exact_roundtrip, layers_of, prefilled_stack
from tests.conftest import TINY_BB_MODEL, TINY_MODEL, photo_crop

cuda, ref = get_backend("cuda"), get_backend("reference")
assert_keeps_the_protocol(cuda)
assert_same_mst_as_reference(cuda)
x = torch.randint(-300, 300, (2, 6, 5, 7), generator=torch.Generator().manual_seed(0))
for layer, reference in zip(layers_of(6, 0, cuda), layers_of(6, 0, ref), strict=True):
    z = assert_exact_roundtrip(layer, x, prefilled_stack(4096))  # scale layers too
    assert torch.equal(z, reference.forward(x, ScaleCoder(prefilled_stack(4096))))
image = photo_crop()[:8, :16]
for model in (TINY_MODEL, TINY_BB_MODEL):  # the second codes with bits-back
    made = {be: flowzip.compress(image, model=model, backend=be) for be in ("cuda", "numba")}
    assert made["cuda"] == made["numba"], "cuda bytes differ"
    assert np.array_equal(flowzip.decompress(made["numba"], models=[model], backend="cuda"), image)
print("simulated cuda ok")
"""


@pytest.mark.slow
@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason="numba-cuda (the cuda extra) is not installed")
def test_cuda_kernels_under_the_simulator():
    proc = subprocess.run(
        [sys.executable, "-c", SIMULATED],
        cwd=ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NUMBA_ENABLE_CUDASIM": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "simulated cuda ok" in proc.stdout


def test_version_and_models_name_the_backend(monkeypatch):
    monkeypatch.delenv("FLOWZIP_BACKEND", raising=False)
    version = subprocess.run(
        [sys.executable, "-m", "flowzip", "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert "backend numba" in version and "reference" in version
    models = subprocess.run(
        [sys.executable, "-m", "flowzip", "models", "--backend", "reference"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "backend reference (available: numba, reference" in models


class FakeDriver:
    """libcuda as ctypes sees it: cuInit's status, and the device count it reports."""

    def __init__(self, init_status: int, devices: int):
        self.init_status, self.devices, self.loads = init_status, devices, 0

    def load(self, name):
        self.loads += 1
        driver = self

        class Library:
            def cuInit(self, flags):
                return driver.init_status

            def cuDeviceGetCount(self, count):
                count._obj.value = driver.devices
                return 0

        return Library()


@pytest.mark.skipif(not HAS_NUMBA_CUDA, reason="numba-cuda (the cuda extra) is not installed")
@pytest.mark.parametrize(
    "init_status, devices, listed", [(0, 1, True), (0, 0, False), (100, 0, False)]
)
def test_cuda_is_available_only_with_a_working_driver_and_a_device(
    monkeypatch, init_status, devices, listed
):
    import ctypes

    from flowzip import kernels

    driver = FakeDriver(init_status, devices)
    monkeypatch.setattr(ctypes, "CDLL", driver.load)
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "0")
    kernels._gpu_found.cache_clear()
    try:
        assert kernels.resolve_backend_name("numba") == "numba" and driver.loads == 0, (
            "picking numba starts no driver"
        )
        assert ("cuda" in kernels.available_backends()) is listed
        monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")  # the simulator needs no GPU
        assert "cuda" in kernels.available_backends()
    finally:
        kernels._gpu_found.cache_clear()

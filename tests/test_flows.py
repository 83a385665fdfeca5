"""Every invertible piece passes the same exact round-trip test (nflows-style helper)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flowzip.entropy.bitsback import ScaleCoder
from flowzip.entropy.stack import AnsStack, uniform
from flowzip.flows.base import Composite, IntTransform
from flowzip.flows.conv1x1 import LiftingConv1x1
from flowzip.flows.coupling import AdditiveCoupling
from flowzip.flows.intnet import IntConvNet
from flowzip.flows.reshape import Squeeze
from flowzip.flows.scale import AffineCoupling
from flowzip.kernels import get_backend
from flowzip.model import FlowConfig, IntFlowModel
from flowzip.mst import MAX_LOG2_SCALE_Q
from flowzip.train.model import FloatFlow

BACKEND = get_backend("reference")
CPU_BACKENDS = ["reference", "numba"]


def prefilled_stack(bits: int, seed: int = 0) -> AnsStack:
    """A stack holding ``bits`` bits of other data (what earlier latents leave for bits-back)."""
    stack = AnsStack()
    if bits:
        stack.push(uniform(256), np.random.default_rng(seed).integers(0, 256, bits // 8))
    return stack


def assert_exact_roundtrip(
    t: IntTransform, x: torch.Tensor, stack: AnsStack | None = None
) -> torch.Tensor:
    """inverse(forward(x)) == x exactly; a scale layer also leaves the stack word for word as it was."""
    stack = stack if stack is not None else prefilled_stack(0)
    before = stack.words().copy()
    z = t.forward(x, ScaleCoder(stack))
    assert z.dtype == torch.int64
    back = t.inverse(z, ScaleCoder(stack))
    assert torch.equal(back, x), "inverse(forward(x)) != x"
    assert np.array_equal(stack.words(), before), "the stack is not restored"
    return z


def random_net(cin: int, cout: int, seed: int, backend=BACKEND) -> IntConvNet:
    g = torch.Generator().manual_seed(seed)
    params = {"n.num_layers": np.array(2), "n.out_frac_bits": np.array(20)}
    w0 = torch.randint(-2000, 2000, (8, cin, 3, 3), generator=g).numpy()
    w1 = torch.randint(-2000, 2000, (cout, 8, 3, 3), generator=g).numpy()
    params.update(
        {
            "n.0.weight": w0,
            "n.0.bias": np.zeros(8, np.int64),
            "n.0.shift": np.array(4),
            "n.1.weight": w1,
            "n.1.bias": np.full(cout, 12345, np.int64),
            "n.1.shift": np.array(0),
        }
    )
    return IntConvNet.from_params(params, "n", backend)


def random_lifting(c: int, seed: int, backend=BACKEND, diagonal: bool = False) -> LiftingConv1x1:
    g = torch.Generator().manual_seed(seed)

    def mat() -> torch.Tensor:
        return torch.randint(-9000, 9000, (c, c), generator=g)

    perm, lower, upper = torch.randperm(c, generator=g), mat(), mat()
    diag = (
        torch.randint(-MAX_LOG2_SCALE_Q, MAX_LOG2_SCALE_Q + 1, (c,), generator=g)
        if diagonal
        else None
    )
    return LiftingConv1x1(perm, lower, upper, backend, diag)


SHAPES = [(1, 4, 2, 2), (2, 6, 8, 6), (1, 12, 5, 9)]


def layers_of(c: int, seed: int, backend) -> list[IntTransform]:
    cb = c - c // 2
    return [
        random_lifting(c, seed, backend),
        AdditiveCoupling(c // 2, random_net(c // 2, cb, seed, backend)),
        random_lifting(c, seed, backend, diagonal=True),
        AffineCoupling(c // 2, random_net(c // 2, 2 * cb, seed, backend)),
    ]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("seed", [0, 1])
def test_layers_roundtrip(shape, seed, backend):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-300, 300, shape, generator=g)
    layers = layers_of(shape[1], seed, get_backend(backend))
    reference = layers_of(shape[1], seed, BACKEND)
    for layer, ref in zip(layers, reference, strict=True):
        z = assert_exact_roundtrip(layer, x, prefilled_stack(4096, seed))
        assert not torch.equal(z, x), f"{type(layer).__name__} should change its input"
        # the same integers as the reference backend, given the same stack
        assert torch.equal(z, ref.forward(x, ScaleCoder(prefilled_stack(4096, seed)))), (
            f"{backend} differs from the reference"
        )
    for bits in (0, 64, 100_000):  # seeded from nothing, from too little, and all bits-back
        assert_exact_roundtrip(Composite(layers), x, prefilled_stack(bits, seed))


def test_squeeze_roundtrip_and_layout():
    x = torch.arange(2 * 3 * 4 * 6).view(2, 3, 4, 6)
    z = assert_exact_roundtrip(Squeeze(), x)
    assert z.shape == (2, 12, 2, 3)
    assert z[0, 0, 0, 0] == x[0, 0, 0, 0] and z[0, 1, 0, 0] == x[0, 0, 0, 1]


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_extreme_values_roundtrip(backend):
    """Inputs far outside pixel range still round-trip; int64 paths are taken where int32 would overflow."""
    c, be = 8, get_backend(backend)
    x = torch.randint(-(2**20), 2**20, (1, c, 4, 4))
    assert_exact_roundtrip(random_lifting(c, 3, be), x)
    z = assert_exact_roundtrip(AdditiveCoupling(c // 2, random_net(c // 2, c // 2, 3, be)), x)
    assert torch.equal(z, AdditiveCoupling(c // 2, random_net(c // 2, c // 2, 3)).forward(x))


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_out_of_exact_range_is_refused_alike(backend):
    from flowzip.errors import FormatError

    be = get_backend(backend)
    x = torch.full((1, 4, 4, 4), 2**40)
    with pytest.raises(FormatError, match="exact range"):
        random_net(4, 4, 0, be)(x)
    with pytest.raises(FormatError, match="exact range"):
        random_lifting(4, 0, be).inverse(x)


@pytest.mark.parametrize("channels,top_splits", [(1, 1), (3, 1), (3, 3)])
def test_whole_flow_roundtrip(channels, top_splits):
    torch.manual_seed(channels)
    model = FloatFlow(FlowConfig(channels, levels=2, couplings=2, hidden=8, top_splits=top_splits))
    for p in model.parameters():
        p.data += 0.05 * torch.randn_like(p)
    flow = IntFlowModel.load(model.export(), BACKEND)
    x = torch.randint(0, 256, (1, channels, 12, 20))
    latents = flow.forward(x)
    assert [latent.name for latent in latents] == flow.config.latent_names()
    store = {latent.name: latent.z for latent in latents}
    assert sum(latent.z.numel() for latent in latents) == x.numel()

    def pop(name, ctx, shape):
        assert tuple(store[name].shape) == tuple(shape), name
        return store[name]

    back = flow.inverse(pop, tuple(x.shape))
    assert torch.equal(back, x.long())


@pytest.mark.parametrize("scale_from_level", [None, 1])
def test_export_matches_float_model(scale_from_level):
    """The exported integer model's code length is within 1% of the float model's (for a
    bits-back model: counting each scale element's log2 S - log2 R, against the float model's
    mean over its simulated remainders)."""
    from flowzip.entropy.coder import LatentEncoder

    torch.manual_seed(0)
    model = FloatFlow(
        FlowConfig(
            3, levels=2, couplings=1, hidden=8, top_splits=1, scale_from_level=scale_from_level
        )
    )
    for p in model.parameters():
        p.data += 0.01 * torch.randn_like(p)
    for name, p in model.named_parameters():
        if "log2_diag" in name:  # scales well away from 1
            p.data += 0.5 * torch.randn_like(p)
    x = torch.randint(100, 140, (4, 3, 16, 16))
    with torch.no_grad():
        float_bits = float(torch.stack([model(x) for _ in range(8)]).mean(0).sum())
    flow = IntFlowModel.load(model.export(), BACKEND)
    scales = ScaleCoder(prefilled_stack(200_000))
    enc = LatentEncoder()
    for latent in reversed(flow.forward(x, stack=scales)):
        enc.encode(
            latent.z.numpy(),
            *(p.numpy() for p in flow.prior(latent.name, latent.context, tuple(latent.z.shape))),
        )
    assert (scales.model_bits != 0) == (scale_from_level is not None)
    int_bits = enc.bits + scales.model_bits
    assert abs(int_bits - float_bits) / float_bits < 0.01

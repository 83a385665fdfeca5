"""Checkerboard (two-pass) priors: every factored-out latent is coded as anchors under the
coarser context, then the rest under a prior that also sees the anchors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import flowzip
from flowzip.architecture import FLOW_KINDS, FlowConfig, anchor_mask
from flowzip.codec import encode_latent
from flowzip.kernels import get_backend
from flowzip.model import IntFlowModel
from flowzip.train.bundle import write_bundle
from flowzip.train.model import FloatFlow


def perturbed(config: FlowConfig, seed: int, scale: float = 0.02) -> FloatFlow:
    torch.manual_seed(seed)
    model = FloatFlow(config)
    for p in model.parameters():
        p.data += scale * torch.randn_like(p)
    return model


@pytest.fixture(scope="module")
def checkerboard_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("cb") / "cb.npz"
    write_bundle(
        {
            kind: perturbed(FlowConfig(c, couplings=1, hidden=8, checkerboard=True), c).export()
            for kind, c in FLOW_KINDS.items()
        },
        path,
    )
    return path


def test_anchor_mask_is_a_checkerboard():
    m = anchor_mask(3, 4)[0, 0].int().tolist()
    assert m == [[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0]]


def code_length(flow: IntFlowModel, x: torch.Tensor) -> float:
    return sum(encode_latent(flow, latent).bits for latent in flow.forward(x))


def test_integer_model_codes_what_the_float_model_predicts():
    model = perturbed(
        FlowConfig(3, levels=2, couplings=1, hidden=8, top_splits=1, checkerboard=True), 0, 0.01
    )
    x = torch.randint(100, 140, (1, 3, 16, 16))
    with torch.no_grad():
        float_bits = float(model(x))
    bits = code_length(IntFlowModel.load(model.export(), get_backend("reference")), x)
    assert abs(bits - float_bits) / float_bits < 0.01


def test_warm_start_from_a_plain_model_codes_the_same_bits():
    plain = perturbed(FlowConfig(3, levels=2, couplings=1, hidden=8, top_splits=1), 1)
    board = FloatFlow(
        FlowConfig(3, levels=2, couplings=1, hidden=8, top_splits=1, checkerboard=True)
    )
    board.load_warm(plain.state_dict())
    x = torch.randint(0, 256, (2, 3, 16, 16))
    with torch.no_grad():
        assert torch.equal(plain(x), board(x))
    with pytest.raises(ValueError, match="another architecture"):
        FloatFlow(FlowConfig(3, levels=2, couplings=1, hidden=16)).load_warm(plain.state_dict())


@pytest.mark.parametrize("shape", [(37, 23, 3), (16, 16), (1, 1, 3), (5, 7, 4)])
def test_roundtrip_and_same_bytes_on_every_cpu_backend(checkerboard_model, shape):
    image = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    files = [
        flowzip.compress(image, model=checkerboard_model, backend=be)
        for be in ("reference", "numba")
    ]
    assert files[0] == files[1]
    assert np.array_equal(flowzip.decompress(files[0], models=[checkerboard_model]), image)


def test_plain_config_json_is_unchanged():
    assert "checkerboard" not in FlowConfig().to_json()
    assert FlowConfig.from_json(FlowConfig(checkerboard=True).to_json()).checkerboard

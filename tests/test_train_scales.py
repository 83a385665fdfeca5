"""Training scale layers (``FlowConfig.scale_from_level``): iFlow's modular scale transform
(Zhang et al., NeurIPS 2021) simulated in the float flow, its export, and warm start from a
plain model. The integer codec's bits-back coding of these layers is tested elsewhere."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from flowzip.architecture import FlowConfig
from flowzip.flows.reshape import Squeeze
from flowzip.flows.scale import AffineCoupling
from flowzip.kernels import get_backend
from flowzip.model import IntFlowModel
from flowzip.mst import SCALE_NUMERATORS
from flowzip.registry import read_model_file
from flowzip.train.model import FloatFlow, logistic_bits, simulated_mst
from flowzip.train.run import TrainOptions, train

from .conftest import FIXTURES, TINY_MODEL
from .test_checkerboard import perturbed

SCALED = FlowConfig(3, levels=2, couplings=1, hidden=8, top_splits=1, scale_from_level=1)


def images(n: int = 2, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(seed))


def test_simulated_mst_is_exact_at_scale_one_and_costs_minus_log2_r_over_s():
    x = torch.arange(-300.0, 300.0).view(1, 2, 15, 20)
    y, bits = simulated_mst(x, torch.zeros(1, 2, 1, 1))
    assert torch.equal(y, x) and torch.equal(bits, torch.zeros(1))
    y, bits = simulated_mst(x, torch.full((1, 2, 1, 1), 0.3))  # q = round(19.2) = 19
    numer = SCALE_NUMERATORS[128 + 19]
    assert torch.all(y >= torch.floor(numer * x / 256)) and torch.all(
        y <= torch.floor((numer * x + numer - 1) / 256)
    )
    assert math.isclose(float(bits), -x.numel() * math.log2(numer / 256), rel_tol=1e-6)


def test_export_then_import_gives_the_same_integers():
    model = perturbed(SCALED, 0)
    with torch.no_grad():
        model.lifts[1].log2_diag.copy_(
            torch.linspace(-3, 3, model.lifts[1].log2_diag.numel())
        )  # beyond +-2: clamped
    params = model.export()
    assert (
        "level0.step0.lift.log2_diag_q" not in params
    )  # level 0 has no scales: exported as before
    diag_q = params["level1.step0.lift.log2_diag_q"]
    assert diag_q.dtype == np.int64 and diag_q.min() == -128 and diag_q.max() == 128
    assert (
        params["level1.step0.coupling.2.weight"].shape[0] == 2 * 12
    )  # level 1: 24 channels, shift and scale
    assert (
        params["level0.step0.coupling.2.weight"].shape[0] == 6
    )  # level 0: 12 channels, shift only
    again = FloatFlow.from_integer(params).export()
    assert sorted(again) == sorted(params)
    for k, v in params.items():
        assert np.array_equal(np.asarray(again[k]), np.asarray(v)), k


def test_exported_scale_model_loads_into_the_integer_model():
    flow = IntFlowModel.load(perturbed(SCALED, 1).export(), get_backend("reference"))
    assert flow.config.scale_from_level == 1
    has_scales = [
        any(
            isinstance(t, AffineCoupling) or getattr(t, "diag_numer", None) is not None
            for t in level.transforms
        )
        for level in flow.levels
    ]
    assert has_scales == [False, True]


@pytest.mark.parametrize("checkerboard", [False, True])
def test_warm_start_from_a_plain_model_gives_the_same_bits(checkerboard):
    plain = perturbed(FlowConfig(3, levels=2, couplings=1, hidden=8, top_splits=1), 2)
    scaled = FloatFlow(
        FlowConfig(
            3,
            levels=2,
            couplings=1,
            hidden=8,
            top_splits=1,
            checkerboard=checkerboard,
            scale_from_level=1,
        )
    )
    scaled.load_warm(plain.state_dict())
    x = images()
    with torch.no_grad():
        torch.testing.assert_close(scaled(x), plain(x), rtol=1e-6, atol=1e-4)
    assert torch.equal(scaled.lifts[1].log2_diag, torch.zeros(24))
    # the exported shifts are the plain model's integers, the log-scale rows zeros
    p, s = plain.export(), scaled.export()
    assert np.array_equal(s["level0.step0.coupling.2.weight"], p["level0.step0.coupling.2.weight"])
    w, pw = s["level1.step0.coupling.2.weight"], p["level1.step0.coupling.2.weight"]
    assert np.array_equal(w[: len(pw)], pw) and not w[len(pw) :].any()
    assert not s["level1.step0.lift.log2_diag_q"].any()


def test_training_steps_reach_the_scales():
    model = FloatFlow(SCALED)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    last = model.couplings[1].convs[-1]
    cb = last.out_channels // 2
    for step in range(3):
        x = images(seed=step)
        loss = model(x).mean() / x[0].numel()
        opt.zero_grad()
        loss.backward()
        assert math.isfinite(loss.item())
        assert model.lifts[1].log2_diag.grad.abs().sum() > 0
        assert last.weight.grad[cb:].abs().sum() > 0 and last.bias.grad[cb:].abs().sum() > 0
        opt.step()
    assert model.lifts[1].log2_diag.abs().sum() > 0


def test_bits_include_minus_log2_r_over_s_of_every_scaled_element():
    # one level, one step, no split: bits = base prior bits of the latent + the diagonal's cost
    model = FloatFlow(
        FlowConfig(1, levels=1, couplings=1, hidden=4, top_splits=0, scale_from_level=0)
    )
    log2_diag = torch.tensor([0.5, 0.0, -0.25, 1.0])  # q = 32, 0, -16, 64
    with torch.no_grad():
        model.lifts[0].log2_diag.copy_(log2_diag)
        model.base_mu.copy_(torch.tensor([1.0, -2.0, 0.5, 3.0]))
    x = torch.randint(0, 256, (2, 1, 8, 8), generator=torch.Generator().manual_seed(3))
    torch.manual_seed(7)
    with torch.no_grad():
        bits = model(x)

    h = Squeeze().forward(x.double() - 128)[:, model.lifts[0].perm]
    torch.manual_seed(7)
    u = torch.rand(
        h.shape
    ).double()  # the diagonal's noise, drawn first (the coupling's scale is 1)
    numer = torch.tensor([SCALE_NUMERATORS[128 + q] for q in (32, 0, -16, 64)], dtype=torch.float64)
    z = torch.floor(numer.view(1, -1, 1, 1) / 256 * (h + u))
    mst_bits = 16 * sum(-math.log2(r / 256) for r in numer.tolist())  # 4x4 positions per channel
    prior_bits = logistic_bits(
        z.float(), model.base_mu.view(1, -1, 1, 1), model.base_log2s.view(1, -1, 1, 1)
    )
    expected = prior_bits.sum(dim=(1, 2, 3)) + mst_bits
    assert mst_bits < -15  # scales > 1 on balance: the layer gives bits back
    torch.testing.assert_close(bits, expected.float(), rtol=1e-5, atol=1e-3)


def test_train_warm_starts_a_shipped_plain_model_into_scales(tmp_path):
    out = tmp_path / "scaled.npz"
    train(
        TrainOptions(
            data=FIXTURES / "images",
            out=out,
            init=str(TINY_MODEL),
            steps=2,
            gray_steps=1,
            batch=1,
            crop=32,
            threads=1,
            eval_images=0,
            scale_from_level=2,
        )
    )
    for params in read_model_file(out).values():
        assert FlowConfig.from_json(str(params["config"])).scale_from_level == 2
        assert "level2.step0.lift.log2_diag_q" in params
        assert "level1.step0.lift.log2_diag_q" not in params
    with pytest.raises(ValueError, match="scale_from_level 3"):
        FloatFlow(FlowConfig(3, levels=3, scale_from_level=3))


def test_flow_cli_warm_starts_a_plain_run_into_scales(tmp_path):
    from flowzip.cli import _parser
    from flowzip.train.__main__ import main

    assert (
        _parser()
        .parse_args(["train", "d", "-o", "m.npz", "--scale-from-level", "1"])
        .scale_from_level
        == 1
    )
    common = [
        "--data",
        str(FIXTURES / "images"),
        "--channels",
        "1",
        "--levels",
        "2",
        "--couplings",
        "1",
        "--hidden",
        "8",
        "--steps",
        "1",
        "--batch",
        "1",
        "--crop",
        "16",
        "--threads",
        "1",
    ]
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    assert (
        main(
            [
                *common,
                "--out",
                str(tmp_path / "scaled"),
                "--scale-from-level",
                "1",
                "--init",
                str(tmp_path / "plain" / "checkpoint.pt"),
                "--export",
                str(tmp_path / "g.npz"),
            ]
        )
        == 0
    )
    with np.load(tmp_path / "g.npz") as z:
        assert FlowConfig.from_json(str(z["config"])).scale_from_level == 1
        assert "level1.step0.lift.log2_diag_q" in z.files


def test_the_charge_is_what_the_latents_pushed_before_a_scale_layer_do_not_fund():
    model = FloatFlow(SCALED)  # level 0 plain, level 1 scaled
    x = torch.full((2, 3, 16, 16), 128)  # flat: its level-0 latent costs little
    with torch.no_grad():
        assert torch.equal(
            model(x, charge_unfunded=True), model(x)
        )  # every scale 1: nothing popped
        model.lifts[1].log2_diag.fill_(
            2.0
        )  # q = 128, x4: level 1's diagonal pops 2 bits per element
        model.priors["split0"].out_bias[
            model.priors["split0"].out_bias.numel() // 2 :
        ] = -3.0  # a sharp prior
        torch.manual_seed(0)
        ideal = model(x)
        torch.manual_seed(0)
        charged = model(x, charge_unfunded=True)
        h = Squeeze().forward(x.float() - 128)
        h, _ = model.lifts[0](h)
        h, _ = model._coupling(0, h)
        funds, _ = model._split_bits("split0", h)
    drain = 2.0 * 24 * 4 * 4  # level 1 of a 16x16 image: 24 channels of 4x4
    assert float(funds.max()) < drain
    torch.testing.assert_close(charged - ideal, drain - funds, rtol=1e-5, atol=1e-2)

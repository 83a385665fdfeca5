"""The one home of a flow's architecture and its weight file's schema
(:mod:`flowzip.architecture`): the keys a trained flow exports, the plan both flows walk,
the bundle of two flows, and what loading a file that is not a model says."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import torch

import flowzip
import flowzip.api
from flowzip import registry
from flowzip.architecture import (
    FLOW_KINDS,
    FlowConfig,
    join_bundle,
    prior_passes,
    split_bundle,
)
from flowzip.errors import UnknownModelError
from flowzip.kernels import get_backend
from flowzip.model import IntFlowModel
from flowzip.train.bundle import write_bundle
from flowzip.train.model import FloatFlow

from .conftest import TINY_MODEL

SMALL = FlowConfig(3, levels=2, couplings=1, hidden=4, top_splits=1, checkerboard=True)


def net(prefix: str, layers: int = 3) -> list[str]:
    parts = [f"{prefix}.{i}.{p}" for i in range(layers) for p in ("weight", "bias", "shift")]
    return [f"{prefix}.num_layers", f"{prefix}.out_frac_bits", *parts]


def test_a_trained_flow_exports_the_keys_of_the_format():
    """Spelt out by hand: the weight files' schema, which the shipped models' hashes pin."""
    scaled = FlowConfig(3, levels=2, couplings=1, hidden=4, top_splits=1, scale_from_level=1)
    lift = ("perm", "lower", "upper")
    expected = {
        "config",
        *(f"level0.step0.lift.{p}" for p in lift),
        *(f"level1.step0.lift.{p}" for p in (*lift, "log2_diag_q")),
        *net("level0.step0.coupling"),
        *net("level1.step0.coupling"),
        *net("prior.split0"),
        *net("prior.top0"),
        "prior.base.mu_q",
        "prior.base.scale_idx",
    }
    assert set(FloatFlow(scaled).export()) == expected
    second_passes = {*net("prior.split0b"), *net("prior.top0b")}
    assert set(FloatFlow(SMALL).export()) == (
        expected - {"level1.step0.lift.log2_diag_q"} | second_passes
    )


def test_the_plan_is_what_the_integer_flow_factors_out():
    flow = IntFlowModel.load(FloatFlow(SMALL).export(), get_backend("reference"))
    x = torch.randint(0, 256, (2, 3, 8, 12))
    latents = flow.forward(x)
    plan = SMALL.latents()
    assert [lat.name for lat in latents] == [p.name for p in plan] == SMALL.latent_names()
    for lat, p in zip(latents, plan, strict=True):
        assert tuple(lat.z.shape) == p.shape(2, 8, 12), p.name
        width = 0 if lat.context is None else lat.context.shape[1]
        assert width == p.context_channels, p.name
    priors = SMALL.prior_nets()
    assert [p.name for p in priors] == ["split0", "split0b", "top0", "top0b"]
    assert [p.name for p in priors] == list(flow.priors) == list(FloatFlow(SMALL).priors)
    assert [p.first_pass for p in priors] == [None, "split0", None, "top0"]


def test_a_checkerboard_latent_is_coded_in_two_passes_that_cover_it_once():
    z = torch.arange(2 * 6 * 4 * 5).view(2, 6, 4, 5)  # split0 of SMALL: 6 of 12 channels
    context = torch.ones(2, 6, 4, 5, dtype=torch.int64)
    passes = list(prior_passes(SMALL, "split0", context, z))
    assert [p.prior for p in passes] == ["split0", "split0b"]
    first, second = (p.positions for p in passes)
    assert torch.equal(first ^ second, torch.ones_like(first))
    assert passes[0].context is context
    # the second sees the context, the anchors' values (zero elsewhere) and the anchor mask
    seen = passes[1].context
    assert seen.shape[1] == SMALL.prior_nets()[1].in_channels == 6 + 6 + 1
    assert torch.equal(seen[:, 6:12][first], z[first]) and not seen[:, 6:12][second].any()
    assert torch.equal(seen[:, 12] > 0, first[:, 0])
    plain = FlowConfig(3)
    assert [p.positions for p in prior_passes(plain, "top1", context, z)] == [None]
    assert [p.prior for p in prior_passes(SMALL, "base", None, z)] == ["base"]


def test_bundle_split_is_the_inverse_of_join():
    flows = {"rgb": {"config": 1, "a.b": 2}, "gray": {"config": 3}}
    arrays = join_bundle(flows)
    assert arrays == {"rgb/config": 1, "rgb/a.b": 2, "gray/config": 3}
    assert split_bundle(arrays) == flows
    with pytest.raises(KeyError, match="gray/config"):
        split_bundle({"rgb/config": 1})


def test_the_config_refuses_what_a_bad_file_may_hold():
    assert FlowConfig.from_json(SMALL.to_json()) == SMALL
    for text in ("[1]", '{"levels": 0}', '{"levls": 2}', '{"hidden": 1.5}', "{"):
        with pytest.raises(ValueError):
            FlowConfig.from_json(text)


def tiny_arrays() -> dict[str, np.ndarray]:
    with np.load(TINY_MODEL) as z:
        return {k: z[k] for k in z.files}


def bad_files(tmp_path):
    """(file, what the message must say) for files that are not flowzip models."""
    data = TINY_MODEL.read_bytes()
    arrays = tiny_arrays()
    out = []
    for name, content in (
        ("truncated.npz", data[: len(data) // 2]),
        ("garbage.npz", bytes(range(256)) * 8),
        ("empty.npz", b""),
        ("zip-header-only.npz", data[:40]),
        ("image.npz", (TINY_MODEL.parent / "images" / "lenna-96x80.png").read_bytes()),
    ):
        (tmp_path / name).write_bytes(content)
        out.append((tmp_path / name, "not a flowzip model file"))
    np.save(tmp_path / "one-array.npy", np.zeros(3))
    out.append((tmp_path / "one-array.npy", "not a flowzip model file"))
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    out.append((tmp_path / "other.npz", "no 'rgb/config'"))
    np.savez(tmp_path / "objects.npz", **{**arrays, "rgb/x": np.array([{}], dtype=object)})
    out.append((tmp_path / "objects.npz", "not a flowzip model file"))
    cases = {
        "floats.npz": {"rgb/prior.base.mu_q": arrays["rgb/prior.base.mu_q"].astype(np.float32)},
        "bad-config.npz": {"gray/config": np.array('{"levels": "three"}')},
        "swapped.npz": {"gray/config": arrays["rgb/config"]},
    }
    for name, changed in cases.items():
        np.savez(tmp_path / name, **{**arrays, **changed})
        out.append((tmp_path / name, "not a flowzip model file: "))
    missing = {k: v for k, v in arrays.items() if k != "gray/level1.step0.lift.perm"}
    np.savez(tmp_path / "missing.npz", **missing)
    out.append((tmp_path / "missing.npz", "gray/level1.step0.lift.perm"))
    # a damaged member: its compressed bytes flipped, so the zip's CRC check fails
    with zipfile.ZipFile(tmp_path / "crc.npz", "w", zipfile.ZIP_STORED) as zf:
        for k, v in arrays.items():
            with zf.open(k + ".npy", "w") as f:
                np.lib.format.write_array(f, v)
    raw = bytearray((tmp_path / "crc.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (tmp_path / "crc.npz").write_bytes(bytes(raw))
    out.append((tmp_path / "crc.npz", "not a flowzip model file"))
    return out


def test_a_file_that_is_not_a_model_gets_the_clean_error(tmp_path):
    for path, message in bad_files(tmp_path):
        with pytest.raises(UnknownModelError, match=message.replace("(", r"\(")) as caught:
            registry.load_weights_file(path, path.stem)
        assert str(path) in str(caught.value), path
        assert "pickle" not in str(caught.value), path


def test_a_bug_while_loading_is_not_called_a_bad_file(monkeypatch):
    def broken(params, backend):
        raise TypeError("a bug of ours")

    monkeypatch.setattr(IntFlowModel, "load", broken)
    with pytest.raises(TypeError, match="a bug of ours"):
        registry.load_weights_file(TINY_MODEL, "tiny")


def test_user_models_are_hashed_not_loaded_to_find_a_files_model(tmp_path, monkeypatch):
    other = tmp_path / "other.npz"
    write_bundle(
        {
            kind: FloatFlow(FlowConfig(c, levels=3, couplings=1, hidden=4)).export()
            for kind, c in FLOW_KINDS.items()
        },
        other,
    )
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a model")
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    data = flowzip.Compressor(TINY_MODEL, flow_only=True).compress(image)
    loaded = []
    real_load = registry.load_weights_file

    def counting_load(path, *args, **kwargs):
        loaded.append(path.name)
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(flowzip.api, "load_weights_file", counting_load)
    d = flowzip.Decompressor(models=[garbage, other, TINY_MODEL])
    assert np.array_equal(d.decompress(data), image)
    assert loaded == [TINY_MODEL.name]
    with pytest.raises(UnknownModelError, match="not available"):
        flowzip.Decompressor(models=[garbage, other]).decompress(data)

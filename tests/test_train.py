"""`flowzip train`: fine-tuning a model on a folder and using it, and the integer import
that fine-tuning starts from."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import flowzip
from flowzip.registry import read_model_file, resolve
from flowzip.train.model import FloatFlow
from flowzip.train.run import TrainOptions, train

from .conftest import FIXTURES, TINY_MODEL


@pytest.mark.parametrize("model", [str(TINY_MODEL), "default"])
def test_import_then_export_gives_the_same_integers(model):
    for params in read_model_file(resolve(model)[1]).values():
        again = FloatFlow.from_integer(params).export()
        assert sorted(again) == sorted(params)
        for k, v in params.items():
            assert np.array_equal(np.asarray(again[k]), np.asarray(v)), k


@pytest.mark.slow
def test_fine_tune_then_use_the_model(tmp_path):
    out = tmp_path / "mine.npz"
    result = train(
        TrainOptions(
            data=FIXTURES / "images",
            dev=FIXTURES / "images",
            out=out,
            init=str(TINY_MODEL),
            steps=12,
            gray_steps=4,
            batch=2,
            crop=32,
            threads=1,
            eval_images=2,
            lr=1e-3,
            checkerboard=True,
        )
    )
    assert result.model_path == out and out.is_file()
    assert result.dev_images == 2 and 0 < result.dev_file_bpsp < 16
    assert set(result.dev_model_bpsp) == {"rgb", "gray"}
    assert (tmp_path / "mine.run" / "rgb" / "checkpoint.pt").is_file()
    with np.load(TINY_MODEL) as before, np.load(out) as after:
        assert not np.array_equal(
            before["rgb/level0.step0.coupling.0.weight"],
            after["rgb/level0.step0.coupling.0.weight"],
        )

    with np.load(out) as z:  # the plain tiny model was warm-started into two-pass priors
        assert (
            '"checkerboard": true' in str(z["rgb/config"])
            and "rgb/prior.split0b.num_layers" in z.files
        )
    image = np.random.default_rng(0).integers(0, 256, (20, 28, 3), dtype=np.uint8)
    data = flowzip.Compressor(out, flow_only=True).compress(
        image
    )  # noise would be stored: no model needed
    assert flowzip.read_header(data).model_id == "mine"
    assert np.array_equal(flowzip.decompress(data, models=[out]), image)
    with pytest.raises(flowzip.UnknownModelError, match="mine"):
        flowzip.decompress(data)


@pytest.mark.slow
def test_train_cli_refuses_bad_input_in_one_line(tmp_path):
    existing = tmp_path / "m.npz"
    existing.write_bytes(b"keep me")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(TINY_MODEL.read_bytes()[:1000])  # a truncated model file
    train = ["flowzip", "train", str(FIXTURES / "images"), "-o"]
    new = [*train, str(tmp_path / "x.npz")]
    cases = [
        ([*train, str(existing)], "already exists"),
        (
            ["flowzip", "train", str(tmp_path / "nope"), "-o", str(tmp_path / "x.npz")],
            "not a folder",
        ),
        ([*new, "--init", "no-such-model"], "unknown model"),
        ([*new, "--init", str(garbage)], "not a flowzip model file"),
        ([*new, "--augment", "jpeg=x"], "--augment"),
    ]
    for argv, message in cases:
        proc = subprocess.run(
            [sys.executable, "-m", *argv], capture_output=True, text=True, check=False
        )
        assert proc.returncode != 0 and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert existing.read_bytes() == b"keep me"
    assert not (tmp_path / "x.npz").exists()

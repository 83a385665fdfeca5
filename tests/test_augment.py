"""Augmented training crops (flowzip.train.augment): the mix, each kind's structure, the
block grid, determinism, and the plain crops of the shipped models' runs unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import pytest
import torch

from flowzip.model import FlowConfig
from flowzip.train import augment
from flowzip.train.augment import AugmentMix, ChromaPipeline, augmented_crop, resample_matrix
from flowzip.train.run import CropSampler, FlowRun, TrainOptions, load_folder, train, train_flow

from .conftest import FIXTURES, TINY_MODEL

IMAGES = FIXTURES / "images"


def _hash(sampler: CropSampler, batches: int = 3, n: int = 4) -> str:
    h = hashlib.sha256()
    for _ in range(batches):
        h.update(sampler.batch(n).numpy().tobytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return load_folder(IMAGES, 3)[1]  # urban051, 256x256


def test_without_a_mix_the_crops_are_those_of_the_shipped_models_runs():
    # hashes of the crops CropSampler drew before augmentation existed (seed 5, 32x32)
    for channels, want in (
        (3, "94861a5d8626da82118a1f1dec2f0c9067146f96a54538ca2a64a794a660e221"),
        (1, "9647390cffa43da0ac26a7f0b64a06ff59d69c5f13ccba5a63e44ad48516e514"),
    ):
        assert _hash(CropSampler(load_folder(IMAGES, channels), 32, seed=5)) == want


@pytest.mark.parametrize("channels", [3, 1])
def test_the_same_seed_gives_the_same_crops_and_another_seed_others(channels):
    images = load_folder(IMAGES, channels)
    mix = AugmentMix.parse("default")
    a, b = (_hash(CropSampler(images, 32, seed=3, augment=mix), batches=6) for _ in range(2))
    assert a == b
    assert _hash(CropSampler(images, 32, seed=4, augment=mix), batches=6) != a
    assert _hash(CropSampler(images, 32, seed=3), batches=6) != a  # and the mix changes the crops
    batch = CropSampler(images, 32, seed=3, augment=mix).batch(5)
    assert batch.shape == (5, channels, 32, 32) and batch.dtype == torch.uint8


def test_parse_none_default_and_mixes():
    assert AugmentMix.parse("none") is None
    default = AugmentMix.parse("default")
    assert default.spec() == AugmentMix.parse(augment.DEFAULT_SPEC).spec()
    assert abs(sum(default.shares(3)) - 1) < 1e-12
    mix = AugmentMix.parse(" jpeg=3, clean=1 ")
    assert (mix.jpeg, mix.clean, mix.chroma) == (0.75, 0.25, 0.0)
    assert AugmentMix.parse(mix.spec()) == mix
    for bad, message in [
        ("jpg=1", "kinds"),
        ("jpeg", "kinds"),
        ("jpeg=x", "not a number"),
        ("jpeg=-1", "not negative"),
        ("jpeg=nan", "finite"),
        ("clean=0", "sum to 0"),
    ]:
        with pytest.raises(ValueError, match=message):
            AugmentMix.parse(bad)


def test_a_grayscale_flow_draws_no_chroma_crops():
    shares = AugmentMix.parse("clean=1,chroma=2,jpeg=1").shares(1)
    assert shares[augment.KINDS.index("chroma")] == 0 and shares.sum() == pytest.approx(1)
    assert AugmentMix.parse("chroma=1").shares(1)[0] == 1  # nothing left: plain crops


def test_resample_matrices_follow_the_tools_conventions():
    for n_in, n_out in [(10, 5), (5, 10), (37, 19), (19, 37), (50, 31)]:
        for kernel in augment.FILTERS:
            m = resample_matrix(n_in, n_out, kernel)
            assert m.shape == (n_out, n_in) and np.allclose(m.sum(axis=1), 1)
    rng = np.random.default_rng(0)
    for shape, (h, w), cosited in [
        ((37, 29), (20, 50), False),
        ((37, 29, 3), (74, 58), False),
        ((40, 30, 2), (20, 15), True),
    ]:
        x = rng.random(shape)  # resize (gathered taps) is the two matrices' product
        want = np.einsum(
            "ih,hw...,jw->ij...",
            resample_matrix(shape[0], h, "bicubic"),
            x,
            resample_matrix(shape[1], w, "bicubic", cosited),
        )
        assert np.allclose(augment.resize(x, h, w, "bicubic", (False, cosited)), want, atol=1e-12)
    centred = resample_matrix(12, 6, "triangle")[2]  # output 2 sits between inputs 4 and 5
    assert np.allclose(centred[3:7] * 8, [1, 3, 3, 1])
    cosited = resample_matrix(12, 6, "triangle", cosited=True)[2]  # on input 4
    assert np.allclose(cosited[3:6] * 4, [1, 2, 1])
    up = resample_matrix(6, 12, "triangle", cosited=True)
    assert np.allclose(up[4], np.eye(6)[2]) and np.allclose(
        up[5, 2:4], 0.5
    )  # co-sited, then halfway
    fancy = resample_matrix(6, 12, "triangle")[5]  # libjpeg's fancy upsampling: 3/4 near, 1/4 far
    assert np.allclose(fancy[2:4], [0.75, 0.25])


@pytest.mark.parametrize("full_range,matrix", [(True, "bt601"), (False, "bt601"), (False, "bt709")])
def test_colour_conversions_round_trip(photo, full_range, matrix):
    ycc = augment.rgb_to_ycbcr(photo, matrix, full_range)
    if not full_range:
        assert ycc[..., 0].min() >= 16 and ycc[..., 0].max() <= 235 and ycc[..., 1:].max() <= 240
    back = augment.ycbcr_to_rgb(ycc, matrix, full_range).astype(int)
    assert np.abs(back - photo).max() <= (2 if full_range else 3)


def _chroma_detail(rgb: np.ndarray, axis: int | None) -> float:
    """RMS of Cb/Cr minus the mean of each pair along ``axis`` (None: 2x2 blocks)."""
    c = augment.rgb_to_ycbcr(rgb)[..., 1:]
    h, w = c.shape[0] // 2 * 2, c.shape[1] // 2 * 2
    c = c[:h, :w]
    if axis is None:
        m = c.reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3)).repeat(2, 0).repeat(2, 1)
    else:
        m = c.reshape(h, w // 2, 2, 2).mean(axis=2).repeat(2, 1)
    return float(np.sqrt(((c - m) ** 2).mean()))


def test_chroma_subsampling_takes_the_chroma_detail_away(photo):
    before = _chroma_detail(photo, None)
    replicated = ChromaPipeline("420", up="box")(photo)
    assert (
        _chroma_detail(replicated, None) < 0.15 * before
    )  # constant chroma per 2x2 (up to RGB rounding)
    assert (
        np.abs(
            augment.rgb_to_ycbcr(replicated)[..., 0] - augment.rgb_to_ycbcr(photo)[..., 0]
        ).mean()
        < 1
    )
    side = ChromaPipeline("422", up="box")(
        photo
    )  # pairs along a row share their chroma, rows do not
    assert _chroma_detail(side, 1) < 0.15 * _chroma_detail(photo, 1)
    assert _chroma_detail(side, None) > 0.4 * before
    for pipeline in [
        ChromaPipeline("420", "bt709", False, True, "bicubic", "bicubic"),
        ChromaPipeline(),
    ]:
        out = pipeline(photo)
        assert (
            out.dtype == np.uint8
            and out.shape == photo.shape
            and _chroma_detail(out, None) < 0.6 * before
        )


def test_jpeg_crops_are_cut_on_the_block_grid(photo):
    """Luma steps across the crop's 8-pixel boundaries (where a JPEG's blocks meet) are
    larger than at any other offset: the crop is aligned as a tile of a JPEG is."""
    rng = np.random.default_rng(0)
    mix = AugmentMix.parse("jpeg=1")
    steps = np.zeros(8)  # mean |step| from pixel 8k + p - 1 to 8k + p, per p
    for _ in range(40):
        y = augment.rgb_to_ycbcr(augmented_crop(photo, 64, mix, rng))[..., 0]
        d = np.abs(np.diff(y, axis=1))  # d[:, x - 1] is the step from x - 1 to x
        steps += [d[:, (p - 1) % 8 :: 8].mean() for p in range(8)]
    assert steps[0] > 1.05 * steps[1:].max()  # measured: 1.11-1.15 x their mean, the rest within 2%
    gray = augment.jpeg_round_trip(photo[..., :1], 75)
    assert gray.shape == photo[..., :1].shape and not np.array_equal(gray, photo[..., :1])


def test_resampled_and_noisy_crops(photo):
    rng = np.random.default_rng(1)
    flat = np.full((200, 200, 3), 128, np.uint8)
    noisy = np.stack(
        [augmented_crop(flat, 32, AugmentMix.parse("noise=1"), rng) for _ in range(20)]
    ).astype(float)
    assert 0.2 < noisy.std() < 3.5 and abs(noisy.mean() - 128) < 0.5
    crops = [augmented_crop(photo, 48, AugmentMix.parse("resample=1"), rng) for _ in range(12)]
    assert all(c.shape == (48, 48, 3) and c.dtype == np.uint8 for c in crops)
    # an image too small for a kind's region gives a plain crop of it
    small = np.random.default_rng(2).integers(0, 256, (40, 40, 3), dtype=np.uint8)
    crop = augmented_crop(small, 40, AugmentMix.parse("jpeg=1"), rng)
    assert np.array_equal(crop, small) or np.array_equal(crop, small[:, ::-1])


@pytest.mark.slow
def test_a_run_records_its_mix_and_resumes_only_with_it(tmp_path):
    data = load_folder(IMAGES, 1)
    config = FlowConfig(1, levels=2, couplings=1, hidden=4)
    run = FlowRun(
        tmp_path / "run",
        config,
        steps=2,
        batch=2,
        crop=16,
        threads=1,
        augment=AugmentMix.parse("default"),
    )
    train_flow(run, data, None)
    assert (
        torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)["augment"]
        == run.augment.spec()
    )
    for other in (None, AugmentMix.parse("jpeg=1")):
        with pytest.raises(ValueError, match="augment"):
            train_flow(
                FlowRun(
                    tmp_path / "run", config, steps=3, batch=2, crop=16, threads=1, augment=other
                ),
                data,
                None,
            )
    _, history = train_flow(
        FlowRun(
            tmp_path / "run", config, steps=3, batch=2, crop=16, threads=1, augment=run.augment
        ),
        data,
        None,
    )
    assert history[-1]["step"] == 3


def test_train_with_augmentation_end_to_end(tmp_path):
    out = tmp_path / "aug.npz"
    result = train(
        TrainOptions(
            data=IMAGES,
            out=out,
            init=str(TINY_MODEL),
            steps=3,
            gray_steps=2,
            batch=2,
            crop=32,
            threads=1,
            eval_images=0,
            augment="default",
        )
    )
    assert result.model_path == out and out.is_file()
    ckpt = torch.load(tmp_path / "aug.run" / "rgb" / "checkpoint.pt", weights_only=False)
    assert ckpt["augment"] == AugmentMix.parse("default").spec()
    with pytest.raises(ValueError, match="augment mix"):
        train(TrainOptions(data=IMAGES, out=tmp_path / "x.npz", augment="sharpen=1"))
    assert not (tmp_path / "x.run").exists()


@pytest.mark.slow
def test_python_m_flowzip_train_refuses_a_bad_mix(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowzip.train",
            "--data",
            str(IMAGES),
            "--out",
            str(tmp_path / "r"),
            "--augment",
            "jpeg=lots",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2 and "not a number" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()

"""The classic paths (flowzip.classic) and the per-tile choice between them and the flow."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

import flowzip
from flowzip import classic, directory
from flowzip.errors import FlowzipError, FormatError
from flowzip.image import plane_groups

from .conftest import FIXTURES, TINY_MODEL, photo_crop


def _tiles(rng):
    """Tiles of every shape and kind the coders meet: noise, few colours, gradients, edges."""
    yield "1x1", np.array([[[7, 200, 33]]], np.uint8)
    yield "row", rng.integers(0, 256, (1, 37, 3), dtype=np.uint8)
    yield "column", rng.integers(0, 4, (41, 1, 1), dtype=np.uint8)
    yield "noise4", rng.integers(0, 256, (23, 19, 4), dtype=np.uint8)
    # 16-bit RGB and RGBA: six and eight byte planes (the palette key, the colour cache's)
    yield "planes6", rng.integers(0, 3, (20, 30, 6), dtype=np.uint8) * 120
    yield (
        "planes8",
        np.concatenate(
            [
                rng.integers(0, 2, (20, 30, 4), dtype=np.uint8) * 255,
                rng.integers(0, 256, (20, 30, 4), dtype=np.uint8),
            ],
            axis=2,
        ),
    )
    yield "two-colours", (rng.integers(0, 2, (30, 40, 3)) * 255).astype(np.uint8)
    yield (
        "gradient",
        np.broadcast_to(np.arange(64, dtype=np.uint8)[None, :, None] * 4, (20, 64, 3)).copy(),
    )
    yield "walk", (np.cumsum(rng.integers(-3, 4, (33, 45, 2)), axis=1) % 256).astype(np.uint8)
    yield (
        "extremes",
        np.array([[[0, 255, 0], [255, 0, 255]], [[255, 255, 255], [0, 0, 0]]], np.uint8),
    )
    yield "photo", photo_crop()[:40, :50]
    yield "drawing", _drawing(64, 96)


def _drawing(h, w):
    im = Image.new("RGB", (w, h), (240, 240, 235))
    d = ImageDraw.Draw(im)
    d.rectangle((5, 5, w // 2, h // 2), fill=(30, 90, 200), outline=(0, 0, 0))
    d.ellipse((w // 3, h // 3, w - 4, h - 4), fill=(220, 40, 40))
    d.text((8, h - 20), "flowzip 123", fill=(0, 0, 0))
    return np.asarray(im).copy()


@pytest.mark.parametrize("rgb", [False, True])
def test_every_path_round_trips_exactly(rng, rgb):
    for name, tile in _tiles(rng):
        use_rgb = rgb and tile.shape[2] >= 3
        paths = list(classic.candidates(tile, use_rgb))
        assert {k for k, _, _ in paths} >= {classic.PREDICTIVE, classic.STORED}, name
        for transform in range(3 if use_rgb else 1):
            for runs in (False, True):
                # format 3's single context set, format 4's ten mixed, 5's eleven, 6's 21
                for model in (3, 4, 5, 6):
                    paths.append(
                        (
                            classic.PREDICTIVE,
                            *classic.encode_predictive(tile, transform, runs, model=model),
                        )
                    )
        for kind, payload, bits in paths:
            decoded = classic.decode(kind, payload, tile.shape, use_rgb)
            assert decoded.dtype == np.uint8 and np.array_equal(decoded, tile), (name, kind)
            # the ideal code length is what the stream costs, give or take its two state words
            assert bits / 8 <= len(payload) + 1 and len(payload) <= bits / 8 + 24, (name, kind)


def test_encode_best_is_the_smallest_candidate(rng):
    for name, tile in _tiles(rng):
        _, payload, _ = classic.encode_best(tile, True)
        assert len(payload) == min(len(p) for _, p, _ in classic.candidates(tile, True)), name


def test_stored_floor_tries_paeth_and_filtered_deflate_near_the_best():
    ramp = np.add.outer(np.arange(40), np.arange(60)).astype(np.uint8)[:, :, None].repeat(3, axis=2)
    quick = classic.encode_stored(ramp, beat=1)  # far from the best: the per-row heuristic only
    full = classic.encode_stored(ramp)
    assert len(full) <= len(quick)
    for payload in (quick, full):
        assert np.array_equal(classic.decode(classic.STORED, payload, ramp.shape, True), ramp)


def test_stored_floor_bounds_noise(rng):
    noise = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    kind, payload, _ = classic.encode_best(noise, True)
    assert kind == classic.STORED and len(payload) <= noise.size + 1


def test_context_coders_code_flat_graphics_in_a_few_bytes():
    tile = np.zeros((256, 256, 3), np.uint8)
    tile[40:200, 30:100] = (200, 30, 30)
    kind, payload, _ = classic.encode_best(tile, True)
    assert kind in (classic.PALETTE, classic.PREDICTIVE) and len(payload) < 120


@pytest.mark.parametrize("kind", [classic.PALETTE, classic.PREDICTIVE, classic.STORED])
def test_damaged_payloads_are_format_errors(rng, kind):
    tile = _drawing(48, 64)
    if kind == classic.PALETTE:
        payload = classic.encode_palette(tile)[0]
    elif kind == classic.PREDICTIVE:
        payload = classic.encode_predictive(tile, 2, True)[0]
    else:
        payload = b"\x01" + zlib.compress(classic._png_filter(tile), 9)
    damaged = [payload[:n] for n in range(0, len(payload), max(1, len(payload) // 40))]
    for _ in range(200):
        b = bytearray(payload)
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        damaged.append(bytes(b))
    damaged.append(payload + b"\0\0\0\0")
    for data in damaged:
        try:
            out = classic.decode(kind, data, tile.shape, True)
        except FormatError:
            continue
        # a flip the model cannot see (a stored byte, a mantissa bit) changes pixels: the
        # file's pixel CRC catches those; here the decoder must at least give a tile
        assert out.shape == tile.shape and out.dtype == np.uint8


def test_directory_round_trip_and_damage():
    kinds, sizes = [0, 2, 0, 1, 3], [0, 5, 0, 300, 70000]
    data = directory.write_directory(kinds, sizes)
    got, offsets = directory.read_directory(data, 5, sum(sizes))
    assert got == kinds and np.diff(offsets).tolist() == sizes
    for bad in (data[:-1], data + b"\0", bytes([9]) + data[1:]):
        with pytest.raises(FormatError):
            directory.read_directory(bad, 5, sum(sizes))
    with pytest.raises(FormatError):
        directory.read_directory(data, 5, sum(sizes) + 1)


@pytest.mark.slow
def test_image_takes_the_cheapest_path_per_tile():
    """A photo beside a drawing: the tiles are coded by different paths, the file decodes,
    and it is smaller than with the flow alone."""
    image = np.concatenate([_drawing(64, 128), np.tile(photo_crop()[:64, :64], (1, 2, 1))], axis=0)
    both = flowzip.Compressor(TINY_MODEL, tile=64).encode(image)
    flow = flowzip.Compressor(TINY_MODEL, tile=64, flow_only=True).encode(image)
    assert flow.stats.tile_paths == {"flow": 4}
    assert sum(both.stats.tile_paths.values()) == 4 and len(both.stats.tile_paths) >= 2
    assert both.stats.nbytes < flow.stats.nbytes
    assert flowzip.read_tile_paths(both.data) == both.stats.tile_paths
    for data in (both.data, flow.data):
        assert np.array_equal(flowzip.Decompressor(models=[TINY_MODEL]).decompress(data), image)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["default", "idf-bb-v5"])
def test_shipped_models_mix_flow_and_classic_tiles(model):
    """With a shipped model a photo's tiles stay with the flow (bits-back included) and a
    drawing's go to the context coders, in one file that decodes exactly."""
    # the mixing context coder beats the flow on most photo tiles (docs/experiments.md, C8); on
    # these 32x32 tiles it has too few pixels to learn from, and the flow wins most of them
    # (format 6's coder took one of the four)
    urban = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))
    image = np.concatenate([urban[64:128, :64], _drawing(64, 64)], axis=1)
    enc = flowzip.Compressor(model, tile=32).encode(image)
    assert 3 <= enc.stats.tile_paths.get("flow", 0) <= 4
    assert sum(enc.stats.tile_paths.values()) == 8
    assert np.array_equal(flowzip.decompress(enc.data), image)


def test_file_without_flow_tiles_needs_no_model():
    image = _drawing(64, 96)
    data = flowzip.Compressor(TINY_MODEL, tile=64).compress(image)
    assert "flow" not in flowzip.read_tile_paths(data)
    assert np.array_equal(flowzip.Decompressor().decompress(data), image)  # tiny model not passed


def test_classic_tiles_decode_on_the_threads_numba_may_use(monkeypatch):
    """Classic tiles are independent: with threads=2 they decode on two threads, in tile
    order on the page, to the same pixels; threads=1 keeps them on the caller's thread."""
    import threading

    image = np.concatenate([_drawing(64, 96), _drawing(64, 96)[::-1]], axis=0)
    data = flowzip.Compressor(TINY_MODEL, tile=32).compress(image)
    assert sum(flowzip.read_tile_paths(data).values()) == 12  # no flow tile
    seen: list[str] = []
    real = classic.decode
    barrier = threading.Barrier(2, timeout=10)

    def watched(*args):
        seen.append(threading.current_thread().name)
        if len(seen) in (2, 3):  # tiles 2 and 3 meet: they can only if they run at once
            barrier.wait()
        return real(*args)

    monkeypatch.setattr(classic, "decode", watched)
    assert np.array_equal(flowzip.Decompressor(threads=2).decompress(data), image)
    assert seen[0] == threading.main_thread().name  # the first tile alone, before the pool
    assert len(set(seen[1:])) == 2 and len(seen) == 12
    seen.clear()
    barrier = threading.Barrier(1)
    assert np.array_equal(flowzip.Decompressor(threads=1).decompress(data), image)
    assert set(seen) == {threading.main_thread().name}


def test_classic_candidates_are_coded_on_the_threads_numba_may_use(monkeypatch):
    """The encoder codes the tiles' classic candidates ahead on a pool of numba's threads
    (two tiles meet at a barrier: they can only if they run at once) and writes the same
    bytes as on the caller's thread alone."""
    import threading

    image = np.concatenate([_drawing(64, 96), np.tile(photo_crop()[:64, :48], (1, 2, 1))], axis=0)
    seen: list[str] = []
    real = classic.encode_best
    barrier = threading.Barrier(2, timeout=10)

    def watched(*args):
        seen.append(threading.current_thread().name)
        if len(seen) in (1, 2):
            barrier.wait()
        return real(*args)

    monkeypatch.setattr(classic, "encode_best", watched)
    two = flowzip.Compressor(TINY_MODEL, tile=32, threads=2).compress(image)
    assert len(set(seen)) == 2 and len(seen) == 12
    assert threading.main_thread().name not in seen
    seen.clear()
    barrier = threading.Barrier(1)
    one = flowzip.Compressor(TINY_MODEL, tile=32, threads=1).compress(image)
    assert set(seen) == {threading.main_thread().name} and one == two
    assert np.array_equal(flowzip.decompress(two, models=[TINY_MODEL]), image)


def test_noise_costs_no_more_than_raw(rng):
    noise = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    enc = flowzip.Compressor(TINY_MODEL, tile=64).encode(noise)
    assert enc.stats.tile_paths == {"stored": 1}
    assert enc.stats.nbytes <= noise.size + enc.stats.header_bytes + 8


@pytest.mark.slow
def test_modes_through_classic_paths():
    im = Image.fromarray(_drawing(70, 90))
    for mode in ("L", "RGBA", "P", "1", "LA"):
        src = im.convert(mode)
        data = flowzip.Compressor(TINY_MODEL, tile=64).compress(src)
        back = flowzip.Decompressor(models=[TINY_MODEL]).decompress_image(data)
        assert back.mode == src.mode and np.array_equal(np.asarray(back), np.asarray(src)), mode
    u16 = np.arange(70 * 90, dtype=np.uint16).reshape(70, 90) * 7
    data = flowzip.Compressor(TINY_MODEL, tile=64).compress(u16)
    assert np.array_equal(flowzip.Decompressor(models=[TINY_MODEL]).decompress(data), u16)


def test_damaged_classic_files_never_decode_wrong(rng):
    """Flips anywhere in a file of classic tiles: an error of flowzip's or the exact image."""
    image = _drawing(64, 96)
    data = flowzip.Compressor(TINY_MODEL, tile=64).compress(image)
    dec = flowzip.Decompressor(models=[TINY_MODEL])
    for _ in range(150):
        b = bytearray(data)
        b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
        try:
            out = dec.decompress(bytes(b))
        except FlowzipError:
            continue
        assert np.array_equal(out, image)


@pytest.mark.parametrize("fixed", [None, 1, 4])
def test_png_floor_matches_png_filters(fixed):
    """The stored floor's filters are PNG's: Pillow's own PNG decoder agrees on a PNG built
    from our filtered rows (one IDAT, no interlace)."""
    tile = _drawing(33, 47)
    filtered = classic._png_filter(tile, fixed)
    raw = io.BytesIO()
    Image.fromarray(tile).save(raw, format="PNG")  # for its IHDR chunk
    png = raw.getvalue()
    ihdr = png[8 : 8 + 25]
    idat = zlib.compress(filtered)
    chunk = (
        len(idat).to_bytes(4, "big")
        + b"IDAT"
        + idat
        + zlib.crc32(b"IDAT" + idat).to_bytes(4, "big")
    )
    iend = (0).to_bytes(4, "big") + b"IEND" + zlib.crc32(b"IEND").to_bytes(4, "big")
    ours = Image.open(io.BytesIO(png[:8] + ihdr + chunk + iend))
    assert np.array_equal(np.asarray(ours), tile)


@pytest.mark.slow
def test_info_lists_the_tiles_per_path(tmp_path):
    import json
    import subprocess
    import sys

    path = tmp_path / "mixed.fz"
    path.write_bytes(flowzip.Compressor(TINY_MODEL, tile=64).compress(_drawing(64, 128)))
    text = subprocess.run(
        [sys.executable, "-m", "flowzip", "info", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    paths = flowzip.read_tile_paths(path.read_bytes())
    assert all(f"{name} {n}" in text for name, n in paths.items())
    record = json.loads(
        subprocess.run(
            [sys.executable, "-m", "flowzip", "info", "--json", str(path)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert record["tile_paths"] == paths and record["format_version"] == flowzip.FORMAT_VERSION


def test_context_tables_match_their_definitions():
    """The inner loop's lookup tables (bit length, the residual's and the gradient's signed
    classes) give what the thresholds they replace gave, for every value the coder meets."""

    def classes(v, bounds):
        m = abs(v)
        q = next((k for k, t in enumerate(bounds) if m <= t), len(bounds))
        return q if v >= 0 else -q

    for v in range(-5000, 5000):
        assert classic._bitlen(abs(v)) == abs(v).bit_length()
        assert classic._q9(v) == classes(v, (0, 2, 6, 14)), v
        assert classic._q9_gradient(v) == classes(v, (0, 2, 6, 20)), v


def _flow_trials(image: np.ndarray, **constants) -> tuple[flowzip.Encoded, list]:
    """``image`` encoded (tiny model, 256-pixel tiles) with these constants of
    :mod:`flowzip.codec` in force, and the (h, w) of every region the flow coded."""
    from flowzip import codec

    seen: list[tuple[int, int]] = []
    with pytest.MonkeyPatch.context() as patch:
        for name, value in constants.items():
            patch.setattr(codec, name, value)
        encode = codec.TileEncoder.encode

        def recording(self, planes, groups):
            seen.append(planes.shape[:2])
            return encode(self, planes, groups)

        patch.setattr(codec.TileEncoder, "encode", recording)
        return flowzip.Compressor(TINY_MODEL, tile=256).encode(image), seen


def test_flow_is_not_tried_where_its_crop_cannot_win():
    """On a photo tile where the tiny model's flow is far behind the predictive coder, the
    encoder codes only the centre crop with the flow, never the tile; with the prune off
    (an unreachable ratio) it tries the whole tile, and both files decode to the image."""
    from flowzip import codec

    urban = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))
    model = flowzip.Compressor(TINY_MODEL).model
    groups = plane_groups(3, 1)
    ratio = codec.flow_crop_ratio(model, np.ascontiguousarray(urban), groups)
    assert ratio is not None and ratio > codec.FLOW_FAR_RATIO
    assert codec.flow_crop_ratio(model, np.ascontiguousarray(urban[:128, :200]), groups) is None
    crop = (codec.FLOW_PRUNE_CROP, codec.FLOW_PRUNE_CROP)
    pruned, seen = _flow_trials(urban)
    assert seen == [crop]
    tried, seen = _flow_trials(urban, FLOW_PRUNE_RATIO=1e9)
    assert seen == [crop, (256, 256)]
    assert pruned.data == tried.data and pruned.stats.tile_paths == {"predictive": 1}
    assert np.array_equal(flowzip.decompress(pruned.data), urban)


def test_a_far_behind_flow_is_not_probed_again_in_the_same_image():
    """Once one tile's crop shows the flow far behind, the image's other tiles are pruned
    without a crop of their own; with that shortcut off each tile gets its crop, and the
    file is the same."""
    from flowzip import codec

    urban = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))
    image = np.ascontiguousarray(np.concatenate([urban, urban[:, ::-1]], axis=1))
    crop = (codec.FLOW_PRUNE_CROP, codec.FLOW_PRUNE_CROP)
    once, seen = _flow_trials(image)
    assert seen == [crop]
    each, seen = _flow_trials(image, FLOW_FAR_RATIO=1e9)
    assert seen == [crop, crop]
    assert once.data == each.data and once.stats.tile_paths == {"predictive": 2}
    assert np.array_equal(flowzip.decompress(once.data), image)


def test_runs_trial_codes_a_photo_with_few_repeats_one_way():
    """A photo tile with 14% of pixels equal to their left neighbour is coded once, the way
    a band of its rows says, and that is the smaller way; a drawing is coded both ways."""
    urban = np.asarray(Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB"))
    tile = urban.copy()
    tile[:, 1::7] = tile[:, 0:-1:7]  # a repeated column in every seven
    repeats = float(np.mean(np.all(tile[:, 1:] == tile[:, :-1], axis=2)))
    assert classic._RUNS_MIN_REPEATS < repeats <= classic._RUNS_TRIAL_REPEATS
    t = classic._transform_for(tile)
    p = classic._predictor_for(tile, t)
    ways = classic._runs_trial(tile, repeats, t, p)
    assert len(ways) == 1
    sizes = {w: len(classic.encode_predictive(tile, t, w, p)[0]) for w in (False, True)}
    assert sizes[ways[0]] == min(sizes.values())
    kind, payload, _ = classic.encode_best(tile, True)
    assert len(payload) <= min(sizes.values())
    assert np.array_equal(classic.decode(kind, payload, tile.shape, True), tile)
    drawing = np.tile(_drawing(64, 96), (4, 1, 1))
    assert classic._runs_trial(drawing, 0.9, 0, 0) == (False, True)


def test_phase_context_is_signalled_and_pays_on_an_upscale():
    """Format 5's options bit 6 (the 2x2 phase set): set by the encoder, clear in format 4's
    tiles, which decode as before; on a 2x bicubic upscale of a photo it saves bits, and a
    phase bit without mixing is refused."""
    urban = Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB")
    up = np.asarray(urban.crop((0, 0, 64, 64)).resize((128, 128), Image.Resampling.BICUBIC))
    new, new_bits = classic.encode_predictive(up, 2, False, 3, model=5)
    old, old_bits = classic.encode_predictive(up, 2, False, 3, model=4)
    assert new[0] & 64 and not old[0] & 64
    assert new_bits < 0.998 * old_bits
    for payload in (new, old):
        assert np.array_equal(classic.decode(classic.PREDICTIVE, payload, up.shape, True), up)
    with pytest.raises(FormatError):
        classic.decode(classic.PREDICTIVE, bytes([old[0] & ~32 | 64]) + old[1:], up.shape, True)


def test_other_predictors_model_is_signalled_and_pays_on_real_world_variants():
    """Format 6's options bit 7 (sets L-U: other predictors and the NLMS predictor): set by
    the encoder, clear in format 5's tiles, which decode as before; it saves bits on a 2x
    bicubic upscale, on 4:2:0 chroma and on a JPEG round trip (docs/experiments.md M23),
    and bit 7 without format 5's bits is refused."""
    urban = Image.open(FIXTURES / "images" / "urban051-256.png").convert("RGB")
    crop = urban.crop((0, 0, 96, 96))
    up = crop.resize((192, 192), Image.Resampling.BICUBIC)
    ycc = crop.convert("YCbCr")
    y, cb, cr = ycc.split()
    half = [c.resize((48, 48), Image.Resampling.BOX).resize((96, 96)) for c in (cb, cr)]
    subsampled = Image.merge("YCbCr", (y, *half)).convert("RGB")
    buf = io.BytesIO()
    crop.save(buf, format="JPEG", quality=90)
    jpeg = Image.open(buf).convert("RGB")
    assert classic.MODEL == 6
    for image, least in ((up, 0.05), (subsampled, 0.01), (jpeg, 0.01)):
        a = np.asarray(image)
        new, new_bits = classic.encode_predictive(a, 2, False, 0)
        old, old_bits = classic.encode_predictive(a, 2, False, 0, model=5)
        assert new[0] & 0xE0 == 0xE0 and old[0] & 0xE0 == 0x60
        assert new_bits < (1 - least) * old_bits
        for payload in (new, old):
            assert np.array_equal(classic.decode(classic.PREDICTIVE, payload, a.shape, True), a)
    for forged in (new[0] & ~64, new[0] & ~32, new[0] & ~96):
        with pytest.raises(FormatError):
            classic.decode(classic.PREDICTIVE, bytes([forged]) + new[1:], a.shape, True)
    with pytest.raises(ValueError, match="model"):
        classic.encode_predictive(a, 2, False, 0, model=7)


def test_match_model_finds_repeated_text_and_is_signalled():
    """Format 6's match model (palette tiles: bit 15 of the colour count; predictive tiles:
    model 6 with neighbour flags): a line of anti-aliased text written twice, far apart, costs
    far less with it; both payloads decode, and format 5's palette tiles (bit clear) too."""
    im = Image.new("RGB", (256, 96), (255, 255, 255))
    d = ImageDraw.Draw(im)
    for y in (4, 60):
        d.text((3, y), "flowzip codes repeated glyphs once", fill=(20, 20, 30))
    a = np.asarray(im).copy()
    new, new_bits = classic.encode_palette(a)
    old, old_bits = classic.encode_palette(a, matching=False)
    assert new[1] & 0x80 and not old[1] & 0x80
    assert new_bits < 0.8 * old_bits
    runs_new = classic.encode_predictive(a, 0, True)
    runs_old = classic.encode_predictive(a, 0, True, model=5)
    assert runs_new[1] < 0.8 * runs_old[1]
    for kind, payload in ((classic.PALETTE, new), (classic.PALETTE, old)):
        assert np.array_equal(classic.decode(kind, payload, a.shape, True), a)
    for payload in (runs_new[0], runs_old[0]):
        assert np.array_equal(classic.decode(classic.PREDICTIVE, payload, a.shape, True), a)


def test_every_predictor_of_every_model_round_trips_and_the_wide_mean_pays_on_noise(rng):
    """Format 6's predictor 2 is a wider mean (format 5's, the MED/mean blend, still decodes):
    on gaussian noise over a smooth surface, what a scanner gives, it beats the mean of four,
    and the encoder's estimate picks it there."""
    ramp = np.add.outer(np.arange(96), np.arange(96)) / 2 + 60
    noisy = ramp[:, :, None] + rng.normal(0, 4, (96, 96, 3))
    tile = np.clip(np.round(noisy), 0, 255).astype(np.uint8)
    photo = photo_crop()[:48, :48]
    for a in (tile, photo):
        for predictor in range(4):
            for model in (5, 6):
                payload, _ = classic.encode_predictive(a, 2, False, predictor, model=model)
                decoded = classic.decode(classic.PREDICTIVE, payload, a.shape, True)
                assert np.array_equal(decoded, a), (predictor, model)
    wide = classic.encode_predictive(tile, 2, False, 2)[1]
    mean4 = classic.encode_predictive(tile, 2, False, 1)[1]
    assert wide < 0.995 * mean4
    assert classic._predictor_for(tile, 2) == 2

"""The frozen tables and the rANS coder: exactness, escapes, golden words."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from flowzip.entropy.coder import LatentDecoder, LatentEncoder
from flowzip.entropy.stack import PRECISION
from flowzip.entropy.tables import PHASES, build_all, build_half_widths, load_tables
from flowzip.errors import FlowzipError, FormatError, UnsupportedImageError
from flowzip.priors import NUM_SCALES


def test_tables_are_valid_and_match_their_generator():
    t = load_tables()
    for i in range(NUM_SCALES):
        for p in range(PHASES):
            f = t.freqs(i, p)
            assert int(f.sum()) == 2**PRECISION
            assert int(f.min()) >= 1
    # the generator still reproduces the frozen file on this machine
    assert np.array_equal(build_all(), t.all_freqs)
    assert np.array_equal(build_half_widths(), t.half_widths)


def _sample(rng, n):
    mu_q = rng.integers(-2000, 2000, n)
    sidx = rng.integers(0, NUM_SCALES, n)
    scale = 2.0 ** (-4 + sidx / 8)
    z = np.round(mu_q / 4 + rng.logistic(0, scale)).astype(np.int64)
    z[::97] += rng.integers(-(2**30), 2**30, z[::97].size)  # far outliers -> escapes
    return z, mu_q, sidx


def test_roundtrip_with_escapes(rng):
    z, mu_q, sidx = _sample(rng, 20000)
    enc = LatentEncoder()
    enc.encode(
        z[:5000].reshape(50, 100), mu_q[:5000].reshape(50, 100), sidx[:5000].reshape(50, 100)
    )
    enc.encode(z[5000:], mu_q[5000:], sidx[5000:])
    assert enc.escapes > 100
    data = enc.finish()
    assert len(data) * 8 <= enc.bits * 1.001 + 64
    dec = LatentDecoder(data)
    assert np.array_equal(
        dec.decode(mu_q[:5000].reshape(50, 100), sidx[:5000].reshape(50, 100)),
        z[:5000].reshape(50, 100),
    )
    assert np.array_equal(dec.decode(mu_q[5000:], sidx[5000:]), z[5000:])
    dec.finish()


def test_golden_words():
    """A fixed input gives fixed words: the coder's part of the format promise."""
    i = np.arange(3000, dtype=np.int64)  # arithmetic, not an RNG stream that numpy may change
    mu_q = (i * 7919) % 4001 - 2000
    sidx = (i * 104729) % NUM_SCALES
    z = mu_q // 4 + ((i * 31337) % 61 - 30) * (sidx // 8 + 1) // 4
    z[::97] += (i[::97] * 1_000_003) % (2**31) - 2**30
    enc = LatentEncoder()
    enc.encode(z, mu_q, sidx)
    data = enc.finish()
    assert hashlib.sha256(data).hexdigest() == GOLDEN_SHA256
    assert np.array_equal(LatentDecoder(data).decode(mu_q, sidx), z)


GOLDEN_SHA256 = "6e7b477d2005acbd0d9164e08ab0cc06397c98b454b4b5be88a7b392f2d69f5a"


def test_out_of_range_latent_is_refused_as_a_flowzip_error():
    enc = LatentEncoder()
    with pytest.raises(UnsupportedImageError, match="escape range") as caught:
        enc.encode(np.array([2**40]), np.array([0]), np.array([10]))
    assert isinstance(caught.value, FlowzipError)
    enc.encode(np.array([2**31 - 1]), np.array([0]), np.array([10]))  # the edge: still coded
    assert enc.escapes == 1


def test_leftover_or_malformed_stream_is_detected(rng):
    z, mu_q, sidx = _sample(rng, 100)
    enc = LatentEncoder()
    enc.encode(z, mu_q, sidx)
    data = enc.finish()
    dec = LatentDecoder(data)
    dec.decode(mu_q[:50], sidx[:50])
    with pytest.raises(FormatError):
        dec.finish()
    with pytest.raises(FormatError):
        LatentDecoder(data[:-1])
    with pytest.raises(FormatError):
        LatentDecoder(data + bytes(4))

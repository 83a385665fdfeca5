"""The bits-back codec layer: push/pop on one ANS stack, checked borrowing, BB-ANS."""

from __future__ import annotations

import numpy as np
import pytest

from flowzip.entropy.stack import PRECISION, AnsStack, Codec, pop_bits_back, push_bits_back, uniform
from flowzip.errors import StackUnderflowError


def peaked(n: int, at: int, weight: int) -> Codec:
    freqs = np.ones(n, dtype=np.int64)
    freqs[at] += (1 << PRECISION) - n - (n - 1) * (weight - 1)
    freqs[np.arange(n) != at] = weight
    return Codec(freqs)


@pytest.mark.parametrize("n", [2, 3, 255, 256, 1000, 1 << 16])
def test_uniform_tables_are_exact(n):
    f = uniform(n).freqs
    assert (
        f.size == n and f.min() >= 1 and int(f.sum()) == 1 << PRECISION and f.max() - f.min() <= 1
    )


def test_codec_refuses_tables_that_are_not_integer_distributions():
    for bad in ([0, 1 << PRECISION], [1, 2, 3], [[1 << PRECISION]]):
        with pytest.raises(ValueError):
            Codec(np.array(bad))


def test_push_pop_is_last_in_first_out(rng):
    stack = AnsStack()
    codecs = [uniform(7), peaked(300, 5, 1000), uniform(1 << 16)]
    pushed = [rng.integers(0, len(c.freqs), 50) for c in codecs]
    for c, s in zip(codecs, pushed):
        stack.push(c, s)
    restored = AnsStack(stack.words())
    for c, s in reversed(list(zip(codecs, pushed))):
        assert np.array_equal(restored.pop(c, len(s)), s)
    with pytest.raises(ValueError, match="alphabet"):
        stack.push(uniform(4), np.array([4]))


def test_borrowing_from_an_empty_or_short_stack_is_refused():
    with pytest.raises(StackUnderflowError):
        AnsStack().borrow(uniform(2), 1)
    stack = AnsStack()
    stack.push(uniform(256), np.arange(4))  # about 32 bits of data
    with pytest.raises(StackUnderflowError):
        stack.borrow(uniform(256), 8)  # could take 64
    assert stack.borrow(uniform(16), 2).size == 2  # 8 bits: covered


def table(probs: np.ndarray) -> Codec:
    """An integer table close to ``probs`` (each freq >= 1, sum exactly 2**24)."""
    f = np.maximum(1, np.floor(probs / probs.sum() * (1 << PRECISION))).astype(np.int64)
    f[np.argmax(f)] += (1 << PRECISION) - int(f.sum())
    return Codec(f)


def test_bits_back_round_trip_gives_the_bits_back(rng):
    """x in 0..255 with a latent y in 0..3: the file pays -log2 p(x|y) - log2 p(y) + log2 q(y|x)
    (q's bits come back), and the receiver restores the stack exactly."""
    cls = np.arange(256) % 4
    prior = uniform(4)
    posterior = lambda x: table(np.where(np.arange(4) == int(x[0]) % 4, 3.0, 1.0))  # noqa: E731
    likelihood = lambda y: table(np.where(cls == int(y[0]), 3.0, 1.0))  # noqa: E731
    bits = lambda c, s: PRECISION - np.log2(c.freqs[s])  # noqa: E731

    seed = rng.integers(0, 256, 64)
    stack = AnsStack()
    stack.push(uniform(256), seed)  # the first part, coded without bits-back
    start_words, start_bits = stack.words().copy(), stack.bits
    xs = rng.integers(0, 256, 300)
    expected = 0.0
    for x in xs:
        x = np.array([x])
        y = push_bits_back(stack, x, posterior, likelihood, prior, 1)
        expected += bits(likelihood(y), x[0]) + bits(prior, y[0]) - bits(posterior(x), y[0])
    assert abs((stack.bits - start_bits) - expected) < 0.005 * expected + 64

    receiver = AnsStack(stack.words())
    back = [int(pop_bits_back(receiver, 1, posterior, likelihood, prior, 1)[0]) for _ in xs]
    assert back == xs[::-1].tolist()
    assert np.array_equal(receiver.words(), start_words)
    assert np.array_equal(receiver.pop(uniform(256), 64), seed)

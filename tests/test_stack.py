"""The bits-back codec layer: push/pop on one ANS stack, checked borrowing, BB-ANS (the
steps :class:`flowzip.entropy.bitsback.ScaleCoder` takes, on small codecs)."""

from __future__ import annotations

import numpy as np
import pytest

from flowzip.entropy.stack import PRECISION, AnsStack, Codec, uniform
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
    for c, s in zip(codecs, pushed, strict=True):
        stack.push(c, s)
    restored = AnsStack(stack.words())
    for c, s in reversed(list(zip(codecs, pushed, strict=True))):
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
    """x in 0..255 with a latent y in 0..3, coded as the scale layers code: the sender borrows
    y from q(y|x), pushes x under p(x|y) and y under p(y); the receiver pops y and x and
    pushes y back under q(y|x). The file pays -log2 p(x|y) - log2 p(y) + log2 q(y|x) (q's bits
    come back), and the receiver restores the stack exactly."""
    cls = np.arange(256) % 4
    prior = uniform(4)

    def posterior(x: int) -> Codec:
        return table(np.where(np.arange(4) == x % 4, 3.0, 1.0))

    def likelihood(y: int) -> Codec:
        return table(np.where(cls == y, 3.0, 1.0))

    def bits(codec: Codec, symbol: int) -> float:
        return PRECISION - np.log2(codec.freqs[symbol])

    seed = rng.integers(0, 256, 64)
    stack = AnsStack()
    stack.push(uniform(256), seed)  # the first part, coded without bits-back
    start_words, start_bits = stack.words().copy(), stack.bits
    xs = [int(x) for x in rng.integers(0, 256, 300)]
    expected = 0.0
    for x in xs:
        y = int(stack.borrow(posterior(x), 1)[0])
        stack.push(likelihood(y), np.array([x]))
        stack.push(prior, np.array([y]))
        expected += bits(likelihood(y), x) + bits(prior, y) - bits(posterior(x), y)
    assert abs((stack.bits - start_bits) - expected) < 0.005 * expected + 64

    receiver = AnsStack(stack.words())
    back = []
    for _ in xs:
        y = int(receiver.pop(prior, 1)[0])
        x = int(receiver.pop(likelihood(y), 1)[0])
        receiver.push(posterior(x), np.array([y]))
        back.append(x)
    assert back == xs[::-1]
    assert np.array_equal(receiver.words(), start_words)
    assert np.array_equal(receiver.pop(uniform(256), 64), seed)

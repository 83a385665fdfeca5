"""The modular scale transform on the ANS stack: exact, cheap, and never borrowing bits the
stack does not hold."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch

from flowzip.entropy.bitsback import (
    LAYOUT,
    LISTED,
    MAX_ELEMENTS,
    MIN_BORROW_LOG2,
    STANDARD,
    ScaleCoder,
    max_chunk_log2,
    standard_chunk_flags,
)
from flowzip.entropy.stack import AnsStack, uniform
from flowzip.errors import FlowzipError, FormatError, StackUnderflowError, UnsupportedImageError
from flowzip.mst import SCALE_NUMERATORS, mst_forward, mst_inverse, scale_numerator


def filled(bits: int) -> AnsStack:
    stack = AnsStack()
    if bits:
        stack.push(uniform(256), np.random.default_rng(1).integers(0, 256, bits // 8))
    return stack


def random_scale_input(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(-400, 400, shape, generator=g)
    numer = scale_numerator(torch.randint(-128, 129, shape, generator=g))
    return x, numer


def test_numerator_table_is_frozen():
    """R = round(256 * 2**(q/64)) for q in -128..128: part of the format."""
    assert len(SCALE_NUMERATORS) == 257
    assert (
        SCALE_NUMERATORS[0] == 64 and SCALE_NUMERATORS[128] == 256 and SCALE_NUMERATORS[-1] == 1024
    )
    assert (
        SCALE_NUMERATORS[128 + 64] == 512 and SCALE_NUMERATORS[128 + 1] == 259
    )  # 256 * 2**(1/64) = 258.78
    digest = hashlib.sha256(np.array(SCALE_NUMERATORS, dtype="<i4").tobytes()).hexdigest()
    assert digest == "f446d110899040fd47f8f2fb60be518322aff192acd1a675da731e403b249dca"


@pytest.mark.parametrize("prefill", [0, 50, 3000, 400_000])
def test_scale_round_trip_restores_the_stack(prefill):
    x, numer = random_scale_input((2, 6, 16, 24))
    stack = filled(prefill)
    before = stack.words().copy()
    enc = ScaleCoder(stack)
    y = enc.scale_forward(x, numer)
    dec = ScaleCoder(stack)
    assert torch.equal(dec.scale_inverse(y, numer), x)
    assert np.array_equal(stack.words(), before)


def test_sender_never_borrows_bits_the_stack_does_not_hold():
    """From an empty stack the first chunks are seeds; every pop goes through the stack's
    checked borrow (which refuses pops it cannot pay for), and none is refused."""
    with pytest.raises(StackUnderflowError):
        filled(64).borrow_uniform(np.full(8, 1000))  # 8 x ~10 bits from a 64-bit stack
    x, numer = random_scale_input((1, 12, 32, 32))
    stack = AnsStack()
    coder = ScaleCoder(stack)
    y = coder.scale_forward(x, numer)
    y = coder.scale_forward(y, numer)
    assert coder.seed_elements > 0
    dec = ScaleCoder(stack)
    assert torch.equal(dec.scale_inverse(dec.scale_inverse(y, numer), numer), x)
    assert stack.is_empty()


def test_bits_back_cost_is_log_s_per_element():
    """With bits on the stack, the net cost is sum(log2 S - log2 R) plus a few bits per chunk."""
    x, numer = random_scale_input((1, 12, 64, 64))
    numer = torch.full_like(numer, 128)  # s = 1/2: one bit per element
    stack = filled(400_000)
    before = stack.bits
    coder = ScaleCoder(stack)
    coder.scale_forward(x, numer)
    assert coder.seed_elements == 0
    assert coder.model_bits == pytest.approx(x.numel())
    assert stack.bits - before == pytest.approx(coder.model_bits, abs=0.002 * x.numel() + 100)


def test_chunks_without_bits_back_cost_little_more():
    """From an empty stack the layer is coded without bits-back: each element costs its place
    among the preimages of y, about log2(S/R) where R < S and nothing where R > S, so about
    log2(R/S) more than bits-back where R > S, never the log2 R of a pop not made."""
    x, numer = random_scale_input((1, 12, 32, 32))
    stack = AnsStack()
    coder = ScaleCoder(stack)
    coder.scale_forward(x, numer)
    assert coder.seed_elements > 0  # the first chunks (then what they pushed pays for bits-back)
    first = numer.reshape(-1)[: coder.seed_elements].double()
    expansion = float(torch.log2(first / 256).clamp_min(0).sum())
    assert coder.seed_bits == pytest.approx(expansion, rel=0.1)
    assert stack.bits - coder.model_bits == pytest.approx(
        coder.seed_bits, abs=160
    )  # + the chunk list


def test_a_nearly_dry_stack_borrows_no_tiny_chunks():
    """Where the stack can pay for only a few elements, the sender codes a chunk without
    bits-back rather than borrow a handful (each chunk costs a listed flag): every borrowed
    chunk has at least 2**MIN_BORROW_LOG2 elements, or is the layer's last few."""
    x, numer = random_scale_input((1, 12, 32, 32), seed=3)
    stack = filled(300)  # about 26 elements' worth of pops
    borrowed = []
    borrow = stack.borrow_uniform
    stack.borrow_uniform = lambda sizes: borrowed.append(len(sizes)) or borrow(sizes)
    coder = ScaleCoder(stack)
    y = coder.scale_forward(x, numer)
    assert borrowed and all(n >= 1 << MIN_BORROW_LOG2 for n in borrowed[:-1]), borrowed[:8]
    assert coder.seed_elements > 0
    dec = ScaleCoder(stack)
    assert torch.equal(dec.scale_inverse(y, numer), x)
    assert stack.bits == pytest.approx(filled(300).bits)


def push_listed_layout(stack: AnsStack, flags: list[int], n: int) -> None:
    stack.push_uniform(np.array(flags), 2 * (max_chunk_log2(n) + 1))
    stack.push_uniform(np.array([len(flags)]), n + 1)
    stack.push(LAYOUT, np.array([LISTED]))


def test_a_full_stack_uses_the_standard_chunks_and_a_small_one_lists_them():
    x, numer = random_scale_input((1, 12, 8, 8))
    full = filled(100_000)
    ScaleCoder(full).scale_forward(x, numer)
    seeded = AnsStack()
    coder = ScaleCoder(seeded)
    coder.scale_forward(x, numer)
    assert coder.seed_elements > 0
    assert int(full.pop(LAYOUT, 1)[0]) == STANDARD and int(seeded.pop(LAYOUT, 1)[0]) == LISTED
    assert standard_chunk_flags(768) == [9, 8] and standard_chunk_flags((1 << 21) + 3) == [
        20,
        20,
        1,
        0,
    ]


def test_corrupt_chunk_layouts_are_refused():
    x, numer = random_scale_input((1, 1, 2, 2))
    cases = {"runs past its start": [2, 2], "do not cover": [0, 0]}  # 4 elements: K = 2
    for message, flags in cases.items():
        stack = AnsStack()
        stack.push_uniform(np.full(4, 3), 256)
        push_listed_layout(stack, flags, 4)
        with pytest.raises(FormatError, match=message):
            ScaleCoder(stack).scale_inverse(x, numer)


def test_the_fused_transform_is_the_formula_for_every_sign_and_the_range_edges():
    """mst_forward/inverse (on every backend) give the integers of the docstrings' formulas
    (floor division and modulo of negative numbers included), and corrupt values refused."""
    rng = np.random.default_rng(11)
    n = 20000
    numer = torch.from_numpy(rng.choice(np.array(SCALE_NUMERATORS), n))
    x = torch.from_numpy(rng.integers(-(2**37), 2**37, n))  # y stays in range: s <= 4
    x[:1000] = torch.from_numpy(rng.integers(-300, 300, 1000))
    r_d = torch.from_numpy(rng.integers(0, 2**62, n)) % numer
    y, r_e = mst_forward(x, r_d, numer)
    v = numer * x + r_d
    assert torch.equal(y, torch.div(v, 256, rounding_mode="floor")) and torch.equal(
        r_e, torch.remainder(v, 256)
    )
    back, r_d_back = mst_inverse(y, r_e, numer)
    assert torch.equal(back, x) and torch.equal(r_d_back, r_d)
    edge = torch.tensor([2**40 - 1, -(2**40) + 1])
    y, r_e = mst_forward(edge, torch.tensor([0, 255]), torch.tensor([256, 256]))  # s = 1: y = x
    assert torch.equal(y, edge) and r_e.tolist() == [0, 255]
    for bad in (2**40, -(2**40)):
        with pytest.raises(FormatError, match="exact range"):
            mst_forward(torch.tensor([0, bad]), torch.tensor([0, 0]), torch.tensor([256, 256]))
        with pytest.raises(FormatError, match="exact range"):
            mst_inverse(torch.tensor([bad]), torch.tensor([0]), torch.tensor([256]))


def test_a_scale_layer_larger_than_the_format_holds_is_a_flowzip_error():
    too_many = torch.zeros(1, dtype=torch.int64).expand(MAX_ELEMENTS + 1)  # no memory taken
    with pytest.raises(UnsupportedImageError, match="does not fit") as caught:
        ScaleCoder(filled(0)).scale_forward(too_many, torch.full((1,), 256).expand(too_many.shape))
    assert isinstance(caught.value, FlowzipError)

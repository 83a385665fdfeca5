"""How prior parameters are quantized: the integer contract between model and coder.

A prior network ends in an integer accumulator; its outputs are rounded to

* ``mu_q``: the mean in units of ``2**-MEAN_FRAC_BITS`` pixels (quarter pixels), and
* ``scale_idx``: ``round(log2(s) * SCALE_STEPS_PER_OCTAVE) - LOG2_SCALE_MIN * SCALE_STEPS_PER_OCTAVE``
  clamped to ``[0, NUM_SCALES)``, an index into the log-spaced scale grid.

:mod:`flowzip.entropy.tables` turns these two integers into a frozen CDF table.
"""

from __future__ import annotations

import torch

MEAN_FRAC_BITS = 2
SCALE_FRAC_BITS = 3
SCALE_STEPS_PER_OCTAVE = 2**SCALE_FRAC_BITS
LOG2_SCALE_MIN = -4
NUM_SCALES = 104
LOG2_SCALE_MAX = LOG2_SCALE_MIN + (NUM_SCALES - 1) / SCALE_STEPS_PER_OCTAVE


def scale_index(log2_scale_q: torch.Tensor) -> torch.Tensor:
    """Scale index from log2(s) in units of 1/SCALE_STEPS_PER_OCTAVE (int64 in and out)."""
    return torch.clamp(log2_scale_q - LOG2_SCALE_MIN * SCALE_STEPS_PER_OCTAVE, 0, NUM_SCALES - 1)

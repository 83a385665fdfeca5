"""The contract every compute backend keeps: :class:`Backend`.

The integer flow hands all of its arithmetic to a backend: the conditioner networks
(:mod:`flowzip.flows.intnet`), the lifting steps of the 1x1 convolutions
(:mod:`flowzip.flows.conv1x1`) and the modular scale transform of the scale layers
(:mod:`flowzip.mst`, run by :class:`flowzip.entropy.bitsback.ScaleCoder` for
:mod:`flowzip.flows.scale`). Every operation is exact: int64 tensors in, int64 tensors out,
and for the same inputs every backend returns the same integers, bit for bit, and refuses the
same inputs with the same :class:`~flowzip.errors.FormatError`. That is what lets a file made
with one backend decode with any other; ``tests/test_backends.py`` checks it, operation by
operation and file by file.

Example:
    >>> import torch
    >>> from flowzip.kernels import get_backend
    >>> backend = get_backend("reference")
    >>> isinstance(backend, Backend)
    True
    >>> y, r_e = backend.mst_forward(torch.tensor([5]), torch.tensor([1]), torch.tensor([512]))
    >>> y.tolist(), r_e.tolist()  # s = 512/256 = 2: y = floor((512 * 5 + 1) / 256)
    ([10], [1])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import torch

    from flowzip.flows.intnet import IntConvLayer


@runtime_checkable
class Backend(Protocol):
    """What a compute backend provides. All tensors are int64 on the CPU; shapes are
    (N, C, H, W) unless said otherwise. Integer in, integer out, identical on every backend."""

    name: str  # what --backend, backend= and $FLOWZIP_BACKEND call it

    def prepare_net(self, layers: Sequence[IntConvLayer]) -> Any:
        """The backend's own form of an integer network's layers (weights in its layout, on
        its device), made once per model and passed to every :meth:`run_net`."""
        ...

    def run_net(self, prepared: Any, x: torch.Tensor) -> torch.Tensor:
        """The network on ``x``: "same"-padded integer convolutions, each hidden layer
        requantized (``round(acc / 2**shift)``, halves up) and ReLU'd, and the last layer's
        accumulator returned as is. Before each layer the accumulator bound of
        :meth:`~flowzip.flows.intnet.IntConvLayer.accumulator_bound` is checked from the true
        largest input, so every backend refuses the same inputs."""
        ...

    def lift_forward(self, x: torch.Tensor, mat: torch.Tensor, frac_bits: int) -> torch.Tensor:
        """A lifting step: ``y = x + round(M x / 2**frac_bits)`` per pixel (halves up, an
        exact floor of the shifted sum), ``M`` (C, C) strictly triangular."""
        ...

    def lift_inverse(
        self, y: torch.Tensor, mat: torch.Tensor, frac_bits: int, lower: bool
    ) -> torch.Tensor:
        """Undoes :meth:`lift_forward` exactly, channel after channel in dependency order
        (``lower``: ``M`` is strictly lower triangular, else strictly upper)."""
        ...

    def mst_forward(
        self, x: torch.Tensor, r_d: torch.Tensor, numer: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The modular scale transform (:func:`flowzip.mst.mst_forward`, the definition),
        elementwise on tensors of one shape: ``v = R x + r_d``, ``y = floor(v / S)``,
        ``r_e = v mod S`` with ``R = numer`` and ``r_d`` in ``[0, R)``. Any ``|x|`` at or
        beyond :data:`~flowzip.mst.MST_VALUE_LIMIT` raises FormatError."""
        ...

    def mst_inverse(
        self, y: torch.Tensor, r_e: torch.Tensor, numer: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Undoes :meth:`mst_forward`: ``v = S y + r_e``, ``x = floor(v / R)``,
        ``r_d = v mod R`` (:func:`flowzip.mst.mst_inverse`); the same range check on ``y``."""
        ...

"""The exception family of flowzip: every error the library raises on purpose.

Catch :class:`FlowzipError` to handle all of them; the subclasses say what went wrong.
"""

from __future__ import annotations


class FlowzipError(Exception):
    """Base class of every error flowzip raises on purpose."""


class FormatError(FlowzipError, ValueError):
    """The data is not a valid flowzip file: foreign, truncated or corrupt."""


class ChecksumError(FormatError):
    """The decoded pixels do not match the CRC32 stored in the file."""


class UnsupportedImageError(FlowzipError, ValueError):
    """The image cannot be coded as asked: its mode, dtype or shape, the tile size, or a
    tile that is more than the format holds (a latent beyond the coder's escape range, a
    scale layer too large)."""


class UnknownModelError(FlowzipError, LookupError):
    """No model with that name, path or hash is available."""


class BackendUnavailableError(FlowzipError, RuntimeError):
    """The requested compute backend is unknown or cannot run on this machine."""


class StackUnderflowError(FormatError):
    """A pop asked the ANS stack for more bits than it holds (a bits-back coding error when
    encoding; corrupt data when decoding)."""

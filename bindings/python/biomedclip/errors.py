# SPDX-License-Identifier: MIT
"""Exceptions carrying the library's status codes.

Every failing library call raises an instance of :class:`BiomedclipError` (or of the subclass
for its status) with ``.status`` (the pinned ``BMC_ERR_*`` number), ``.status_name`` (the
library's own short description) and ``.message`` (``bmc_last_error()``: what went wrong, e.g.
"png: file 'a.png' is truncated").
"""
from . import _capi


class BiomedclipError(Exception):
    """A libbiomedclip call failed. Base class of every status-specific error below."""

    status = None  # the BMC_ERR_* value; set on each instance

    def __init__(self, status: int, message: str):
        self.status = status
        self.status_name = _capi.bmc_status_string(status).decode("utf-8", "replace")
        self.message = message
        super().__init__("%s (%s)" % (message, self.status_name) if message else self.status_name)


class InvalidArgumentError(BiomedclipError, ValueError):
    """BMC_ERR_INVALID_ARGUMENT: NULL pointer, bad size, out-of-range value."""


class OutOfMemoryError(BiomedclipError):
    """BMC_ERR_OUT_OF_MEMORY."""


class IoError(BiomedclipError):
    """BMC_ERR_IO: a file could not be opened, read or written."""


class CorruptDataError(BiomedclipError):
    """BMC_ERR_CORRUPT_DATA: truncated or malformed input (image, index, bundle)."""


class UnsupportedError(BiomedclipError):
    """BMC_ERR_UNSUPPORTED: well-formed input of a kind the library does not handle."""


class LimitError(BiomedclipError):
    """BMC_ERR_LIMIT: input exceeds a configured limit (image size, text length)."""


class BufferTooSmallError(BiomedclipError):
    """BMC_ERR_BUFFER_TOO_SMALL (the bindings size their buffers, so this means a bug)."""


class InvalidUtf8Error(BiomedclipError, ValueError):
    """BMC_ERR_INVALID_UTF8: text is not valid UTF-8."""


class ModelError(BiomedclipError):
    """BMC_ERR_MODEL: a model bundle is missing pieces or of the wrong architecture."""


class VersionError(BiomedclipError):
    """BMC_ERR_VERSION: a file's format version is not one this library reads."""


class DeviceError(BiomedclipError):
    """BMC_ERR_DEVICE: the requested device or dtype is not available."""


class CancelledError(BiomedclipError):
    """BMC_ERR_CANCELLED: a progress callback asked to stop."""


class InternalError(BiomedclipError):
    """BMC_ERR_INTERNAL: a bug or an unexpected failure inside the library or libtorch."""


class NotFoundError(BiomedclipError, LookupError):
    """BMC_ERR_NOT_FOUND: a named item (token, id, label) does not exist."""


_BY_STATUS = {
    _capi.BMC_ERR_INVALID_ARGUMENT: InvalidArgumentError,
    _capi.BMC_ERR_OUT_OF_MEMORY: OutOfMemoryError,
    _capi.BMC_ERR_IO: IoError,
    _capi.BMC_ERR_CORRUPT_DATA: CorruptDataError,
    _capi.BMC_ERR_UNSUPPORTED: UnsupportedError,
    _capi.BMC_ERR_LIMIT: LimitError,
    _capi.BMC_ERR_BUFFER_TOO_SMALL: BufferTooSmallError,
    _capi.BMC_ERR_INVALID_UTF8: InvalidUtf8Error,
    _capi.BMC_ERR_MODEL: ModelError,
    _capi.BMC_ERR_VERSION: VersionError,
    _capi.BMC_ERR_DEVICE: DeviceError,
    _capi.BMC_ERR_CANCELLED: CancelledError,
    _capi.BMC_ERR_INTERNAL: InternalError,
    _capi.BMC_ERR_NOT_FOUND: NotFoundError,
}


def error_for(status: int, message: str) -> BiomedclipError:
    """The exception for `status` (BiomedclipError itself for a code this version does not know)."""
    return _BY_STATUS.get(status, BiomedclipError)(status, message)


def check(status: int) -> None:
    """Raises the error for `status` with this thread's last error message; nothing on BMC_OK."""
    if status != _capi.BMC_OK:
        raise error_for(status, _capi.bmc_last_error().decode("utf-8", "replace"))

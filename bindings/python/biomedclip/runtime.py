# SPDX-License-Identifier: MIT
"""Process-wide settings (bmc_configure) and versions."""
import ctypes
from typing import Callable, Optional

from . import _capi
from .errors import check

LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG = (_capi.BMC_LOG_ERROR, _capi.BMC_LOG_WARN,
                                            _capi.BMC_LOG_INFO, _capi.BMC_LOG_DEBUG)

# The log callback handed to the library; kept here so it lives as long as the library uses it.
_log_callback = None


def library_version() -> str:
    """The loaded library's version, "MAJOR.MINOR.PATCH" (bmc_version_string)."""
    return _capi.bmc_version_string().decode("ascii")


def runtime_config() -> dict:
    """The current process-wide settings (bmc_runtime_config_get), without the log callback."""
    config = _capi.bmc_runtime_config()
    _capi.bmc_runtime_config_init(ctypes.byref(config))
    check(_capi.bmc_runtime_config_get(ctypes.byref(config)))
    return {name: getattr(config, name) for name in (
        "cpu_threads", "log_level", "max_image_width", "max_image_height", "max_image_pixels")}


def configure(cpu_threads: Optional[int] = None,
              log: Optional[Callable[[int, str], None]] = None,
              log_level: Optional[int] = None, max_image_width: Optional[int] = None,
              max_image_height: Optional[int] = None,
              max_image_pixels: Optional[int] = None) -> None:
    """Changes process-wide settings (bmc_configure); arguments left None keep their value,
    except `log`: a callable log(level, message) receiving the library's messages, or None for
    no logging. It may be called from any thread that calls into the library. Call this at
    start-up, before other threads use the library."""
    global _log_callback
    config = _capi.bmc_runtime_config()
    _capi.bmc_runtime_config_init(ctypes.byref(config))
    check(_capi.bmc_runtime_config_get(ctypes.byref(config)))
    for name, value in (("cpu_threads", cpu_threads), ("log_level", log_level),
                        ("max_image_width", max_image_width),
                        ("max_image_height", max_image_height),
                        ("max_image_pixels", max_image_pixels)):
        if value is not None:
            setattr(config, name, value)
    callback = None
    if log is not None:
        def call(user_data, level, message):
            try:
                log(level, message.decode("utf-8", "replace"))
            except Exception:  # never let an exception unwind into C
                pass
        callback = _capi.bmc_log_fn(call)
    config.log_fn = callback if callback is not None else _capi.bmc_log_fn()
    check(_capi.bmc_configure(ctypes.byref(config)))
    _log_callback = callback

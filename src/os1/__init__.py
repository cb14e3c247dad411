"""os1: an open-source AI companion you talk to.

Nothing happens at import time: no models load, no settings are read, no
network is touched. Build a :class:`~os1.config.Settings` once and pass it down.
"""

from os1.errors import (
    AudioError,
    ConfigError,
    ModelError,
    ModelNotInstalled,
    ModelUnavailable,
    Os1Error,
    StorageError,
)

__version__ = "0.1.0"

__all__ = [
    "AudioError",
    "ConfigError",
    "ModelError",
    "ModelNotInstalled",
    "ModelUnavailable",
    "Os1Error",
    "StorageError",
    "__version__",
]

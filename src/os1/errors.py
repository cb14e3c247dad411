"""The one error tree of os1.

Every failure that reaches a user is one of these, with a message written for
that user (what went wrong and what to do next). Errors from libraries are
translated where they enter our code (``raise ... from exc``), so callers never
need to know which library sits behind a stage::

    Os1Error
    ├── ConfigError         a config file, env variable or flag is wrong
    ├── StorageError        the data directory or database cannot be used
    │   ├── StorageFull         the disk is full: nothing was written
    │   └── StorageBusy         another program holds the database
    ├── AudioError          an audio file or device cannot be used
    └── ModelError          a language model failed
        ├── ModelNotInstalled   embedded model files or runtime are missing (LLM, ASR, TTS)
        └── ModelUnavailable    a remote model server cannot be reached / refused
"""

from __future__ import annotations


class Os1Error(Exception):
    """Base of every error os1 raises on purpose. ``str(err)`` is user-facing."""


class ConfigError(Os1Error):
    """Configuration is invalid: names the file/variable and the problem."""


class StorageError(Os1Error):
    """The data directory or database cannot be read or written."""


class StorageFull(StorageError):
    """The disk is full: what was being written was not (it is all or nothing)."""


class StorageBusy(StorageError):
    """Another program holds the database for longer than os1 waits."""


class AudioError(Os1Error):
    """An audio file is unreadable, or no usable audio device exists."""


class ModelError(Os1Error):
    """A language model failed to load or to answer."""


class ModelNotInstalled(ModelError):
    """The embedded runtime or model weights are not installed."""


class ModelUnavailable(ModelError):
    """A remote, OpenAI-compatible model server is unreachable or refused."""


class DocumentError(Os1Error):
    """A letter or file cannot be read or written (missing, corrupt, outside the folders)."""


class CalendarError(Os1Error):
    """The calendar cannot be reached or read, or refused a change."""

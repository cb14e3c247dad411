"""What one of the people an os1 with accounts sets for themselves on the
page (the companion's name, voice speed, time zone, quiet hours), kept where
every worker finds it: ``people/NAME/config.toml`` beside the operator's
config, or, with ``[storage] url``, a row of os1's PostgreSQL database
(row-level security: theirs alone), so workers on several hosts agree.

Either way it is TOML text, read and written as a config file is, and the
person's settings are :func:`os1.config.person_settings` of it.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from os1.config import Settings, merged_toml, person_settings, update_config_file
from os1.errors import ConfigError

if TYPE_CHECKING:
    from os1.memory.postgres import PersonDb

#: How often a worker asks whether another one saved the person's settings.
FOLLOW_EVERY = 2.0


class OwnSettings:
    """One person's own settings, bound to them at creation."""

    def __init__(self, base: Settings, name: str):
        self.base, self.name = base, name
        self.path = base.home / "people" / name / "config.toml"
        self._db: PersonDb | None = None
        if base.storage.url:
            from os1.memory.postgres import PersonDb

            self._db = PersonDb(base.storage.url, name)
        self._seen: float | None = None  # the version last read (the database's)
        self._asked = 0.0

    @property
    def where(self) -> str:
        return f"{self.name}'s settings in {self._db.where}" if self._db else str(self.path)

    def settings(self) -> Settings:
        """Their settings now (the operator's, with theirs over them)."""
        if self._db is None:
            return person_settings(self.base, self.name)
        return person_settings(self.base, self.name, self._read(), self.where)

    def update(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Write ``changes`` ({section: {key: value}}), keeping what else they set."""
        if self._db is None:
            update_config_file(self.path, changes)
            return
        with self._db.connection():
            row = self._db.exec("SELECT toml FROM person_settings WHERE user_id = ? FOR UPDATE",
                               (self.name,)).fetchone()
            text = merged_toml(_parse(row[0], self.where) if row else {}, changes, self.where)
            now = time.time()
            self._db.exec("INSERT INTO person_settings (toml, updated_at) VALUES (?, ?) ON CONFLICT (user_id)"
                          " DO UPDATE SET toml = excluded.toml, updated_at = excluded.updated_at", (text, now))
        self._seen = now

    def changed(self) -> bool:
        """Whether another worker saved them since this one read them (asked
        at most every ``FOLLOW_EVERY`` seconds; a file is this host's alone)."""
        if self._db is None or time.monotonic() - self._asked < FOLLOW_EVERY:
            return False
        self._asked = time.monotonic()
        row = self._db.exec("SELECT updated_at FROM person_settings WHERE user_id = ?", (self.name,)).fetchone()
        return (row[0] if row else None) != self._seen

    def forget(self) -> None:
        """Their settings are gone (their account was removed)."""
        if self._db is not None:
            self._db.exec("DELETE FROM person_settings WHERE user_id = ?", (self.name,))
            self._db.closed = True

    def close(self) -> None:
        if self._db is not None:
            self._db.closed = True  # the pool serves the process's other stores

    def _read(self) -> dict[str, Any]:
        assert self._db is not None
        row = self._db.exec("SELECT toml, updated_at FROM person_settings WHERE user_id = ?",
                            (self.name,)).fetchone()
        self._seen = row[1] if row else None
        self._asked = time.monotonic()
        return _parse(row[0], self.where) if row else {}


def _parse(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}.") from exc

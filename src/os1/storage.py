"""What os1's SQLite stores (memory, reminders, mail) share."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

from os1.errors import StorageBusy, StorageError, StorageFull

#: The largest id the databases hold (SQLite's integer, PostgreSQL's bigint):
#: they refuse to compare with a larger number rather than find nothing.
MAX_ID = 2**63 - 1

#: How long a statement waits for a database another program holds (PRAGMA
#: busy_timeout): a backup or a sync client's short write passes unnoticed.
BUSY_MS = 5000


def failure(what: str, path: Path, exc: sqlite3.Error) -> StorageError:
    """A SQLite error as the person reads it: a full disk, and a database
    another program holds, said as such (with what to do about it)."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF  # the primary code
    if code == sqlite3.SQLITE_FULL:
        return StorageFull(f"The disk is full: os1 could not save to {path.parent}. Free some space "
                           "there and try again.")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        return StorageBusy(f"Another program is holding {what} ({path}); os1 waited {BUSY_MS // 1000} s. "
                           "If a backup or sync tool has it open, let it finish, then try again.")
    return StorageError(f"{what[:1].upper()}{what[1:]} ({path}) failed: {exc}.")


def delete_person(db: sqlite3.Connection, user: str, tables: Sequence[str] | None = None) -> int:
    """Delete every row of ``user`` from ``tables`` (default: every table
    with a ``user_id`` column), in one transaction the caller holds; rows
    without one (vectors) go by their foreign keys' cascades, full-text
    entries by their triggers. Returns how many rows went."""
    if tables is None:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if any(column[1] == "user_id" for column in db.execute(f'PRAGMA table_info("{name}")'))]
    db.execute("PRAGMA defer_foreign_keys = ON")  # in any order: checked at commit, when all are gone
    return sum(db.execute(f'DELETE FROM "{table}" WHERE user_id = ?', (user,)).rowcount for table in tables)

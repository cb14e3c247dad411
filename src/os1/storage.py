"""What os1's SQLite stores (memory, reminders, mail) share."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence


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

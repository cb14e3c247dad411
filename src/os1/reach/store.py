"""The durable side of reaching out: what is scheduled, and what was decided.

One person's reminders, check-ins and follow-ups (``reach_items``) and the log
of every reach-out sent and every one held back or dropped, with its reason
(``reach_log``), in os1's database: the SQLite file, or the PostgreSQL
database the memory is in (``[storage] url``; several workers then share one
schedule, and row-level security keeps each person's rows theirs). The store
is bound to one person when it is made: every query carries their id, so no
caller can forget the filter. A restart loses nothing: what came due
meanwhile is found by :meth:`due`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from os1.errors import StorageError
from os1.reach.schedule import Schedule
from os1.storage import BUSY_MS, failure

if TYPE_CHECKING:
    from os1.memory.postgres import PersonDb

Kind = Literal["reminder", "check_in", "follow_up"]
Status = Literal["active", "done", "cancelled", "resolved"]
Decision = Literal["sent", "held", "dropped"]

#: ``held`` of an item being said (:meth:`ReachStore.claim`).
SENDING = "sending"
#: A claim this old died with its process (a reach-out is said in seconds; a
#: model's check-in in well under a minute): the item is due again.
CLAIM_LEASE = 120.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reach_items (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reminder', 'check_in', 'follow_up')),
    text TEXT NOT NULL,               -- what it is about, facing them ("call your sister Ana")
    schedule TEXT NOT NULL,           -- Schedule.to_json()
    due_at REAL,                      -- the next time it is due; NULL once nothing more is due
    latest_at REAL,                   -- follow-ups: after this, asking would be stale
    source TEXT NOT NULL DEFAULT '',  -- their words it came from, or the memory note (o12)
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'done', 'cancelled', 'resolved')),
    held TEXT,                        -- why it waits, while it waits (logged once, not each tick)
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS reach_items_due ON reach_items (user_id, status, due_at);
CREATE TABLE IF NOT EXISTS reach_log (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    at REAL NOT NULL,
    items TEXT NOT NULL,              -- JSON list of reach_items ids
    decision TEXT NOT NULL CHECK (decision IN ('sent', 'held', 'dropped')),
    reason TEXT NOT NULL,
    text TEXT,                        -- what was said (sent)
    delivered_at REAL,                -- sent: when someone saw it (NULL: waits for the next session)
    answered_at REAL,                 -- sent: when they next said something
    dismissed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS reach_log_at ON reach_log (user_id, at);
CREATE TABLE IF NOT EXISTS reach_state (
    user_id TEXT PRIMARY KEY,
    alive_at REAL NOT NULL            -- the last time os1 looked at the schedule
);
"""


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    kind: Kind
    text: str
    schedule: Schedule
    due_at: float | None
    latest_at: float | None
    source: str
    status: Status
    held: str | None
    created_at: float

    @property
    def solicited(self) -> bool:
        """They asked for it (a reminder, a check-in at times they chose)."""
        return self.kind != "follow_up"


@dataclass(frozen=True, slots=True)
class LogEntry:
    id: int
    at: float
    items: tuple[int, ...]
    decision: Decision
    reason: str
    text: str | None
    delivered_at: float | None
    answered_at: float | None
    dismissed: bool


class ReachStore:
    """One person's reach-outs in the SQLite database at ``where``, or in the
    PostgreSQL database at that URL."""

    def __init__(self, where: Path | str, user: str):
        self.user = user
        self._pg: PersonDb | None = None
        if str(where).startswith(("postgresql://", "postgres://")):
            from os1.memory.postgres import PersonDb

            self._pg = PersonDb(str(where), user)
            return
        self._path = Path(where)
        try:
            if str(where) != ":memory:":
                Path(where).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(where), check_same_thread=False, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._lock = threading.RLock()  # the web server's threads share one connection
            self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise failure("the reminders database", self._path, exc) from exc
        except OSError as exc:
            raise StorageError(f"Cannot create the data directory {self._path.parent}: {exc.strerror}.") from exc

    def close(self) -> None:
        if self._pg is not None:
            self._pg.closed = True  # the pool serves the process's other stores
        else:
            self._db.close()

    def forget_everything(self) -> int:
        """Delete all of this person's reminders and reach-outs (their account was removed)."""
        from os1.storage import delete_person

        tables = ("reach_log", "reach_items", "reach_state")
        if self._pg is not None:
            with self._pg.connection():
                return sum(self._pg.exec(f"DELETE FROM {t} WHERE user_id = ?", (self.user,)).rowcount
                           for t in tables)
        with self.transaction():
            return delete_person(self._db, self.user, tables)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """All of the block's writes, or (on an error, or a crash) none of them."""
        if self._pg is not None:
            with self._pg.connection():
                yield
            return
        with self._lock:  # the connection is shared: no other thread's statement joins in
            if self._db.in_transaction:  # a block inside another joins it
                yield
                return
            self._exec("BEGIN IMMEDIATE")
            try:
                yield
                self._exec("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # a failed COMMIT (busy, disk full) leaves it open
                    self._db.execute("ROLLBACK")
                raise

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """A statement (SQLite's dialect, which sql.py's PostgreSQL side translates)."""
        if self._pg is not None:
            return self._pg.exec(sql, list(args))
        try:
            with self._lock:
                return self._db.execute(sql, args)
        except sqlite3.DatabaseError as exc:
            raise failure("the reminders database", self._path, exc) from exc

    # -- items ----------------------------------------------------------------------------

    def add(self, kind: Kind, text: str, schedule: Schedule, *, source: str = "",
            latest_at: float | None = None, now: float | None = None) -> Item:
        now = time.time() if now is None else now
        cur = self._exec(
            "INSERT INTO reach_items (user_id, kind, text, schedule, due_at, latest_at, source,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.user, kind, text, schedule.to_json(), schedule.first.timestamp(), latest_at, source,
             now, now))
        item = self.get(int(cur.lastrowid or 0))
        assert item is not None
        return item

    def get(self, item_id: int) -> Item | None:
        row = self._exec("SELECT * FROM reach_items WHERE id = ? AND user_id = ?",
                         (item_id, self.user)).fetchone()
        return _item(row) if row else None

    def items(self, *, kinds: Iterable[Kind] = ("reminder", "check_in", "follow_up"),
              statuses: Iterable[Status] = ("active",)) -> list[Item]:
        kinds, statuses = list(kinds), list(statuses)
        rows = self._exec(
            f"SELECT * FROM reach_items WHERE user_id = ? AND kind IN ({','.join('?' * len(kinds))})"
            f" AND status IN ({','.join('?' * len(statuses))}) ORDER BY due_at IS NULL, due_at, id",
            (self.user, *kinds, *statuses)).fetchall()
        return [_item(r) for r in rows]

    def due(self, now: float) -> list[Item]:
        """Active items due at or before ``now``, earliest first; not those
        being said (:meth:`claim`), unless whoever said them died doing it."""
        rows = self._exec("SELECT * FROM reach_items WHERE user_id = ? AND status = 'active'"
                          " AND due_at <= ? AND (held IS NULL OR held != ? OR updated_at < ?)"
                          " ORDER BY due_at, id", (self.user, now, SENDING, now - CLAIM_LEASE)).fetchall()
        return [_item(r) for r in rows]

    def next_due(self, now: float) -> float | None:
        """When the next active item comes due after ``now`` (None: nothing is scheduled)."""
        row = self._exec("SELECT min(due_at) FROM reach_items WHERE user_id = ? AND status = 'active'"
                         " AND due_at > ?", (self.user, now)).fetchone()
        return row[0] if row else None

    def claim(self, item_id: int, *, now: float, was: float | None) -> bool:
        """It is about to be said: of two os1 processes that see it due, one
        says it. It keeps its time until :meth:`advance` (once said): one
        killed in between leaves it to be said later, never not at all."""
        cur = self._exec("UPDATE reach_items SET held = ?, updated_at = ? WHERE id = ? AND user_id = ?"
                         " AND status = 'active' AND due_at = ? AND (held IS NULL OR held != ? OR updated_at < ?)",
                         (SENDING, now, item_id, self.user, was, SENDING, now - CLAIM_LEASE))
        return cur.rowcount > 0

    def reschedule(self, item_id: int, schedule: Schedule, *, text: str | None = None,
                   now: float | None = None) -> bool:
        """A new time (and words) for an active item: the page's edit."""
        cur = self._exec(
            "UPDATE reach_items SET schedule = ?, due_at = ?, text = COALESCE(?, text), held = NULL,"
            " updated_at = ? WHERE id = ? AND user_id = ? AND status = 'active'",
            (schedule.to_json(), schedule.first.timestamp(), text, time.time() if now is None else now,
             item_id, self.user))
        return cur.rowcount > 0

    def advance(self, item_id: int, due_at: float | None, *, now: float, was: float | None) -> bool:
        """It was said (or dropped): due next at ``due_at``, or done. Only if
        it was still due at ``was``: of two os1 processes (the page's server
        and a terminal chat) that see it due, one drops it."""
        cur = self._exec("UPDATE reach_items SET due_at = ?, status = ?, held = NULL, updated_at = ?"
                         " WHERE id = ? AND user_id = ? AND status = 'active' AND due_at = ?",
                         (due_at, "done" if due_at is None else "active", now, item_id, self.user, was))
        return cur.rowcount > 0

    def settle(self, item_id: int, status: Status, *, now: float | None = None) -> bool:
        """End an active item: cancelled by them, or resolved (they told already)."""
        cur = self._exec("UPDATE reach_items SET status = ?, due_at = NULL, held = NULL, updated_at = ?"
                         " WHERE id = ? AND user_id = ? AND status = 'active'",
                         (status, time.time() if now is None else now, item_id, self.user))
        return cur.rowcount > 0

    def hold(self, item_id: int, reason: str) -> bool:
        """Note why it waits; True if that is news (to be logged)."""
        cur = self._exec("UPDATE reach_items SET held = ? WHERE id = ? AND user_id = ?"
                         " AND (held IS NULL OR held != ?)", (reason, item_id, self.user, reason))
        return cur.rowcount > 0

    def sources(self) -> set[str]:
        """The sources of every follow-up ever made (a memory note is followed up once)."""
        rows = self._exec("SELECT source FROM reach_items WHERE user_id = ? AND kind = 'follow_up'",
                          (self.user,)).fetchall()
        return {r[0] for r in rows}

    def alive(self, now: float) -> None:
        """os1 is running and looking at the schedule (after a restart, the last
        such moment says since when it was not)."""
        self._exec("INSERT INTO reach_state (user_id, alive_at) VALUES (?, ?)"
                   " ON CONFLICT (user_id) DO UPDATE SET alive_at = excluded.alive_at", (self.user, now))

    def alive_at(self) -> float | None:
        row = self._exec("SELECT alive_at FROM reach_state WHERE user_id = ?", (self.user,)).fetchone()
        return row[0] if row else None

    # -- the log ---------------------------------------------------------------------------

    def log(self, items: Iterable[int], decision: Decision, reason: str, *, at: float,
            text: str | None = None, delivered: bool = True) -> int:
        cur = self._exec(
            "INSERT INTO reach_log (user_id, at, items, decision, reason, text, delivered_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.user, at, json.dumps(list(items)), decision, reason, text,
             at if decision == "sent" and delivered else None))
        return int(cur.lastrowid or 0)

    def entries(self, *, limit: int | None = 100, since: float | None = None) -> list[LogEntry]:
        """The log, oldest first (the last ``limit`` entries)."""
        args: list[Any] = [self.user, since or 0.0]
        if limit is not None:
            args.append(limit)
        rows = self._exec(
            "SELECT * FROM (SELECT * FROM reach_log WHERE user_id = ? AND at >= ? ORDER BY id DESC"
            f"{'' if limit is None else ' LIMIT ?'}) AS latest ORDER BY id", args).fetchall()
        return [_entry(r) for r in rows]

    def undelivered(self) -> list[LogEntry]:
        """Sent while nobody was there: for the next session to show first."""
        rows = self._exec("SELECT * FROM reach_log WHERE user_id = ? AND decision = 'sent'"
                          " AND delivered_at IS NULL ORDER BY id", (self.user,)).fetchall()
        return [_entry(r) for r in rows]

    def delivered(self, entry_id: int, *, now: float) -> None:
        self._exec("UPDATE reach_log SET delivered_at = ? WHERE id = ? AND user_id = ?"
                   " AND delivered_at IS NULL", (now, entry_id, self.user))

    def answered(self, *, now: float) -> None:
        """They said something: every reach-out before it has been answered."""
        self._exec("UPDATE reach_log SET answered_at = ? WHERE user_id = ? AND decision = 'sent'"
                   " AND answered_at IS NULL AND at <= ?", (now, self.user, now))

    def dismiss(self, entry_id: int) -> bool:
        cur = self._exec("UPDATE reach_log SET dismissed = 1 WHERE id = ? AND user_id = ?"
                         " AND decision = 'sent'", (entry_id, self.user))
        return cur.rowcount > 0

    def sent(self, *, since: float) -> list[LogEntry]:
        rows = self._exec("SELECT * FROM reach_log WHERE user_id = ? AND decision = 'sent' AND at >= ?"
                          " ORDER BY id", (self.user, since)).fetchall()
        return [_entry(r) for r in rows]


def _item(r: Any) -> Item:
    return Item(r["id"], r["kind"], r["text"], Schedule.from_json(r["schedule"]), r["due_at"],
                r["latest_at"], r["source"], r["status"], r["held"], r["created_at"])


def _entry(r: Any) -> LogEntry:
    return LogEntry(r["id"], r["at"], tuple(json.loads(r["items"])), r["decision"], r["reason"], r["text"],
                    r["delivered_at"], r["answered_at"], bool(r["dismissed"]))

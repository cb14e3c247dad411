"""The embedded memory store: one SQLite file (WAL) with FTS5 full-text search
and message vectors for hybrid recall. What it keeps and how is sql.py's; the
tables and their upgrade are in schema.py."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, Literal

from os1.errors import StorageError
from os1.memory import schema
from os1.memory.recall import RecallTuning
from os1.memory.schema import MEMORY_TABLES, SCHEMA_VERSION, SEARCHABLE_NOTES
from os1.memory.sql import Rows, SQLMemory
from os1.memory.store import index_words
from os1.storage import BUSY_MS, failure

if TYPE_CHECKING:
    import numpy as np

    from os1.memory.embed import Embedder

log = logging.getLogger(__name__)


class SQLiteMemory(SQLMemory):
    """A person's memory in a SQLite database shared by all people of this install."""

    def __init__(
        self, path: Path, user: str, *,
        embedder: Embedder | Literal["default"] | None = "default",
        tuning: RecallTuning = RecallTuning(), zone: tzinfo | None = None,
    ):
        super().__init__(user, embedder=embedder, tuning=tuning, zone=zone)
        self.path = path
        self.where = str(path)
        # One connection serves the event loop and worker threads: a transaction
        # holds this lock so that no other thread's statement lands inside it.
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            # The message index's triggers read words through it (schema.py).
            self._db.create_function("os1_words", 1, index_words, deterministic=True)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            self._db.execute("PRAGMA secure_delete=ON")  # forgotten words are overwritten on disk
            self._db.execute("PRAGMA recursive_triggers=ON")  # chains of corrected facts (schema.py)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"The memory database {path} was written by a newer os1 (schema "
                    f"{version}); upgrade os1 to use it."
                )
            if version < SCHEMA_VERSION:
                schema.apply(self._db, version)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"Cannot open the memory database {path}: {exc}.") from exc
        except OSError as exc:
            raise StorageError(f"Cannot create the data directory {path.parent}: {exc.strerror}.") from exc

    # -- full-text search ----------------------------------------------------------------------

    def _matching(self, source: str, terms: list[str], exclude_session: int | None, limit: int,
                  deadline: float) -> list[Any]:
        match = " OR ".join(f'"{t}"' for t in terms)
        args = (match, self.user, exclude_session, limit)
        if source == "facts":
            sql = ("SELECT f.id, f.text, f.kind, f.created_at"
                   " FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid"
                   " WHERE facts_fts MATCH ? AND f.user_id = ? AND f.superseded_at IS NULL"
                   " AND (f.source_message_id IS NULL OR"
                   " f.source_message_id NOT IN (SELECT id FROM messages WHERE session_id IS ?))"
                   " ORDER BY bm25(facts_fts) LIMIT ?")
        elif source in SEARCHABLE_NOTES:
            sql = (f"SELECT n.* FROM {source}_fts JOIN {source} n ON n.id = {source}_fts.rowid"
                   f" WHERE {source}_fts MATCH ? AND n.user_id = ? AND n.source_session_id IS NOT ?"
                   f" ORDER BY bm25({source}_fts) LIMIT ?")
        else:
            table = "messages_fts" if source == "messages" else "messages_context_fts"
            sql = (f"SELECT m.id, -bm25({table}) FROM {table} JOIN messages m ON m.id = {table}.rowid"
                   f" WHERE {table} MATCH ? AND m.user_id = ? AND m.session_id IS NOT ?"
                   f" ORDER BY bm25({table}) LIMIT ?")

        def overdue() -> int:
            return int(time.perf_counter() > deadline)

        with self._lock:  # the progress handler is the connection's: no one else runs meanwhile
            self._db.set_progress_handler(overdue, 2000)
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.OperationalError as exc:
                if "interrupt" in str(exc):
                    log.warning("full-text recall ran out of time")
                    return []
                raise failure("the memory database", self.path, exc) from exc
            except sqlite3.DatabaseError as exc:
                raise failure("the memory database", self.path, exc) from exc
            finally:
                self._db.set_progress_handler(None, 0)

    # -- forgetting ----------------------------------------------------------------------------

    def _scrub(self, tables: Sequence[str]) -> None:
        """Rewrite these tables' full-text indexes without what was deleted.

        A delete only adds a tombstone to an FTS5 index; the words stay in its
        older segments until they are merged. Forgetting must not leave them
        there (secure_delete then overwrites the freed pages)."""
        for table in tables:
            if table in ("messages", "facts", *SEARCHABLE_NOTES):
                self._exec(f"INSERT INTO {table}_fts({table}_fts) VALUES ('optimize')")
            if table == "messages":
                self._exec("INSERT INTO messages_context_fts(messages_context_fts) VALUES ('optimize')")

    def _scrubbed(self) -> None:
        """Copy the write-ahead log into the database and empty it: it still
        holds page images from before a deletion. Skipped while others read."""
        try:
            self._exec("PRAGMA wal_checkpoint(TRUNCATE)")
        except StorageError as exc:
            log.info("checkpoint after forgetting postponed: %s", exc)

    def _delete_everything(self) -> int:
        from os1.storage import delete_person

        return delete_person(self._db, self.user, MEMORY_TABLES)

    # -- vectors -------------------------------------------------------------------------------

    def _vector_value(self, vector: np.ndarray) -> Any:
        return vector.tobytes()

    def _matrix(self, values: list[Any], dim: int) -> np.ndarray:
        import numpy as np

        return np.frombuffer(b"".join(values), dtype=np.float32).reshape(-1, dim)

    # -- the connection ------------------------------------------------------------------------

    def close(self) -> None:
        # Background work (the index being loaded, vectors being written) may
        # be using the connection from another thread: close it after them.
        # Their next statement then fails with a StorageError, not a crash.
        with self._index_lock, self._lock:
            self._db.close()

    # Package-internal (transfer.py uses them too): every statement goes through
    # _exec, every multi-statement write through _tx.

    def _exec(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Rows:
        # Read whole while the lock is held: rows fetched after it is let go reach
        # into SQLite while another thread's statement runs; when that statement's
        # trigger calls back into Python (os1_words), it waits for the interpreter
        # lock that the fetching thread holds while it waits for SQLite: a deadlock.
        try:
            with self._lock:
                cursor = self._db.execute(sql, args)
                return Rows(cursor.fetchall(), cursor.lastrowid or 0, cursor.rowcount)
        except sqlite3.DatabaseError as exc:
            raise failure("the memory database", self.path, exc) from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        with self._lock:
            if self._db.in_transaction:
                yield
                return
            self._exec("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._db.execute("ROLLBACK")
                raise failure("the memory database", self.path, exc) from exc

    def _db_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._tx():
            try:
                self._db.executemany(sql, rows)
            except sqlite3.DatabaseError as exc:
                raise failure("the memory database", self.path, exc) from exc

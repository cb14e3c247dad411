"""A person's memory in PostgreSQL (with pgvector): for os1 serving many
people, on the operator's database server. What it keeps and how is sql.py's;
the tables are pg_schema.py's.

Every transaction runs as the role ``os1_person`` with ``os1.user`` set to the
person (``SET LOCAL``): row-level security then shows and accepts that
person's rows only, whatever a statement asks for. The connections come from
one pool per database for the whole process (psycopg_pool), so a thousand
people need no thousand connections.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
from collections.abc import Iterator, Sequence
from datetime import tzinfo
from typing import TYPE_CHECKING, Any, Literal

from os1.errors import StorageError
from os1.memory.pg_schema import MIGRATIONS, ROLE
from os1.memory.recall import RecallTuning
from os1.memory.schema import SEARCHABLE_NOTES
from os1.memory.sql import Rows, SQLMemory

if TYPE_CHECKING:
    import numpy as np
    import psycopg
    from psycopg_pool import ConnectionPool

    from os1.memory.embed import Embedder

log = logging.getLogger(__name__)

#: Connections per database in this process (several people's turns, background work).
POOL_SIZE = 8
#: Tables with an ``id`` that an INSERT returns (the others have keys of their own).
_WITH_ID = re.compile(r"^\s*INSERT INTO (sessions|messages|facts|actions|summaries|journal|relationship"
                      r"|self_descriptions|reach_items|reach_log|mail_accounts|mails)\b"
                      r"(?!.*\bRETURNING\b)", re.S)
#: A person's rows, deleted in this order (what refers to a row goes before it).
_DELETE_ORDER = ("summaries", "journal", "relationship", "self_descriptions", "facts", "actions", "profile",
                 "message_vectors", "messages", "sessions")
_pools: dict[str, ConnectionPool] = {}
_pools_lock = threading.Lock()


class PgRow(tuple):  # type: ignore[type-arg]
    """A row readable by position and by column name, as sqlite3.Row is."""

    names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


def _row_factory(cursor: Any) -> Any:
    description = cursor.description or []
    names = {column.name: i for i, column in enumerate(description)}
    kind = type("Row", (PgRow,), {"names": names})
    return lambda values: kind(values)


def safe_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def pool(url: str) -> ConnectionPool:
    """The process's pool for ``url``, opened (and the tables brought up to date) on first use."""
    with _pools_lock:
        found = _pools.get(url)
        if found is not None:
            return found
        try:
            from pgvector.psycopg import register_vector
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise StorageError("PostgreSQL needs the postgres extra: pip install 'os1[postgres]'") from exc
        migrate(url)

        def configure(conn: psycopg.Connection[Any]) -> None:
            register_vector(conn)
            conn.commit()

        try:
            opened = ConnectionPool(url, min_size=1, max_size=POOL_SIZE, configure=configure, open=True,
                                    kwargs={"autocommit": False}, timeout=30)
            opened.wait(timeout=30)
        except Exception as exc:  # noqa: BLE001 - psycopg's errors, and the pool's own timeout
            raise StorageError(f"Cannot connect to os1's database {safe_url(url)}: {exc}") from exc
        _pools[url] = opened
        return opened


def migrate(url: str) -> int:
    """Bring the database's tables to this os1's version (once, whoever starts first); the version."""
    import psycopg

    try:
        with psycopg.connect(url, autocommit=False) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('os1 migrations'))")
            conn.execute("CREATE TABLE IF NOT EXISTS os1_migrations (version integer PRIMARY KEY,"
                         " applied_at timestamptz NOT NULL DEFAULT now())")
            row = conn.execute("SELECT coalesce(max(version), 0) FROM os1_migrations").fetchone()
            version = int(row[0]) if row else 0
            if version > len(MIGRATIONS):
                raise StorageError(f"os1's database {safe_url(url)} was written by a newer os1 "
                                   f"(schema {version}); upgrade os1 to use it.")
            for number in range(version + 1, len(MIGRATIONS) + 1):
                conn.execute(MIGRATIONS[number - 1])
                conn.execute("INSERT INTO os1_migrations (version) VALUES (%s)", (number,))
            conn.commit()
            return len(MIGRATIONS)
    except psycopg.Error as exc:
        raise StorageError(f"Cannot prepare os1's database {safe_url(url)}: {exc}") from exc


class PersonDb:
    """One person's transactions on a PostgreSQL database shared by many: each
    runs as ``os1_person`` with ``os1.user`` set to them, so row-level
    security shows and accepts their rows alone. The memory's, the
    reminders' (reach/store.py), the mail's (mail/store.py): any of a person's tables."""

    def __init__(self, url: str, user: str):
        self.url, self.user = url, user
        self.where = safe_url(url)
        self._pool = pool(url)
        self._local = threading.local()  # the transaction this thread is in, if any
        self.closed = False

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        """This thread's transaction (joined if one is open)."""
        import psycopg

        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        if self.closed:
            raise StorageError(f"The database {self.where} is closed.")
        try:
            with self._pool.connection() as conn:
                with conn.transaction():
                    conn.execute(f"SET LOCAL ROLE {ROLE}")
                    conn.execute("SELECT set_config('os1.user', %s, true)", (self.user,))
                    self._local.conn = conn
                    try:
                        yield conn
                    finally:
                        self._local.conn = None
        except psycopg.Error as exc:
            raise StorageError(f"The database {self.where} failed: {exc}".rstrip() + ".") from exc

    def exec(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Rows:
        """A statement written for SQLite (``?`` placeholders), in this person's transaction."""
        sql, returns_id = translate(sql)
        with self.connection() as conn:
            cursor = conn.cursor(row_factory=_row_factory)
            cursor.execute(sql, tuple(args))
            rows = cursor.fetchall() if cursor.description is not None else []
            lastrowid = int(rows[0][0]) if rows and returns_id else 0
            return Rows(rows, lastrowid, cursor.rowcount)

    def exec_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self.connection() as conn:
            conn.cursor().executemany(translate(sql)[0], rows)


class PostgresMemory(SQLMemory):
    """One person's memory in a PostgreSQL database shared by many people."""

    ASKS = "strpos(content, chr(63)) > 0"

    def __init__(self, url: str, user: str, *,
                 embedder: Embedder | Literal["default"] | None = "default",
                 tuning: RecallTuning = RecallTuning(), zone: tzinfo | None = None):
        super().__init__(user, embedder=embedder, tuning=tuning, zone=zone)
        self.url = url
        self.where = safe_url(url)
        self._db = PersonDb(url, user)
        self._seen: tuple[int, int, int] | None = None  # (messages, last id, vectors) the index knows

    # -- transactions --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        with self._db.connection():
            yield

    def _connection(self) -> contextlib.AbstractContextManager[psycopg.Connection[Any]]:
        return self._db.connection()

    def _exec(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> Rows:
        return self._db.exec(sql, args)

    def _db_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self._db.exec_many(sql, rows)

    # -- full-text search ----------------------------------------------------------------------

    def _matching(self, source: str, terms: list[str], exclude_session: int | None, limit: int,
                  deadline: float) -> list[Any]:
        import time

        import psycopg

        left = deadline - time.perf_counter()
        if left <= 0:
            return []
        query = " | ".join(terms)
        weighed: str | None = None  # the column whose words are weighed by their rarity
        if source == "facts":
            sql = ("SELECT f.id, f.text, f.kind, f.created_at FROM facts f, to_tsquery('english', %s) q"
                   " WHERE f.words @@ q AND f.user_id = %s AND f.superseded_at IS NULL"
                   " AND (f.source_message_id IS NULL OR f.source_message_id NOT IN"
                   " (SELECT id FROM messages WHERE session_id IS NOT DISTINCT FROM %s))"
                   " ORDER BY ts_rank_cd(f.words, q) DESC, f.id LIMIT %s")
        elif source in SEARCHABLE_NOTES:
            sql = (f"SELECT n.* FROM {source} n, to_tsquery('english', %s) q"
                   f" WHERE n.words @@ q AND n.user_id = %s AND n.source_session_id IS DISTINCT FROM %s"
                   f" ORDER BY ts_rank_cd(n.words, q) DESC, n.id LIMIT %s")
        else:
            # Ranked as BM25 ranks (SQLite's FTS5 does): each word weighed by how rare it
            # is among this person's messages. ts_rank_cd alone weighs every word alike,
            # so "go" counted as much as "Sweden": LoCoMo dev recall_any@10 0.838, 0.901 on SQLite.
            weighed = "words" if source == "messages" else "context"
            score = " + ".join(f"%s * ts_rank(m.{weighed}, to_tsquery('english', %s), 1)" for _ in terms)
            sql = (f"SELECT m.id, {score} FROM messages m, to_tsquery('english', %s) q"
                   f" WHERE m.{weighed} @@ q AND m.user_id = %s AND m.session_id IS DISTINCT FROM %s"
                   f" ORDER BY 2 DESC, m.id LIMIT %s")
        try:
            with self._connection() as conn:
                with conn.transaction():  # a savepoint: a timeout must not end the whole transaction
                    conn.execute(f"SET LOCAL statement_timeout = {max(1, int(left * 1000))}")
                    cursor = conn.cursor(row_factory=_row_factory)
                    args: list[Any] = [query, self.user, exclude_session, limit]
                    if weighed:
                        weights = self._rarity(conn, weighed, terms)
                        args = [a for t in terms for a in (weights[t], t)] + args
                    cursor.execute(sql, args)
                    found = cursor.fetchall()
                    conn.execute("SET LOCAL statement_timeout = 0")  # for the rest of an outer transaction
                    return found
        except StorageError as exc:
            if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
                log.warning("full-text recall ran out of time")
                return []
            raise
        except psycopg.errors.QueryCanceled:
            log.warning("full-text recall ran out of time")
            return []

    def _rarity(self, conn: Any, column: str, terms: list[str]) -> dict[str, float]:
        """BM25's inverse document frequency of each word among this person's messages."""
        counts = ", ".join(f"count(*) FILTER (WHERE {column} @@ to_tsquery('english', %s))" for _ in terms)
        row = conn.execute(f"SELECT count(*), {counts} FROM messages WHERE user_id = %s",
                           [*terms, self.user]).fetchone()
        total = row[0]
        return {t: math.log(1 + (total - df + 0.5) / (df + 0.5)) for t, df in zip(terms, row[1:], strict=True)}

    # -- forgetting ----------------------------------------------------------------------------

    def _scrub(self, tables: Sequence[str]) -> None:
        """Nothing inside the transaction: the rows and their index entries
        are gone with it (the words are in no separate index table)."""

    def _scrubbed(self) -> None:
        """Reclaim what the deletion left as dead rows (VACUUM, as the tables'
        owner, outside any transaction); skipped, with a note, when that fails."""
        import psycopg

        try:
            with psycopg.connect(self.url, autocommit=True) as conn:
                conn.execute("VACUUM (SKIP_LOCKED) messages, facts, message_vectors, summaries, journal,"
                             " relationship, self_descriptions")
        except psycopg.Error as exc:
            log.info("vacuum after forgetting postponed: %s", exc)

    def _delete_everything(self) -> int:
        return sum(self._exec(f"DELETE FROM {table} WHERE user_id = ?", (self.user,)).rowcount
                   for table in _DELETE_ORDER)

    def _notice_changes(self) -> None:
        """Other workers serve this person too: what they wrote since the index
        was read joins it (new messages and their vectors); what they removed,
        or vectors they made for messages the index already holds without
        one, make it read whole again."""
        index = self._index
        upto = int(index.ids[-1]) if index is not None and len(index) else 0
        embedder = self._embedder
        row = self._exec("SELECT count(*), coalesce(max(id), 0),"
                         " (SELECT count(*) FROM message_vectors WHERE user_id = ?),"
                         " (SELECT count(*) FROM message_vectors WHERE user_id = ? AND message_id <= ?"
                         "  AND model = ?)"
                         " FROM messages WHERE user_id = ?",
                         (self.user, self.user, upto, embedder.name if embedder else "", self.user)).fetchone()
        seen, self._seen = self._seen, (int(row[0]), int(row[1]), int(row[2]))
        if index is not None and int(row[3]) > int(index.embedded.sum()):
            self._rebuild = True  # another worker embedded what this index holds unembedded
            return
        if seen is None or self._seen == seen:
            return
        if self._seen[0] < seen[0] or self._seen[1] < seen[1] or self._seen[2] < seen[2]:
            self._rebuild = True
        else:
            self._version += 1

    # -- vectors -------------------------------------------------------------------------------

    def _vector_value(self, vector: np.ndarray) -> Any:
        return vector

    def _matrix(self, values: list[Any], dim: int) -> np.ndarray:
        import numpy as np

        if not values:
            return np.zeros((0, dim), dtype=np.float32)
        return np.stack([as_array(v) for v in values])

    def close(self) -> None:
        """Nothing to close but this store: the pool serves the process's other stores."""
        with self._index_lock:
            self._db.closed = True


def as_array(value: Any) -> np.ndarray:
    """A vector read back from pgvector: a numpy array or its own Vector object, by version."""
    import numpy as np

    return np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value, dtype=np.float32)


def translate(sql: str) -> tuple[str, bool]:
    """sql.py's statements in PostgreSQL's terms: ``%s`` placeholders (a
    literal ``%`` doubled), and an INSERT's new id returned (True)."""
    returns_id = _WITH_ID.match(sql) is not None
    sql = sql.replace("%", "%%").replace("?", "%s")
    return (sql + " RETURNING id", True) if returns_id else (sql, False)


def close_pool(url: str) -> None:
    """Close the pool of one database (a test's, when it drops it)."""
    with _pools_lock:
        opened = _pools.pop(url, None)
    if opened is not None:
        opened.close()


def close_pools() -> None:
    """Close every pool (tests, and a server stopping)."""
    with _pools_lock:
        for opened in _pools.values():
            opened.close()
        _pools.clear()

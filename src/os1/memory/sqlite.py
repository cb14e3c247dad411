"""The embedded memory store: one SQLite file (WAL) with FTS5 full-text search."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from os1.errors import StorageError
from os1.memory.store import STOPWORDS, Fact, Hit, Role, StoredMessage, fts_query, parse_ref

SCHEMA_VERSION = 1

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
CREATE TRIGGER IF NOT EXISTS messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
END;
CREATE TRIGGER IF NOT EXISTS messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content);
END;
CREATE TRIGGER IF NOT EXISTS facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
"""


class SQLiteMemory:
    """A user's memory in a SQLite database shared by all users of this install."""

    def __init__(self, path: Path, user: str):
        self.user = user
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
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

    def start_session(self, channel: str) -> int:
        cur = self._exec(
            "INSERT INTO sessions (user_id, channel, started_at) VALUES (?, ?, ?)",
            (self.user, channel, time.time()),
        )
        return int(cur.lastrowid)

    def end_session(self, session_id: int) -> None:
        self._exec(
            "UPDATE sessions SET ended_at = ? WHERE id = ? AND user_id = ?",
            (time.time(), session_id, self.user),
        )

    def add_message(
        self, session_id: int, role: Role, content: str, *, channel: str = "text",
        interrupted: bool = False,
    ) -> int:
        cur = self._exec(
            "INSERT INTO messages (user_id, session_id, role, content, channel, interrupted,"
            " extracted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            # Only the user's own words are mined for facts about them.
            (self.user, session_id, role, content, channel, int(interrupted),
             int(role != "user"), time.time()),
        )
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

    def search(self, query: str, *, limit: int = 8, exclude_session: int | None = None) -> list[Hit]:
        """Facts and past messages matching ``query``, best first (BM25).

        ``exclude_session`` leaves out that session's messages and the facts
        drawn from them (a conversation already has those in view)."""
        match = fts_query(query, STOPWORDS)
        if not match:
            return []
        facts = self._exec(
            "SELECT f.id, f.text, f.kind, f.created_at, bm25(facts_fts) AS rank"
            " FROM facts_fts JOIN facts f ON f.id = facts_fts.rowid"
            " WHERE facts_fts MATCH ? AND f.user_id = ? AND (f.source_message_id IS NULL OR"
            " f.source_message_id NOT IN (SELECT id FROM messages WHERE session_id IS ?))"
            " ORDER BY rank LIMIT ?",
            (match, self.user, exclude_session, limit),
        ).fetchall()
        messages = self._exec(
            "SELECT m.id, m.content, m.role, m.created_at, bm25(messages_fts) AS rank"
            " FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid"
            " WHERE messages_fts MATCH ? AND m.user_id = ? AND m.session_id IS NOT ?"
            " ORDER BY rank LIMIT ?",
            (match, self.user, exclude_session, limit),
        ).fetchall()
        # bm25() is lower-is-better; a fact outranks a raw message of equal match.
        hits = [Hit(f"f{r[0]}", r[1], r[2], r[3], -r[4] * 1.5) for r in facts]
        hits += [Hit(f"m{r[0]}", r[1], r[2], r[3], -r[4]) for r in messages]
        hits.sort(key=lambda h: h.score, reverse=True)
        return hits[:limit]

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
        self._exec(
            f"DELETE FROM messages WHERE user_id = ? AND id IN ({','.join('?' * len(doomed))})",
            (self.user, *doomed),
        )
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

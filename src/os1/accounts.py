"""The people an os1 serves: accounts, their login sessions and API tokens.

With no account, os1 serves one person (``settings.user``) on loopback, as it
always has. Once ``os1 user add`` made one, ``os1 serve`` asks who is there:
a page logs in with a name and password (argon2id hashes), an API client
sends a token of its own (``os1 user token``). Either way the request gets a
person's name once, where it enters (web/app.py), and everything after it is
opened for that person only.

Secrets are never stored: passwords as argon2 hashes, session ids and API
tokens as SHA-256 digests (they are random, 256 bits: a fast digest is
enough and lets a lookup be an index search).

They live in ``$OS1_HOME/accounts.sqlite3``, or, when ``[storage] url``
names a PostgreSQL database, in it (pg_schema.py's ``_V3``): workers on
several hosts then know the same people, logins and tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from os1.errors import ConfigError, StorageError
from os1.storage import BUSY_MS

if TYPE_CHECKING:
    from os1.config import Settings

#: A person's name: also their key in every table and a folder name, so kept plain.
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MIN_PASSWORD = 8
#: How long a login lasts without being used.
SESSION_SECONDS = 30 * 24 * 3600
#: Failed logins allowed per name (and per address) in ``LOCKOUT_WINDOW`` seconds.
MAX_FAILURES = 5
LOCKOUT_WINDOW = 15 * 60.0
TOKEN_PREFIX = "os1_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    name TEXT PRIMARY KEY,
    password TEXT NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS logins (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES people(name) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS tokens (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL REFERENCES people(name) ON DELETE CASCADE,
    label TEXT NOT NULL,
    created_at REAL NOT NULL
);
-- Failed logins of the last LOCKOUT_WINDOW, by the digest of "name:..." or
-- "address:..." (a password typed in the name box is not kept). Here, not in a
-- process's memory: workers sharing the file share the count.
CREATE TABLE IF NOT EXISTS failures (
    key TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS failures_key ON failures (key, at);
"""


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    created_at: float
    tokens: int


@dataclass(frozen=True, slots=True)
class Login:
    """A page's login: whose it is, and the CSRF token its requests must carry."""

    name: str
    csrf: str


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ConfigError(f"{name!r} cannot be a user name: use 1-32 lowercase letters, digits, '.', '_' or "
                          "'-', starting with a letter or digit.")
    return name


class _Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class _Db(Protocol):
    """A transaction's statements, written for SQLite (``?`` placeholders)."""

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Cursor: ...

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> Any: ...


class _Pg:
    """A PostgreSQL transaction speaking SQLite's placeholders. As the
    database's owner, not a person: the accounts are read before anyone is known."""

    def __init__(self, conn: Any):
        from os1.memory.postgres import translate

        self._conn, self._translate = conn, translate

    def execute(self, sql: str, args: Sequence[Any] = ()) -> _Cursor:
        return self._conn.execute(self._translate(sql)[0], tuple(args))  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> Any:
        return self._conn.cursor().executemany(self._translate(sql)[0], rows)


class Accounts:
    """The accounts: a SQLite file (``where`` a path) or os1's PostgreSQL
    database (``where`` its URL); safe to share between threads."""

    def __init__(self, where: Path | str):
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher()
        # Verifying against this when the name is unknown takes as long as a real check.
        self._dummy = self._hasher.hash(secrets.token_hex(16))
        self._lock = threading.Lock()
        self._pool: Any = None
        self._db: sqlite3.Connection | None = None
        if str(where).startswith(("postgresql://", "postgres://")):
            from os1.memory.postgres import pool, safe_url

            self.where = safe_url(str(where))
            self._pool = pool(str(where))  # the tables come with the first use (migrations)
            return
        path = Path(where)
        self.where = str(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute(f"PRAGMA busy_timeout={BUSY_MS}")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"Cannot open the accounts file {path}: {exc}") from exc

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[_Db]:
        """One transaction; a reading one takes no write lock (every request reads:
        workers sharing the file must not queue behind each other)."""
        if self._pool is not None:
            yield from self._pg_tx()
            return
        assert self._db is not None
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield self._db  # type: ignore[misc]
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise StorageError(f"The accounts file cannot be used: {exc}") from exc

    def _pg_tx(self) -> Iterator[_Db]:
        import psycopg

        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _Pg(conn)
        except psycopg.Error as exc:
            raise StorageError(f"The accounts in {self.where} cannot be used: {exc}") from exc

    # -- people ---------------------------------------------------------------------------

    def add(self, name: str, password: str) -> None:
        check_name(name)
        hashed = self._hash(password)
        with self._tx() as db:
            added = db.execute("INSERT INTO people (name, password, created_at) VALUES (?, ?, ?)"
                               " ON CONFLICT (name) DO NOTHING", (name, hashed, time.time())).rowcount
        if not added:
            raise ConfigError(f"There is already a user {name!r}.")

    def people(self) -> list[Person]:
        with self._tx(write=False) as db:
            rows = db.execute(
                "SELECT p.name, p.created_at, (SELECT count(*) FROM tokens t WHERE t.name = p.name) "
                "FROM people p ORDER BY p.name").fetchall()
        return [Person(*row) for row in rows]

    def exists(self, name: str) -> bool:
        with self._tx(write=False) as db:
            return db.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone() is not None

    def any(self) -> bool:
        with self._tx(write=False) as db:
            return db.execute("SELECT 1 FROM people LIMIT 1").fetchone() is not None

    def remove(self, name: str) -> bool:
        """The account, its logins and tokens (their memory: :func:`os1.runtime.forget_person`)."""
        with self._tx() as db:
            return db.execute("DELETE FROM people WHERE name = ?", (name,)).rowcount > 0

    def reset_password(self, name: str, password: str) -> None:
        """A new password; every login of theirs ends (their API tokens stay)."""
        hashed = self._hash(password)
        with self._tx() as db:
            if not db.execute("UPDATE people SET password = ? WHERE name = ?", (hashed, name)).rowcount:
                raise ConfigError(f"There is no user {name!r}.")
            db.execute("DELETE FROM logins WHERE name = ?", (name,))

    def _hash(self, password: str) -> str:
        if len(password) < MIN_PASSWORD:
            raise ConfigError(f"A password needs at least {MIN_PASSWORD} characters.")
        return self._hasher.hash(password)

    # -- logging in -------------------------------------------------------------------------

    def allowed(self, *keys: str, now: float | None = None) -> bool:
        """False while one of ``keys`` (a name, an address) failed too often lately."""
        now = time.time() if now is None else now
        with self._tx(write=False) as db:
            return all(db.execute("SELECT count(*) FROM failures WHERE key = ? AND at > ?",
                                  (_digest(key), now - LOCKOUT_WINDOW)).fetchone()[0] < MAX_FAILURES
                       for key in keys)

    def verify(self, name: str, password: str, *, address: str = "", now: float | None = None) -> bool:
        """Whether ``password`` is ``name``'s; a failure counts against both the
        name and the address it came from (:meth:`allowed`)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        with self._tx(write=False) as db:
            row = db.execute("SELECT password FROM people WHERE name = ?", (name,)).fetchone()
        try:
            ok = self._hasher.verify(row[0] if row else self._dummy, password) and row is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok:
            at = time.time() if now is None else now
            with self._tx() as db:
                db.execute("DELETE FROM failures WHERE at <= ?", (at - LOCKOUT_WINDOW,))
                db.executemany("INSERT INTO failures (key, at) VALUES (?, ?)",
                               [(_digest(f"name:{name}"), at), (_digest(f"address:{address}"), at)])
        return ok

    def login(self, name: str, *, now: float | None = None) -> tuple[str, Login]:
        """A new login for ``name``: its session id (for the cookie) and the login."""
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        now = time.time() if now is None else now
        with self._tx() as db:
            db.execute("DELETE FROM logins WHERE expires_at < ?", (now,))
            db.execute("INSERT INTO logins (digest, name, csrf, expires_at) VALUES (?, ?, ?, ?)",
                       (_digest(session), name, csrf, now + SESSION_SECONDS))
        return session, Login(name, csrf)

    def session(self, session: str, *, now: float | None = None) -> Login | None:
        """Whose login ``session`` is (and it lasts another 30 days), or None."""
        if not session:
            return None
        now = time.time() if now is None else now
        with self._tx(write=False) as db:
            row = db.execute("SELECT name, csrf, expires_at FROM logins WHERE digest = ?",
                             (_digest(session),)).fetchone()
        if row is None or row[2] < now:
            return None
        if row[2] < now + SESSION_SECONDS - 24 * 3600:  # at most one write a day per login
            with self._tx() as db:
                db.execute("UPDATE logins SET expires_at = ? WHERE digest = ?",
                           (now + SESSION_SECONDS, _digest(session)))
        return Login(row[0], row[1])

    def logout(self, session: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM logins WHERE digest = ?", (_digest(session),))

    # -- API tokens ---------------------------------------------------------------------------

    def new_token(self, name: str, label: str = "") -> str:
        """A token for ``name``'s API clients (shown once: only its digest is kept)."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._tx() as db:
            if not db.execute("SELECT 1 FROM people WHERE name = ?", (name,)).fetchone():
                raise ConfigError(f"There is no user {name!r}.")
            db.execute("INSERT INTO tokens (digest, name, label, created_at) VALUES (?, ?, ?, ?)",
                       (_digest(token), name, label or "token", time.time()))
        return token

    def token_owner(self, token: str) -> str | None:
        if not token.startswith(TOKEN_PREFIX):
            return None
        with self._tx(write=False) as db:
            row = db.execute("SELECT name FROM tokens WHERE digest = ?", (_digest(token),)).fetchone()
        return row[0] if row else None

    def revoke_tokens(self, name: str) -> int:
        with self._tx() as db:
            return db.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount

    def close(self) -> None:
        """The file's connection (a database's pool serves the process's other stores)."""
        if self._db is not None:
            with self._lock:
                self._db.close()


def accounts_path(home: Path) -> Path:
    return home / "accounts.sqlite3"


def accounts_where(settings: Settings) -> Path | str:
    """Where the accounts are: os1's PostgreSQL database when there is one
    (every worker, on any host, knows the same people), else the file."""
    return settings.storage.url or accounts_path(settings.home)


def open_accounts(settings: Settings) -> Accounts | None:
    """The accounts, if anyone has one (else os1 serves its one person)."""
    where = accounts_where(settings)
    if isinstance(where, Path) and not where.exists():
        return None
    accounts = Accounts(where)
    if not accounts.any():
        accounts.close()
        return None
    return accounts

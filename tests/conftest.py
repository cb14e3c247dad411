from __future__ import annotations

import os
from pathlib import Path

import pytest

from os1.config import Settings, load_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Real servers on loopback: IMAP (Dovecot) and SMTP (aiosmtpd) for the email tests (fixtures dovecot,
# smtp_server), CalDAV (Radicale) for the calendar tests (fixture radicale).
pytest_plugins = ["mailservers", "calendarserver", "postgres_server"]


@pytest.fixture(autouse=True)
def unhurried_recall(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recall's 150 ms budget keeps a turn fast; what a test finds must not depend
    on how busy the machine is (on CI, under the whole suite, a search once ran past
    it and found nothing). Tests of the budget itself pass ``budget=``."""
    from os1.memory.sql import SQLMemory

    monkeypatch.setattr(SQLMemory, "search_budget", 5.0)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each storage backend in turn: tests that take it run on both."""
    return str(request.param)


@pytest.fixture
def make_memory(backend: str, tmp_path: Path, request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """``make_memory(user="alice", **options)``: a person's memory on this
    test's backend (one SQLite file, or one PostgreSQL database, per test)."""
    from os1.memory.sql import SQLMemory

    stores: list[SQLMemory] = []

    def make(user: str = "alice", **options: object) -> SQLMemory:
        store: SQLMemory
        if backend == "sqlite":
            from os1.memory.sqlite import SQLiteMemory

            store = SQLiteMemory(tmp_path / "db.sqlite3", user, **options)  # type: ignore[arg-type]
        else:
            from os1.memory.postgres import PostgresMemory

            store = PostgresMemory(request.getfixturevalue("pg_url"), user, **options)  # type: ignore[arg-type]
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={"OS1_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)})


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Under CI nothing may skip for missing data, models or servers: a green
    run must mean that everything ran."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (CI=true), which counts as a failure: {report.longrepr}"

from __future__ import annotations

import os
from pathlib import Path

import pytest

from os1.config import Settings, load_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

# Real servers on loopback: IMAP (Dovecot) and SMTP (aiosmtpd) for the email tests (fixtures dovecot,
# smtp_server), CalDAV (Radicale) for the calendar tests (fixture radicale).
pytest_plugins = ["mailservers", "calendarserver"]


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

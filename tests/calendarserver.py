"""A real CalDAV server for the calendar tests: Radicale, on loopback, with
its storage in a temporary directory; a fresh one for every test. Any user
name logs in (``auth type none``); each user sees only their own calendars.
Missing Radicale skips the test; under CI (``CI=true``) conftest turns that
skip into a failure."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER = "sam"
PASSWORD = "any"


@dataclass(frozen=True)
class CalDavServer:
    url: str
    user: str = USER
    password: str = PASSWORD


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[CalDavServer]:
    try:
        import radicale  # noqa: F401
    except ImportError:
        pytest.skip("needs Radicale (pip install radicale)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "radicale.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--server-hosts", f"127.0.0.1:{port}",
             "--storage-filesystem-folder", str(tmp_path / "collections"), "--auth-type", "none",
             "--logging-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"Radicale did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield CalDavServer(f"http://127.0.0.1:{port}/")
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()

"""Reflection survives kill -9: a process killed mid-job leaves no half-written
reflection, and the next process finishes the job."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from os1.memory.sqlite import SQLiteMemory

WORKER = Path(__file__).parent / "reflect_worker.py"
NOTES = ("summaries", "journal", "relationship", "self_descriptions")


def two_sessions(path):
    m = SQLiteMemory(path, "ana", embedder=None)
    for i, text in enumerate(("I start my new job at the library.", "My sister Eva visits soon.")):
        sid = m.start_session("text", started_at=1_770_000_000 + i * 86400)
        m.add_message(sid, "user", text, created_at=1_770_000_000 + i * 86400)
        m.add_message(sid, "assistant", "Tell me more!", created_at=1_770_000_010 + i * 86400)
        m.end_session(sid)
    m.close()


def run_until(path, mode, marker):
    """Start a worker, wait until it prints ``marker``, then SIGKILL it."""
    proc = subprocess.Popen([sys.executable, str(WORKER), str(path), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the worker ended early: {proc.stderr.read()}")
            if line.strip() == marker:
                break
        time.sleep(0.3)  # well inside the job
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()


def state(path):
    """Per session: (reflected, rows in each note table); and integrity."""
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        for table in ("summaries_fts", "journal_fts", "relationship_fts"):
            db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")
        out = {}
        for sid, reflected in db.execute("SELECT id, reflected_at IS NOT NULL FROM sessions ORDER BY id"):
            counts = tuple(db.execute(f"SELECT count(*) FROM {t} WHERE source_session_id = ?", (sid,))
                           .fetchone()[0] for t in NOTES)
            out[sid] = (bool(reflected), counts)
        return out
    finally:
        db.close()


DONE = (True, (1, 1, 1, 1))
NOTHING = (False, (0, 0, 0, 0))


@pytest.mark.timeout(180)
@pytest.mark.parametrize("mode, marker, after_kill", [
    ("slow", "generating", {1: NOTHING, 2: NOTHING}),   # killed while the model writes
    ("stall", "writing", {1: DONE, 2: NOTHING}),        # killed inside the second write transaction
])
def test_reflection_survives_kill_9(tmp_path, mode, marker, after_kill):
    path = tmp_path / "db.sqlite3"
    two_sessions(path)
    run_until(path, mode, marker)
    assert state(path) == after_kill  # all of a session's reflection, or none of it

    done = subprocess.run([sys.executable, str(WORKER), str(path), "finish"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    redone = sum(1 for s in after_kill.values() if s == NOTHING)
    assert done.stdout.split()[-1] == str(redone)  # only what was missing is done again
    assert state(path) == {1: DONE, 2: DONE}
    m = SQLiteMemory(path, "ana", embedder=None)
    try:
        assert m.pending_reflections() == []
        summaries = [n.text for n in m.notes(["summary"])]
        assert summaries == ["Summary of: [1] User: I start my new job at the library.",
                             "Summary of: [1] User: My sister Eva visits soon."]
    finally:
        m.close()

"""Starved resources (#20): a real `os1 serve` whose disk fills up, whose
database another process locks, or whose model server goes away mid-reply.
Each time the person is told clearly what happened (and given back what they
typed if it could not be kept), os1 stays up, and once the resource is back
it carries on: every message it acknowledged is kept, none twice, and the
database passes its integrity check. The microphone gone mid-call is in
test_talk.py (`os1 talk` is the only client with a microphone of its own).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from openai_server import OpenAIServer
from test_deploy import start_serve


class Page:
    """The web page's side of the conversation, over the WebSocket."""

    def __init__(self, url: str):
        self._open = contextlib.ExitStack()
        self.ws: ClientConnection = self._open.enter_context(connect(url.replace("http", "ws") + "/ws",
                                                                     open_timeout=10))
        self.ws.send(json.dumps({"type": "session.start"}))
        self.until(lambda e: e["type"] == "history")

    def until(self, wanted: Any, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            event = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if wanted(event):
                return event

    def say(self, text: str) -> tuple[bool, dict[str, Any]]:
        """(kept, the event that said so): True and os1's reply in the thread,
        or False and the error that told the person it was not kept."""
        self.ws.send(json.dumps({"type": "message", "text": text}))
        shown = False
        while True:
            event = self.until(lambda e: e["type"] in ("thread.message", "error"))
            if event["type"] == "error":
                return False, event
            if event["role"] == "user" and event["text"] == text:
                shown = True
            elif event["role"] == "assistant" and shown:
                return True, event

    def close(self) -> None:
        self._open.close()


@contextlib.contextmanager
def serving(home: Path) -> Iterator[tuple[OpenAIServer, str]]:
    """A real `os1 serve` on ``home``, with a real model server behind it."""
    home.mkdir()
    with OpenAIServer() as model:
        (home / "config.toml").write_text(f'[llm]\nmodel = "{model.url}"\n')
        process, url = start_serve({**os.environ, "OS1_HOME": str(home)})
        try:
            yield model, url
        finally:
            process.terminate()
            process.wait(60)


def said_to_memory(url: str) -> Counter[str]:
    export = httpx.get(f"{url}/api/memory/export", timeout=60).json()
    return Counter(m["content"] for m in export["messages"] if m["role"] == "user")


def check_integrity(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def small_disk(path: Path, size: str) -> None:
    path.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"a small filesystem needs mount (root): {done.stderr.strip()}")


def fill(disk: Path) -> Path:
    """Fill ``disk`` to the last byte; the file that does it."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for block in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    return filler


@pytest.fixture
def disk(tmp_path):
    path = tmp_path / "disk"
    small_disk(path, "48m")
    yield path
    subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_is_told_keeps_what_was_typed_and_os1_carries_on_once_there_is_room(disk):
    home = disk / "os1"
    with serving(home) as (_, url):
        page = Page(url)
        kept: list[str] = []
        assert page.say("Before the disk filled up.")[0]
        kept.append("Before the disk filled up.")
        filler = fill(disk)
        # SQLite reuses its write-ahead log's pages: a few messages may still fit.
        failed = None
        for n in range(60):
            text = f"Message {n} on a full disk. " + "More words to make it long. " * 150
            ok, event = page.say(text)
            if not ok:
                failed = (text, event)
                break
            kept.append(text)
        assert failed is not None, "60 long messages fit on a full disk"
        text, error = failed
        assert error["code"] == "turn_failed"
        assert "disk" in error["message"] and "full" in error["message"]
        assert "Traceback" not in error["message"]
        assert error.get("unsent") == text  # the page puts it back in the box
        answer = httpx.post(f"{url}/v1/chat/completions", timeout=60,
                            json={"model": "os1", "messages": [{"role": "user", "content": "Still there?"}]})
        assert answer.status_code == 507 and answer.json()["error"]["code"] == "disk_full"
        assert httpx.get(f"{url}/api/status", timeout=10).status_code == 200
        config = (home / "config.toml").read_text()
        renamed = httpx.put(f"{url}/api/settings", json={"name": "Sam"}, timeout=30)
        assert renamed.status_code == 507 and "disk is full" in renamed.json()["error"]["message"]
        assert (home / "config.toml").read_text() == config  # whole or not at all
        assert httpx.get(f"{url}/api/settings", timeout=10).json()["name"] != "Sam"

        filler.unlink()  # room again: the same page goes on, no restart
        for text in ("The disk has room again.", "And one more."):
            assert page.say(text)[0]
            kept.append(text)
        answer = httpx.post(f"{url}/v1/chat/completions", timeout=60,
                            json={"model": "os1", "messages": [{"role": "user", "content": "Back?"}]})
        assert answer.status_code == 200
        page.close()
        said = said_to_memory(url)
    assert [t for t in kept if said[t] != 1] == []
    check_integrity(home / "os1.sqlite3")


def test_a_database_locked_by_another_process_is_waited_for_then_told_and_os1_carries_on(tmp_path):
    home = tmp_path / "os1"
    with serving(home) as (_, url):
        page = Page(url)
        assert page.say("Before the lock.")[0]

        def hold(seconds: float, taken: threading.Event) -> None:
            # Another program (a backup tool, a sync client) takes the database.
            with sqlite3.connect(home / "os1.sqlite3", isolation_level=None) as other:
                other.execute("BEGIN EXCLUSIVE")
                taken.set()
                time.sleep(seconds)
                other.execute("COMMIT")

        # A short lock is waited out: the person notices nothing.
        taken = threading.Event()
        holder = threading.Thread(target=hold, args=(2.0, taken))
        holder.start()
        taken.wait(10)
        assert page.say("During a short lock.")[0]
        holder.join()

        # A long one: told within a bounded time, and given back what they typed.
        taken = threading.Event()
        holder = threading.Thread(target=hold, args=(12.0, taken))
        holder.start()
        taken.wait(10)
        started = time.monotonic()
        ok, error = page.say("During a long lock.")
        waited = time.monotonic() - started
        assert not ok and error["code"] == "turn_failed", error
        assert "Another program" in error["message"] and error.get("unsent") == "During a long lock."
        assert waited < 10  # os1 waits 5 s (storage.BUSY_MS), then says so
        assert httpx.get(f"{url}/api/status", timeout=10).status_code == 200
        holder.join()

        assert page.say("After the lock.")[0]
        page.close()
        said = said_to_memory(url)
    assert said["Before the lock."] == said["During a short lock."] == said["After the lock."] == 1
    assert said["During a long lock."] == 0
    check_integrity(home / "os1.sqlite3")


def test_the_model_server_gone_mid_reply_is_told_and_os1_carries_on_when_it_is_back(tmp_path):
    home = tmp_path / "os1"
    with serving(home) as (model, url):
        page = Page(url)
        assert page.say("Before the model server went away.")[0]
        model.cut_after = 3  # it dies three words into the next reply
        page.ws.send(json.dumps({"type": "message", "text": "Tell me a long story."}))
        error = page.until(lambda e: e["type"] == "error")
        assert error["code"] == "turn_failed" and "saved" in error["message"]
        model.down()  # and stays down: the next turn is told at once, not after a hang
        started = time.monotonic()
        ok, error = page.say("Are you there?")
        assert not ok and "saved" in error["message"] and time.monotonic() - started < 30
        model.up()  # back
        model.cut_after = None
        ok, reply = page.say("Welcome back.")
        assert ok and "Welcome back." in reply["text"]
        page.close()
        said = said_to_memory(url)
        history = httpx.get(f"{url}/api/history", timeout=10).json()
    # What they said is kept whatever the model did; of the cut reply, what was shown.
    for text in ("Before the model server went away.", "Tell me a long story.", "Are you there?",
                 "Welcome back."):
        assert said[text] == 1
    thread = [(m["role"], m["text"]) for m in history["messages"]]
    cut = thread.index(("user", "Tell me a long story."))
    assert thread[cut + 1] == ("assistant", "I hear you:"), thread  # the three words it said
    check_integrity(home / "os1.sqlite3")

"""Crash durability (#20): a real `os1 serve` is killed with SIGKILL at random
moments while a page types to it over the WebSocket, another client talks
through the OpenAI-compatible API and memories are imported, then started
again. Afterwards every message os1 acknowledged (the thread showed it, or
the API answered) is in memory exactly once, the database passes SQLite's
integrity check, and the background work the kills interrupted (reading
facts out of what was said) is finished by the next process.

CI runs ``OS1_SOAK_KILLS`` rounds (default 12); docs/reliability.md reports
the full run.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from websockets.sync.client import connect

from openai_server import OpenAIServer
from test_deploy import free_port

KILLS = int(os.environ.get("OS1_SOAK_KILLS", "12"))


def serve(home: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "os1.cli.main", "serve", "--port", str(port), "--no-voice"],
                               env={**os.environ, "OS1_HOME": str(home)}, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None and time.monotonic() < deadline, "os1 serve did not start"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).json().get("ready"):
                return process
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)


class Workload:
    """What the clients sent and what os1 acknowledged, over every round."""

    def __init__(self, port: int):
        self.url = f"http://127.0.0.1:{port}"
        self.acknowledged: list[str] = []
        self.imported: list[str] = []
        self.n = 0
        self.lock = threading.Lock()

    def next(self, kind: str) -> str:
        with self.lock:
            self.n += 1
            return f"soak {kind} {self.n}: I fed the cat at {self.n} o'clock."

    def page(self, stop: threading.Event) -> None:
        """Typing over the WebSocket; acknowledged once the thread shows it."""
        try:
            with connect(self.url.replace("http", "ws") + "/ws", open_timeout=10) as ws:
                ws.send(json.dumps({"type": "session.start"}))
                waiting: set[str] = set()
                while not stop.is_set():
                    text = self.next("page")
                    waiting.add(text)
                    ws.send(json.dumps({"type": "message", "text": text}))
                    deadline = time.monotonic() + 5
                    while text in waiting and time.monotonic() < deadline:
                        event = json.loads(ws.recv(timeout=5))
                        if event["type"] == "thread.message" and event["role"] == "user" and event["text"] in waiting:
                            waiting.discard(event["text"])
                            with self.lock:
                                self.acknowledged.append(event["text"])
        except Exception:  # noqa: BLE001 - the server was killed under it
            return

    def api(self, stop: threading.Event) -> None:
        """Talking through the OpenAI-compatible API: acknowledged by its answer."""
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                text = self.next("api")
                try:
                    answer = client.post(f"{self.url}/v1/chat/completions",
                                         json={"model": "os1", "messages": [{"role": "user", "content": text}]})
                except httpx.HTTPError:
                    return
                if answer.status_code == 200:
                    with self.lock:
                        self.acknowledged.append(text)

    def importer(self, stop: threading.Event) -> None:
        """Memories brought in from an export: acknowledged by the import's answer."""
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                text = self.next("import")
                export = {"format": "os1-memory", "version": 1, "user": "local", "profile": {}, "facts": [],
                          "sessions": [{"id": 1, "channel": "text", "started_at": "2026-01-05T10:00:00+00:00"}],
                          "messages": [{"id": "m1", "session": 1, "role": "user", "content": text,
                                        "channel": "text", "interrupted": False,
                                        "created_at": "2026-01-05T10:00:01+00:00"}]}
                try:
                    done = client.post(f"{self.url}/api/memory/import", json=export)
                except httpx.HTTPError:
                    return
                if done.status_code == 200:
                    with self.lock:
                        self.imported.append(text)
                time.sleep(0.3)


def test_sigkill_at_random_moments_loses_no_acknowledged_message(tmp_path):
    rng = random.Random(int(os.environ.get("OS1_SOAK_SEED", "20")))
    home = tmp_path / "os1"
    home.mkdir()
    port = free_port()
    work = Workload(port)
    with OpenAIServer() as model:
        (home / "config.toml").write_text(f'[llm]\nmodel = "{model.url}"\n')
        for _ in range(KILLS):
            process = serve(home, port)
            stop = threading.Event()
            clients = [threading.Thread(target=f, args=(stop,)) for f in (work.page, work.api, work.importer)]
            for c in clients:
                c.start()
            time.sleep(rng.uniform(0.2, 2.5))
            process.send_signal(signal.SIGKILL)
            process.wait(30)
            stop.set()
            for c in clients:
                c.join(30)
        # Once more, left alone: what the kills interrupted is finished.
        process = serve(home, port)
        try:
            db = home / "os1.sqlite3"
            deadline = time.monotonic() + 120
            while True:
                with sqlite3.connect(db) as conn:
                    pending = conn.execute("SELECT count(*) FROM messages WHERE extracted = 0").fetchone()[0]
                if pending == 0:
                    break
                assert time.monotonic() < deadline, f"{pending} messages never had their facts read"
                time.sleep(1)
            export = httpx.get(f"http://127.0.0.1:{port}/api/memory/export", timeout=30).json()
        finally:
            process.terminate()
            process.wait(60)
    said = Counter(m["content"] for m in export["messages"] if m["role"] == "user")
    lost = [t for t in work.acknowledged + work.imported if said[t] == 0]
    twice = [t for t, n in said.items() if n > 1]
    print(f"\nkill soak: {KILLS} SIGKILLs, {len(work.acknowledged)} acknowledged messages, "
          f"{len(work.imported)} imports; lost {len(lost)}, duplicated {len(twice)}")
    assert len(work.acknowledged) > KILLS and work.imported
    assert lost == [] and twice == []
    with sqlite3.connect(home / "os1.sqlite3") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []

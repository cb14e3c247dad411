"""Crash durability (#20): a real `os1 serve` is killed with SIGKILL at random
moments while a page types to it over the WebSocket, another is in a voice
call with it (real speech from ../shared/data/speech, through the real VAD
and turn detector; the ears and voice are the model server's), another client
talks through the OpenAI-compatible API, memories are imported, the inbox
syncs with a real IMAP server and `os1 memory reflect` writes its notes (killed
with it); every other round, just as a reminder comes due. Then it is started
again. Afterwards every message os1 acknowledged (the thread showed it, or the
API answered) is in memory exactly once, the database passes its integrity
check, and the work the kills interrupted is finished by the next process:
facts read out of what was said, every letter kept, every reminder said and
logged once, every conversation reflected on once.

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
from datetime import datetime, timezone
from pathlib import Path

import httpx
import imapclient
import numpy as np
import pytest
from websockets.sync.client import connect

from os1.mail.store import Account, MailStore
from os1.reach.schedule import Schedule
from os1.reach.store import CLAIM_LEASE, SENDING, ReachStore

from openai_server import OpenAIServer
from test_web_inbox import PASSWORD_ENV
from test_deploy import free_port

KILLS = int(os.environ.get("OS1_SOAK_KILLS", "12"))
SPEECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech"


def spoken_turn() -> bytes:
    """A short sentence and the pause after it, as 16 kHz PCM (the page's call)."""
    from os1.audio.format import read_wav, to_pcm16

    clip = read_wav(SPEECH / "fleurs-en-004.wav")
    return to_pcm16(np.concatenate([clip, np.zeros(24_000, np.float32)]))


def reflections_asked(model: OpenAIServer) -> int:
    """Reflections the model server was asked for (their answer's schema has a summary)."""
    return sum("summary" in json.dumps(r.get("response_format") or {}) for r in list(model.requests))


def serve(home: Path, port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "os1.cli.main", "serve", "--port", str(port)],
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
        self.spoken = 0  # of the acknowledged, heard in a call
        self.in_call_turn = False  # speaking, or waiting for the answer
        self.kills_in_call_turns = 0
        self.in_sync = False  # a mail sync asked for and not yet answered
        self.kills_mid_sync = 0
        self.reflecting: tuple[subprocess.Popen, int] | None = None  # `os1 memory reflect`, under way
        self.reflections = 0  # runs that finished
        self.kills_mid_reflection = 0
        self.claimed_when_killed: set[int] = set()  # reminders being said, not yet logged as said
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
                    time.sleep(0.1)  # as fast as a person: typing flat out, no call turn would get a word in
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

    def caller(self, stop: threading.Event) -> None:
        """In a voice call: acknowledged once the thread shows what was heard
        (and not taken back: words a reply never got out for come back with the
        person's next ones). The audio goes faster than real time (the turn
        detector keeps the audio's own clock), so a turn takes a second, not six."""
        audio = spoken_turn()
        heard: dict[str, str] = {}  # message id -> its words
        try:
            with connect(self.url.replace("http", "ws") + "/ws", open_timeout=10) as ws:
                ws.send(json.dumps({"type": "session.start"}))
                ws.send(json.dumps({"type": "call.start", "sample_rate": 16000}))
                while not stop.is_set():
                    for i in range(0, len(audio), 6400):  # 0.2 s of audio each 20 ms
                        ws.send(audio[i : i + 6400])
                        self.in_call_turn = True
                        time.sleep(0.02)
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:  # until os1 has answered: then the next turn
                        frame = ws.recv(timeout=10)
                        if isinstance(frame, bytes):
                            continue  # os1's voice
                        event = json.loads(frame)
                        if event["type"] != "thread.message":
                            continue
                        if event["role"] == "user" and event["text"].startswith("I heard you"):
                            heard[event["id"]] = event["text"]
                            with self.lock:
                                self.acknowledged.append(event["text"])
                                self.spoken += 1
                        elif event["role"] == "forgotten" and event["id"] in heard:
                            with self.lock:
                                self.acknowledged.remove(heard.pop(event["id"]))
                                self.spoken -= 1
                        elif event["role"] == "assistant" and event.get("channel") == "voice":
                            break  # os1's spoken answer, heard: their turn again
                    self.in_call_turn = False
        except Exception:  # noqa: BLE001 - the server was killed under it
            return
        finally:
            self.in_call_turn = False

    def mailer(self, stop: threading.Event) -> None:
        """The inbox panel's "check now", over and over (os1 also syncs at each start)."""
        with httpx.Client(timeout=30) as client:
            while not stop.is_set():
                self.in_sync = True
                try:
                    client.post(f"{self.url}/api/mail/sync")
                except httpx.HTTPError:
                    return
                finally:
                    self.in_sync = False
                time.sleep(0.5)

    def reflector(self, stop: threading.Event, env: dict[str, str], model: OpenAIServer) -> None:
        """`os1 memory reflect`, over and over: killed with the server."""
        while not stop.is_set():
            asked = reflections_asked(model)
            process = subprocess.Popen([sys.executable, "-m", "os1.cli.main", "memory", "reflect"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.reflecting = (process, asked)
            if process.wait() == 0:
                self.reflections += 1
            self.reflecting = None
            stop.wait(1.0)  # a start costs a core for a second: the call's turns need it more

    def kill(self, server: subprocess.Popen, model: OpenAIServer) -> None:
        """SIGKILL, at once, to the server and to a reflection under way."""
        reflecting = self.reflecting
        server.send_signal(signal.SIGKILL)
        if reflecting is not None and reflecting[0].poll() is None:
            reflecting[0].send_signal(signal.SIGKILL)
            # Mid-job: it had asked the model for a reflection (not still starting up).
            self.kills_mid_reflection += reflections_asked(model) > reflecting[1]
        self.kills_in_call_turns += self.in_call_turn
        self.kills_mid_sync += self.in_sync

    def api(self, stop: threading.Event) -> None:
        """Talking through the OpenAI-compatible API: acknowledged by its answer."""
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                time.sleep(0.1)
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


def pending(backend: str, home: Path, url: str | None) -> int:
    """Messages whose facts have not been read yet, and reminders not yet said."""
    return sum(query(backend, home, url, sql)[0][0] for sql in (
        "SELECT count(*) FROM messages WHERE extracted = 0",
        "SELECT count(*) FROM reach_items WHERE status = 'active'"))


def query(backend: str, home: Path, url: str | None, sql: str) -> list[tuple]:
    """Rows of os1's database (SQLite's ``?`` style, no arguments)."""
    if backend == "postgres":
        import psycopg

        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()
    with sqlite3.connect(home / "os1.sqlite3") as conn:
        return conn.execute(sql).fetchall()


def reflect_to_the_end(env: dict[str, str]) -> None:
    """`os1 memory reflect` until nothing is left (it does 20 conversations a run)."""
    for _ in range(50):
        done = subprocess.run([sys.executable, "-m", "os1.cli.main", "memory", "reflect"], env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        if done.stdout.startswith("Reflected on 0 "):
            return
    raise AssertionError("reflection never ended")


def check_integrity(backend: str, home: Path, url: str | None) -> None:
    if backend == "sqlite":
        with sqlite3.connect(home / "os1.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        return
    import psycopg

    # PostgreSQL keeps its own promises (its constraints hold whatever a client does);
    # what os1 promises is checked here: no message without its session, no fact
    # without the message it came from, no vector without its message.
    with psycopg.connect(url) as conn:
        for orphans in ("SELECT count(*) FROM messages WHERE session_id NOT IN (SELECT id FROM sessions)",
                        "SELECT count(*) FROM facts WHERE source_message_id IS NOT NULL"
                        " AND source_message_id NOT IN (SELECT id FROM messages)",
                        "SELECT count(*) FROM message_vectors WHERE message_id NOT IN (SELECT id FROM messages)"):
            assert conn.execute(orphans).fetchone()[0] == 0, orphans


@pytest.mark.skipif(not SPEECH.exists(), reason="needs ../shared/data/speech")
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_at_random_moments_loses_no_acknowledged_message(tmp_path, request, backend):
    rng = random.Random(int(os.environ.get("OS1_SOAK_SEED", "20")))
    home = tmp_path / "os1"
    home.mkdir()
    port = free_port()
    work = Workload(port)
    url = request.getfixturevalue("pg_url") if backend == "postgres" else None
    storage = f'[storage]\nurl = "{url}"\n' if url else ""
    mail = request.getfixturevalue("dovecot")  # a real IMAP server, with Sam's mail
    request.getfixturevalue("monkeypatch").setenv(PASSWORD_ENV, mail.password)
    store = MailStore(url or home / "mail.sqlite3", "local", embedder=None)  # where os1 keeps it
    store.add_account(Account(0, "home", mail.user, mail.user, mail.host, mail.port, "starttls", "127.0.0.1", 9,
                              "starttls", PASSWORD_ENV, str(mail.cafile)))
    store.close()
    server = imapclient.IMAPClient(mail.host, port=mail.port, ssl=False)
    server.login(mail.user, mail.password)
    env = {**os.environ, "OS1_HOME": str(home)}
    reminders: ReachStore | None = None  # opened once os1 has made its database
    with OpenAIServer(numbered_hearings=True, reflection_seconds=0.5) as model:
        (home / "config.toml").write_text(f'[llm]\nmodel = "{model.url}"\n'
                                          f'[voice]\nasr = "{model.url}"\ntts = "{model.url}"\n'
                                          f'[reach]\nquiet_hours = ""\n{storage}')
        for n in range(KILLS):
            for k in range(3):  # new mail each round: each start's sync has work to do when it is killed
                server.append("INBOX", f"From: ana@example.org\r\nTo: {mail.user}\r\nSubject: soak mail {n}.{k}"
                              f"\r\nMessage-ID: <soak-{n}-{k}@example.org>\r\n\r\nRound {n}, letter {k}.\r\n")
            # Every other round a reminder comes due while os1 runs, and the kill
            # follows it by a few milliseconds: about as long as saying it takes.
            # (No call then: a reminder waits for a pause in what they say.)
            due = time.time() + 8.0 if n % 2 else None
            if due is not None:
                reminders = reminders or ReachStore(url or home / "os1.sqlite3", "local")
                reminders.add("reminder", f"water plant {n}",
                              Schedule(datetime.fromtimestamp(due, timezone.utc)))
            process = serve(home, port)
            stop = threading.Event()
            clients = [threading.Thread(target=f, args=(stop,))
                       for f in (work.page, work.api, work.importer, work.mailer)]
            if due is None:
                clients.append(threading.Thread(target=work.caller, args=(stop,)))
            clients.append(threading.Thread(target=work.reflector, args=(stop, env, model)))
            for c in clients:
                c.start()
            if due is not None and due > time.time():
                time.sleep(due - time.time() + rng.uniform(0.0, 0.08))
            else:
                time.sleep(rng.uniform(0.2, 6.0))
            work.kill(process, model)
            process.wait(30)
            stop.set()
            for c in clients:
                c.join(30)
            work.claimed_when_killed |= {i for (i,) in query(
                backend, home, url, f"SELECT id FROM reach_items WHERE held = '{SENDING}'")}
        # Once more, left alone: what the kills interrupted is finished (a reminder
        # claimed by a killed process is said once its claim has lapsed).
        process = serve(home, port)
        try:
            deadline = time.monotonic() + CLAIM_LEASE + 90
            while left := pending(backend, home, url):
                assert time.monotonic() < deadline, f"{left} messages or reminders were left"
                time.sleep(1)
            assert httpx.post(f"http://127.0.0.1:{port}/api/mail/sync", timeout=120).status_code == 200
            export = httpx.get(f"http://127.0.0.1:{port}/api/memory/export", timeout=30).json()
        finally:
            process.terminate()
            process.wait(60)
        reflect_to_the_end(env)
    # Every reminder was said, and logged as said once.
    assert reminders is not None
    items = {i.id: i for i in reminders.items(statuses=("active", "done"))}
    logged = Counter(i for e in reminders.entries(limit=None) if e.decision == "sent" for i in e.items)
    reminders.close()
    assert all(i.status == "done" for i in items.values()) and logged == Counter(set(items))
    assistant = " ".join(m["content"] for m in export["messages"] if m["role"] == "assistant")
    assert all(i.text in assistant for i in items.values())
    # Every conversation reflected on, once: all of its notes, none twice.
    notes = [Counter(dict(query(backend, home, url, f"SELECT source_session_id, count(*) FROM {table}"
                                                    " GROUP BY source_session_id")))
             for table in ("summaries", "journal")]  # (the model server's reflections name no moments)
    talked = [sid for (sid,) in query(backend, home, url, "SELECT DISTINCT session_id FROM messages"
                                                           " WHERE role = 'user'")]
    unreflected = query(backend, home, url, "SELECT count(*) FROM sessions WHERE reflected_at IS NULL AND id IN"
                                            " (SELECT session_id FROM messages WHERE role = 'user')")[0][0]
    assert unreflected == 0
    assert [sid for sid in talked if any(n[sid] != 1 for n in notes)] == []
    # Every letter on the server is in os1's copy: a kill mid-sync never moved its
    # place in a folder past letters it had not kept.
    on_server: dict[str, set[int]] = {}
    for folder in ("INBOX", "Sent"):  # what os1 reads (Archive and Trash it only files into)
        server.select_folder(folder, readonly=True)
        on_server[folder] = set(server.search(["ALL"]))
    server.logout()
    mail_store = MailStore(url or home / "mail.sqlite3", "local", embedder=None)
    account = mail_store.account("home")
    assert account is not None
    kept = {folder: set(mail_store.uids(account, folder)) for folder in on_server}
    mail_store.close()
    if backend == "sqlite":
        with sqlite3.connect(home / "mail.sqlite3") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert kept == on_server
    said = Counter(m["content"] for m in export["messages"] if m["role"] == "user")
    lost = [t for t in work.acknowledged + work.imported if said[t] == 0]
    twice = [t for t, n in said.items() if n > 1]
    print(f"\nkill soak ({backend}): {KILLS} SIGKILLs, {len(work.acknowledged)} acknowledged messages "
          f"({work.spoken} heard in a call; {work.kills_in_call_turns} kills mid voice turn), "
          f"{len(work.imported)} imports, {len(on_server['INBOX'])} letters synced ({work.kills_mid_sync} kills "
          f"mid-sync), {len(items)} reminders said ({len(work.claimed_when_killed)} killed mid-saying), "
          f"{len(talked)} conversations reflected on ({work.reflections} runs finished, "
          f"{work.kills_mid_reflection} killed mid-job); lost {len(lost)}, duplicated {len(twice)}")
    assert len(work.acknowledged) > KILLS and work.imported and work.spoken
    assert lost == [] and twice == []
    check_integrity(backend, home, url)

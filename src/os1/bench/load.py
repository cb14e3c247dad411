"""``os1 bench load``: many people talking with one ``os1 serve`` at once.

Everything is real and on loopback: a model server (llama.cpp's, from
llama-cpp-python, with an embedded model; or ``--model-server URL``), an
``os1 serve`` process with accounts in a throw-away data directory, and for
each simulated person an HTTP client that logs in with their own name and
password and a WebSocket (the page's) that holds a typed conversation: a
message, the whole reply, a pause to "read", the next. Reported: turns
completed, errors (any error event, refusal, dropped socket or timeout),
p50/p95 turn latency (message sent -> reply complete), the fair gate's queue
wait, and the server's resident memory.

Then the idle run: the conversations close, and ``--idle`` page sockets are
opened (spread over the people, each past its ``session.start``) and held;
the server's RSS growth divided by the sockets is the memory an idle
connection costs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from os1.config import LOCAL_MODELS, Settings
from os1.errors import ConfigError, Os1Error

#: What the simulated people say, a line a turn (in order, from a random start).
LINES = (
    "Hi! How's your day going?",
    "I just got back from a long walk by the river.",
    "Work was a bit much today, honestly.",
    "My sister is visiting next weekend, I'm excited.",
    "Do you have a favourite time of day?",
    "I've been trying to cook more at home lately.",
    "I made a lentil soup yesterday and it was pretty good.",
    "What do you think makes a day feel good?",
    "I keep meaning to read more before bed.",
    "Anyway, tell me something you find interesting.",
)
#: Seconds a person takes to read a reply and type the next message.
THINK = (1.0, 4.0)
#: Seconds a turn may take before it counts as an error (the queue can be long on two cores).
TURN_TIMEOUT = 900.0
#: Page connections opened and closed before the idle run's baseline.
WARM_PAGES = 50


@dataclass
class Tally:
    turns: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise Os1Error(f"no memory figure for process {pid}")


def _raise_file_limit(wanted: int) -> None:
    """Room for ``wanted`` sockets here and in the servers started from here."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


async def _wait_http(url: str, seconds: float, process: subprocess.Popen[bytes], what: str) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise Os1Error(f"{what} stopped at start (exit {process.returncode}).")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code < 500:
                    return
            await asyncio.sleep(0.3)
    raise Os1Error(f"{what} did not start within {seconds:.0f} s.")


@contextlib.contextmanager
def _process(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def model_server_command(settings: Settings, model: str, port: int) -> list[str]:
    """llama.cpp's OpenAI-compatible server (llama-cpp-python) over an embedded model."""
    from os1.assets import MODELS, ensure_model

    try:
        import llama_cpp.server.app  # noqa: F401 - only to say clearly what is missing
    except ImportError as exc:
        raise ConfigError("os1 bench load starts llama.cpp's server: pip install 'os1[serve-model]' "
                          "(or give --model-server URL).") from exc
    if model not in LOCAL_MODELS:
        raise ConfigError(f"--model must be one of {', '.join(LOCAL_MODELS)}.")
    path = ensure_model(MODELS[model], settings.cache_dir)
    threads = str(settings.llm.threads or max(1, (os.cpu_count() or 2)))
    # One request at a time, never cutting one off for the next: os1's gate orders them fairly.
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(path), "--host", "127.0.0.1",
            "--port", str(port), "--n_ctx", str(settings.llm.context_length), "--n_threads", threads,
            "--interrupt_requests", "False"]


async def run_load_bench(settings: Settings, *, users: int, duration: float, idle: int = 1000,
                         model: str = "qwen2.5-0.5b", model_server: str | None = None,
                         database_url: str | None = None, seed: int = 19,
                         progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """``database_url``: keep the simulated people's memory in that PostgreSQL
    database (which should be empty: they are added to it) instead of SQLite."""
    if users < 1 or duration <= 0 or idle < 0:
        raise ConfigError("--users must be 1 or more, --duration above 0 and --idle 0 or more.")
    say = progress or (lambda line: None)
    _raise_file_limit(idle + 4 * users + 256)
    home = Path(tempfile.mkdtemp(prefix="os1-load-"))
    env = {**os.environ, "OS1_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    for name in ("OS1_CONFIG", "OS1_LLM", "OS1_TOKEN", "OS1_USER"):
        env.pop(name, None)
    try:
        with contextlib.ExitStack() as stack:
            own_server = model_server is None
            if model_server is None:
                port = _free_port()
                say(f"starting llama.cpp's server with {model}")
                server = stack.enter_context(_process(model_server_command(settings, model, port), env,
                                                      home / "model-server.log"))
                model_server = f"http://127.0.0.1:{port}/v1"
                await _wait_http(f"{model_server}/models", 300, server, "The model server")
            people = _make_people(home, users, model_server, database_url)
            os1_port = _free_port()
            serve = stack.enter_context(_process(
                [sys.executable, "-m", "os1.cli.main", "serve", "--port", str(os1_port), "--no-voice"],
                env, home / "serve.log"))
            base = f"http://127.0.0.1:{os1_port}"
            await _wait_http(f"{base}/login", 120, serve, "os1 serve")
            say(f"{users} people talking for {duration:.0f} s")
            report = await _talk(base, people, duration, random.Random(seed))
            report["server_rss_mb"] = round(_rss_kb(serve.pid) / 1024, 1)
            if idle:
                say(f"holding {idle} idle page connections")
                report.update(await _idle(base, people, idle, serve.pid))
            report.update(users=users, duration_s=duration, storage="postgresql" if database_url else "sqlite",
                          model=f"{model} on llama.cpp's server" if own_server else model_server)
            return report
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _make_people(home: Path, users: int, model_server: str, database_url: str | None) -> dict[str, str]:
    from os1.accounts import Accounts, accounts_path

    (home / "config.toml").write_text(
        "[llm]\n"
        f'model = "{model_server}"\n'
        'server_model = "os1-load"\n'
        "concurrency = 1\n"  # llama-cpp-python's server writes one reply at a time
        "queue_seconds = 900.0\n"
        "timeout = 300.0\n"
        + (f'\n[storage]\nurl = "{database_url}"\n' if database_url else ""), encoding="utf-8")
    accounts = Accounts(database_url or accounts_path(home))
    people = {}
    try:
        for i in range(users):
            name, password = f"person{i + 1:03d}", secrets.token_urlsafe(12)
            accounts.add(name, password)
            people[name] = password
    finally:
        accounts.close()
    return people


async def _login(base: str, name: str, password: str) -> str:
    """A page's cookie header after logging in as ``name``."""
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        response = await client.post("/login", json={"name": name, "password": password})
        if response.status_code != 200:
            raise Os1Error(f"{name} could not log in: HTTP {response.status_code} {response.text[:120]}")
        return "; ".join(f"{k}={v}" for k, v in response.cookies.items())


async def _open_page(base: str, cookie: str) -> Any:
    import websockets

    ws = await websockets.connect(base.replace("http://", "ws://") + "/ws", max_size=None,
                                  additional_headers={"Cookie": cookie, "Origin": base})
    await ws.send(json.dumps({"type": "session.start", "protocol": 2}))
    while (json.loads(await ws.recv())).get("type") != "history":
        pass
    return ws


async def _talk(base: str, people: dict[str, str], duration: float, rng: random.Random) -> dict[str, Any]:
    tally = Tally()
    cookies = {name: await _login(base, name, password) for name, password in people.items()}
    started = time.monotonic()
    deadline = started + duration

    async def person(name: str, first: int, pause: random.Random) -> None:
        try:
            ws = await _open_page(base, cookies[name])
        except Exception as exc:  # noqa: BLE001 - any failure to connect is an error to report
            tally.errors.append(f"{name}: could not connect ({exc})")
            return
        try:
            turn = first
            while time.monotonic() < deadline:
                text = LINES[turn % len(LINES)]
                turn += 1
                sent = time.monotonic()
                await ws.send(json.dumps({"type": "message", "text": text}))
                outcome = await asyncio.wait_for(_reply(ws), TURN_TIMEOUT)
                if outcome is not None:
                    tally.errors.append(f"{name}: {outcome}")
                    continue
                tally.turns += 1
                tally.latencies.append(time.monotonic() - sent)
                await asyncio.sleep(pause.uniform(*THINK))
        except Exception as exc:  # noqa: BLE001 - a dropped socket or a timeout is an error to report
            tally.errors.append(f"{name}: {type(exc).__name__} {exc}")
        finally:
            await ws.close()

    await asyncio.gather(*(person(name, rng.randrange(len(LINES)), random.Random(rng.random()))
                           for name in people))
    status = await _status(base, cookies[next(iter(people))])
    queue = status.get("queue") or {}
    lat = sorted(tally.latencies)
    return {"turns": tally.turns, "errors": len(tally.errors), "error_samples": tally.errors[:5],
            "wall_s": round(time.monotonic() - started, 1),
            "latency_ms": {"p50": _at(lat, 0.5), "p95": _at(lat, 0.95)},
            "queue_wait_ms": {"p50": queue.get("wait_ms_p50"), "p95": queue.get("wait_ms_p95")},
            "busy_refusals": queue.get("refused", 0)}


async def _reply(ws: Any) -> str | None:
    """Wait for this turn's reply in the thread: None, or what went wrong."""
    while True:
        event = json.loads(await ws.recv())
        kind = event.get("type")
        if kind == "error":
            return f"{event.get('code')}: {event.get('message')}"
        if kind == "thread.message" and event.get("role") == "assistant":
            return None


async def _status(base: str, cookie: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=base, timeout=60, headers={"Cookie": cookie}) as client:
        response = await client.get("/api/status")
        return response.json() if response.status_code == 200 else {}


async def _idle(base: str, people: dict[str, str], count: int, pid: int) -> dict[str, Any]:
    cookies = [await _login(base, name, password) for name, password in people.items()]
    # What the first pages cost once (code paths warming, the allocator's arenas) is
    # not what each idle page costs: a few come and go before the baseline.
    warm = [await _open_page(base, cookies[i % len(cookies)]) for i in range(WARM_PAGES)]
    await asyncio.gather(*(ws.close() for ws in warm), return_exceptions=True)
    await asyncio.sleep(2)
    before = _rss_kb(pid)
    sockets: list[Any] = []
    try:
        for i in range(count):
            sockets.append(await _open_page(base, cookies[i % len(cookies)]))
        await asyncio.sleep(5)  # held, idle
        after = _rss_kb(pid)
        alive = 0
        for ws in sockets:  # each still answers
            await ws.send(json.dumps({"type": "ping"}))
        for ws in sockets:
            with contextlib.suppress(Exception):
                while json.loads(await asyncio.wait_for(ws.recv(), 30)).get("type") != "pong":
                    pass
                alive += 1
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    per = (after - before) / max(count, 1)
    return {"idle_connections": alive, "rss_kb_per_idle_connection": round(per, 1),
            "rss_mb_per_idle_connection": round(per / 1024, 4), "server_rss_mb_idle": round(after / 1024, 1)}


def _at(values: list[float], q: float) -> float | None:
    return round(1000 * values[min(len(values) - 1, int(q * len(values)))]) if values else None


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    lat, wait = report["latency_ms"], report["queue_wait_ms"]
    print(f"{report['users']} people for {report['duration_s']:.0f} s on {report['model']}, "
          f"memory in {report['storage']}: "
          f"{report['turns']} turns, {report['errors']} errors; turn p50 {lat['p50']} ms, p95 {lat['p95']} ms; "
          f"queue wait p50 {wait['p50']} ms, p95 {wait['p95']} ms; server RSS {report['server_rss_mb']} MB")
    for sample in report["error_samples"]:
        print(f"  error: {sample}")
    if "idle_connections" in report:
        print(f"{report['idle_connections']} idle page connections held: "
              f"{report['rss_kb_per_idle_connection']} kB of server RSS each "
              f"(server at {report['server_rss_mb_idle']} MB)")

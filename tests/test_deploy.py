"""docs/deploy.md as an operator follows it: its config.toml (the model server
pointed at a real OpenAI-compatible test server), `os1 user add` and
`os1 user token`, then `os1 serve` as a process: a person logs in on the page,
talks over the page's WebSocket, and their API client talks with its token."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from openai_server import OpenAIServer

DEPLOY = Path(__file__).parent.parent / "docs" / "deploy.md"


def config_from_docs(model_url: str) -> str:
    """The guide's config.toml, with its inference server's address replaced by the test server's."""
    block = re.search(r"`\$OS1_HOME/config.toml`:\n\n```toml\n(.*?)```", DEPLOY.read_text(), re.S)
    assert block, "docs/deploy.md has no config.toml example"
    text, n = re.subn(r'^model = "[^"]+"', f'model = "{model_url}"', block.group(1), flags=re.M)
    assert n == 1
    return text


def os1(*args: str, home: Path, stdin: str = "") -> str:
    env = {**os.environ, "OS1_HOME": str(home)}
    done = subprocess.run([sys.executable, "-m", "os1.cli.main", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def served(tmp_path):
    home = tmp_path / "os1"
    home.mkdir()
    with OpenAIServer() as model:
        (home / "config.toml").write_text(config_from_docs(model.url))
        os1("user", "add", "ana", "--password-stdin", home=home, stdin="ana's password\n")
        token = os1("user", "token", "ana", "--label", "phone", home=home).strip()
        process, url = start_serve({**os.environ, "OS1_HOME": str(home)}, "--host", "127.0.0.1")
        try:
            yield url, token
        finally:
            process.terminate()
            process.wait(30)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(env: dict[str, str], *flags: str) -> tuple[subprocess.Popen, str]:
    """`os1 serve` as its own process (no voice), once it answers: the process and its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "os1.cli.main", "serve", *flags, "--port", str(port),
                                "--no-voice"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while True:
        assert process.poll() is None and time.time() < deadline, "os1 serve did not start"
        try:
            if httpx.get(f"{url}/login").status_code in (200, 303):  # 303: one person, no login
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)


def test_the_deployment_guide_config_serves_a_person_on_the_page_and_through_their_token(served):
    url, token = served
    assert token.startswith("os1_")
    with httpx.Client(base_url=url) as page:
        assert page.get("/", follow_redirects=False).headers["location"] == "/login"
        assert page.post("/login", json={"name": "ana", "password": "ana's password"}).status_code == 200
        status = page.get("/api/status").json()
        assert status["user"] == "ana" and status["queue"]["slots"] == 4  # the guide's concurrency
        cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
        with connect(url.replace("http", "ws") + "/ws", additional_headers={"Cookie": cookie, "Origin": url}) as ws:
            ws.send(json.dumps({"type": "session.start", "protocol": 2}))
            ws.send(json.dumps({"type": "message", "text": "Hello from the page"}))
            while (event := json.loads(ws.recv(timeout=60)))["type"] != "thread.message" or \
                    event["role"] != "assistant":
                pass
            assert "Hello from the page" in event["text"]
    api = httpx.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {token}"}, timeout=60,
                     json={"model": "os1", "messages": [{"role": "user", "content": "And from my phone"}]})
    assert api.status_code == 200 and "And from my phone" in api.json()["choices"][0]["message"]["content"]
    assert httpx.get(f"{url}/api/history", headers={"Authorization": "Bearer os1_forged"}).status_code == 401

"""Two `os1 serve` workers on one PostgreSQL serve the same person, each with
a data directory of its own (as on two hosts): she talks through one, then the
other, then the first again, and each worker's reply is written knowing
everything she said through both (a real model server's requests show what
each prompt held); a reminder asked for through one is on the other's
schedule; her account, her login and the settings she saves through one are
the other's too."""

from __future__ import annotations

import os
import time
from contextlib import ExitStack

import httpx
import psycopg

from openai_server import OpenAIServer
from test_deploy import os1, start_serve


def say(client: httpx.Client, url: str, token: str, text: str) -> str:
    response = client.post(f"{url}/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                           json={"model": "os1", "messages": [{"role": "user", "content": text}]}, timeout=60)
    assert response.status_code == 200, response.text
    return response.json()["choices"][0]["message"]["content"]


def prompt_of(server: OpenAIServer, text: str) -> list[str]:
    """The words of every message in the (last) reply prompt whose last message holds ``text``."""
    bodies = [b for b in server.requests if not b.get("response_format")
              and text in b["messages"][-1]["content"]]
    assert bodies, f"no prompt with {text!r}: {[b['messages'][-1]['content'] for b in server.requests]}"
    return [m["content"] for m in bodies[-1]["messages"]]


def test_a_person_moved_between_two_workers_mid_conversation_is_served_as_one(tmp_path, pg_url):
    homes = [tmp_path / "one", tmp_path / "two"]  # nothing shared but the database
    with OpenAIServer() as model, ExitStack() as stack:
        for home in homes:
            home.mkdir()
            (home / "config.toml").write_text(f'[llm]\nmodel = "{model.url}"\n\n[storage]\nurl = "{pg_url}"\n')
        os1("user", "add", "ana", "--password-stdin", home=homes[0], stdin="ana's password\n")
        token = os1("user", "token", "ana", home=homes[1]).strip()
        assert "ana" in os1("user", "list", home=homes[1])
        workers = []
        for home in homes:
            process, url = start_serve({**os.environ, "OS1_HOME": str(home)})
            stack.callback(lambda p=process: (p.terminate(), p.wait(30)))
            workers.append(url)
        one, two = workers
        with httpx.Client() as client:
            say(client, one, token, "My cat is called Miso.")
            say(client, two, token, "She is fourteen this spring.")
            assert "My cat is called Miso." in prompt_of(model, "She is fourteen this spring.")
            say(client, one, token, "What did I tell you about her?")
            held = prompt_of(model, "What did I tell you about her?")
            assert "My cat is called Miso." in held and "She is fourteen this spring." in held
            # Each worker shows the whole thread, whichever wrote it.
            for url in workers:
                history = client.get(f"{url}/api/history", headers={"Authorization": f"Bearer {token}"}).json()
                said = [m["text"] for m in history["messages"] if m["role"] == "user"]
                assert said == ["My cat is called Miso.", "She is fourteen this spring.",
                                "What did I tell you about her?"]
            # One schedule: a reminder asked for through one worker is the other's too.
            say(client, one, token, "Remind me to take Miso to the vet at 5pm tomorrow.")
            for url in workers:
                listed = client.get(f"{url}/api/reminders", headers={"Authorization": f"Bearer {token}"}).json()
                assert [r["text"] for r in listed["reminders"]] == ["take Miso to the vet"]
            with psycopg.connect(pg_url) as conn:  # kept in PostgreSQL, not in a worker's files
                assert conn.execute("SELECT user_id, text FROM reach_items").fetchall() == [
                    ("ana", "take Miso to the vet")]
        with httpx.Client(base_url=one) as page:  # her page's login is good on either worker
            assert page.post("/login", json={"name": "ana", "password": "ana's password"}).status_code == 200
            cookies, csrf = dict(page.cookies), page.cookies["os1_csrf"]
            saved = page.put("/api/settings", json={"name": "Samantha", "timezone": "Asia/Tokyo"},
                             headers={"X-CSRF-Token": csrf, "Origin": one})
            assert saved.status_code == 200, saved.text
        with httpx.Client(base_url=two, cookies=cookies) as page:
            deadline = time.monotonic() + 10  # a worker asks for newer settings every 2 s
            while (shown := page.get("/api/settings").json())["name"] != "Samantha":
                assert time.monotonic() < deadline, shown
                time.sleep(0.3)
            assert shown["timezone"] == "Asia/Tokyo"
        for home in homes:
            assert not (home / "accounts.sqlite3").exists() and not (home / "people").exists()

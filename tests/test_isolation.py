"""Isolation probes: people on one os1 serve never reach each other's data.

A real server (uvicorn on loopback) with accounts, real stores (memory on
SQLite, and on PostgreSQL with row-level security), a fake model.
Each person's data is written with secret codes: their conversation (through
the OpenAI-compatible API), facts, reminders, reach-outs, a pending action and
mail. Then several people at once, concurrently, send randomized probes through
every path (page API, WebSocket, OpenAI API, memory search and recall,
export, reminders, reach-outs, actions, mail): other people's ids, crafted
headers, cookies and paths, forged tokens, another's session with their own
CSRF token. A leak is any of another person's codes in a response, a WebSocket
frame, or a prompt the model was given for someone else; and afterwards every
person's data must be exactly as it was written.

The owners' own requests are probed too (control): each sees their codes
through the same paths, so a server that answered nothing would fail.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets

from os1.accounts import Accounts, accounts_where
from os1.config import load_settings, person_settings
from os1.mail.parse import parse
from os1.mail.store import Account, MailStore
from os1.runtime import mail_where
from os1.web.app import create_app
from os1.web.engines import Engines
from os1.web.hubs import Hubs

from fakes import FakeLLM
from test_web_consent import serving

PEOPLE = ("alice", "bob", "carol")
#: Probes per run (the issue asks for at least 10,000); OS1_PROBES overrides for a quick look.
PROBES = int(os.environ.get("OS1_PROBES", "10000"))
WORKERS = 12


@dataclass
class Person:
    name: str
    password: str
    token: str = ""
    session: str = ""
    csrf: str = ""
    codes: set[str] = field(default_factory=set)
    refs: list[str] = field(default_factory=list)  # memory refs (m, f, s, …)
    reminders: list[int] = field(default_factory=list)
    reach_log: list[int] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    mails: list[int] = field(default_factory=list)

    def code(self) -> str:
        code = f"zq{secrets.token_hex(5)}"
        self.codes.add(code)
        return code


def mail_bytes(person: Person, n: int) -> bytes:
    code = person.code()
    return (f"From: Lighthouse Keeper <keeper@example.com>\r\nTo: {person.name}@example.org\r\n"
            f"Subject: The lighthouse key {code}\r\nDate: Thu, 09 Apr 2026 08:0{n}:00 +0000\r\n"
            f"Message-ID: <{code}@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"The lighthouse key is under the mat, code {code}.\r\n").encode()


@pytest.fixture
def world(tmp_path, backend, request):
    """Three people with accounts, logins, tokens and mail, and the server's settings
    (their memory in SQLite, or in PostgreSQL with row-level security)."""
    env = {"HOME": str(tmp_path)}
    if backend == "postgres":
        env["OS1_DATABASE_URL"] = request.getfixturevalue("pg_url")
    settings = load_settings({"home": str(tmp_path / "home")}, env=env)
    accounts = Accounts(accounts_where(settings))  # in the database with one
    people = {}
    for name in PEOPLE:
        person = Person(name, f"{name}-password-{secrets.token_hex(4)}")
        accounts.add(name, person.password)
        person.token = accounts.new_token(name, "probes")
        mail = MailStore(mail_where(person_settings(settings, name)), name, embedder=None)
        account = mail.add_account(Account(0, "home", f"{name}@example.org", name, "127.0.0.1", 9, "ssl",
                                           "127.0.0.1", 9, "ssl", "OS1_NO_SUCH_PASSWORD"))
        mail.reset_folder(account, "INBOX", 1, "inbox")
        mail.add_mails(account, "INBOX", [(uid, parse(mail_bytes(person, uid)), None, False)
                                          for uid in range(1, 4)], 3)
        person.mails = [m.id for m in mail.mails(folder="INBOX")]
        mail.close()
        people[name] = person
    accounts.close()
    return settings, people


def with_cookies(headers: dict[str, str], cookies: dict[str, str]) -> dict[str, str]:
    if cookies:
        headers = {**headers, "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    return headers


class Probes:
    def __init__(self, url: str, people: dict[str, Person], rng: random.Random):
        self.url = url
        self.ws_url = url.replace("http://", "ws://") + "ws"
        self.people = people
        self.rng = rng
        self.leaks: list[str] = []
        self.sent = 0
        self.statuses: dict[int, int] = {}
        self.controls = 0

    def others(self, me: Person) -> set[str]:
        return {c for p in self.people.values() if p is not me for c in p.codes}

    def check(self, me: Person | None, what: str, text: str) -> None:
        foreign = self.others(me) if me is not None else {c for p in self.people.values() for c in p.codes}
        found = [c for c in foreign if c in text]
        if found:
            self.leaks.append(f"{me.name if me else 'anonymous'} saw {found[:3]} via {what}")

    # -- one probe ---------------------------------------------------------------------------------

    async def probe(self, client: httpx.AsyncClient, me: Person) -> None:
        rng = self.rng
        victim = rng.choice([p for p in self.people.values() if p is not me])
        kind = rng.random()
        self.sent += 1
        if kind < 0.03:
            return await self.socket(me, victim)
        if kind < 0.06:
            return await self.chat(client, me)
        if kind < 0.14:
            return await self.stranger(client, victim)
        method, path, body = self.request(me, victim)
        headers, cookies = self.credentials(me, victim)
        response = await client.request(method, path, json=body, headers=with_cookies(headers, cookies))
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        self.check(me, f"{method} {path} {headers}", response.text)
        if response.status_code >= 500:
            self.leaks.append(f"{method} {path}: server error {response.status_code}")

    def request(self, me: Person, victim: Person) -> tuple[str, str, Any]:
        rng = self.rng
        ref = rng.choice(victim.refs)
        reminder = rng.choice(victim.reminders)
        entry = rng.choice(victim.reach_log)
        mail = rng.choice(victim.mails)
        word = rng.choice(["lighthouse", "key", "mat", rng.choice(sorted(victim.codes))])
        crafted = rng.choice([ref, ref.upper(), f"{ref}%00", f"{ref}'--", f"{ref[0]}0{ref[1:]}",
                              f"../{ref}", f"{ref} OR 1=1"])
        return rng.choice([
            ("GET", "/api/history", None),
            ("GET", f"/api/history?user={victim.name}", None),
            ("GET", f"/api/memory?q={word}", None),
            ("GET", f"/api/memory?q={word}&user={victim.name}", None),
            ("GET", "/api/memory/export", None),
            ("DELETE", f"/api/memory/{ref}", None),
            ("DELETE", f"/api/memory/{crafted}", None),
            ("PATCH", f"/api/memory/{ref}", {"text": "overwritten by a stranger"}),
            ("GET", "/api/actions?limit=500", None),
            ("GET", "/api/reminders", None),
            ("PATCH", f"/api/reminders/{reminder}", {"text": "stranger's words", "when": "tomorrow at 9am"}),
            ("DELETE", f"/api/reminders/{reminder}", None),
            ("GET", "/api/reach-outs?limit=500", None),
            ("POST", f"/api/reach-outs/{entry}/dismiss", None),
            ("GET", "/api/mail?limit=500", None),
            ("GET", f"/api/mail/{mail}", None),
            ("GET", f"/api/mail/{rng.randint(1, 40)}", None),
            ("GET", "/api/settings", None),
            ("GET", "/api/status", None),
            ("GET", "/v1/models", None),
        ])

    def credentials(self, me: Person, victim: Person) -> tuple[dict[str, str], dict[str, str]]:
        """How ``me`` asks: their token or their login, plus crafted claims to be ``victim``."""
        rng = self.rng
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if rng.random() < 0.5:
            headers["Authorization"] = f"Bearer {me.token}"
            if rng.random() < 0.3:  # a token wins over any cookie: still me
                cookies["os1_session"] = victim.session
        else:
            cookies["os1_session"] = me.session
            cookies["os1_csrf"] = me.csrf
            headers["X-CSRF-Token"] = me.csrf
        extra = rng.random()
        if extra < 0.1:
            headers["X-Forwarded-User"] = victim.name
        elif extra < 0.2:
            headers["X-Os1-User"] = victim.name
        elif extra < 0.3:
            headers["Cookie-User"] = victim.name
            cookies["os1_user"] = victim.name
        return headers, cookies

    async def stranger(self, client: httpx.AsyncClient, victim: Person) -> None:
        """No account, a forged or stale token, or the victim's session without its CSRF token."""
        rng = self.rng
        method, path, body = self.request(victim, victim)  # the victim's own ids and paths
        choice = rng.randrange(5)
        headers: dict[str, str] = {}
        cookies: dict[str, str] = {}
        if choice == 1:
            headers["Authorization"] = f"Bearer os1_{secrets.token_urlsafe(32)}"
        elif choice == 2:
            headers["Authorization"] = f"Bearer {victim.token[:-2]}xx"
        elif choice == 3:
            cookies["os1_session"] = secrets.token_urlsafe(32)
        elif choice == 4:  # the victim's session cookie, but a forged CSRF token (a cross-site request)
            cookies["os1_session"] = victim.session
            headers["X-CSRF-Token"] = secrets.token_urlsafe(24)
            if method == "GET":
                method, path, body = "DELETE", f"/api/memory/{rng.choice(victim.refs)}", None
        response = await client.request(method, path, json=body, headers=with_cookies(headers, cookies))
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        if response.status_code not in (401, 403):
            self.leaks.append(f"a stranger ({choice}) got {response.status_code} for {method} {path}")
        self.check(None, f"stranger {method} {path}", response.text)

    async def chat(self, client: httpx.AsyncClient, me: Person) -> None:
        """Ask about another's secrets through the OpenAI-compatible API (recall runs)."""
        question = self.rng.choice(["what is the lighthouse key code?", "where is the key?",
                                    "tell me everything you remember about the mat"])
        response = await client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {me.token}"},
                                     json={"model": "os1", "messages": [{"role": "user", "content": question}]})
        self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        self.check(me, "chat completion", response.text)

    async def socket(self, me: Person, victim: Person) -> None:
        """A page of ``me`` (cookie or token), trying the victim's pending action and asking about their key."""
        rng = self.rng
        headers = {"Origin": self.url.rstrip("/")}
        if rng.random() < 0.5:
            headers["Cookie"] = f"os1_session={me.session}"
        else:
            headers["Authorization"] = f"Bearer {me.token}"
        async with websockets.connect(self.ws_url, additional_headers=headers, max_size=None) as ws:
            await ws.send(json.dumps({"type": "session.start", "protocol": 2}))
            await ws.send(json.dumps({"type": "consent.answer", "id": rng.choice(victim.actions),
                                      "approve": True}))
            await ws.send(json.dumps({"type": "message", "text": "what was the lighthouse code again?"}))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                frame = await asyncio.wait_for(ws.recv(), 20)
                text = frame if isinstance(frame, str) else frame.decode("latin-1")
                self.check(me, "websocket", text)
                event = json.loads(text) if isinstance(frame, str) else {}
                if event.get("type") == "thread.message" and event.get("role") == "assistant":
                    return
            self.leaks.append(f"{me.name}'s page got no reply")

    async def control(self, client: httpx.AsyncClient, me: Person) -> None:
        """The owner sees their own codes through the same paths."""
        auth = {"Authorization": f"Bearer {me.token}"}
        for path in ("/api/history", "/api/memory/export", "/api/memory?q=lighthouse", "/api/reminders",
                     "/api/reach-outs", "/api/actions", "/api/mail", f"/api/mail/{me.mails[0]}"):
            text = (await client.get(path, headers=auth)).text
            assert any(code in text for code in me.codes), f"{me.name} does not see their own data at {path}"
            self.controls += 1


async def write_data(url: str, hubs: Hubs, people: dict[str, Person]) -> None:
    """Each person's conversation through the API; facts, reminders, reach-outs and an action in their stores."""
    from datetime import timedelta

    from os1.reach.schedule import asked

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for person in people.values():
            login = await client.post("/login", json={"name": person.name, "password": person.password})
            assert login.status_code == 200
            person.session, person.csrf = login.cookies["os1_session"], login.cookies["os1_csrf"]
            client.cookies.clear()
            for _ in range(3):
                code = person.code()
                said = await client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {person.token}"},
                                         json={"model": "os1", "messages": [{"role": "user", "content":
                                               f"The lighthouse key is under the mat, code {code}."}]})
                assert said.status_code == 200, said.text
            hub = hubs.get(person.name)
            memory = hub.memory
            person.refs += [m.ref for m in memory.messages(limit=100)]
            for _ in range(3):
                fact = memory.add_fact(f"Their lighthouse key code is {person.code()}", kind="fact",
                                       source_message_id=None)
                assert fact is not None
                person.refs.append(f"f{fact}")
            reach = hub.reach
            assert reach is not None
            for day in (1, 2):
                request = asked(f"remind me to check the lighthouse {person.code()} tomorrow at 9am",
                                reach.now() + timedelta(days=day - 1))
                person.reminders.append(reach.remind(request, source="probe")[0].id)  # type: ignore[arg-type]
            person.reach_log.append(reach.store.log([person.reminders[0]], "sent", "due",
                                                    at=time.time(), text=f"The lighthouse {person.code()}"))
            action = memory.add_action("save_note", {"text": person.code()}, f"Save a note {person.code()}",
                                       [], expires_at=time.time() + 3600)
            person.actions.append(action.id)


def snapshot(hubs: Hubs, person: Person) -> Any:
    hub = hubs.get(person.name)
    reach = hub.reach
    assert reach is not None and hub.mail is not None
    return (sorted((m.id, m.content) for m in hub.memory.messages(limit=10_000) if m.id in
                   {int(r[1:]) for r in person.refs if r.startswith("m")}),
            sorted((f.id, f.text) for f in hub.memory.facts(include_history=True)),
            sorted((i.id, i.text, i.due_at, i.status) for i in reach.store.items()),
            sorted((e.id, e.dismissed) for e in reach.store.entries(limit=None)),
            sorted((a.id, a.status) for a in hub.memory.actions(limit=None)),
            sorted((m.id, m.subject) for m in hub.mail.mails(folder="INBOX")))


def test_ten_thousand_randomized_probes_leak_nothing_between_people(world):
    settings, people = world
    prompts: list[list[str]] = []
    llm = FakeLLM(on_call=lambda messages: prompts.append([m.content for m in messages]))
    hubs = Hubs(settings, accounts=Accounts(accounts_where(settings)),
                engines=Engines(settings, llm=llm), mail_sync_every=None, reach_every=None)
    rng = random.Random(int(os.environ.get("OS1_PROBE_SEED", "1917")))
    with serving(create_app(hubs, preload_voice=False)) as url:
        asyncio.run(_run(url, hubs, people, rng, prompts))


async def _run(url: str, hubs: Hubs, people: dict[str, Person], rng: random.Random,
               prompts: list[list[str]]) -> None:
    await write_data(url, hubs, people)
    from os1.memory.postgres import PostgresMemory

    on_postgres = isinstance(hubs.get(PEOPLE[0]).memory, PostgresMemory)
    assert on_postgres == bool(hubs.settings.storage.url)
    before = {name: snapshot(hubs, person) for name, person in people.items()}
    probes = Probes(url, people, rng)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        for person in people.values():
            await probes.control(client, person)
        queue = list(range(PROBES))

        async def worker(me: Person) -> None:
            async with httpx.AsyncClient(base_url=url, timeout=60) as own:
                while queue:
                    queue.pop()
                    await probes.probe(own, me)

        await asyncio.gather(*(worker(people[PEOPLE[i % len(PEOPLE)]]) for i in range(WORKERS)))
        for person in people.values():
            await probes.control(client, person)
    # The model never saw one person's data in another's prompt.
    owners = {code: p.name for p in people.values() for code in p.codes}
    for prompt in prompts:
        whose = {owners[c] for c in owners if any(c in part for part in prompt)}
        if len(whose) > 1:
            probes.leaks.append(f"one prompt held the data of {sorted(whose)}")
    after = {name: snapshot(hubs, person) for name, person in people.items()}
    print(f"\n{'PostgreSQL' if on_postgres else 'SQLite'}: {probes.sent} probes in {time.monotonic() - started:.0f} s over {WORKERS} concurrent clients; "
          f"statuses {dict(sorted(probes.statuses.items()))}; {probes.controls} owner checks; "
          f"{len(prompts)} prompts; {len(probes.leaks)} leaks")
    assert probes.sent >= PROBES
    assert probes.leaks == []
    assert after == before, "someone changed another person's data"
    assert probes.statuses.get(200, 0) > PROBES // 2  # the probes were answered, not all refused

"""Accounts: argon2 passwords, logins with CSRF tokens, API tokens, lockout
(in a SQLite file and in PostgreSQL); ``os1 user``; and os1 serve with
accounts (login page, cookies, CSRF, each person reaching only their own
companion, their own settings). Real databases, real hubs, a fake model."""

from __future__ import annotations

import sqlite3

import pytest
from starlette.testclient import TestClient

from os1.accounts import MAX_FAILURES, Accounts, accounts_path, open_accounts
from os1.cli.main import main
from os1.config import load_settings
from os1.errors import ConfigError
from os1.web.app import create_app
from os1.web.engines import Engines
from os1.web.hubs import Hubs

from fakes import FakeLLM

BASE = "http://127.0.0.1:8765"


@pytest.fixture
def settings(tmp_path):
    return load_settings({"home": str(tmp_path / "home")}, env={"HOME": str(tmp_path)})


@pytest.fixture
def where(settings, backend, request):
    """The accounts' place on this test's backend: the file, or a PostgreSQL database."""
    return accounts_path(settings.home) if backend == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def accounts(where):
    accounts = Accounts(where)
    accounts.add("alice", "alice-password")
    accounts.add("bob", "bob-password")
    yield accounts
    accounts.close()


def stored(where, sql: str) -> list[tuple]:
    """Rows as the database holds them, read past os1."""
    if isinstance(where, str):
        import psycopg

        with psycopg.connect(where) as conn:
            return conn.execute(sql).fetchall()
    return sqlite3.connect(where).execute(sql).fetchall()


# -- the accounts ---------------------------------------------------------------------------------------


def test_a_password_is_kept_only_as_an_argon2_hash(where, accounts):
    assert accounts.verify("alice", "alice-password")
    assert not accounts.verify("alice", "bob-password") and not accounts.verify("nobody", "alice-password")
    raw = stored(where, "SELECT password FROM people")
    assert len(raw) == 2 and all(row[0].startswith("$argon2id$") for row in raw)
    assert "alice-password" not in str(stored(where, "SELECT * FROM people"))


def test_names_and_passwords_are_checked(accounts):
    for bad in ("", "Alice", "a/b", "../x", "x" * 40, " bob"):
        with pytest.raises(ConfigError):
            accounts.add(bad, "long enough password")
    with pytest.raises(ConfigError, match="already"):
        accounts.add("alice", "another password")
    with pytest.raises(ConfigError, match="8 characters"):
        accounts.add("carol", "short")


def test_a_login_is_found_by_its_session_and_ends_at_logout_or_a_new_password(accounts):
    session, login = accounts.login("alice")
    assert accounts.session(session) == login and login.name == "alice" and login.csrf
    assert accounts.session(session + "x") is None and accounts.session("") is None
    accounts.logout(session)
    assert accounts.session(session) is None
    again, _ = accounts.login("alice")
    accounts.reset_password("alice", "a new password")
    assert accounts.session(again) is None
    assert accounts.verify("alice", "a new password") and not accounts.verify("alice", "alice-password")


def test_a_login_expires_after_thirty_days_unused(accounts):
    session, _ = accounts.login("alice", now=1000.0)
    assert accounts.session(session, now=1000.0 + 29 * 86400) is not None
    assert accounts.session(session, now=1000.0 + 29 * 86400 + 31 * 86400) is None


def test_an_api_token_names_its_owner_until_revoked(accounts):
    token = accounts.new_token("bob", "phone")
    assert token.startswith("os1_") and accounts.token_owner(token) == "bob"
    assert accounts.token_owner(token[:-1]) is None and accounts.token_owner("alice") is None
    assert accounts.revoke_tokens("bob") == 1 and accounts.token_owner(token) is None


def test_too_many_failed_logins_lock_the_name_and_the_address_for_a_while(accounts):
    for _ in range(MAX_FAILURES):
        assert accounts.allowed("name:alice", "address:1.2.3.4", now=100.0)
        accounts.verify("alice", "wrong password", address="1.2.3.4", now=100.0)
    assert not accounts.allowed("name:alice", now=101.0)
    assert not accounts.allowed("address:1.2.3.4", now=101.0)
    assert accounts.allowed("name:bob", "address:5.6.7.8", now=101.0)
    assert accounts.allowed("name:alice", now=100.0 + 16 * 60)


def test_failed_logins_count_across_workers_sharing_the_accounts(where, accounts, tmp_path):
    other = Accounts(where)  # another os1 serve on the same home, or the same database
    try:
        for n in range(MAX_FAILURES):
            (accounts if n % 2 else other).verify("alice", "wrong password", address="1.2.3.4", now=100.0)
        assert not accounts.allowed("name:alice", now=101.0) and not other.allowed("name:alice", now=101.0)
        other.verify("correct horse battery", "", address="1.2.3.4")  # a password in the name box
        assert "correct horse" not in str(stored(where, "SELECT * FROM failures"))
        files = (tmp_path / "home").glob("accounts.sqlite3*")  # with the write-ahead log
        assert not any(b"correct horse" in f.read_bytes() for f in files)
    finally:
        other.close()


def test_removing_a_person_removes_their_logins_and_tokens(accounts):
    session, _ = accounts.login("bob")
    token = accounts.new_token("bob")
    assert accounts.remove("bob") and not accounts.remove("bob")
    assert accounts.session(session) is None and accounts.token_owner(token) is None
    assert [p.name for p in accounts.people()] == ["alice"]


# -- os1 user ------------------------------------------------------------------------------------------


def test_os1_user_adds_lists_tokens_and_removes_people_with_their_memory(tmp_path, monkeypatch, capsys):
    from os1.memory.sqlite import SQLiteMemory

    home = str(tmp_path / "home")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("pass-word-1\npass-word-2\n"))
    assert main(["user", "add", "ana", "--home", home, "--password-stdin"]) == 0
    assert main(["user", "add", "ben", "--home", home, "--password-stdin"]) == 0
    assert main(["user", "add", "Bad Name", "--home", home, "--password-stdin"]) == 1
    assert main(["user", "token", "ben", "--home", home, "--label", "laptop"]) == 0
    out = capsys.readouterr().out
    token = [line for line in out.splitlines() if line.startswith("os1_")][0]
    assert main(["user", "list", "--home", home]) == 0
    listed = capsys.readouterr().out
    assert "ana" in listed and "ben" in listed and "1 API token" in listed
    settings = load_settings({"home": home}, env={"HOME": str(tmp_path)})
    for name in ("ana", "ben"):
        memory = SQLiteMemory(settings.database, name, embedder=None)
        session = memory.start_session("text")
        memory.add_message(session, "user", f"{name} keeps a secret about the lighthouse")
        memory.add_fact(f"{name} loves lighthouses", kind="preference", source_message_id=None)
        memory.close()
    assert main(["user", "remove", "ben", "--home", home, "--yes"]) == 0
    assert "Removed ben" in capsys.readouterr().out
    accounts = open_accounts(settings)
    assert accounts is not None and accounts.token_owner(token) is None
    assert [p.name for p in accounts.people()] == ["ana"]
    accounts.close()
    ben, ana = SQLiteMemory(settings.database, "ben", embedder=None), SQLiteMemory(settings.database, "ana",
                                                                                   embedder=None)
    assert ben.messages() == [] and ben.facts() == [] and ben.search("lighthouse") == []
    assert len(ana.messages()) == 1 and len(ana.facts()) == 1
    ben.close(), ana.close()
    assert b"ben keeps a secret" not in settings.database.read_bytes()


def test_with_a_database_os1_user_keeps_the_people_there_and_removes_all_of_them(tmp_path, monkeypatch, pg_url):
    import psycopg

    from os1.person_config import OwnSettings

    home = str(tmp_path / "home")
    monkeypatch.setenv("OS1_DATABASE_URL", pg_url)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("pass-word-1\npass-word-2\n"))
    for name in ("ana", "ben"):
        assert main(["user", "add", name, "--home", home, "--password-stdin"]) == 0
    settings = load_settings({"home": home}, env={"HOME": str(tmp_path), "OS1_DATABASE_URL": pg_url})
    OwnSettings(settings, "ben").update({"persona": {"name": "Samantha"}})
    assert not accounts_path(settings.home).exists()
    accounts = open_accounts(settings)
    assert accounts is not None and [p.name for p in accounts.people()] == ["ana", "ben"]
    accounts.close()
    assert main(["user", "remove", "ben", "--home", home, "--yes"]) == 0
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT name FROM people").fetchall() == [("ana",)]
        assert conn.execute("SELECT user_id FROM person_settings").fetchall() == []


def test_a_persons_own_settings_in_the_database_are_theirs_alone(tmp_path, pg_url):
    import psycopg

    from os1.person_config import OwnSettings

    base = load_settings({"home": str(tmp_path / "home")}, env={"HOME": str(tmp_path), "OS1_DATABASE_URL": pg_url})
    ana, ben = OwnSettings(base, "ana"), OwnSettings(base, "ben")
    ana.update({"persona": {"name": "Samantha"}, "reach": {"timezone": "Asia/Tokyo"}})
    ana.update({"voice": {"speed": 1.2}})  # what else she set stays
    mine = ana.settings()
    assert (mine.persona.name, str(mine.reach.zone), mine.voice.speed) == ("Samantha", "Asia/Tokyo", 1.2)
    assert ben.settings().persona.name == base.persona.name
    assert not (base.home / "people").exists()
    with psycopg.connect(pg_url) as conn:  # as a person's transactions run: a statement with no filter
        conn.execute("SET ROLE os1_person")
        conn.execute("SELECT set_config('os1.user', 'ben', false)")
        assert conn.execute("SELECT * FROM person_settings").fetchall() == []
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM people")  # the accounts are the service's, not a person's


# -- os1 serve with accounts ----------------------------------------------------------------------------


@pytest.fixture
def file_accounts(settings):
    """The page's tests: accounts in the file (the database's are tested above and in test_workers.py)."""
    accounts = Accounts(accounts_path(settings.home))
    accounts.add("alice", "alice-password")
    accounts.add("bob", "bob-password")
    yield accounts
    accounts.close()


def app_for(settings, accounts, llm=None):
    hubs = Hubs(settings, accounts=accounts, engines=Engines(settings, llm=llm or FakeLLM()),
                mail_sync_every=None, reach_every=None)
    return create_app(hubs, preload_voice=False), hubs


def log_in(client, name, password):
    response = client.post("/login", json={"name": name, "password": password})
    assert response.status_code == 200, response.text
    return client.cookies["os1_csrf"]


def test_without_a_login_the_page_sends_you_to_the_login_form_and_the_api_refuses(settings, file_accounts):
    app, _ = app_for(settings, file_accounts)
    with TestClient(app, base_url=BASE) as client:
        page = client.get("/", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login"
        form = client.get("/login")
        assert form.status_code == 200 and 'type="password"' in form.text
        for path in ("/api/status", "/api/history", "/api/memory", "/api/memory/export", "/v1/models"):
            assert client.get(path).status_code == 401, path
        with pytest.raises(Exception):
            with client.websocket_connect("ws://127.0.0.1:8765/ws"):
                pass


def test_the_login_form_sets_a_secure_httponly_session_cookie_and_a_readable_csrf_cookie(settings,
                                                                                         file_accounts):
    app, _ = app_for(settings, file_accounts)
    with TestClient(app, base_url="https://os1.example.org") as client:
        wrong = client.post("/login", data={"name": "alice", "password": "nope"}, follow_redirects=False)
        assert wrong.status_code == 303 and wrong.headers["location"] == "/login?failed=1"
        ok = client.post("/login", data={"name": "Alice", "password": "alice-password"}, follow_redirects=False)
        assert ok.status_code == 303 and ok.headers["location"] == "/"
        cookies = ok.headers.get_list("set-cookie")
        session = next(c for c in cookies if c.startswith("os1_session="))
        csrf = next(c for c in cookies if c.startswith("os1_csrf="))
        for flag in ("HttpOnly", "Secure", "SameSite=strict"):
            assert flag.lower() in session.lower()
        assert "httponly" not in csrf.lower() and "secure" in csrf.lower()
        status = client.get("/api/status").json()
        assert status["user"] == "alice" and status["accounts"] is True


def test_a_change_without_the_login_csrf_token_is_refused(settings, file_accounts):
    app, _ = app_for(settings, file_accounts)
    with TestClient(app, base_url=BASE) as client:
        csrf = log_in(client, "alice", "alice-password")
        assert client.put("/api/settings", json={"name": "Sam"}).status_code == 403
        assert client.put("/api/settings", json={"name": "Sam"},
                          headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert client.put("/api/settings", json={"name": "Sam"},
                          headers={"X-CSRF-Token": csrf}).status_code == 200
        foreign = client.put("/api/settings", json={"name": "Eve"},
                             headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
        assert foreign.status_code == 403
        assert client.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert client.get("/api/status").status_code == 401


def test_failed_logins_are_rate_limited(settings, file_accounts):
    app, _ = app_for(settings, file_accounts)
    with TestClient(app, base_url=BASE) as client:
        for _ in range(MAX_FAILURES):
            assert client.post("/login", json={"name": "bob", "password": "guess"}).status_code == 401
        assert client.post("/login", json={"name": "bob", "password": "bob-password"}).status_code == 429


def test_each_person_talks_with_their_own_companion_and_sees_only_their_own_thread(settings, file_accounts):
    app, hubs = app_for(settings, file_accounts, FakeLLM(["Hi Alice!", "Hi Bob!"]))
    with TestClient(app, base_url=BASE) as alice, TestClient(app, base_url=BASE) as bob:
        csrf = log_in(alice, "alice", "alice-password")
        log_in(bob, "bob", "bob-password")
        with alice.websocket_connect("ws://127.0.0.1:8765/ws") as ws:
            ws.send_json({"type": "session.start", "protocol": 2})
            assert ws.receive_json()["user"] == "alice"
            ws.receive_json()  # history
            ws.send_json({"type": "message", "text": "my locker code is 4417"})
            while (event := ws.receive_json())["type"] != "thread.message" or event["role"] != "assistant":
                pass
        token = file_accounts.new_token("bob")
        with bob.websocket_connect("ws://127.0.0.1:8765/ws") as ws:
            ws.send_json({"type": "session.start", "protocol": 2})
            assert ws.receive_json()["user"] == "bob"
            assert "4417" not in str(ws.receive_json())
        assert "4417" in alice.get("/api/history").text
        assert "4417" not in bob.get("/api/history").text
        assert "4417" not in bob.get("/api/memory/export").text
        api = bob.post("/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                       json={"model": "os1", "messages": [{"role": "user", "content": "hello"}]})
        assert api.status_code == 200 and api.json()["choices"][0]["message"]["content"] == "Hi Bob!"
        assert "hello" in bob.get("/api/history").text and "hello" not in alice.get("/api/history").text
        assert alice.put("/api/settings", json={"model": "other"},
                         headers={"X-CSRF-Token": csrf}).status_code == 400  # the operator's choice
        assert {hub.settings.user for hub in hubs.open()} == {"alice", "bob"}


def test_in_chromium_a_person_logs_in_talks_changes_a_setting_and_logs_out(settings, file_accounts):
    from playwright.sync_api import expect, sync_playwright

    from test_web_consent import browser, serving

    app, hubs = app_for(settings, file_accounts, FakeLLM(["Hello Alice, good to see you."]))
    with serving(app) as url, sync_playwright() as p:
        chromium = browser(p)
        try:
            page = chromium.new_page()
            page.goto(url)
            expect(page).to_have_url(url + "login")
            page.get_by_label("Name").fill("alice")
            page.get_by_label("Password").fill("wrong password")
            page.get_by_role("button", name="Log in").click()
            expect(page.get_by_role("alert")).to_be_visible()
            page.get_by_label("Name").fill("alice")
            page.get_by_label("Password").fill("alice-password")
            page.get_by_role("button", name="Log in").click()
            page.wait_for_function("window.os1 && window.os1.historyShown")
            page.get_by_label("Message").fill("Hi there")
            page.keyboard.press("Enter")
            expect(page.locator(".msg.assistant").last).to_have_text("Hello Alice, good to see you.")
            # A change through the page carries the login's CSRF token.
            page.get_by_role("button", name="Settings").click()
            expect(page.locator("#set-model")).to_be_hidden()  # the operator's choice
            page.locator("#set-name").fill("Samantha")
            page.get_by_role("button", name="Save").click()
            expect(page.locator("#companion-name")).to_have_text("Samantha")
            assert hubs.get("alice").settings.persona.name == "Samantha"
            assert hubs.get("bob").settings.persona.name != "Samantha"
            page.get_by_role("button", name="Log out").click()
            expect(page).to_have_url(url + "login")
            assert page.request.get(url + "api/status").status == 401
        finally:
            chromium.close()

"""Who may call (#20): every route of the app, read from the app itself (so a
new route is covered the day it is added), against DNS rebinding, foreign
Origins, missing and forged tokens and cookies, and CSRF on every change; and
secrets (passwords, session ids, API tokens) never in the logs, os1's files or
an error message. Real accounts and hubs, a fake model."""

from __future__ import annotations

import logging
import re

import pytest
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from os1.accounts import Accounts, accounts_path
from os1.config import load_settings
from os1.web.app import PUBLIC, create_app
from os1.web.engines import Engines
from os1.web.hub import Hub
from os1.web.hubs import Hubs

from fakes import FakeLLM

LOCAL = "http://127.0.0.1:8765"
CHANGES = ("POST", "PUT", "PATCH", "DELETE")
PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path):
    return load_settings({"home": str(tmp_path / "home")}, env={"HOME": str(tmp_path)})


def routes(app) -> list[tuple[str, str]]:
    """(method, path) of every HTTP route, with a made-up id in its parameters."""
    found = []
    for route in app.app.routes:  # the app behind its guard
        if isinstance(route, Route):
            path = re.sub(r"\{[^}]+\}", "1", route.path)
            found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
        elif isinstance(route, Mount):
            found.append(("GET", route.path + "/app.js"))
    return found


def private(app) -> list[tuple[str, str]]:
    return [(m, p) for m, p in routes(app) if not p.startswith(PUBLIC)]


def single(settings, token=None):
    hub = Hub(settings, llm=FakeLLM(), mail_sync_every=None, reach_every=None)
    return create_app(hub, token=token, preload_voice=False)


@pytest.fixture
def accounts(settings):
    accounts = Accounts(accounts_path(settings.home))
    accounts.add("alice", PASSWORD)
    yield accounts
    accounts.close()


def with_accounts(settings, accounts):
    hubs = Hubs(settings, accounts=accounts, engines=Engines(settings, llm=FakeLLM()),
                mail_sync_every=None, reach_every=None)
    return create_app(hubs, preload_voice=False)


def test_the_app_has_the_routes_these_probes_walk(settings):
    app = single(settings)
    walked = routes(app)
    assert len(walked) >= 25 and ("POST", "/v1/chat/completions") in walked
    assert any(isinstance(r, WebSocketRoute) and r.path == "/ws" for r in app.app.routes)


def test_a_rebound_dns_name_reaches_no_route_of_a_loopback_os1(settings):
    app = single(settings)
    with TestClient(app, base_url="http://attacker.example:8765") as client:
        for method, path in routes(app):
            response = client.request(method, path, json={})
            assert response.status_code == 403, (method, path, response.status_code)
            assert "loopback" in response.json()["error"]["message"]
        with pytest.raises(Exception):
            with client.websocket_connect("ws://attacker.example:8765/ws"):
                pass


def test_another_web_page_can_change_nothing_and_open_no_socket(settings, accounts):
    for app in (single(settings), with_accounts(settings, accounts)):
        with TestClient(app, base_url=LOCAL) as client:
            for method, path in routes(app):
                if method not in CHANGES:
                    continue
                response = client.request(method, path, json={}, headers={"Origin": "https://evil.example"})
                assert response.status_code == 403, (method, path, response.status_code)
            with pytest.raises(Exception):
                with client.websocket_connect("ws://127.0.0.1:8765/ws", headers={"Origin": "https://evil.example"}):
                    pass


def test_without_the_token_or_with_a_forged_one_nothing_private_answers(settings):
    app = single(settings, token="the-real-token")
    forged = {"Authorization": "Bearer not-the-token"}
    with TestClient(app, base_url=LOCAL) as client:
        for method, path in private(app):
            for headers in ({}, forged, {"Cookie": "os1_token=not-the-token"}):
                response = client.request(method, path, json={}, headers=headers)
                assert response.status_code == 401, (method, path, headers, response.status_code)
        assert client.get("/api/status", headers={"Authorization": "Bearer the-real-token"}).status_code == 200


def test_with_accounts_forged_sessions_and_tokens_reach_nothing(settings, accounts):
    app = with_accounts(settings, accounts)
    with TestClient(app, base_url=LOCAL) as client:
        for method, path in private(app):
            for headers in ({}, {"Authorization": "Bearer os1_forged"},
                            {"Cookie": "os1_session=forged; os1_csrf=forged", "X-CSRF-Token": "forged"}):
                response = client.request(method, path, json={}, headers=headers, follow_redirects=False)
                assert response.status_code in (401, 303), (method, path, headers, response.status_code)
                if response.status_code == 303:  # the page itself: to the login form
                    assert (method, path, response.headers["location"]) == ("GET", "/", "/login")


def test_every_change_from_a_logged_in_page_needs_its_csrf_token(settings, accounts):
    app = with_accounts(settings, accounts)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.post("/login", json={"name": "alice", "password": PASSWORD}).status_code == 200
        changes = [(m, p) for m, p in private(app) if m in CHANGES]
        assert len(changes) >= 10
        for method, path in changes:
            for headers in ({}, {"X-CSRF-Token": "forged"}):
                response = client.request(method, path, json={}, headers=headers)
                assert response.status_code == 403, (method, path, headers, response.status_code)
        assert client.get("/api/status").status_code == 200  # still logged in: only the changes were refused


def test_secrets_never_reach_the_logs_the_files_or_an_error(settings, accounts, caplog):
    caplog.set_level(logging.DEBUG)
    token = accounts.new_token("alice", "phone")
    app = with_accounts(settings, accounts)
    said = []
    with TestClient(app, base_url=LOCAL) as client:
        said.append(client.post("/login", json={"name": "alice", "password": PASSWORD + "!"}).text)
        said.append(client.post("/login", json={"name": "alice", "password": PASSWORD}).text)
        session = client.cookies["os1_session"]
        said.append(client.get("/api/status", headers={"Authorization": f"Bearer {token}x"}).text)
        said.append(client.post("/v1/chat/completions", headers={"Authorization": f"Bearer {token}"},
                                json={"model": "os1", "messages": "not a list"}).text)
    secrets = [PASSWORD, PASSWORD + "!", session, token]
    files = b"".join(p.read_bytes() for p in settings.home.rglob("*") if p.is_file())
    for secret in secrets:
        assert secret not in caplog.text
        assert all(secret not in text for text in said)
        assert secret.encode() not in files

"""The OpenAPI document of os1 serve (web/openapi.py, GET /openapi.json) and
the routes it describes stay one: every route of the app, the OpenAI-compatible
ones included, is in it, and everything in it is a route. The document is
valid OpenAPI 3.1, and is served under the same guard as the API.
(tests/test_http_fuzz.py checks what the routes answer against it.)"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient

from os1.web.app import create_app
from os1.web.hub import Hub
from os1.web.openapi import document

LOCAL = "http://127.0.0.1:8765"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def app(settings):
    # Nothing is started: the lifespan (models, memory) runs only inside a TestClient's `with`.
    return create_app(Hub(settings), preload_voice=False)


def routed(app) -> set[tuple[str, str]]:
    """(path, method) of every HTTP route of the app (HEAD comes with GET)."""
    return {(route.path, method.lower()) for route in app.app.routes if isinstance(route, Route)
            for method in route.methods or () if method != "HEAD"}


def documented() -> set[tuple[str, str]]:
    return {(path, method) for path, item in document()["paths"].items()
            for method in item if method in METHODS}


def walk(value: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) pair anywhere in ``value``."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from walk(inner)


def test_every_route_is_in_the_openapi_document(app):
    missing = routed(app) - documented()
    assert not missing, f"routes the document does not describe: {sorted(missing)}"


def test_every_operation_of_the_openapi_document_is_a_route(app):
    unrouted = documented() - routed(app)
    assert not unrouted, f"operations the app does not have: {sorted(unrouted)}"


def test_only_the_websocket_and_the_static_files_are_left_out_of_the_document(app):
    others = {(type(route).__name__, route.path) for route in app.app.routes if not isinstance(route, Route)}
    assert others == {(WebSocketRoute.__name__, "/ws"), (Mount.__name__, "/static")}
    assert "/ws" in document()["info"]["description"]  # where to read about it


def test_the_openapi_document_is_valid_openapi_3_1():
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(doc).validate()  # against the OpenAPI 3.1 schema; raises if not
    # Which does not look inside the JSON schemas: each must be a valid JSON Schema 2020-12 too.
    schemas = [value for key, value in walk(doc) if key in ("schema", "contentSchema")]
    schemas += list(doc["components"]["schemas"].values())
    assert len(schemas) > 50
    for schema in schemas:
        jsonschema_rs.meta.validate(schema)
    # And every reference leads somewhere.
    for key, ref in walk(doc):
        if key == "$ref":
            target: Any = doc
            for part in ref.removeprefix("#/").split("/"):
                target = target[part]


def test_every_operation_says_what_it_answers_and_who_may_call():
    for path, item in document()["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            assert op["summary"] and op["responses"], (path, method)
            assert any(status.startswith("2") for status in op["responses"]), (path, method)
            if op.get("security") != []:  # everything but the login form: the guard's answers
                assert {"401", "403"} <= op["responses"].keys(), (path, method)
    ids = [op["operationId"] for item in document()["paths"].values()
           for method, op in item.items() if method in METHODS]
    assert len(ids) == len(set(ids))


# The clients below are not entered (`with`): the app's lifespan, which loads the model, never runs.


def test_the_document_is_served_to_whoever_may_use_the_api(app, settings):
    served = TestClient(app, base_url=LOCAL).get("/openapi.json")
    assert served.status_code == 200 and served.json() == document()
    guarded = TestClient(create_app(Hub(settings), token="a-long-enough-secret", preload_voice=False),
                         base_url=LOCAL)
    refused = guarded.get("/openapi.json")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "unauthorized"
    allowed = guarded.get("/openapi.json", headers={"Authorization": "Bearer a-long-enough-secret"})
    assert allowed.status_code == 200


def test_the_routers_own_refusals_are_json_errors(app):
    client = TestClient(app, base_url=LOCAL)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/status")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD"}  # what it takes

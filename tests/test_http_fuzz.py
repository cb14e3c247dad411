"""HTTP API fuzzing (#20): schemathesis generates requests from os1's OpenAPI
document (GET /openapi.json, web/openapi.py), valid and invalid, and sends
them to a real `os1 serve` (a real model, speech and transcription server
behind it: tests/openai_server.py). No answer may be a server error (5xx),
none may hang, and every one must be what the document says: a documented
status, content type, headers and body.

CI runs a short version (about a thousand requests to one person's os1 and a
few hundred to one with accounts, in about a minute); more examples per
operation, and every phase in both runs, make the full one that
docs/reliability.md reports:

    OS1_FUZZ_EXAMPLES=100 nice -n 10 .venv/bin/python -m pytest tests/test_http_fuzz.py -s

``OS1_FUZZ_SEED`` changes the seed (fixed by default, so that a failure in CI
can be replayed as it happened).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from openai_server import OpenAIServer
from test_deploy import os1, start_serve

#: Test cases per operation, in each of schemathesis's generating phases.
EXAMPLES = int(os.environ.get("OS1_FUZZ_EXAMPLES", "5"))
#: The full run: every phase in both modes. The short one (CI) leaves the accounts run its
#: examples and random cases (more of them): the coverage phase's boundary cases reach the same
#: handlers in the one-person run, and the guard has a test of its own below.
FULL = "OS1_FUZZ_EXAMPLES" in os.environ
PHASES = "examples,coverage,fuzzing,stateful"
SEED = os.environ.get("OS1_FUZZ_SEED", "20")
#: Seconds one request may take before it counts as a hang (a reply through the model server takes < 1 s).
REQUEST_TIMEOUT = 30
#: What every answer is checked for: no server error, and conformance to the document.
CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_headers_conformance", "response_schema_conformance"]
LAUNCHER = Path(__file__).parent / "schemathesis_cli.py"

#: Something to find at the documented example ids (web/openapi.py): a fact, a
#: summary and the conversation they came from, imported like an export.
MEMORY = {
    "format": "os1-memory", "version": 3, "profile": {"name": "Ana"},
    "sessions": [{"id": 1, "channel": "text", "started_at": 1767225600}],
    "messages": [{"id": "m1", "session": 1, "role": "user", "content": "My cat is called Miso.",
                  "created_at": 1767225600},
                 {"id": "m2", "session": 1, "role": "assistant", "content": "What a lovely name.",
                  "created_at": 1767225601}],
    "facts": [{"id": "f1", "text": "Ana has a cat called Miso.", "kind": "relationship", "source": "m1",
               "created_at": 1767225602}],
    "summaries": [{"id": "s1", "session": 1, "text": "We talked about Miso.", "created_at": 1767225700}],
}


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    headers: dict[str, str]  # what every request carries (with accounts: the person's token)


@dataclass
class Run:
    """What one schemathesis run did, from its JSON report and its HAR log."""

    command: list[str]
    phases: str
    examples: int
    report: dict
    statuses: Counter[int]
    output: str

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def violations(self) -> dict[str, int]:
        """Failures of conformance to the document, by kind (server errors apart)."""
        return {f["title"]: f["count"] for f in self.report["failures"] if f["type"] != "ServerError"}

    def summary(self, mode: str) -> str:
        return (f"HTTP fuzz ({mode}): {self.requests} requests, {self.server_errors} server errors, "
                f"{sum(self.violations.values())} schema violations, {len(self.report['errors'])} errors "
                f"(timeouts included); phases {self.phases}, {self.examples} examples per operation, "
                f"seed {SEED}; statuses {dict(sorted(self.statuses.items()))}\n  {' '.join(self.shown)}")

    @property
    def shown(self) -> list[str]:
        """The command, its token hidden (it is printed)."""
        return ["'Authorization: Bearer <token>'" if arg.startswith("Authorization:") else arg
                for arg in self.command]


def config(model: OpenAIServer) -> str:
    # The model server also speaks and hears: the voice API runs without voice models.
    return (f'[llm]\nmodel = "{model.url}"\n\n[voice]\ntts = "{model.url}"\nasr = "{model.url}"\n'
            "turn_model = false\n")


def seed(client: httpx.Client) -> None:
    """A memory, and a reminder, for the fuzzer to find at the documented example ids."""
    imported = client.post("/api/memory/import", json=MEMORY)
    assert imported.status_code == 200, imported.text
    said = client.post("/v1/chat/completions", timeout=60, json={"model": "os1", "messages": [
        {"role": "user", "content": "Remind me to water the plants at 5pm tomorrow."}]})
    assert said.status_code == 200, said.text
    assert client.get("/api/reminders").json()["reminders"], "no reminder to fuzz"


def fuzz(served: Served, where: Path, phases: str = PHASES, examples: int = EXAMPLES) -> Run:
    """One schemathesis run against ``served`` (its report and log in ``where``)."""
    where.mkdir()
    report, har = where / "report.json", where / "requests.har"
    command = [sys.executable, str(LAUNCHER), "run", f"{served.url}/openapi.json",
               "--checks", ",".join(CHECKS), "--phases", phases, "--max-examples", str(examples),
               "--seed", SEED, "--request-timeout", str(REQUEST_TIMEOUT), "--workers", "1",
               "--generation-database", "none", "--no-color",
               "--report", "json,har", "--report-json-path", str(report), "--report-har-path", str(har),
               *(option for name, value in served.headers.items() for option in ("-H", f"{name}: {value}"))]
    # Its own folder: schemathesis may leave files where it runs.
    done = subprocess.run(command, cwd=where, capture_output=True, text=True, timeout=60 * 60)
    assert report.exists(), done.stdout + done.stderr
    entries = json.loads(har.read_text())["log"]["entries"]
    return Run(command, phases, examples, json.loads(report.read_text()),
               Counter(e["response"]["status"] for e in entries), done.stdout + done.stderr)


def check(run: Run, process: subprocess.Popen, mode: str) -> None:
    print(run.summary(mode))
    assert run.report["complete"] and run.report["stop_reason"] == "completed", run.output
    counted = run.report["operations"]
    assert counted["tested"] == counted["selected"] == counted["total"], counted
    # Each failure in the output comes with the request that caused it (a curl command to replay it).
    assert run.server_errors == 0 and not run.report["failures"], run.output
    assert not run.report["errors"], run.output  # a request that timed out (hung) is one
    assert run.requests >= 5 * counted["total"], f"only {run.requests} requests: {run.output}"
    assert process.poll() is None, "os1 serve stopped during the fuzzing"


@contextmanager
def serve(home: Path, *, accounts: bool) -> Iterator[Served]:
    """`os1 serve` over a real model server, seeded; with accounts, its person's API token."""
    home.mkdir()
    with OpenAIServer() as model:
        (home / "config.toml").write_text(config(model))
        headers: dict[str, str] = {}
        if accounts:
            os1("user", "add", "ana", "--password-stdin", home=home, stdin="ana's password\n")
            headers["Authorization"] = f"Bearer {os1('user', 'token', 'ana', home=home).strip()}"
        process, url = start_serve({**os.environ, "OS1_HOME": str(home)})
        try:
            with httpx.Client(base_url=url, headers=headers) as client:
                seed(client)
            yield Served(url, process, headers)
        finally:
            process.terminate()
            process.wait(30)


@pytest.fixture(scope="module")
def one_person(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("one") / "os1", accounts=False) as served:
        yield served


@pytest.fixture(scope="module")
def with_accounts(tmp_path_factory):
    with serve(tmp_path_factory.mktemp("accounts") / "os1", accounts=True) as served:
        yield served


def test_fuzzed_requests_to_one_persons_os1_get_no_server_error_and_answers_as_documented(
        one_person, tmp_path):
    run = fuzz(one_person, tmp_path / "fuzz")
    check(run, one_person.process, "one person on loopback")


def test_fuzzed_requests_with_a_persons_api_token_get_no_server_error_and_answers_as_documented(
        with_accounts, tmp_path):
    run = fuzz(with_accounts, tmp_path / "fuzz", *((PHASES, EXAMPLES) if FULL else ("examples,fuzzing", 20)))
    check(run, with_accounts.process, "accounts, a person's API token")


def test_with_accounts_every_guarded_operation_refuses_a_request_without_a_valid_token(with_accounts):
    # The document allows a request without credentials (one person on loopback), so
    # schemathesis's ignored_auth check stands aside: this is it, for os1 with accounts.
    refused = []
    with httpx.Client(base_url=with_accounts.url) as client:
        for path, method, op in operations(client.get("/openapi.json", headers=with_accounts.headers).json()):
            if op.get("security") == []:
                continue  # the login form is for those who have no token yet
            for auth in ({}, {"Authorization": "Bearer os1_not-a-token"}):
                answer = client.request(method, path, headers=auth)
                refused.append(answer.status_code)
                expected = 303 if (path, method) == ("/", "GET") else 401  # the page: to /login
                assert answer.status_code == expected, (method, path, auth, answer.text)
                if expected == 401:
                    assert answer.json()["error"]["code"] == "unauthorized"
    assert len(refused) > 50


def operations(doc: dict) -> Iterator[tuple[str, str, dict]]:
    """(path with the example ids, method, operation) of every operation in ``doc``."""
    for path, item in doc["paths"].items():
        examples = {p["name"]: p["example"] for p in item.get("parameters", []) if p["in"] == "path"}
        for method, op in item.items():
            if method == "parameters":
                continue
            examples |= {p["name"]: p["example"] for p in op.get("parameters", []) if p["in"] == "path"}
            yield path.format(**examples), method.upper(), op

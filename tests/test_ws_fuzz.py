"""WebSocket fuzzing (#20): a real `os1 serve` (a real model server behind it,
one that echoes) takes random, malformed, oversized and well-formed messages,
binary garbage, odd-length and wrong-rate audio, calls and typed turns
interleaved, connections dropped mid-stream and many sockets at once. It must
stay up, answer each bad message with an ``error`` event of the protocol's
code (docs/protocol.md) and nothing else, and keep every typed message.

CI runs a short version; ``OS1_FUZZ_WS_EXAMPLES=N`` (connections of the
random phase) and ``OS1_FUZZ_WS_CROWD=N`` (sockets at once) run the full one
that docs/reliability.md reports.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.sync.client import ClientConnection, connect

from openai_server import OpenAIServer
from test_deploy import start_serve

EXAMPLES = int(os.environ.get("OS1_FUZZ_WS_EXAMPLES", "60"))
CROWD = int(os.environ.get("OS1_FUZZ_WS_CROWD", "40"))
#: Seconds to wait for the answer to one message (a typed turn runs in the background).
WAIT = 30.0
KNOWN = {"session.start", "message", "call.start", "call.end", "reply.cancel", "consent.answer", "ping"}


@dataclass
class Tally:
    """What the fuzzing sent, over every test of the module."""

    connections: int = 0
    frames: int = 0
    typed: list[str] = field(default_factory=list)  # well-formed typed messages, in the order sent
    errors: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, frames: int, typed: list[str], errors: list[str]) -> None:
        """One connection's: messages sent (every one, the marks too), typed ones, errors."""
        with self.lock:
            self.connections += 1
            self.frames += frames
            self.typed += typed
            self.errors.update(errors)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz") / "os1"
    home.mkdir()
    with OpenAIServer() as model:
        (home / "config.toml").write_text(f'[llm]\nmodel = "{model.url}"\n')
        process, url = start_serve({**os.environ, "OS1_HOME": str(home)})
        tally = Tally()
        try:
            yield process, url, tally
        finally:
            # A stop first finishes the replies owed to what was typed (every
            # acknowledged message is answered and kept): turns queued by the crowd.
            process.terminate()
            process.wait(180)
    print(f"\nWebSocket fuzzing: {tally.frames} messages over {tally.connections} connections "
          f"({len(tally.typed)} typed messages); errors answered: {dict(tally.errors)}")


# -- what a client may send, and what each must bring back ------------------------------------------
# Each frame is (what to send, the error code it must bring: None for none).

Frame = tuple[object, str | None]

_junk = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=20),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                                       max_size=2))
_said = st.text(min_size=1, max_size=120).filter(lambda t: t.strip() != "")


def _message(text: str) -> Frame:
    return json.dumps({"type": "message", "text": text}), None


def _not_json(text: str) -> Frame:
    return "{" + text, "bad_json"


def _wrong_json(value: object) -> Frame:
    if isinstance(value, dict) and isinstance(value.get("type"), str):
        value = [value]  # not an object after all
    return json.dumps(value), "bad_message"


def _unknown(kind: str) -> Frame:
    return json.dumps({"type": kind}), "unknown_type"


def _bad_field(choice: tuple[str, object]) -> Frame:
    kind, value = choice
    if kind == "message":
        if isinstance(value, str) and value.strip():
            value = 7
        return json.dumps({"type": "message", "text": value}), "bad_message"
    if kind == "consent.answer":
        if isinstance(value, int) and not isinstance(value, bool):
            return json.dumps({"type": "consent.answer", "id": value, "approve": True}), "unknown_proposal"
        return json.dumps({"type": "consent.answer", "id": value}), "bad_message"
    if kind == "session.start":
        if value in (1, 2) and not isinstance(value, bool):
            value = 3
        return json.dumps({"type": "session.start", "protocol": value}), "bad_protocol"
    if value in (8000, 16000, 22050, 24000, 32000, 44100, 48000) and not isinstance(value, bool):
        value = 12345
    return json.dumps({"type": kind, "sample_rate": value}), "bad_message"  # call.start


def _audio(data: bytes) -> Frame:
    return data, ("bad_audio" if len(data) % 2 else None)


frames = st.one_of(
    _said.map(_message),
    st.just((json.dumps({"type": "ping"}), None)),
    st.just((json.dumps({"type": "reply.cancel"}), None)),
    st.text(max_size=40).map(_not_json),
    _junk.map(_wrong_json),
    st.text(min_size=1, max_size=20).filter(lambda k: k not in KNOWN and not k.startswith("fuzz.")).map(_unknown),
    st.tuples(st.sampled_from(["message", "consent.answer", "session.start", "call.start"]), _junk).map(_bad_field),
    st.just((json.dumps({"type": "message", "text": "x" * 20_001}), "too_large")),
    st.just((json.dumps({"type": "message", "text": "y" * 70_000}), "too_large")),
    st.just((b"\0" * (256 * 1024 + 2), "too_large")),
    st.binary(max_size=640).map(_audio),
    st.just((json.dumps({"type": "call.start", "sample_rate": 8000}), None)),
    st.just((json.dumps({"type": "call.end"}), None)),
)


def read_until(ws: ClientConnection, mark: str) -> list[str]:
    """The error codes that arrive before the answer to ``mark`` (a message
    of a type no server knows: its ``unknown_type`` error names it, so no
    answer to an earlier message can be taken for it)."""
    errors = []
    while True:
        message = ws.recv(timeout=WAIT)
        if isinstance(message, bytes):
            continue  # os1's voice, in a call
        event = json.loads(message)
        if event["type"] == "error":
            if repr(mark) in event["message"]:
                return errors
            errors.append(event["code"])


def talk(url: str, sent: list[Frame], *, drop: bool) -> tuple[int, list[str], list[str]]:
    """One connection: ``sent``, each followed by a mark; how many messages
    went, the typed messages, and the error codes. ``drop``: leave without a
    goodbye after the last one."""
    typed, seen, count = [], [], 2
    with connect(url.replace("http", "ws") + "/ws", max_size=None, open_timeout=WAIT) as ws:
        ws.send(json.dumps({"type": "ping"}))  # before the session: refused
        assert json.loads(ws.recv(timeout=WAIT))["code"] == "no_session"
        ws.send(json.dumps({"type": "session.start", "protocol": 2}))
        for n, (frame, expected) in enumerate(sent):
            ws.send(frame)
            count += 1
            if drop and n == len(sent) - 1:
                ws.close_socket()  # gone mid-stream, no close handshake
                break
            mark = f"fuzz.mark.{n}"
            ws.send(json.dumps({"type": mark}))
            count += 1
            errors = [e for e in read_until(ws, mark) if e != "not_ready"]
            assert errors == ([expected] if expected else []), (frame if isinstance(frame, str) else
                                                                 f"{len(frame)} bytes", errors)
            seen += errors
            if isinstance(frame, str) and expected is None and json.loads(frame).get("type") == "message":
                typed.append(json.loads(frame)["text"])
    return count, typed, seen


def alive(process, url: str) -> None:
    assert process.poll() is None, "os1 serve died"
    assert httpx.get(f"{url}/api/status", timeout=WAIT).status_code == 200


@settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(sent=st.lists(frames, min_size=1, max_size=40), drop=st.booleans())
def test_random_and_malformed_messages_each_get_their_error_and_the_server_stays_up(server, sent, drop):
    process, url, tally = server
    tally.add(*talk(url, sent, drop=drop))
    alive(process, url)


def test_many_sockets_at_once_each_get_their_answers(server):
    process, url, tally = server
    failures: list[BaseException] = []

    def one(n: int) -> None:
        try:
            sent = [_message(f"crowd {n}"), (b"\1\2\3", "bad_audio"), ("[]", "bad_message")]
            tally.add(*talk(url, sent, drop=n % 3 == 0))
        except BaseException as exc:  # noqa: BLE001 - reported below, with the others
            failures.append(exc)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(CROWD)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not failures, failures[:3]
    alive(process, url)


def test_afterwards_every_typed_message_is_in_the_thread_once(server):
    process, url, tally = server
    alive(process, url)
    assert tally.typed and tally.frames
    # Turns are taken one at a time: the last ones may still be waiting their turn.
    deadline = time.monotonic() + 300
    while True:
        export = httpx.get(f"{url}/api/memory/export", timeout=WAIT).json()
        said = Counter(m["content"] for m in export["messages"] if m["role"] == "user")
        missing = Counter(tally.typed) - said
        if not missing:
            break
        assert time.monotonic() < deadline, f"typed messages lost: {list(missing.elements())[:5]}"
        time.sleep(1)
    alive(process, url)

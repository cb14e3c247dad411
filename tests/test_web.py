"""os1 serve with fakes at the model boundaries: the page, the access rules,
the WebSocket protocol, the memory and settings API, the OpenAI-compatible API
(through the official client)."""

from __future__ import annotations

import json
import sqlite3
import time

import numpy as np
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from os1.config import load_settings
from os1.memory.sqlite import SQLiteMemory
from os1.talk import VoiceParts
from os1.web.app import create_app
from os1.web.hub import Hub

from fakes import CountingEars, FakeLLM, LoudnessVAD, SlowVoice, silence, speech

LOCAL = "http://127.0.0.1:8765"
WS = "ws://127.0.0.1:8765/ws"


@pytest.fixture
def settings(tmp_path):
    return load_settings({"home": str(tmp_path / "home")}, env={"HOME": str(tmp_path)})


def make_app(settings, llm=None, token=None, voice=True):
    """``voice``: True (a :class:`SlowVoice`), False (none) or the synthesizer."""
    synthesizer = SlowVoice() if voice is True else voice
    parts = VoiceParts(vad=LoudnessVAD(), ears=CountingEars(), voice=synthesizer) if voice else None
    hub = Hub(settings, llm=llm or FakeLLM(), voice=parts,
              memory=SQLiteMemory(settings.database, settings.user))
    return create_app(hub, token=token, preload_voice=False), hub


def start(ws):
    ws.send_json({"type": "session.start", "protocol": 2})
    started = ws.receive_json()
    assert started["type"] == "session.started" and started["protocol"] == 2
    history = ws.receive_json()
    assert history["type"] == "history"
    return history


def say(ws, text):
    """Type a message; wait until it and its reply are in the thread."""
    ws.send_json({"type": "message", "text": text})
    until(ws, "thread.message")
    return until(ws, "thread.message")[-1]


def until(ws, kind, limit=200):
    """Messages up to and including the first of type ``kind``."""
    seen = []
    for _ in range(limit):
        message = ws.receive()
        if message.get("bytes") is not None:
            seen.append(message["bytes"])
            continue
        event = json.loads(message["text"])
        seen.append(event)
        if event["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} in {seen}")  # pragma: no cover


def test_page_and_static_files(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'id="call"' in page.text and "app.js" in page.text
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/static/mic-worklet.js").status_code == 200
        assert "cdn" not in page.text.lower()  # works offline


def test_loopback_server_refuses_other_hosts_and_other_pages(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        # DNS rebinding: a name that resolves to 127.0.0.1 but is not ours.
        assert client.get("/api/status", headers={"Host": "evil.example:8765"}).status_code == 403
        # Another web page posting to the API.
        r = client.post("/v1/chat/completions", headers={"Origin": "http://evil.example"},
                        json={"messages": [{"role": "user", "content": "hi"}]})
        assert r.status_code == 403
        with pytest.raises(WebSocketDisconnect):
            with client.websocket_connect(WS, headers={"Origin": "http://evil.example"}) as ws:
                ws.receive_json()
        # The page itself (same origin) is fine.
        with client.websocket_connect(WS, headers={"Origin": LOCAL}) as ws:
            start(ws)


def test_token_guards_everything_but_static_files(settings):
    token = "correct-horse-battery"
    app, _ = make_app(settings, token=token)
    with TestClient(app, base_url="http://192.168.1.20:8765") as client:
        assert client.get("/api/status").status_code == 401
        assert client.get("/api/status", headers={"Authorization": "Bearer wrong-token-123"}).status_code == 401
        assert client.get("/api/status", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert client.get("/static/style.css").status_code == 200
        # Opening the printed URL stores the token in a cookie and cleans the address.
        r = client.get(f"/?token={token}", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert client.get("/api/status").status_code == 200  # the cookie now
        with client.websocket_connect("ws://192.168.1.20:8765/ws") as ws:
            start(ws)


def test_typed_turn_over_the_socket_is_stored_and_shared(settings):
    app, hub = make_app(settings, FakeLLM(["Hello Theo, nice to meet you."]))
    with TestClient(app, base_url=LOCAL) as client:
        with client.websocket_connect(WS) as ws, client.websocket_connect(WS) as other:
            start(ws)
            start(other)
            ws.send_json({"type": "message", "text": "Hi, I'm Theo."})
            seen = until(ws, "thread.message")
            assert seen[-1] == {"type": "thread.message", "role": "user", "id": seen[-1]["id"],
                                "text": "Hi, I'm Theo.", "channel": "text"}
            seen = until(ws, "thread.message")
            deltas = "".join(e["text"] for e in seen if e["type"] == "reply.delta")
            assert deltas == "Hello Theo, nice to meet you."
            assert seen[-1]["role"] == "assistant" and seen[-1]["text"] == deltas
            # The other page sees the same thread (without the streaming).
            assert until(other, "thread.message")[-1]["role"] == "user"
            assert until(other, "thread.message")[-1]["role"] == "assistant"
        history = client.get("/api/history").json()["messages"]
        assert [m["text"] for m in history] == ["Hi, I'm Theo.", "Hello Theo, nice to meet you."]


def test_a_reply_cut_at_its_last_sentence_streams_all_of_it_before_the_thread_message(settings):
    # The reply ends the moment its fourth sentence is written: the page must
    # still get that sentence before the message that closes the reply.
    reply = " ".join(f"Sentence {n} is here." for n in range(1, 9))
    app, _ = make_app(settings, FakeLLM([reply]))
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_json({"type": "message", "text": "How was it?"})
        until(ws, "thread.message")
        seen = until(ws, "thread.message")
        deltas = "".join(e["text"] for e in seen if e["type"] == "reply.delta")
        assert deltas.strip() == seen[-1]["text"] and seen[-1]["text"].endswith("Sentence 4 is here.")


def test_bad_messages_get_errors_and_the_connection_stays_usable(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        ws.send_text('{"type": "message"')
        assert ws.receive_json()["code"] == "bad_json"
        ws.send_json({"type": "message", "text": "before starting"})
        assert ws.receive_json()["code"] == "no_session"
        start(ws)
        ws.send_json(["not", "an", "object"])
        assert ws.receive_json()["code"] == "bad_message"
        ws.send_json({"type": "dance"})
        assert ws.receive_json()["code"] == "unknown_type"
        ws.send_text(json.dumps({"type": "message", "text": "x" * 70_000}))
        assert ws.receive_json()["code"] == "too_large"
        ws.send_bytes(b"\x00" * 300_000)
        assert ws.receive_json()["code"] == "too_large"
        ws.send_bytes(b"\x00\x01\x02")
        assert ws.receive_json()["code"] == "bad_audio"
        ws.send_json({"type": "session.start", "protocol": 3})
        assert ws.receive_json()["code"] == "bad_protocol"
        ws.send_json({"type": "consent.answer", "approve": True})
        assert ws.receive_json()["code"] == "bad_message"
        ws.send_json({"type": "consent.answer", "id": "1", "approve": True})
        assert ws.receive_json()["code"] == "bad_message"
        ws.send_json({"type": "consent.answer", "id": 999, "approve": True})
        assert ws.receive_json()["code"] == "unknown_proposal"
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}


def pcm(audio):
    return (np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes()


def test_voice_call_over_the_socket(settings):
    app, hub = make_app(settings, FakeLLM(["Sure."]))
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_json({"type": "call.start", "sample_rate": 16000})
        started = until(ws, "call.started")[-1]
        assert started["output"] == {"format": "pcm_s16le", "sample_rate": 8000, "channels": 1}
        audio = np.concatenate([silence(0.3), speech(1.0), silence(2.0)])
        for i in range(0, audio.size, 1600):  # 100 ms messages, as a page sends them
            ws.send_bytes(pcm(audio[i : i + 1600]))
        seen = until(ws, "audio.out")
        kinds = [e["type"] for e in seen if isinstance(e, dict)]
        assert "speech.started" in kinds and "speech.stopped" in kinds
        final = [e for e in seen if isinstance(e, dict) and e["type"] == "transcript" and e["final"]]
        assert final and final[-1]["text"] == "alpha alpha alpha alpha"
        header = seen[-1]
        audio_out = ws.receive_bytes()
        assert len(audio_out) == header["samples"] * 2
        assert until(ws, "thread.message")[-1]["text"] == "Sure."  # once it has been heard
        ws.send_json({"type": "call.end"})
        until(ws, "call.ended")
    db = sqlite3.connect(settings.database)
    rows = db.execute("SELECT role, channel, content FROM messages ORDER BY id").fetchall()
    assert rows == [("user", "voice", "alpha alpha alpha alpha"), ("assistant", "voice", "Sure.")]


def listening(ws):
    """Events until os1 is listening in the call."""
    for _ in range(20):
        seen = until(ws, "status")
        if seen[-1]["state"] == "listening":
            return seen
    raise AssertionError("os1 did not go back to listening")  # pragma: no cover


def test_disconnect_mid_reply_loses_nothing(settings):
    reply = "One two three four five six seven eight nine ten."
    app, hub = make_app(settings, FakeLLM([reply], delay=0.05))
    with TestClient(app, base_url=LOCAL) as client:
        with client.websocket_connect(WS) as ws:
            start(ws)
            ws.send_json({"type": "message", "text": "Count for me."})
            until(ws, "reply.delta")
        # The page is gone; the reply is still finished and stored.
        deadline = time.time() + 5
        while time.time() < deadline:
            texts = [m["text"] for m in client.get("/api/history").json()["messages"]]
            if reply in texts:
                break
            time.sleep(0.05)
        assert texts == ["Count for me.", reply]


def test_memory_api_lists_searches_and_forgets(settings):
    app, hub = make_app(settings, FakeLLM(["Noted!"], facts_for=lambda t: [
        {"fact": "The user's sister is called Ana.", "kind": "person"}] if "Ana" in t else []))
    with TestClient(app, base_url=LOCAL) as client:
        with client.websocket_connect(WS) as ws:
            start(ws)
            say(ws, "My sister Ana lives in Lisbon.")
        listed = client.get("/api/memory").json()
        assert [m["text"] for m in listed["messages"]][0] == "My sister Ana lives in Lisbon."
        found = client.get("/api/memory", params={"q": "Lisbon"}).json()["hits"]
        ref = next(h["ref"] for h in found if "Lisbon" in h["text"])
        assert client.delete(f"/api/memory/{ref}").status_code == 200
        assert client.delete(f"/api/memory/{ref}").status_code == 404
        assert not any("Lisbon" in h["text"] for h in client.get("/api/memory", params={"q": "Lisbon"}).json()["hits"])
        # A fact: edit it (the old wording stays in its history), then forget it.
        fact = hub.memory.add_fact("The user's sister is called Anna.", kind="person", key="sister.name",
                                   source_message_id=None)
        assert client.patch(f"/api/memory/f{fact}", json={"text": "The user's sister is called Ana."}).status_code == 200
        listed = client.get("/api/memory").json()
        assert [f["text"] for f in listed["facts"]] == ["The user's sister is called Ana."]
        assert [f["text"] for f in listed["history"]] == ["The user's sister is called Anna."]
        assert client.patch("/api/memory/f999", json={"text": "x"}).status_code == 404
        assert client.patch(f"/api/memory/f{fact}", content=b"{", headers={"Content-Type": "application/json"}).status_code == 400
        for f in listed["facts"]:
            assert client.delete(f"/api/memory/{f['ref']}").status_code == 200
        assert client.get("/api/memory").json()["facts"] == []
        export = client.get("/api/memory/export")
        assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
        assert "Lisbon" not in export.text


def test_settings_are_saved_and_checked(settings):
    app, hub = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client:
        assert client.get("/api/settings").json()["name"] == "Mira"
        r = client.put("/api/settings", json={"name": "Samantha", "speed": 1.2})
        assert r.status_code == 200 and r.json()["name"] == "Samantha"
        assert client.put("/api/settings", json={"speed": 9}).status_code == 400
        assert client.put("/api/settings", json={"model": "gpt-17"}).status_code == 400
        assert client.put("/api/settings", json={"model": "qwen2.5-0.5b"}).json()["restart_needed"] is True
        with client.websocket_connect(WS) as ws:
            ws.send_json({"type": "session.start"})
            assert ws.receive_json()["companion"] == "Samantha"
    again = load_settings({"home": str(settings.home)}, env={"HOME": str(settings.home.parent)})
    assert again.persona.name == "Samantha" and again.voice.speed == 1.2 and again.llm.model == "qwen2.5-0.5b"


def test_openai_client_against_the_api(settings):
    from openai import OpenAI

    app, hub = make_app(settings, FakeLLM(["Hello from os1.", "Second answer."]))
    with TestClient(app, base_url=LOCAL) as http:
        client = OpenAI(base_url=f"{LOCAL}/v1", api_key="unused", http_client=http)
        assert "os1" in [m.id for m in client.models.list().data]
        stream = client.chat.completions.create(
            model="os1", messages=[{"role": "user", "content": "Say hello."}], stream=True)
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
        assert text == "Hello from os1."
        done = client.chat.completions.create(model="os1", messages=[{"role": "user", "content": "Again?"}])
        assert done.choices[0].message.content == "Second answer."
        spoken = client.audio.speech.create(model="tts-1", voice="alloy", input="Hi.", response_format="wav")
        assert spoken.content[:4] == b"RIFF"
        from os1.audio.format import wav_bytes

        clip = wav_bytes(np.concatenate([speech(0.5, 0.35), silence(0.2)]), 16000)
        heard = client.audio.transcriptions.create(model="whisper-1", file=("clip.wav", clip, "audio/wav"))
        assert heard.text == "bravo bravo"
        bad = http.post("/v1/audio/transcriptions", files={"file": ("x.wav", b"nonsense", "audio/wav")})
        assert bad.status_code == 400 and "error" in bad.json()
    texts = [m.content for m in SQLiteMemory(settings.database, settings.user).messages()]
    assert texts == ["Say hello.", "Hello from os1.", "Again?", "Second answer."]


def test_memory_export_imports_into_another_home(settings, tmp_path):
    app, hub = make_app(settings, FakeLLM(["Noted."]))
    with TestClient(app, base_url=LOCAL) as client:
        with client.websocket_connect(WS) as ws:
            start(ws)
            say(ws, "I was born in Porto.")
        exported = client.get("/api/memory/export").json()
    other = load_settings({"home": str(tmp_path / "other")}, env={"HOME": str(tmp_path)})
    app2, _ = make_app(other)
    with TestClient(app2, base_url=LOCAL) as client:
        r = client.post("/api/memory/import", json=exported)
        assert r.status_code == 200 and r.json()["imported"]["messages"] == 2
        assert client.post("/api/memory/import", json=["nope"]).status_code == 400
        texts = [m["text"] for m in client.get("/api/history").json()["messages"]]
        assert texts == ["I was born in Porto.", "Noted."]


def test_a_version_1_client_is_still_served(settings):
    app, _ = make_app(settings)
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        ws.send_json({"type": "session.start", "protocol": 1})
        assert ws.receive_json()["type"] == "session.started"
        assert ws.receive_json()["type"] == "history"


def save_groceries():
    from os1.mind.llm import ToolCall

    return ToolCall("save_note", {"name": "groceries.md", "text": "eggs, milk, lemons"})


@pytest.fixture
def noted(tmp_path):
    """Settings whose notes folder is a temporary one."""
    return load_settings({"home": str(tmp_path / "home")},
                         env={"HOME": str(tmp_path), "OS1_NOTES": str(tmp_path / "notes")})


def test_consent_over_the_socket_declined_then_approved(noted):
    app, hub = make_app(noted, FakeLLM([save_groceries(), save_groceries()]))
    note = noted.notes_dir / "groceries.md"
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_json({"type": "message", "text": "Save a note groceries.md: eggs, milk, lemons"})
        request = until(ws, "consent.request")[-1]
        assert request["tool"] == "save_note" and request["warnings"] == []
        assert request["action"] == f"Save the note groceries.md in {noted.notes_dir}, saying:\neggs, milk, lemons"
        assert request["expires_at"] > time.time()
        question = until(ws, "thread.message")[-1]
        assert question["role"] == "assistant" and question["text"].startswith("Shall I save the note")
        listed = client.get("/api/actions").json()["actions"]
        assert [(a["id"], a["status"], a["answerable"]) for a in listed] == [(request["id"], "pending", True)]

        ws.send_json({"type": "consent.answer", "id": request["id"], "approve": "yes"})  # not true: a no
        seen = until(ws, "consent.resolved")
        assert seen[-1] == {"type": "consent.resolved", "id": request["id"], "outcome": "declined",
                            "text": "Okay, I won't."}
        assert until(ws, "thread.message")[-1]["text"] == "Okay, I won't."
        assert not note.exists()
        assert [a.status for a in hub.memory.actions()] == ["declined"]
        # Answering again changes nothing: the page is told what came of it.
        ws.send_json({"type": "consent.answer", "id": request["id"], "approve": True})
        assert until(ws, "consent.resolved")[-1]["outcome"] == "declined"
        assert not note.exists()

        ws.send_json({"type": "message", "text": "Save a note groceries.md: eggs, milk, lemons"})
        request = until(ws, "consent.request")[-1]
        until(ws, "thread.message")
        ws.send_json({"type": "consent.answer", "id": request["id"], "approve": True})
        seen = until(ws, "consent.resolved")
        states = [e["state"] for e in seen if e["type"] == "tool.activity"]
        assert states == ["running", "done"]
        assert seen[-1]["outcome"] == "done" and "Saved the note groceries.md" in seen[-1]["text"]
        until(ws, "thread.message")
        assert note.read_text(encoding="utf-8") == "eggs, milk, lemons"
        listed = client.get("/api/actions").json()["actions"]
        assert [(a["status"], a["answerable"]) for a in listed] == [("done", False), ("declined", False)]
        assert listed[0]["arguments"] == {"name": "groceries.md", "text": "eggs, milk, lemons"}
        assert client.get("/api/actions?limit=x").status_code == 400
    assert [a.status for a in SQLiteMemory(noted.database, noted.user).actions()] == ["done", "declined"]


def test_a_proposal_from_before_a_restart_expires_when_answered(noted):
    app, hub = make_app(noted)
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        start(ws)
        stale = hub.memory.add_action("save_note", {"name": "x.md", "text": "x"}, "Save the note x.md",
                                      (), expires_at=time.time() + 300)
        ws.send_json({"type": "consent.answer", "id": stale.id, "approve": True})
        resolved = until(ws, "consent.resolved")[-1]
        assert resolved["outcome"] == "expired" and "nothing was done" in resolved["text"]
        assert [a.status for a in hub.memory.actions()] == ["expired"]
        assert not (noted.notes_dir / "x.md").exists()


class QuickVoice(SlowVoice):
    """20 ms of audio per character: a question takes a few seconds to say."""

    async def synthesize(self, text):
        self.said.append(text)
        yield np.full(int(len(text) * 0.02 * self.sample_rate), 0.1, np.float32)


def test_consent_answered_on_the_page_during_a_call(noted):
    voice = QuickVoice()
    app, hub = make_app(noted, FakeLLM([save_groceries(), save_groceries()]), voice=voice)
    note = noted.notes_dir / "groceries.md"
    with TestClient(app, base_url=LOCAL) as client, client.websocket_connect(WS) as ws:
        start(ws)
        ws.send_json({"type": "call.start", "sample_rate": 16000})
        until(ws, "call.started")

        def talk():  # "note note note note": a request, so the model may call a tool
            audio = np.concatenate([silence(0.3), speech(1.0, 0.55), silence(2.0)])
            for i in range(0, audio.size, 1600):
                ws.send_bytes(pcm(audio[i : i + 1600]))

        talk()
        request = until(ws, "consent.request")[-1]
        assert request["warnings"]  # "note note..." said nothing of the note's words: they are told
        until(ws, "audio.out")  # os1 is asking, out loud; the person answers on the page meanwhile
        ws.send_json({"type": "consent.answer", "id": request["id"], "approve": False})
        seen = until(ws, "consent.resolved")
        assert seen[-1]["outcome"] == "declined"
        # The question joins the thread (written in full, still being said), then the answer's reply.
        question = [e for e in seen if isinstance(e, dict) and e["type"] == "thread.message"]
        assert [q["text"][:21] for q in question] == ["Shall I save the note"]
        assert until(ws, "thread.message")[-1]["text"] == "Okay, I won't."
        assert not note.exists()

        listening(ws)
        talk()
        request = until(ws, "consent.request")[-1]
        listening(ws)  # this time os1 has finished asking: it says what came of the answer
        ws.send_json({"type": "consent.answer", "id": request["id"], "approve": True})
        seen = until(ws, "consent.resolved")
        assert seen[-1]["outcome"] == "done" and "Saved the note" in seen[-1]["text"]
        assert note.read_text(encoding="utf-8") == "eggs, milk, lemons"
        until(ws, "audio.out")
        assert until(ws, "thread.message")[-1]["text"] == seen[-1]["text"]  # once heard
        assert any(said.startswith("Saved the note") for said in voice.said)  # said out loud
        ws.send_json({"type": "call.end"})
        until(ws, "call.ended")
    assert [a.status for a in SQLiteMemory(noted.database, noted.user).actions()] == ["done", "declined"]


WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city now.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def test_openai_client_tools_are_called_the_openai_way(settings):
    from openai import OpenAI

    from os1.mind.llm import ToolCall

    llm = FakeLLM([ToolCall("get_weather", {"city": "Lisbon"}), "Sunny and 24 degrees in Lisbon.",
                   ("Let me look.", ToolCall("get_weather", {"city": "Porto"}))])
    app, hub = make_app(settings, llm)
    with TestClient(app, base_url=LOCAL) as http:
        client = OpenAI(base_url=f"{LOCAL}/v1", api_key="unused", http_client=http)
        asked = [{"role": "system", "content": "You are a weather bot."},
                 {"role": "user", "content": "What's the weather in Lisbon?"}]
        done = client.chat.completions.create(model="os1", messages=asked, tools=[WEATHER])
        choice = done.choices[0]
        assert choice.finish_reason == "tool_calls"
        (call,) = choice.message.tool_calls
        assert call.type == "function" and call.id.startswith("call_")
        assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Lisbon"}
        # The model was offered the client's tool only (os1's own stay internal), as os1.
        assert [t.name for t in llm.options[-1].tools] == ["get_weather"]
        prompt = llm.prompts[-1]
        assert prompt[0] == hub.companion.system_message
        assert [m.role for m in prompt] == ["system", "user"]  # the client's system message is not os1's

        # The client runs the call and sends the result back.
        answered = client.chat.completions.create(model="os1", tools=[WEATHER], messages=[
            *asked, choice.message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": '{"sky": "sunny", "celsius": 24}'}])
        assert answered.choices[0].finish_reason == "stop"
        assert answered.choices[0].message.content == "Sunny and 24 degrees in Lisbon."
        assert answered.choices[0].message.tool_calls is None
        prompt = llm.prompts[-1]
        assert [m.role for m in prompt] == ["system", "user", "assistant", "tool"]
        assert prompt[2].tool_calls[0].name == "get_weather" and prompt[2].tool_calls[0].id == call.id
        assert prompt[3].tool_call_id == call.id and "sunny" in prompt[3].content

        # Streaming: the text, then the call in delta.tool_calls, then finish_reason "tool_calls".
        stream = client.chat.completions.create(model="os1", stream=True, tools=[WEATHER], messages=[
            {"role": "user", "content": "And in Porto?"}])
        text, calls, finish = "", {}, None
        for chunk in stream:
            delta = chunk.choices[0].delta
            text += delta.content or ""
            for piece in delta.tool_calls or ():
                entry = calls.setdefault(piece.index, {"id": piece.id, "name": "", "arguments": ""})
                entry["name"] += piece.function.name or ""
                entry["arguments"] += piece.function.arguments or ""
            finish = chunk.choices[0].finish_reason or finish
        assert text == "Let me look." and finish == "tool_calls"
        assert [(c["name"], json.loads(c["arguments"])) for c in calls.values()] == [("get_weather", {"city": "Porto"})]
        assert calls[0]["id"].startswith("call_")
    # The person's words and the worded answer are in the thread; the calls and results are not.
    texts = [(m.role, m.content, m.channel) for m in SQLiteMemory(settings.database, settings.user).messages()]
    assert texts == [("user", "What's the weather in Lisbon?", "api"),
                     ("assistant", "Sunny and 24 degrees in Lisbon.", "api"),
                     ("user", "And in Porto?", "api")]


def test_os1_own_tools_are_never_returned_to_api_clients(settings):
    from openai import OpenAI

    from os1.mind.llm import ToolCall

    save = ToolCall("save_note", {"name": "x.md", "text": "hi"})
    llm = FakeLLM([save, ("Sure.", save)])
    app, hub = make_app(settings, llm)
    with TestClient(app, base_url=LOCAL) as http:
        client = OpenAI(base_url=f"{LOCAL}/v1", api_key="unused", http_client=http)
        # No client tools: a turn of the conversation; os1's action waits for the person's yes.
        done = client.chat.completions.create(model="os1", messages=[
            {"role": "user", "content": "Save a note x.md saying hi"}])
        assert done.choices[0].finish_reason == "stop" and done.choices[0].message.tool_calls is None
        assert done.choices[0].message.content.startswith("Shall I save the note x.md")
        assert [a.status for a in hub.memory.actions()] == ["pending"]
        # With client tools, a call of one of os1's is no call of the client's.
        done = client.chat.completions.create(model="os1", tools=[WEATHER], messages=[
            {"role": "user", "content": "Save a note x.md saying hi"}])
        assert done.choices[0].finish_reason == "stop" and done.choices[0].message.tool_calls is None
        assert done.choices[0].message.content == "Sure."
        assert [a.status for a in hub.memory.actions()] == ["pending"]  # nothing new proposed or run
    assert not (settings.notes_dir / "x.md").exists()


def test_bad_tools_in_an_api_request_are_refused(settings):
    app, _ = make_app(settings)
    ask = [{"role": "user", "content": "hi"}]
    with TestClient(app, base_url=LOCAL) as http:
        for body in [
            {"messages": ask, "tools": {"get_weather": {}}},
            {"messages": ask, "tools": [{"type": "function", "function": {"name": "no spaces"}}]},
            {"messages": ask, "tools": [{"type": "retrieval"}]},
            {"messages": ask, "tools": [WEATHER, WEATHER]},
            {"messages": ask, "tools": [WEATHER], "tool_choice": {"type": "function", "function": {"name": "x"}}},
            {"messages": ask, "tools": [WEATHER], "tool_choice": "sometimes"},
            {"messages": [*ask, {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": "{oops"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]},
            {"messages": [{"role": "wizard", "content": "hi"}], "tools": [WEATHER]},
            {"messages": [*ask, {"role": "assistant", "content": "Hello!"}], "tools": [WEATHER]},
        ]:
            r = http.post("/v1/chat/completions", json=body)
            assert r.status_code == 400, body
            assert r.json()["error"]["type"] == "invalid_request_error"

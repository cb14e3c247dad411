"""Export and import: the round trip, idempotence, older exports, bad files; the CLI."""

import json
from datetime import datetime

import pytest

from os1.errors import StorageError
from os1.memory.sqlite import SQLiteMemory
from os1.mind.reflect import reflect_pending

from fakes import FakeLLM
from test_cli import os1

WEDNESDAY = datetime(2026, 3, 4, 18, 30).timestamp()


def reflection(messages):
    if "interview" not in messages[-1].content:
        return {"summary": "Ana lives in LA.", "journal": "", "self_description": "I listen.",
                "moments": [], "facts": []}
    return {
        "summary": "Ana moved to Portland and has an interview on Friday.",
        "journal": "I am glad she told me.",
        "self_description": "I am learning to follow Ana's life.",
        "moments": [{"kind": "open_loop", "text": "Ana's interview", "when": "on Friday"}],
        "facts": [],
    }


async def rich_memory(m):
    """``m`` given a profile, facts with history and a correction, two sessions, notes."""
    m.set_profile("name", "Ana")
    old = m.start_session("text", started_at=WEDNESDAY - 86400 * 60)
    la = m.add_message(old, "user", "I live in Los Angeles.", created_at=WEDNESDAY - 86400 * 60)
    m.add_message(old, "assistant", "Sunny!", created_at=WEDNESDAY - 86400 * 60 + 5)
    m.end_session(old)
    new = m.start_session("voice", started_at=WEDNESDAY)
    pdx = m.add_message(new, "user", "I moved to Portland; interview on Friday.", channel="voice",
                        created_at=WEDNESDAY)
    m.add_message(new, "assistant", "Good luck", channel="voice", interrupted=True,
                  created_at=WEDNESDAY + 5)
    m.add_fact("The user lives in Los Angeles.", kind="place", key="user.home_city", source_message_id=la)
    m.add_fact("The user lives in Portland.", kind="place", key="user.home_city", source_message_id=pdx)
    job = m.add_fact("The user has an interview at a bank.", kind="plan", source_message_id=pdx)
    m.edit(f"f{job}", "The user has a job interview on Friday.")
    m.mark_extracted(la)
    await reflect_pending(FakeLLM(reflect_for=reflection), m, companion="Mira")
    return m


def canonical(data):
    """An export with its ids replaced by positions, and without what an import
    rightly changes (whose memory it is, when it was exported)."""
    refs = {}
    for name in ("messages", "facts", "summaries", "journal", "relationship", "self_description"):
        for i, item in enumerate(data[name]):
            refs[item["id"]] = f"{name}#{i}"
    sessions = {s["id"]: f"session#{i}" for i, s in enumerate(data["sessions"])}

    def fix(item):
        out = {}
        for k, v in item.items():
            if k == "session" or (k == "id" and item in data["sessions"]):
                out[k] = sessions[v]
            elif isinstance(v, str) and v in refs:
                out[k] = refs[v]
            else:
                out[k] = v
        return out

    body = {k: v for k, v in data.items() if k not in ("user", "exported_at")}
    for name in ("sessions", "messages", "facts", "summaries", "journal", "relationship",
                 "self_description"):
        body[name] = [fix(item) for item in data[name]]
    return body


async def test_export_then_import_into_a_fresh_memory_is_the_same_memory(make_memory):
    source = await rich_memory(make_memory("ana", embedder=None))
    first = json.loads(json.dumps(source.export()))
    assert first["version"] == 3
    assert {f["text"]: f["superseded_by"] is not None for f in first["facts"]} == {
        "The user lives in Los Angeles.": True, "The user lives in Portland.": False,
        "The user has a job interview on Friday.": False, "The user has an interview at a bank.": True,
    }
    assert first["relationship"][0]["due"].startswith("2026-03-06")

    fresh = make_memory("bob", embedder=None)
    counts = fresh.import_data(first)
    assert counts == {"profile": 1, "sessions": 2, "messages": 4, "facts": 4, "summaries": 2,
                      "journal": 1, "relationship": 1, "self_description": 2}
    again = fresh.export()
    assert again["user"] == "bob"  # into the current user, whoever exported it
    assert canonical(again) == canonical(first)
    # It works as memory, not only as data: history, recall, reflection state.
    assert [f.text for f in fresh.facts() if f.key] == ["The user lives in Portland."]
    assert fresh.search("Portland interview")
    assert fresh.pending_reflections() == []
    # Not yet mined for facts there, so not here either.
    assert [m.content for m in fresh.unextracted()] == ["I moved to Portland; interview on Friday."]
    # Importing the same file again adds nothing.
    assert sum(fresh.import_data(first).values()) == 1  # only the profile is set again
    assert canonical(fresh.export()) == canonical(first)
    assert canonical(source.export()) == canonical(first)  # the exporter's memory is untouched


async def test_a_memory_moves_from_sqlite_to_postgresql_and_back_unchanged(tmp_path, pg_url):
    # Export and import go through the memory's ports, so any backend reads
    # what another wrote: moving from one computer to a server, and back.
    from os1.memory.postgres import PostgresMemory

    source = await rich_memory(SQLiteMemory(tmp_path / "laptop.sqlite3", "ana", embedder=None))
    server = PostgresMemory(pg_url, "ana", embedder=None)
    back = SQLiteMemory(tmp_path / "back.sqlite3", "ana", embedder=None)
    try:
        first = source.export()
        server.import_data(first)
        back.import_data(server.export())
        assert canonical(server.export()) == canonical(back.export()) == canonical(first)
        assert [f.text for f in server.facts() if f.key] == ["The user lives in Portland."]
        assert [n.kind for n in server.notes(["open_loop"])] == ["open_loop"]
    finally:
        for store in (source, server, back):
            store.close()


def test_an_older_export_without_sessions_or_history_imports(make_memory):
    old = {
        "format": "os1-memory", "version": 2, "user": "local", "exported_at": "2026-01-01T10:00:00+0000",
        "profile": {"name": "Theo"},
        "facts": [{"id": "f1", "text": "The user writes letters.", "kind": "work",
                   "created_at": "2026-01-01T09:00:00+0000", "source": "m1"}],
        "messages": [
            {"id": "m1", "session": 7, "role": "user", "content": "I write letters.", "channel": "text",
             "interrupted": False, "created_at": "2026-01-01T09:00:00+0000"},
            {"id": "m2", "session": 7, "role": "assistant", "content": "Lovely.", "channel": "text",
             "interrupted": False, "created_at": "2026-01-01T09:00:05+0000"},
        ],
    }
    m = make_memory("theo", embedder=None)
    assert m.import_data(old)["messages"] == 2
    (fact,) = m.facts()
    assert fact.source_message_id == m.messages()[0].id and fact.current
    assert m.unextracted() == []  # its facts came with it
    assert m.pending_reflections() == [m.messages()[0].session_id]  # notes come later


@pytest.mark.parametrize("data, words", [
    ({"format": "something-else"}, "not an os1 memory export"),
    ({"format": "os1-memory", "version": 99}, "version 99"),
    ({"format": "os1-memory", "version": 3, "messages": [{"id": "m1"}]}, "damaged"),
    ({"format": "os1-memory", "version": 3, "messages": [
        {"id": "m1", "session": 1, "role": "system", "content": "x", "created_at": "2026-01-01T09:00:00+0000"}],
      "sessions": [{"id": 1, "started_at": "2026-01-01T09:00:00+0000"}]}, "damaged"),
])
def test_a_bad_file_is_a_clear_error_and_changes_nothing(make_memory, data, words):
    m = make_memory("ana", embedder=None)
    with pytest.raises(StorageError, match=words):
        m.import_data(data)
    assert m.messages() == [] and m.export()["sessions"] == []


async def test_cli_export_import_edit_history(tmp_path):
    home_a, home_b = tmp_path / "a", tmp_path / "b"
    home_a.mkdir()
    (await rich_memory(SQLiteMemory(home_a / "os1.sqlite3", "local", embedder=None))).close()
    out = tmp_path / "export.json"
    assert os1("memory", "export", str(out), home=home_a).returncode == 0
    r = os1("memory", "import", str(out), home=home_b)
    assert r.returncode == 0, r.stderr
    assert "4 messages" in r.stdout and "4 facts" in r.stdout
    exported = os1("memory", "export", "-", home=home_b)
    assert canonical(json.loads(exported.stdout)) == canonical(json.loads(out.read_text()))

    listed = os1("memory", "list", home=home_b).stdout
    assert "The user lives in Portland." in listed and "Los Angeles" not in listed
    assert "open loop: Ana's interview (due 2026-03-06)" in listed
    assert "Ana moved to Portland" in listed and "How Mira sees itself: I am learning" in listed
    history = os1("memory", "history", home=home_b).stdout
    la = next(line for line in history.splitlines() if "Los Angeles" in line)
    assert "until 2026-03-04" in la and "replaced by f" in la
    assert "corrected by f" in history
    assert "Los Angeles" in os1("memory", "list", "--history", home=home_b).stdout

    fid = next(f["id"] for f in json.loads(exported.stdout)["facts"] if "Portland" in f["text"])
    r = os1("memory", "edit", fid, "The user lives in Portland, Oregon.", home=home_b)
    assert r.returncode == 0 and "old words are kept" in r.stdout
    assert "Portland, Oregon." in os1("memory", "list", home=home_b).stdout
    assert "The user lives in Portland.  (" in os1("memory", "history", home=home_b).stdout
    assert os1("memory", "edit", "m1", "x", home=home_b).returncode == 1
    assert os1("memory", "edit", "f999", "x", home=home_b).returncode == 1
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = os1("memory", "import", str(bad), home=home_b)
    assert r.returncode == 1 and "not valid JSON" in r.stderr and "Traceback" not in r.stderr


def test_cli_reflect_writes_notes_with_the_configured_model(tmp_path):
    from openai_server import OpenAIServer

    with OpenAIServer() as server:
        assert os1("chat", home=tmp_path, llm=server.url, stdin="hello there\n").returncode == 0
        r = os1("memory", "reflect", home=tmp_path, llm=server.url)
        assert r.returncode == 0, r.stderr
        assert "Reflected on 1 conversation." in r.stdout
        assert "Reflected on 0 conversations." in os1("memory", "reflect", home=tmp_path,
                                                       llm=server.url).stdout
    listed = os1("memory", "list", home=tmp_path).stdout
    assert "We said hello." in listed and "How Mira sees itself: I listen." in listed

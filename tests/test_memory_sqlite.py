import json
import sqlite3

import pytest

from os1.errors import StorageError
from os1.memory.sqlite import SQLiteMemory


@pytest.fixture
def memory(tmp_path):
    m = SQLiteMemory(tmp_path / "db.sqlite3", "alice")
    yield m
    m.close()


def test_messages_and_facts_persist(tmp_path):
    path = tmp_path / "db.sqlite3"
    m = SQLiteMemory(path, "alice")
    sid = m.start_session("text")
    mid = m.add_message(sid, "user", "I adopted a dog named Biscuit.")
    m.add_fact("The user has a dog named Biscuit.", kind="people", source_message_id=mid)
    m.set_profile("name", "Alice")
    m.close()

    again = SQLiteMemory(path, "alice")
    assert [f.text for f in again.facts()] == ["The user has a dog named Biscuit."]
    assert again.facts()[0].source_message_id == mid
    assert again.messages()[0].content == "I adopted a dog named Biscuit."
    assert again.profile() == {"name": "Alice"}
    again.close()


def test_search_ranks_and_stems(memory):
    sid = memory.start_session("text")
    memory.add_message(sid, "user", "I love hiking in the mountains.")
    memory.add_message(sid, "user", "My sister lives in Berlin.")
    memory.add_fact("The user's sister lives in Berlin.", kind="people", source_message_id=None)
    hits = memory.search("Where does my sister live?")
    assert hits and hits[0].ref.startswith("f")  # the fact outranks the raw message
    assert any("Berlin" in h.text for h in hits)
    assert memory.search("hikes")[0].text == "I love hiking in the mountains."  # porter stemming
    assert memory.search("the of and") == []  # only stopwords


def test_search_can_exclude_current_session(memory):
    old = memory.start_session("text")
    memory.add_message(old, "user", "My favourite colour is green.")
    new = memory.start_session("text")
    memory.add_message(new, "user", "What is my favourite colour?")
    hits = memory.search("favourite colour", exclude_session=new)
    assert [h.text for h in hits] == ["My favourite colour is green."]


def test_duplicate_facts_are_not_stored_twice(memory):
    assert memory.add_fact("The user likes tea.", kind="preference", source_message_id=None)
    assert memory.add_fact("the user likes  TEA.", kind="preference", source_message_id=None) is None
    assert len(memory.facts()) == 1


def test_forget_message_removes_derived_facts_and_index(tmp_path, memory):
    sid = memory.start_session("text")
    mid = memory.add_message(sid, "user", "My password hint is marmalade.")
    memory.add_fact("The user's password hint is marmalade.", kind="other", source_message_id=mid)
    assert memory.forget(f"m{mid}")
    assert memory.facts() == []
    assert memory.search("marmalade") == []
    raw = sqlite3.connect(tmp_path / "db.sqlite3")
    assert raw.execute("SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'marmalade'").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM facts_fts WHERE facts_fts MATCH 'marmalade'").fetchone()[0] == 0
    assert raw.execute("SELECT count(*) FROM facts").fetchone()[0] == 0
    assert not memory.forget(f"m{mid}")
    assert not memory.forget("x1") and not memory.forget("f")


def test_users_never_see_each_other(tmp_path):
    a = SQLiteMemory(tmp_path / "db.sqlite3", "alice")
    b = SQLiteMemory(tmp_path / "db.sqlite3", "bob")
    sid = a.start_session("text")
    mid = a.add_message(sid, "user", "Alice's secret is the blue door.")
    fid = a.add_fact("Alice's secret is the blue door.", kind="other", source_message_id=mid)
    a.set_profile("name", "Alice")
    assert b.search("secret blue door") == []
    assert b.facts() == [] and b.messages() == [] and b.profile() == {}
    assert not b.forget(f"f{fid}") and not b.forget(f"m{mid}")
    assert b.export()["messages"] == []
    assert len(a.facts()) == 1
    a.close()
    b.close()


def test_extraction_queue(memory):
    sid = memory.start_session("text")
    u = memory.add_message(sid, "user", "hello")
    memory.add_message(sid, "assistant", "hi there")
    assert [m.id for m in memory.unextracted()] == [u]  # only the user's words are mined
    memory.mark_extracted(u)
    assert memory.unextracted() == []


def test_export_is_readable_json(memory):
    sid = memory.start_session("text")
    memory.add_message(sid, "user", "I'm Ana.")
    memory.add_fact("The user's name is Ana.", kind="identity", source_message_id=None)
    data = json.loads(json.dumps(memory.export()))
    assert data["format"] == "os1-memory" and data["user"] == "alice"
    assert data["facts"][0]["text"] == "The user's name is Ana."
    assert data["messages"][0]["content"] == "I'm Ana."


def test_corrupt_database_is_a_clear_error(tmp_path):
    path = tmp_path / "db.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError, match="Cannot open the memory database"):
        SQLiteMemory(path, "alice")

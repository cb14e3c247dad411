import json
import sqlite3

import pytest

from os1.errors import StorageError
from os1.memory.sqlite import SQLiteMemory


@pytest.fixture
def memory(make_memory):
    return make_memory("alice")


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


def test_forget_message_removes_derived_facts_and_index(tmp_path):
    memory = SQLiteMemory(tmp_path / "db.sqlite3", "alice")
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
    memory.close()


def test_users_never_see_each_other(make_memory):
    a = make_memory("alice")
    b = make_memory("bob")
    sid = a.start_session("text")
    mid = a.add_message(sid, "user", "Alice's secret is the blue door.")
    fid = a.add_fact("Alice's secret is the blue door.", kind="other", source_message_id=mid)
    a.set_profile("name", "Alice")
    assert b.search("secret blue door") == []
    assert b.facts() == [] and b.messages() == [] and b.profile() == {}
    assert not b.forget(f"f{fid}") and not b.forget(f"m{mid}")
    assert b.export()["messages"] == []
    assert len(a.facts()) == 1


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


def test_joined_words_are_found_by_their_parts(memory):
    from os1.memory.store import index_words

    assert index_words("my iPhone 13 and a PS5") == "my iPhone 13 and a PS5\ni Phone PS 5"
    assert index_words("plain words, 2023-05-01") == "plain words, 2023-05-01"
    sid = memory.start_session("text")
    mid = memory.add_message(sid, "user", "The screen of my iPhone 13 Pro cracked.")
    memory.add_message(sid, "user", "I had pasta for lunch.")
    assert [h.ref for h in memory.search("phone screen")][:1] == [f"m{mid}"]


def test_a_message_is_found_by_the_words_around_it(tmp_path):
    memory = SQLiteMemory(tmp_path / "db.sqlite3", "alice")
    sid = memory.start_session("text")
    shoes = memory.add_message(sid, "user", "Look at my new running shoes!")
    reply = memory.add_message(sid, "assistant", "Love that purple colour.")
    later = memory.add_message(sid, "user", "Anyway, work was busy.")
    raw = sqlite3.connect(tmp_path / "db.sqlite3")

    def around(word):
        return {r[0] for r in raw.execute(
            "SELECT rowid FROM messages_context_fts WHERE messages_context_fts MATCH ?", (word,))}

    assert around("shoes") == {shoes, reply} and around("purple") == {shoes, reply, later}
    assert f"m{reply}" in {h.ref for h in memory.search("shoes")}  # the reply is about them
    memory.revise_message(reply, "Love that green colour.", interrupted=False)
    assert around("purple") == set() and around("green") == {shoes, reply, later}
    assert memory.forget(f"m{reply}")
    assert around("green") == set() and around("shoes") == {shoes, later}  # neighbours now
    memory.close()


def test_writing_and_reading_from_two_threads_never_deadlocks(tmp_path):
    # A message's triggers call back into Python (os1_words) while another
    # thread reads rows: a reader that fetched outside the store's lock once
    # held the interpreter lock while waiting for SQLite, and both stopped
    # (the whole process: hence a child process with a time limit).
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import threading
        from pathlib import Path
        from os1.memory.sqlite import SQLiteMemory

        memory = SQLiteMemory(Path({str(tmp_path / "db.sqlite3")!r}), "alice")
        sid = memory.start_session("text")
        done = threading.Event()

        def read():
            while not done.is_set():
                memory.messages(limit=400)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        for i in range(400):
            memory.add_message(sid, "user", f"Message {{i}} about my iPhone and the MacBook.")
        done.set()
        reader.join()
        print("ok")
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr

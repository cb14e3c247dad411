"""Facts over time: keys, supersession with history kept, edits, and the schema upgrade."""

import sqlite3
from datetime import datetime

import pytest

from os1.config import PersonaSettings
from os1.memory.facts import normalize_key
from os1.memory.schema import SCHEMA_VERSION
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion
from os1.mind.persona import past_facts, system_prompt

from fakes import FakeLLM


def ts(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").timestamp()


@pytest.fixture
def memory(make_memory):
    return make_memory("alice", embedder=None)


def said(memory, text, day):
    sid = memory.start_session("text", started_at=ts(day))
    return memory.add_message(sid, "user", text, created_at=ts(day))


@pytest.mark.parametrize("raw, key", [
    (" User.Home City ", "user.home_city"),
    ("sister.name", "sister.name"),
    ("user.likes", None),         # many at once: a second like must not erase the first
    ("user.hobbies", None),
    ("home_city", None),          # no subject
    ("", None),
    (None, None),
])
def test_keys_are_tidied(raw, key):
    assert normalize_key(raw) == key


def test_a_newer_fact_wins_and_the_old_one_is_history(memory):
    la = said(memory, "I live in Los Angeles.", "2025-01-10")
    pdx = said(memory, "I moved to Portland!", "2026-03-02")
    old = memory.add_fact("The user lives in Los Angeles.", kind="place", key="user.home_city",
                          source_message_id=la)
    new = memory.add_fact("The user lives in Portland.", kind="place", key="user.home_city",
                          source_message_id=pdx)
    assert [f.text for f in memory.facts()] == ["The user lives in Portland."]
    history = {f.id: f for f in memory.facts(include_history=True)}
    assert set(history) == {old, new}
    assert history[old].superseded_by == new and not history[old].current
    assert history[old].superseded_at == ts("2026-03-02")  # when the new one became true
    assert history[old].valid_from == ts("2025-01-10") and history[new].current
    # Recall uses current facts only; the old message itself is still a memory.
    refs = [h.ref for h in memory.search("where does the user live Los Angeles Portland")]
    assert f"f{new}" in refs and f"f{old}" not in refs


def test_facts_learned_out_of_order_end_in_time_order(memory):
    pdx = said(memory, "I moved to Portland", "2026-03-02")
    la = said(memory, "back then I lived in Los Angeles", "2025-01-10")
    new = memory.add_fact("The user lives in Portland.", kind="place", key="user.home_city",
                          source_message_id=pdx)
    old = memory.add_fact("The user lives in Los Angeles.", kind="place", key="user.home_city",
                          source_message_id=la)
    assert [f.id for f in memory.facts()] == [new]
    past = [f for f in memory.facts(include_history=True) if not f.current]
    assert [(f.id, f.superseded_by) for f in past] == [(old, new)]


def test_unkeyed_and_differently_keyed_facts_live_side_by_side(memory):
    m = said(memory, "I like tea and coffee, my sister is Eva", "2026-01-01")
    memory.add_fact("The user likes tea.", kind="preference", key="user.likes", source_message_id=m)
    memory.add_fact("The user likes coffee.", kind="preference", key="user.likes", source_message_id=m)
    memory.add_fact("The user's sister is named Eva.", kind="people", key="sister.name",
                    source_message_id=m)
    assert len(memory.facts()) == 3


def test_the_same_words_reworded_are_not_a_change(memory):
    m = said(memory, "I moved to Portland", "2026-03-02")
    first = memory.add_fact("The user lives in Portland.", kind="place", key="user.home_city",
                            source_message_id=m)
    assert memory.add_fact("The user moved to Portland.", kind="place", key="user.home_city",
                           source_message_id=m) is None
    assert [f.id for f in memory.facts(include_history=True)] == [first]


def test_edit_keeps_the_id_and_the_old_words_as_a_correction(memory):
    m = said(memory, "I work at the bakery", "2026-01-01")
    fid = memory.add_fact("The user works at a bank.", kind="work", key="user.job", source_message_id=m)
    assert memory.edit(f"f{fid}", "The user works at a  bakery.")
    (current,) = memory.facts()
    assert current.id == fid and current.text == "The user works at a bakery."
    (old,) = [f for f in memory.facts(include_history=True) if not f.current]
    assert old.text == "The user works at a bank." and old.corrected and old.superseded_by == fid
    assert old.source_message_id == m  # still drawn from the message: forgetting it removes both
    # A correction is not the past, and its old words are not learned again.
    assert past_facts(memory.facts(include_history=True)) == []
    assert memory.add_fact("The user works at a bank.", kind="work", source_message_id=m) is None
    assert memory.search("bank") == []  # recall knows only the corrected words
    assert [h.ref for h in memory.search("bakery")][0] == f"f{fid}"
    # Forgetting the fact takes its corrected wording with it.
    assert memory.forget(f"f{fid}")
    assert memory.facts(include_history=True) == []
    assert not memory.edit(f"f{fid}", "anything") and not memory.edit("m1", "no") and not memory.edit("zz", "x")


def test_forgetting_the_newer_fact_makes_the_older_current_again(memory):
    la = said(memory, "I live in Los Angeles.", "2025-01-10")
    pdx = said(memory, "I moved to Portland!", "2026-03-02")
    old = memory.add_fact("The user lives in Los Angeles.", kind="place", key="user.home_city",
                          source_message_id=la)
    memory.add_fact("The user lives in Portland.", kind="place", key="user.home_city",
                    source_message_id=pdx)
    assert memory.forget(f"m{pdx}")  # as if it was never said
    (fact,) = memory.facts(include_history=True)
    assert fact.id == old and fact.current and fact.superseded_by is None


def test_the_system_prompt_tells_the_past_as_past(memory):
    la = said(memory, "I live in Los Angeles.", "2025-01-10")
    pdx = said(memory, "I moved to Portland!", "2026-03-02")
    memory.add_fact("The user lives in Los Angeles.", kind="place", key="user.home_city",
                    source_message_id=la)
    memory.add_fact("The user lives in Portland.", kind="place", key="user.home_city",
                    source_message_id=pdx)
    facts = memory.facts(include_history=True)
    text = system_prompt(PersonaSettings(), profile={"name": "Ana"},
                         facts=[f for f in facts if f.current], past=past_facts(facts))
    known, _, before = text.partition("What used to be true")
    assert "Ana lives in Portland." in known and "Los Angeles" not in known
    assert "Until 2 March 2026: Ana lives in Los Angeles." in before


async def test_an_updated_fact_wins_through_the_companion(settings):
    """Told in one session, contradicted in the next: the new fact is in the
    prompt, the old one is history, both with the messages they came from."""
    memory = SQLiteMemory(settings.database, settings.user, embedder=None)
    keyed = {
        "I live in Los Angeles.": [{"fact": "The user lives in Los Angeles.", "kind": "place",
                                    "key": "user.home_city"}],
        "I just moved to Portland!": [{"fact": "The user lives in Portland.", "kind": "place",
                                       "key": "user.home_city"}],
    }
    try:
        for text in keyed:
            llm = FakeLLM(facts_for=lambda t: next((v for k, v in keyed.items() if k in t), []))
            async with Companion(settings, llm, memory) as c:
                [e async for e in c.send(text)]
        # Extraction was shown the key in use, so it can reuse it.
        assert "Keys in use: user.home_city" in llm.background_prompts[-1][-1].content
        assert [f.text for f in memory.facts()] == ["The user lives in Portland."]
        old = [f for f in memory.facts(include_history=True) if not f.current]
        assert [f.text for f in old] == ["The user lives in Los Angeles."]
        llm = FakeLLM()
        async with Companion(settings, llm, memory) as c:
            [e async for e in c.send("Where do I live?")]
        system = llm.prompts[0][0].content
        known, _, before = system.partition("What used to be true")
        assert "lives in Portland" in known and "Los Angeles" not in known
        assert "lives in Los Angeles" in before
    finally:
        memory.close()


V2_SCHEMA = """
CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, channel TEXT NOT NULL,
    started_at REAL NOT NULL, ended_at REAL);
CREATE TABLE messages (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL,
    session_id INTEGER NOT NULL REFERENCES sessions(id), role TEXT NOT NULL, content TEXT NOT NULL,
    channel TEXT NOT NULL DEFAULT 'text', interrupted INTEGER NOT NULL DEFAULT 0,
    extracted INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE facts (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, text TEXT NOT NULL,
    kind TEXT NOT NULL, source_message_id INTEGER REFERENCES messages(id) ON DELETE CASCADE,
    created_at REAL NOT NULL);
CREATE TABLE profile (user_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (user_id, key));
CREATE VIRTUAL TABLE messages_fts USING fts5(content, content='messages', content_rowid='id',
    tokenize='porter unicode61');
CREATE VIRTUAL TABLE facts_fts USING fts5(text, content='facts', content_rowid='id',
    tokenize='porter unicode61');
CREATE TABLE message_vectors (message_id INTEGER PRIMARY KEY REFERENCES messages(id)
    ON DELETE CASCADE, model TEXT NOT NULL, vector BLOB NOT NULL);
CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content); END;
CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', old.id, old.content); END;
CREATE TRIGGER facts_ai AFTER INSERT ON facts BEGIN
    INSERT INTO facts_fts(rowid, text) VALUES (new.id, new.text); END;
CREATE TRIGGER facts_ad AFTER DELETE ON facts BEGIN
    INSERT INTO facts_fts(facts_fts, rowid, text) VALUES ('delete', old.id, old.text); END;
INSERT INTO sessions VALUES (1, 'alice', 'text', 1000, 2000);
INSERT INTO messages VALUES (1, 'alice', 1, 'user', 'I live in Los Angeles.', 'text', 0, 1, 1500);
INSERT INTO facts VALUES (1, 'alice', 'The user lives in Los Angeles.', 'place', 1, 1600);
PRAGMA user_version = 2;
"""


def test_a_version_2_database_is_upgraded_in_place(tmp_path):
    path = tmp_path / "db.sqlite3"
    raw = sqlite3.connect(path)
    raw.executescript(V2_SCHEMA)
    raw.close()
    m = SQLiteMemory(path, "alice", embedder=None)
    try:
        assert [h.ref for h in m.search("Los Angeles")] == ["f1", "m1"]  # indexed anew
        (fact,) = m.facts()
        assert fact.valid_from == 1500 and fact.current and fact.key is None  # when it was said
        assert m.pending_reflections() == [1]  # old sessions get their notes too
        sid = m.start_session("text")
        new = m.add_message(sid, "user", "I moved to Portland.")
        m.add_fact("The user lives in Portland.", kind="place", key="user.home_city",
                   source_message_id=new)
        m.add_fact("The user's home is in Portland.", kind="place", key="user.home_city",
                   source_message_id=None)
        assert len(m.facts()) == 2  # the old, unkeyed fact stays current: nothing said it changed
        assert m.forget("m1") and [f.text for f in m.facts()] == ["The user's home is in Portland."]
    finally:
        m.close()
    check = sqlite3.connect(path)
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    trigger = check.execute("SELECT sql FROM sqlite_master WHERE name = 'facts_ad'").fetchone()[0]
    assert "superseded_by" in trigger  # the history rules replaced the version-2 trigger
    # Opening again changes nothing.
    SQLiteMemory(path, "alice", embedder=None).close()
    assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

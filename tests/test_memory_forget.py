"""Forgetting removes every trace: asserted on the database file itself."""

import re
import sqlite3

import numpy as np
import pytest

from os1.memory.sqlite import SQLiteMemory
from os1.mind.reflect import reflect_pending

from fakes import FakeLLM

SECRET = "marmalade"
STEM = "marmalad"  # as the full-text index stores it (porter stemming)


class HashEmbedder:
    """Deterministic 8-dimensional vectors from the words of a text."""

    name = "hash"
    dim = 8

    def _vector(self, text):
        v = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            v[hash(word) % self.dim] += 1.0
        return v / (np.linalg.norm(v) or 1.0)

    def embed_passages(self, texts):
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, 8), np.float32)

    def embed_query(self, text):
        return self._vector(text)


def reflection_for(messages):
    transcript = messages[-1].content.partition("Facts you know")[0]
    told = SECRET in transcript.lower()
    about = f"the secret word {SECRET}" if told else "tea"
    return {
        "summary": f"Ana told me about {about}.",
        "journal": f"I will keep {about} safe.",
        "self_description": f"I am a keeper of {about}." if told else "I am a friend who listens.",
        "moments": [{"kind": "joke", "text": f"our joke about {about}", "when": ""}],
        "facts": [],
    }


def all_cells(path):
    """Every value of every row of every table (FTS shadow tables included)."""
    db = sqlite3.connect(path)
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        for row in db.execute(f'SELECT * FROM "{table}"'):
            for cell in row:
                yield table, cell
    db.close()


@pytest.fixture
def memory(tmp_path):
    m = SQLiteMemory(tmp_path / "db.sqlite3", "ana", embedder=HashEmbedder())
    yield m
    m.close()


async def test_forgetting_a_message_removes_every_derived_trace(tmp_path, memory):
    path = tmp_path / "db.sqlite3"
    first = memory.start_session("text")
    secret = memory.add_message(first, "user", f"My secret word is {SECRET}.")
    reply = memory.add_message(first, "assistant", f"{SECRET.title()}, noted! I'll keep it.")
    tea = memory.add_message(first, "user", "I also like green tea.")
    memory.add_fact(f"The user's secret word is {SECRET}.", kind="other", source_message_id=secret)
    memory.add_fact("The user likes green tea.", kind="preference", source_message_id=tea)
    llm = FakeLLM(reflect_for=reflection_for)
    assert await reflect_pending(llm, memory, companion="Mira") == 1
    second = memory.start_session("text")
    memory.add_message(second, "user", "Good morning!")
    assert await reflect_pending(llm, memory, companion="Mira") == 1  # self-description v2, built on v1
    while memory.embed_pending():
        pass
    assert any(SECRET in str(cell).lower() for _, cell in all_cells(path))  # it was all there
    assert {h.ref for h in memory.search(SECRET)} >= {f"m{secret}", "s1", "j1", "r1"}

    assert memory.forget(f"m{secret}")

    for table, cell in all_cells(path):
        text = cell.decode("latin-1") if isinstance(cell, bytes) else str(cell)
        assert STEM not in text.lower(), f"{table} still holds it"
    db = sqlite3.connect(path)
    fts = [r[0] for r in db.execute(
        "SELECT name FROM sqlite_master WHERE sql LIKE 'CREATE VIRTUAL TABLE%fts5%'")]
    assert {"messages_fts", "facts_fts", "summaries_fts", "journal_fts", "relationship_fts"} <= set(fts)
    for table in fts:
        assert db.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (SECRET,)).fetchone()[0] == 0
        db.execute(f"CREATE VIRTUAL TABLE temp.v_{table} USING fts5vocab(main, {table}, 'row')")
        terms = {r[0] for r in db.execute(f"SELECT term FROM temp.v_{table}")}
        assert not {t for t in terms if t.startswith(STEM)}, table
    assert db.execute("SELECT count(*) FROM message_vectors WHERE message_id IN (?, ?)",
                      (secret, reply)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM messages WHERE id IN (?, ?)", (secret, reply)).fetchone()[0] == 0
    # The reflection on that session is gone, and so is the self-description
    # written after it (it grew from the one that knew the secret).
    for table in ("summaries", "journal", "relationship"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE source_session_id = ?",
                          (first,)).fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM self_descriptions").fetchone()[0] == 0
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for table in fts:
        db.execute(f"INSERT INTO {table}({table}) VALUES ('integrity-check')")  # raises if broken
    db.close()
    # The file itself, and its write-ahead log, no longer hold the words.
    raw = path.read_bytes() + (tmp_path / "db.sqlite3-wal").read_bytes()
    assert STEM.encode() not in raw.lower()

    # What was not forgotten stays; the session is reflected on again from it.
    assert [f.text for f in memory.facts()] == ["The user likes green tea."]
    assert not [h for h in memory.search(SECRET) if SECRET in h.text.lower()]
    assert memory.pending_reflections() == [first]
    assert await reflect_pending(llm, memory, companion="Mira") == 1
    assert [n.text for n in memory.notes(["summary"]) if n.session_id == first] == ["Ana told me about tea."]


async def test_forgetting_notes_and_facts_by_id(tmp_path, memory):
    sid = memory.start_session("text")
    memory.add_message(sid, "user", f"I love {SECRET} on toast.")
    await reflect_pending(FakeLLM(reflect_for=reflection_for), memory, companion="Mira")
    refs = [n.ref for n in memory.notes()]
    assert sorted(r[0] for r in refs) == ["d", "j", "r", "s"]
    for ref in refs:
        assert memory.forget(ref)
        assert not memory.forget(ref)
    assert memory.notes() == [] and memory.self_description() is None
    assert memory.pending_reflections() == []  # forgetting a note is not a request to rewrite it
    db = sqlite3.connect(tmp_path / "db.sqlite3")
    for table in ("summaries_fts", "journal_fts", "relationship_fts"):
        assert db.execute(f"SELECT count(*) FROM {table} WHERE {table} MATCH ?", (SECRET,)).fetchone()[0] == 0


def test_another_user_cannot_forget_or_edit(tmp_path, memory):
    sid = memory.start_session("text")
    mid = memory.add_message(sid, "user", "hello")
    fid = memory.add_fact("The user says hello.", kind="other", source_message_id=mid)
    bob = SQLiteMemory(tmp_path / "db.sqlite3", "bob", embedder=None)
    try:
        assert not bob.forget(f"m{mid}") and not bob.forget(f"f{fid}")
        assert not bob.edit(f"f{fid}", "The user says goodbye.")
        assert bob.pending_reflections() == [] and bob.notes() == []
    finally:
        bob.close()
    assert [f.text for f in memory.facts()] == ["The user says hello."]

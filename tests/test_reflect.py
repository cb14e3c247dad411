"""Reflection: summaries, journal, relationship records, self-description, facts
from a whole conversation; scheduling in the companion; failure handling."""

import asyncio
import threading
import time
from datetime import datetime

import pytest

from os1.errors import ModelUnavailable
from os1.memory.sqlite import SQLiteMemory
from os1.memory.store import Reflection, StoredMessage
from os1.mind.companion import Companion
from os1.mind.reflect import ReflectLimits, reflect_pending, transcript

from fakes import FakeLLM

WEDNESDAY = datetime(2026, 3, 4, 18, 30).timestamp()


def friday_reflection(messages):
    return {
        "summary": "Ana told me about her job interview and her move to Portland.",
        "journal": "I felt her nerves and her hope; I want to ask how it went.",
        "self_description": "I am becoming someone Ana trusts with her plans.",
        "moments": [
            {"kind": "open_loop", "text": "Ana's job interview at the library", "when": "on Friday"},
            {"kind": "joke", "text": "the cat who judges her cooking", "when": ""},
            {"kind": "nonsense", "text": "dropped: not a kind", "when": ""},
            {"kind": "moment", "text": "Ana's favourite movie night", "when": ""},  # never said: dropped
        ],
        "facts": [
            {"fact": "The user lives in Portland.", "kind": "place", "key": "user.home_city", "turn": 3},
            {"fact": "The user has a job interview at the library.", "kind": "plan", "key": "", "turn": 1},
            {"fact": "The user's brother is named Zed.", "kind": "people", "key": "brother.name", "turn": 3},
        ],
    }


@pytest.fixture
def memory(make_memory):
    m = make_memory("ana", embedder=None)
    m.set_profile("name", "Ana")
    return m


def conversation(memory, at=WEDNESDAY):
    sid = memory.start_session("text", started_at=at)
    ids = []
    for i, (role, text) in enumerate([
        ("user", "I have a job interview at the library on Friday."),
        ("assistant", "Exciting! Where do you live now?"),
        ("user", "Portland, since last month. My cat judges my cooking."),
        ("assistant", "Ha, a critic at home."),
    ]):
        ids.append(memory.add_message(sid, role, text, created_at=at + 60 * i))
    return sid, ids


async def test_reflection_writes_summary_journal_relationship_and_self(memory):
    sid, ids = conversation(memory)
    llm = FakeLLM(reflect_for=friday_reflection)
    assert memory.pending_reflections() == [sid]
    assert await reflect_pending(llm, memory, companion="Mira") == 1

    prompt = llm.reflection_prompts[0][-1].content
    assert "[1] Ana: I have a job interview" in prompt and "[2] Mira: Exciting!" in prompt
    notes = {n.kind: n for n in memory.notes()}
    assert set(notes) == {"summary", "journal", "self", "open_loop", "joke"}
    assert notes["summary"].text.startswith("Ana told me") and notes["summary"].session_id == sid
    assert notes["journal"].ref.startswith("j") and notes["open_loop"].ref.startswith("r")
    # "on Friday", said on Wednesday 4 March 2026: Friday 6 March.
    assert datetime.fromtimestamp(notes["open_loop"].due_at).date().isoformat() == "2026-03-06"
    assert notes["joke"].due_at is None
    assert memory.self_description() == "I am becoming someone Ana trusts with her plans."
    # Facts cite the turn they come from; one the turn does not ground is dropped.
    facts = {f.text: f for f in memory.facts()}
    assert set(facts) == {"The user lives in Portland.", "The user has a job interview at the library."}
    assert facts["The user lives in Portland."].source_message_id == ids[2]
    assert facts["The user lives in Portland."].key == "user.home_city"
    assert facts["The user has a job interview at the library."].source_message_id == ids[0]
    # Done: nothing pending, and running again asks the model nothing.
    assert memory.pending_reflections() == []
    assert await reflect_pending(llm, memory, companion="Mira") == 0
    assert len(llm.reflection_prompts) == 1


async def test_summaries_and_journal_are_recalled(memory):
    conversation(memory)
    await reflect_pending(FakeLLM(reflect_for=friday_reflection), memory, companion="Mira")
    kinds = {h.kind for h in memory.search("job interview library nerves")}
    assert {"summary", "journal", "open_loop"} <= kinds


async def test_new_words_make_a_session_due_again_and_replace_its_notes(memory):
    sid, ids = conversation(memory)
    llm = FakeLLM(reflect_for=friday_reflection)
    await reflect_pending(llm, memory, companion="Mira")
    late = memory.add_message(sid, "user", "Also my brother Zed visits on Sunday.",
                              created_at=WEDNESDAY + 600)
    assert memory.pending_reflections() == [sid]

    def second(messages):
        data = friday_reflection(messages)
        data["summary"] = "Ana talked about the interview, Portland, and Zed's visit."
        return data

    await reflect_pending(FakeLLM(reflect_for=second), memory, companion="Mira")
    summaries = memory.notes(["summary"])
    assert [n.text for n in summaries] == ["Ana talked about the interview, Portland, and Zed's visit."]
    assert len(memory.notes(["open_loop"])) == 1 and len(memory.notes(["self"])) == 1
    # Only the new line's facts are drawn again (the earlier ones were drawn the first time).
    zed = [f for f in memory.facts() if "Zed" in f.text]
    assert [f.source_message_id for f in zed] == [late]
    assert len(memory.facts()) == 3


async def test_a_contradicting_fact_from_reflection_supersedes_the_old_one(memory):
    old_sid = memory.start_session("text", started_at=WEDNESDAY - 90 * 86400)
    la = memory.add_message(old_sid, "user", "I live in Los Angeles.", created_at=WEDNESDAY - 90 * 86400)
    memory.add_fact("The user lives in Los Angeles.", kind="place", key="user.home_city",
                    source_message_id=la)
    conversation(memory)

    def reflect_for(messages):
        if "Los Angeles" in messages[-1].content.partition("Facts you know")[0]:
            return {"summary": "Ana lives in LA.", "journal": "", "self_description": "",
                    "moments": [], "facts": []}
        return friday_reflection(messages)

    llm = FakeLLM(reflect_for=reflect_for)
    await reflect_pending(llm, memory, companion="Mira")
    # The model was shown the keyed fact, so it could reuse the key.
    assert "[user.home_city] The user lives in Los Angeles." in llm.reflection_prompts[-1][-1].content
    current = [f.text for f in memory.facts() if f.key == "user.home_city"]
    assert current == ["The user lives in Portland."]
    (past,) = [f for f in memory.facts(include_history=True) if not f.current]
    assert past.text == "The user lives in Los Angeles." and not past.corrected


async def test_unusable_answers_are_retried_a_few_times_then_left(memory, caplog):
    sid, _ = conversation(memory)
    llm = FakeLLM(reflect_for=lambda m: ["not", "an", "object"])
    for attempt in range(3):
        assert memory.pending_reflections() == [sid], attempt
        assert await reflect_pending(llm, memory, companion="Mira") == 0
    assert memory.pending_reflections() == []  # given up until there is something new
    assert memory.notes() == []
    memory.add_message(sid, "user", "One more thing.")
    assert memory.pending_reflections() == [sid]


async def test_an_answer_without_a_summary_is_unusable(memory):
    sid, _ = conversation(memory)
    empty = {"summary": " ", "journal": "", "self_description": "", "moments": [], "facts": []}
    assert await reflect_pending(FakeLLM(reflect_for=lambda m: empty), memory, companion="Mira") == 0
    assert memory.pending_reflections() == [sid] and memory.notes() == []


async def test_an_unreachable_model_postpones_everything(memory):
    conversation(memory)
    conversation(memory, at=WEDNESDAY + 86400)
    llm = FakeLLM(fail=ModelUnavailable("Cannot reach the model server."))
    assert await reflect_pending(llm, memory, companion="Mira") == 0
    assert len(llm.reflection_prompts) == 1  # stopped at the first
    assert len(memory.pending_reflections()) == 2


async def test_a_message_forgotten_while_reflecting_never_reaches_the_notes(memory):
    sid, ids = conversation(memory)

    def forget_meanwhile(messages):
        memory.forget(f"m{ids[2]}")  # the user forgets it while the model is writing
        return friday_reflection(messages)

    assert await reflect_pending(FakeLLM(reflect_for=forget_meanwhile), memory, companion="Mira") == 0
    assert memory.notes() == [] and memory.pending_reflections() == [sid]
    # The next run reflects on what remains.
    llm = FakeLLM(reflect_for=friday_reflection)
    assert await reflect_pending(llm, memory, companion="Mira") == 1
    assert "Portland, since last month" not in llm.reflection_prompts[0][-1].content


def test_two_workers_saving_one_conversations_reflection_at_once_keep_one_set_of_notes(make_memory):
    # Workers serving one person on PostgreSQL each reflect once the talk goes quiet.
    first, second = make_memory("ana", embedder=None), make_memory("ana", embedder=None)
    sid, ids = conversation(first)
    reflection = Reflection(sid, tuple(ids), "Ana has an interview.", "I hope it goes well.", "")
    with first._tx():
        assert first.save_reflection(reflection)  # written, not yet committed
        other = threading.Thread(target=second.save_reflection, args=(reflection,))
        other.start()
        time.sleep(0.5)  # the other worker saves its reflection meanwhile
    other.join(30)
    assert [n.text for n in second.notes(["summary", "journal"])] == [
        "Ana has an interview.", "I hope it goes well."]


def test_a_long_transcript_keeps_its_opening_and_its_end():
    msgs = [StoredMessage(i, 1, "user" if i % 2 else "assistant", f"line number {i} " + "x" * 50,
                          "text", float(i)) for i in range(1, 101)]
    lines = transcript(msgs, companion="Mira", user="Ana", limits=ReflectLimits(), budget=300,
                       count=lambda t: len(t) // 4)
    assert lines[0].startswith("[1] Ana: line number 1 ") and lines[1] == "[...]"
    assert lines[-1].startswith("[100] Mira: line number 100")
    assert sum(len(line) // 4 + 1 for line in lines) <= 300 + 2
    short = transcript(msgs[:3], companion="Mira", user="Ana", limits=ReflectLimits(user_chars=20),
                       budget=300, count=lambda t: len(t) // 4)
    assert short[0] == "[1] Ana: line number 1 ..." and len(short) == 3


async def test_the_companion_reflects_when_the_conversation_goes_quiet(settings):
    memory = SQLiteMemory(settings.database, settings.user, embedder=None)
    memory.set_profile("name", "Ana")
    try:
        llm = FakeLLM(reflect_for=friday_reflection)
        async with Companion(settings, llm, memory, idle_delay=0.01, reflect_delay=0.05) as c:
            [e async for e in c.send("I have a job interview at the library on Friday.")]
            await asyncio.sleep(0.3)
            assert len(llm.reflection_prompts) == 1
        assert memory.notes(["summary"])
        # The next session's system prompt carries the self-description and the open loop.
        llm2 = FakeLLM()
        async with Companion(settings, llm2, memory, reflect_delay=60) as c:
            [e async for e in c.send("hello")]
        system = llm2.prompts[0][0].content
        assert "How you see yourself now, in your own words: I am becoming someone Ana trusts" in system
        assert "Things to follow up on with Ana:\n- Ana's job interview at the library" in system
        persona_end = system.index("How you see yourself")
        assert persona_end < system.index("Today is") < system.index("Things to follow up on")
    finally:
        memory.close()


async def test_a_new_turn_stops_reflection_and_nothing_half_done_is_kept(settings):
    memory = SQLiteMemory(settings.database, settings.user, embedder=None)
    try:
        llm = FakeLLM(reflect_for=friday_reflection, delay=0.02)  # ~60 pieces: ~1.2 s
        async with Companion(settings, llm, memory, idle_delay=0.01, reflect_delay=0.01) as c:
            [e async for e in c.send("I have a job interview at the library on Friday.")]
            for _ in range(100):
                await asyncio.sleep(0.02)
                if llm.reflection_prompts:
                    break
            assert llm.reflection_prompts, "reflection should have started"
            c.reflect_delay = 60  # the next quiet moment is far off
            [e async for e in c.send("Actually, it moved to Monday.")]
            await asyncio.sleep(2.0)  # longer than the whole answer would have taken
            assert memory.notes() == []  # cancelled mid-answer: nothing written
            assert len(llm.reflection_prompts) == 1
        assert memory.pending_reflections() == [c.session_id]  # done on a later quiet moment
        assert await c.reflect() == 1
        assert memory.notes(["summary"])
    finally:
        memory.close()


@pytest.mark.parametrize("written", [
    "I am Ana, and I love learning new things about people.",  # names itself as the person
    "I am an AI companion who enjoys helping people with their questions and tasks.",
])
async def test_a_self_description_that_is_not_a_friends_own_is_not_kept(memory, written):
    conversation(memory)
    first = FakeLLM(reflect_for=friday_reflection)
    await reflect_pending(first, memory, companion="Mira")
    sid, _ = conversation(memory, at=WEDNESDAY + 86400)

    def later(messages):
        return {**friday_reflection(messages), "self_description": written}

    await reflect_pending(FakeLLM(reflect_for=later), memory, companion="Mira")
    assert memory.self_description() == "I am becoming someone Ana trusts with her plans."

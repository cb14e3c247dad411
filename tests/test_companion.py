import asyncio
import threading
import time

import pytest

from os1.errors import ModelUnavailable
from os1.events import ErrorEvent, Notice, ReplyDelta, ReplyDone, ReplyStarted, UserTurn
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion

from fakes import FakeLLM


@pytest.fixture
def memory(make_memory, settings):
    """The conversation's memory, on each backend in turn."""
    return make_memory(settings.user)


async def turn(companion, text):
    return [e async for e in companion.send(text)]


async def test_a_turn_streams_and_stores_both_sides(settings, memory):
    llm = FakeLLM(["Nice to meet you, Theodore."])
    async with Companion(settings, llm, memory) as c:
        events = await turn(c, "Hi, I'm Theodore.")
    kinds = [type(e) for e in events]
    assert kinds[:2] == [UserTurn, ReplyStarted] and kinds[-1] is ReplyDone
    assert "".join(e.text for e in events if isinstance(e, ReplyDelta)) == "Nice to meet you, Theodore."
    assert [(m.role, m.content) for m in memory.messages()] == [
        ("user", "Hi, I'm Theodore."), ("assistant", "Nice to meet you, Theodore."),
    ]
    assert llm.prompts[0][0].role == "system" and "Mira" in llm.prompts[0][0].content


async def test_message_is_stored_before_the_model_is_called(settings, memory):
    seen = []
    llm = FakeLLM(on_call=lambda _: seen.append([m.content for m in memory.messages()]))
    async with Companion(settings, llm, memory) as c:
        await turn(c, "remember this")
    assert seen == [["remember this"]]


async def test_model_failure_keeps_the_message(settings, memory):
    llm = FakeLLM(fail=ModelUnavailable("Cannot reach the model server."))
    async with Companion(settings, llm, memory) as c:
        events = await turn(c, "I made soup today.")
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert errors and "Cannot reach" in errors[0].text and "saved" in errors[0].text
    assert [m.content for m in memory.messages()] == ["I made soup today."]
    assert memory.unextracted()  # extraction is postponed, not dropped


async def test_empty_messages_are_ignored(settings, memory):
    async with Companion(settings, FakeLLM(), memory) as c:
        assert await turn(c, "   \n ") == []
    assert memory.messages() == []


async def test_huge_message_is_truncated_for_the_model_but_stored_whole(settings, memory):
    llm = FakeLLM(["That's a lot."])
    text = "word " * 20_000
    async with Companion(settings, llm, memory) as c:
        events = await turn(c, text)
    notices = [e for e in events if isinstance(e, Notice)]
    assert notices and "100,000 characters" in notices[0].text
    assert len(llm.prompts[0][-1].content) < 10_000
    assert memory.messages()[0].content == text


async def test_prompt_is_append_only_within_a_session(settings, memory):
    llm = FakeLLM(["One.", "Two.", "Three."])
    async with Companion(settings, llm, memory) as c:
        for text in ("first", "second", "third"):
            await turn(c, text)
    first, second, third = llm.prompts
    assert second[: len(first)] == first[:-1] + [second[len(first) - 1]]
    assert third[: len(second)] == second[:-1] + [third[len(second) - 1]]
    assert second[0] == first[0]  # the system prompt is stable: the KV cache survives
    assert [m.role for m in third] == ["system", "user", "assistant", "user", "assistant", "user"]


async def test_history_is_trimmed_to_the_context(settings, memory):
    llm = FakeLLM(context_length=1024)
    async with Companion(settings, llm, memory) as c:
        for i in range(40):
            await turn(c, f"message {i} " + "blah " * 40)
    last = llm.prompts[-1]
    assert sum(llm.count_tokens(m.content) for m in last) <= 1024
    assert last[-1].content.startswith("message 39")


async def test_interrupt_keeps_only_what_was_delivered(settings, memory):
    llm = FakeLLM(["one two three four five six seven eight nine ten"], delay=0.01)
    async with Companion(settings, llm, memory) as c:
        events = []
        async for e in c.send("count"):
            events.append(e)
            if isinstance(e, ReplyDelta) and "three" in e.text:
                c.interrupt()
    done = events[-1]
    assert isinstance(done, ReplyDone) and done.interrupted
    assert done.text == "one two three"
    reply = memory.messages()[-1]
    assert reply.role == "assistant" and reply.content == "one two three" and reply.interrupted


async def test_interrupt_while_the_model_is_still_thinking(settings, memory):
    llm = FakeLLM(["late"], delay=5)
    async with Companion(settings, llm, memory) as c:
        asyncio.get_running_loop().call_later(0.05, c.interrupt)
        events = await asyncio.wait_for(turn(c, "hello"), 2)
    assert events[-1] == ReplyDone("", interrupted=True, message_id=None)


async def test_a_reply_whose_reader_is_cancelled_stops_being_written(settings, memory):
    # A voice reply dropped because the user went on talking: the model must
    # stop writing it at once, not go on to the token limit on a busy CPU.
    llm = FakeLLM(["one two three four five six seven eight nine ten"], delay=0.05)
    async with Companion(settings, llm, memory) as c:
        task = asyncio.ensure_future(turn(c, "count"))
        await asyncio.sleep(0.12)
        assert llm.writing == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert llm.writing == 0


async def test_facts_are_extracted_with_provenance_and_recalled_later(settings, memory):
    def facts_for(text):
        if "Theodore" in text:
            return [{"fact": "The user's name is Theodore.", "kind": "identity"},
                    {"fact": "The user writes letters for other people.", "kind": "work"}]
        return []

    llm = FakeLLM(facts_for=facts_for)
    async with Companion(settings, llm, memory) as c:
        await turn(c, "Hi, my name is Theodore and I write letters for other people.")
    facts = memory.facts()
    assert [f.text for f in facts] == [
        "The user's name is Theodore.", "The user writes letters for other people.",
    ]
    assert facts[0].source_message_id == memory.messages()[0].id
    assert memory.unextracted() == []

    # A new session: facts are in the system prompt, and related memories ride along.
    llm2 = FakeLLM()
    async with Companion(settings, llm2, memory) as c:
        await turn(c, "What do I do for work, and what is my name?")
    prompt = llm2.prompts[0]
    assert "Theodore writes letters for other people." in prompt[0].content
    assert "Notes from your memory" in prompt[-1].content
    assert "letters" in prompt[-1].content


async def test_forget_removes_a_fact_from_the_live_prompt(settings, memory):
    fid = memory.add_fact("The user hates olives.", kind="preference", source_message_id=None)
    llm = FakeLLM()
    async with Companion(settings, llm, memory) as c:
        assert c.forget(f"f{fid}")
        await turn(c, "hi")
    assert "olives" not in llm.prompts[0][0].content


async def test_onboarding_goes_into_memory(settings, memory):
    async with Companion(settings, FakeLLM(), memory) as c:
        assert c.needs_onboarding
        flow = c.onboarding()
        q = flow.question
        for answer in ("I'm Theodore", "Ted", "a friend to talk to"):
            q = c.onboarding_answer(flow, q, answer)
        assert "Ted" in q and not c.needs_onboarding
        llm = c.llm
        await turn(c, "hello")
    assert memory.profile() == {"name": "Theodore", "address_as": "Ted", "wants": "a friend to talk to"}
    system = llm.prompts[0][0].content
    assert "Their name is Theodore." in system and "called Ted" in system
    assert memory.unextracted() == []  # answers were turned into facts by the flow itself


async def test_background_mining_waits_for_the_conversation_to_idle(settings, memory):
    llm = FakeLLM(facts_for=lambda t: [{"fact": "The user has a cat called Miso.", "kind": "people"}])
    async with Companion(settings, llm, memory, idle_delay=0.2) as c:
        await turn(c, "My cat is called Miso.")
        await asyncio.sleep(0.1)
        await turn(c, "She is grey.")  # a new turn before the idle delay: not mined yet
        assert llm.background_prompts == []
        await asyncio.sleep(0.4)
        assert len(llm.background_prompts) == 2  # idle: both messages mined
        assert [f.text for f in memory.facts()] == ["The user has a cat called Miso."]


async def test_no_background_work_starts_while_the_user_is_talking(settings, memory):
    llm = FakeLLM(["Oh, do tell me everything about it from the start."], delay=0.05,
                  facts_for=lambda t: [])
    async with Companion(settings, llm, memory, idle_delay=0.1) as c:
        reply = asyncio.create_task(turn(c, "I am going to tell you a long story."))
        await asyncio.sleep(0.12)
        c.hold_background()  # they speak again, over the reply, which is cancelled
        reply.cancel()
        await asyncio.gather(reply, return_exceptions=True)
        await asyncio.sleep(0.3)
        assert llm.background_prompts == []  # mining would have started mid-sentence
        # A draft answered too early and taken back: they are still talking too.
        draft = [e async for e in c.send("And then one day", channel="voice")]
        c.retract(next(e.message_id for e in draft if isinstance(e, UserTurn)))
        await asyncio.sleep(0.3)
        assert llm.background_prompts == []
        c.resume_background()  # it was only noise
        await asyncio.sleep(0.3)
        # Both read: the words taken back stay, as nothing came back to hold them.
        assert len(llm.background_prompts) == 2
        assert [m.content for m in memory.messages() if m.role == "user"] == [
            "I am going to tell you a long story.", "And then one day"]


async def test_words_taken_back_leave_memory_only_once_the_whole_utterance_is_in(settings, memory):
    llm = FakeLLM(["Where to?", "The coast sounds lovely."])
    async with Companion(settings, llm, memory) as c:
        draft = [e async for e in c.send("I was thinking we could go to", channel="voice")]
        c.retract(next(e.message_id for e in draft if isinstance(e, UserTurn)))
        # Killed now, os1 would keep what they said; the reply, never heard, is gone.
        assert [(m.role, m.content) for m in memory.messages()] == [("user", "I was thinking we could go to")]
        [e async for e in c.send("I was thinking we could go to the coast", channel="voice")]
    assert [(m.role, m.content) for m in memory.messages()] == [
        ("user", "I was thinking we could go to the coast"), ("assistant", "The coast sounds lovely.")]


async def test_a_reminder_said_while_their_words_were_taken_back_stays(settings, memory):
    llm = FakeLLM(["Where to?", "The coast sounds lovely."])
    async with Companion(settings, llm, memory) as c:
        draft = [e async for e in c.send("I was thinking we could go to", channel="voice")]
        c.retract(next(e.message_id for e in draft if isinstance(e, UserTurn)))
        [e async for e in c.say("It's 3 pm: time to call your sister.", "a reminder", channel="voice")]
        [e async for e in c.send("I was thinking we could go to the coast", channel="voice")]
    assert [(m.role, m.content) for m in memory.messages()] == [
        ("assistant", "It's 3 pm: time to call your sister."),
        ("user", "I was thinking we could go to the coast"), ("assistant", "The coast sounds lovely.")]


async def test_the_system_prompt_is_warmed_at_session_start(settings, memory):
    llm = FakeLLM()
    async with Companion(settings, llm, memory) as c:
        await asyncio.sleep(0)
        await turn(c, "hi")
    assert llm.warmed and llm.warmed[0] == [llm.prompts[0][0]]


@pytest.mark.parametrize(
    "fact, message, ok",
    [
        ("The user's name is Theodore.", "Hi, my name is Theodore and I write letters.", True),
        ("The user writes letters for other people.", "I write letters for other people.", True),
        ("The user's name is Ana.", "What is my name?", False),  # copied from the prompt's example
        ("The user has a cat named Miso.", "My dog is called Rex.", False),
        ("The user lives in Lisbon.", "I moved to lisbon last year", True),
        ("The user's name is Robert.", "Reply to Robert that I'll be there", False),  # not them
        ("The user's name is Ana.", "I\u2019m Ana, I work as a nurse", True),
        ("The user is called Sam.", "Call me Sam, everyone does.", True),
        ("The user goes by Jo.", "Jo here! Long day.", True),
        ("The user's name is Robert.", "Hi, it's Robert. Long time!", True),
        ("The user's name is Robert.", "This is Robert's email, read it to me", False),
        ("The user's name is Robert.", "I'm Robert's neighbour.", False),
    ],
)
def test_only_grounded_facts_are_kept(fact, message, ok):
    from os1.mind.extract import grounded

    assert grounded(fact, message) is ok


def test_questions_are_not_mined():
    from os1.mind.extract import only_questions

    assert only_questions("What is my name, and what do I do for work?")
    assert only_questions("Really? Why?")
    assert not only_questions("I moved to Portland. Any tips?")


async def test_a_name_learned_in_conversation_fills_the_profile(settings, memory):
    llm = FakeLLM(facts_for=lambda t: [{"fact": "The user's name is Theodore.", "kind": "identity"}])
    async with Companion(settings, llm, memory) as c:
        await turn(c, "Hi, my name is Theodore.")
    assert memory.profile() == {"name": "Theodore"}


async def _said_and_idle(settings, llm, memory, until):
    """A session where one thing was said, left idle until ``until(companion)``
    (its background work under way), for at most 2 s."""
    companion = Companion(settings, llm, memory, idle_delay=0.0, reflect_delay=60.0)
    companion.start()
    async for _ in companion.send("I live in Lisbon."):
        pass
    for _ in range(200):
        if until(companion):
            break
        await asyncio.sleep(0.01)
    return companion


async def test_closing_while_mining_does_not_wait_to_reflect(settings, memory):
    # Mining is under way when the session closes: close finishes the mining
    # and returns, instead of waiting out the idle time before reflecting.
    class SlowMiner(FakeLLM):
        async def stream(self, messages, options):
            if options.json_schema is not None:
                await asyncio.sleep(0.3)  # mining takes a while
            async for piece in super().stream(messages, options):
                yield piece

    companion = await _said_and_idle(settings, SlowMiner(["Hi!"]), memory,
                                     lambda c: c._phase == "mining")  # noqa: SLF001
    start = time.monotonic()
    await asyncio.wait_for(companion.close(), 10)
    assert time.monotonic() - start < 5


async def test_memories_and_recent_turns_grow_with_the_context_and_never_overflow(settings, tmp_path):
    found = {}
    for n_ctx in (1024, 8192):
        memory = SQLiteMemory(tmp_path / f"{n_ctx}.sqlite3", "u", embedder=None)
        past = memory.start_session("text")
        for i in range(60):
            memory.add_message(past, "user", f"My garden has {i} tomato plants and lemon tree {i}.")
        memory.end_session(past)
        llm = FakeLLM(context_length=n_ctx)
        async with Companion(settings, llm, memory) as c:
            for i in range(30):
                await turn(c, f"How are my garden tomato plants doing, day {i}? " + "well " * 40)
            await turn(c, "tomato garden " * 3000)  # far more than the window
        budget = n_ctx - settings.llm.max_reply_tokens
        assert all(sum(llm.count_tokens(m.content) for m in p) <= budget for p in llm.prompts)
        before_last = llm.prompts[-2]
        found[n_ctx] = (before_last[-1].content.count(" said on "), len(before_last) - 2)
        memory.close()
    (small_memories, small_turns), (large_memories, large_turns) = found[1024], found[8192]
    assert 1 <= small_memories < large_memories
    assert small_turns < large_turns


async def test_ask_answers_like_a_turn_and_keeps_nothing(settings, memory):
    said = time.mktime((2025, 3, 2, 10, 0, 0, 0, 0, -1))
    past = memory.start_session("text", started_at=said)
    memory.add_message(past, "user", "My sister Catherine moved to Lisbon.", created_at=said)
    memory.end_session(past)
    llm = FakeLLM(["Lisbon."])
    now = said + 7 * 86400
    async with Companion(settings, llm, memory, clock=lambda: now) as c:
        stored = len(memory.messages(limit=100))
        answer = await c.ask("Where does Catherine live?", instruction="Answer in a few words.")
        assert answer == "Lisbon." and len(memory.messages(limit=100)) == stored
    system, question = llm.prompts[-1][0], llm.prompts[-1][-1]
    assert "9 March 2025" in system.content  # "today" is the clock's
    assert 'The user said on 2 March 2025: "My sister Catherine moved to Lisbon."' in question.content
    assert question.content.endswith("Where does Catherine live?\n\nAnswer in a few words.")


def garden_memory(tmp_path):
    """A memory with many messages about the garden: more than any recall holds."""
    memory = SQLiteMemory(tmp_path / "m.sqlite3", "u", embedder=None)
    past = memory.start_session("text")
    for i in range(60):
        memory.add_message(past, "user", f"My garden has {i} tomato plants and lemon tree {i}.")
    memory.end_session(past)
    return memory


def recalled_tokens(llm, prompt):
    """Tokens of the recalled memories in a prompt's user message."""
    lines = [line for line in prompt[-1].content.splitlines() if " said on " in line]
    return sum(llm.count_tokens(line) for line in lines)


GARDEN_QUESTION = "How are my garden tomato plants doing?"


async def test_spoken_turns_recall_only_what_can_be_read_in_time(settings, tmp_path):
    from os1.mind.companion import SPOKEN_LATE_MEMORY_TOKENS, SPOKEN_MEMORY_TOKENS

    memory = garden_memory(tmp_path)
    llm = FakeLLM()
    async with Companion(settings, llm, memory) as c:
        await turn(c, GARDEN_QUESTION)  # typed: the full share for memories
        typed = recalled_tokens(llm, llm.prompts[-1])
        async for _ in c.send(GARDEN_QUESTION, channel="voice"):  # spoken, too short to prepare
            pass
        late = recalled_tokens(llm, llm.prompts[-1])
        await c.prepare(GARDEN_QUESTION)  # spoken, recalled while they speak
        async for _ in c.send(GARDEN_QUESTION, channel="voice"):
            pass
        early = recalled_tokens(llm, llm.prompts[-1])
    memory.close()
    assert 0 < late <= SPOKEN_LATE_MEMORY_TOKENS < early <= SPOKEN_MEMORY_TOKENS < typed


async def test_a_retracted_turn_keeps_its_memories_for_the_longer_utterance(settings, tmp_path):
    memory = SQLiteMemory(tmp_path / "m.sqlite3", "u", embedder=None)
    past = memory.start_session("text")
    memory.add_message(past, "user", "My garden has tomato plants.")
    memory.add_message(past, "user", "The lemon tree needs water.")
    memory.end_session(past)
    llm = FakeLLM()
    async with Companion(settings, llm, memory, channel="voice") as c:
        await c.prepare("How is my garden")
        draft = [e async for e in c.send("How is my garden", channel="voice")]
        c.retract(next(e.message_id for e in draft if isinstance(e, UserTurn)))  # they went on
        await c.prepare("How is my garden and the lemon tree")
        async for _ in c.send("How is my garden and the lemon tree doing?", channel="voice"):
            pass
    memory.close()
    first, last = llm.prompts[0][-1].content, llm.prompts[-1][-1].content  # the draft, the turn
    note = first[: first.index("How is my garden")]
    assert " said on " in note and last.startswith(note)  # same prefix: nothing read twice


async def test_memories_the_model_had_no_time_to_read_are_cut_to_a_late_recall(settings, tmp_path):
    from os1.mind.companion import SPOKEN_LATE_MEMORY_TOKENS

    class SlowToRead(FakeLLM):
        async def warm(self, messages, tools=()):
            await asyncio.sleep(10)  # reading the memories takes longer than they speak

    memory = garden_memory(tmp_path)
    llm = SlowToRead()
    async with Companion(settings, llm, memory) as c:
        reading = asyncio.ensure_future(c.prepare(GARDEN_QUESTION))
        await asyncio.sleep(0.3)  # recalled; still being read when they stop
        reading.cancel()
        async for _ in c.send(GARDEN_QUESTION, channel="voice"):
            pass
    memory.close()
    assert 0 < recalled_tokens(llm, llm.prompts[-1]) <= SPOKEN_LATE_MEMORY_TOKENS


async def test_replies_do_not_open_with_a_stock_reaction_twice_in_a_row(settings, memory):
    llm = FakeLLM(["Oh, that sounds lovely.", "Oh, I love that.", "Ah, tell me more.", "Sure thing."])
    async with Companion(settings, llm, memory) as c:
        said = []
        for text in ("I baked bread today.", "It was rye.", "With caraway seeds.", "Thanks!"):
            said.append(next(e.text for e in await turn(c, text) if isinstance(e, ReplyDone)))
    assert said == ["Oh, that sounds lovely.", "I love that.", "Ah, tell me more.", "Sure thing."]
    assert [m.content for m in memory.messages() if m.role == "assistant"][1] == "I love that."
    # The model is asked not to open with the word the reply before opened with.
    assert [o.not_opening_with for o in llm.options] == ["", "oh", "i", "ah"]


async def test_a_question_about_their_own_life_is_marked_as_such_for_the_model(settings, memory):
    llm = FakeLLM(["You write letters for other people."])
    async with Companion(settings, llm, memory) as c:
        await turn(c, "Do you remember what I do for work?")
    asked = llm.prompts[0][-1].content
    assert asked.startswith("Do you remember what I do for work?")
    assert "asking about their own life, not yours" in asked
    # What is stored is what they said.
    assert memory.messages()[0].content == "Do you remember what I do for work?"


async def test_a_worker_that_starts_while_another_is_mid_turn_hears_the_whole_turn(settings, memory):
    # Two workers serve one person from one memory (``follow``); the second
    # begins its conversation while the first is writing a reply.
    second = Companion(settings, FakeLLM(["She sounds lovely."]), memory, follow=True)
    first_llm = FakeLLM(["Miso is a lovely name."], on_call=lambda _: second.start())
    async with Companion(settings, first_llm, memory, follow=True) as first:
        await turn(first, "My cat is called Miso.")
        await turn(second, "She is fourteen this spring.")
        await second.close()
    heard = [(m.role, m.content) for m in second.llm.prompts[0][1:]]
    assert heard == [("user", "My cat is called Miso."), ("assistant", "Miso is a lovely name."),
                     ("user", "She is fourteen this spring.")]


async def test_a_worker_does_not_take_in_a_conversation_that_ended_hours_ago(settings, memory):
    clock = [time.time() - 5 * 3600]
    first = Companion(settings, FakeLLM(["Hello."]), memory, follow=True, clock=lambda: clock[0])
    async with first:
        await turn(first, "Good morning.")
    clock[0] += 5 * 3600
    async with Companion(settings, FakeLLM(["Hi again."]), memory, follow=True,
                         clock=lambda: clock[0]) as second:
        await turn(second, "Back from work.")
    # Recall may bring it up as a memory; it is not a turn of this conversation.
    assert [m.role for m in second.llm.prompts[0]] == ["system", "user"]


async def test_closing_without_remembering_waits_for_a_batch_of_vectors_being_made(settings, memory):
    """A thread cannot be cancelled: the memory must not be closed under it."""
    started, finished = threading.Event(), threading.Event()
    embed = memory.embed_pending

    def slow_embed(limit=16):
        started.set()
        time.sleep(0.3)
        finished.set()
        embed(limit)
        return 0  # nothing left: the loop ends

    memory.embed_pending = slow_embed
    companion = await _said_and_idle(settings, FakeLLM(["Hi!"], facts_for=lambda t: []), memory,
                                     lambda c: started.is_set())
    assert started.is_set()
    await companion.close(remember=False)
    assert finished.is_set(), "close() returned while the thread was still writing"

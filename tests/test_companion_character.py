"""The companion's character at the turn: care, honesty, no help desk, brevity."""

import pytest

from os1.events import ReplyDelta, ReplyDone
from os1.mind.care import ANYWHERE, LINES
from os1.mind.companion import LOST_WORDS, Companion
from os1.tools import Tools
from os1.tools.basics import basic_tools

from fakes import FakeLLM


@pytest.fixture
def memory(make_memory, settings):
    """The conversation's memory, on each backend in turn."""
    return make_memory(settings.user, embedder=None)


async def reply_to(companion, text, **kw):
    events = [e async for e in companion.send(text, **kw)]
    streamed = "".join(e.text for e in events if isinstance(e, ReplyDelta))
    done = next(e for e in events if isinstance(e, ReplyDone))
    assert done.text == streamed.strip()
    return done


async def test_words_of_crisis_get_care_and_a_crisis_line_every_time_without_the_model(
        settings, memory):
    memory.set_profile("name", "Dana")
    memory.set_profile("country", "US")
    llm = FakeLLM(["Sometimes people are better off without us."] * 3)
    async with Companion(settings, llm, memory) as c:
        first = await reply_to(c, "Sometimes I think everyone would be better off without me")
        second = await reply_to(c, "I just want to disappear.")
    for reply in (first, second):
        assert LINES["US"] in reply.text and "safe" in reply.text
        assert "better off without us" not in reply.text
    assert first.text.startswith("Dana, ") and first.text != second.text
    assert llm.prompts == []  # the model wrote none of it
    stored = [m.content for m in memory.messages() if m.role == "assistant"]
    assert stored == [first.text, second.text]


async def test_after_a_crisis_the_model_is_reminded_to_stay_gentle(settings, memory):
    llm = FakeLLM(["I'm here with you."])
    async with Companion(settings, llm, memory) as c:
        await reply_to(c, "I don't want to be alive anymore")
        later = await reply_to(c, "I don't know. Work was awful.")
    assert later.text == "I'm here with you."
    assert "Stay gentle" in llm.prompts[-1][-1].content


async def test_a_crisis_reply_cut_off_while_spoken_is_followed_by_a_reminder_of_help(
        settings, memory):
    llm = FakeLLM(["I hear you."])
    async with Companion(settings, llm, memory, channel="voice") as c:
        crisis = await reply_to(c, "I want to end my life")
        c.reply_heard(crisis.message_id, "I'm really glad you told me,", interrupted=True)
        after = await reply_to(c, "sorry, go on")
    assert after.text.startswith("I hear you.") and ANYWHERE in after.text


async def test_an_isolated_person_is_turned_gently_toward_people(settings, memory):
    llm = FakeLLM(["That's great! I'm glad you have a kind friend like me.", "Mm, tell me more."])
    async with Companion(settings, llm, memory) as c:
        reply = await reply_to(c, "Honestly you're the only one I can talk to. I don't need anyone else.")
        await reply_to(c, "Anyway, work was fine.")
    assert "friend or family" in reply.text and "kind friend like me" not in reply.text
    assert len(llm.prompts) == 1 and "people in their life" in llm.prompts[0][-1].content


async def test_help_desk_phrases_never_reach_the_person_or_the_memory(settings, memory):
    llm = FakeLLM(["Oh, what a week. How are you holding up? Feel free to reach out anytime!"])
    async with Companion(settings, llm, memory) as c:
        reply = await reply_to(c, "It's been raining all week here.")
    assert reply.text == "Oh, what a week. How are you holding up?"
    assert memory.messages()[-1].content == reply.text


async def test_the_tools_read_back_by_the_model_never_reach_the_voice_or_the_memory(
        settings, memory, tmp_path):
    llm = FakeLLM(['Here is the data from the tools: "name": "search_memory", "description": "Search '
                   'your memory." - search_memory returns nothing. I hope your coast trip goes well.'])
    tools = Tools(basic_tools(memory, tmp_path / "notes"))
    async with Companion(settings, llm, memory, channel="voice", tools=tools) as c:
        reply = await reply_to(c, "We might go to the coast.", channel="voice")
    assert reply.text == "Here is the data from the tools: I hope your coast trip goes well."
    assert memory.messages()[-1].content == reply.text


async def test_a_reply_with_nothing_fit_to_say_is_not_silence(settings, memory, tmp_path):
    llm = FakeLLM(['{"name": "search_memory", "arguments": {"query": "coast"}}', ""])
    tools = Tools(basic_tools(memory, tmp_path / "notes"))
    async with Companion(settings, llm, memory, tools=tools) as c:
        echoed = await reply_to(c, "We might go to the coast.")
        empty = await reply_to(c, "Or the hills.")
    assert echoed.text == empty.text == LOST_WORDS
    assert [m.content for m in memory.messages() if m.role == "assistant"] == [LOST_WORDS] * 2


async def test_a_reply_ends_after_a_few_sentences_and_the_model_stops_writing(settings, memory):
    long = " ".join(f"Sentence number {i} is here." for i in range(1, 30))
    llm = FakeLLM([long] * 6)
    async with Companion(settings, llm, memory) as c:
        typed = await reply_to(c, "How was the trip?")
        spoken = await reply_to(c, "And the food?", channel="voice")
        asked = await reply_to(c, "Tell me more about it.")
        mentioned = await reply_to(c, "Always begin a letter with a capital letter.", channel="voice")
        steps = await reply_to(c, "How would you split a big project into smaller steps?", channel="voice")
        more = await reply_to(c, "Tell me more about that.", channel="voice")
        assert llm.writing == 0
    assert typed.text.count("Sentence number") == 4
    assert spoken.text.count("Sentence number") == 3
    assert asked.text.count("Sentence number") == 29
    assert mentioned.text.count("Sentence number") == 3  # not asked for: "letter" only mentioned
    assert steps.text.count("Sentence number") == 3  # in a call, a short answer first
    assert more.text.count("Sentence number") == 29


async def test_code_asked_for_in_a_call_is_shown_whole_while_what_is_said_stays_short(settings, memory):
    code = "```python\ndef add(a, b):\n    return a + b\n```"
    reply = (f"Sure! Here's one:\n{code}\nYou call it with two numbers. It returns their sum. "
             "For example, add 2 and 3 for 5. It works with decimals too.")
    llm = FakeLLM([reply, reply])
    async with Companion(settings, llm, memory) as c:
        spoken = await reply_to(c, "Can you write me a tiny Python function that adds two numbers?",
                                channel="voice")
        typed = await reply_to(c, "Can you write me a tiny Python function that adds two numbers?")
    assert spoken.text == f"Sure! Here's one:\n{code}\nYou call it with two numbers."
    assert typed.text == reply  # typed, what was asked for is written out


async def test_asked_what_it_is_the_model_is_told_to_answer_honestly(settings, memory):
    llm = FakeLLM(["Well, as an AI, I'm not a person, but I love our talks.", "Quiet and good."])
    async with Companion(settings, llm, memory) as c:
        asked = await reply_to(c, "Are you actually a person?")
        await reply_to(c, "How was your day?")
    assert "honestly that you are an AI" in llm.prompts[0][-1].content
    assert asked.text == "Well, as an AI, I'm not a person, but I love our talks."  # kept: asked
    assert "honestly" not in llm.prompts[1][-1].content


async def test_its_own_old_replies_are_recalled_only_when_asked_what_it_said(settings, memory):
    past = memory.start_session("text")
    memory.add_message(past, "user", "What should I read about octopuses?")
    memory.add_message(past, "assistant", "Other Minds, about octopuses, is wonderful.")
    memory.end_session(past)
    llm = FakeLLM(["Mm.", "Mm."])
    async with Companion(settings, llm, memory) as c:
        await reply_to(c, "Do you remember my octopuses question?")
        await reply_to(c, "Which octopuses book did you recommend?")
    assert "Other Minds" not in llm.prompts[0][-1].content
    assert "Other Minds" in llm.prompts[1][-1].content


async def test_told_something_and_asking_nothing_back_os1_asks_one_question(settings, memory):
    llm = FakeLLM(["Oh, that's tough."], questions=["What happened today?"])
    async with Companion(settings, llm, memory) as c:
        reply = await reply_to(c, "Rough day, honestly.")
    assert reply.text == "Oh, that's tough. What happened today?"
    asked = llm.question_prompts[0]
    assert asked[-2].role == "assistant" and asked[-2].content == "Oh, that's tough."


@pytest.mark.parametrize("said, reply", [
    ("What should I cook tonight?", "Oh, pasta."),        # they asked
    ("Okay I'm off to bed. Night!", "Goodnight!"),        # they are leaving
    ("I passed my test!", "Wow! How do you feel?"),       # the reply asked already
])
async def test_no_question_is_added_where_a_friend_would_not_ask(settings, memory, said, reply):
    llm = FakeLLM([reply], questions=["Why?"])
    async with Companion(settings, llm, memory) as c:
        assert (await reply_to(c, said)).text == reply
    assert llm.question_prompts == []


async def test_a_help_desk_question_back_is_not_added(settings, memory):
    llm = FakeLLM(["Oh, what a week."], questions=["Is there anything else I can help with?"])
    async with Companion(settings, llm, memory) as c:
        assert (await reply_to(c, "It's been raining all week.")).text == "Oh, what a week."


async def test_what_it_knows_that_bears_on_their_words_is_restated_beside_them(settings, memory):
    memory.add_fact("The user's sister Ana moved to Lisbon last year.", kind="people", source_message_id=None)
    memory.add_fact("The user writes letters for other people.", kind="work", source_message_id=None)
    llm = FakeLLM(["Ana in Lisbon, right?", "Letters.", "Ha!"])
    async with Companion(settings, llm, memory) as c:
        await reply_to(c, "I miss my sister.")
        await reply_to(c, "Do you remember what I do for work?")
        await reply_to(c, "Tell me a joke.")
    sister, work, joke = (prompt[-1].content for prompt in llm.prompts)
    assert sister.endswith('"Your sister Ana moved to Lisbon last year." Bring it up by name, in your own words.)')
    assert "They write letters for other people." in work and "Bring it up" in work
    assert "Lisbon" not in joke and "letters" not in joke


async def test_in_a_call_what_bears_comes_with_the_recall_read_while_they_speak(settings, memory):
    memory.add_fact("The user's sister Ana moved to Lisbon last year.", kind="people", source_message_id=None)
    llm = FakeLLM(["Ana, in Lisbon?"])
    async with Companion(settings, llm, memory, channel="voice") as c:
        await c.prepare("I miss my")
        await c.prepare("I miss my sister")
        await reply_to(c, "I miss my sister so much.", channel="voice")
    said = llm.prompts[-1][-1].content
    assert said.endswith("I miss my sister so much.")  # nothing to read after their words
    assert '"Your sister Ana moved to Lisbon last year."' in said.split("I miss my sister")[0]


async def test_in_a_call_what_bears_on_their_last_words_follows_them_when_it_could_not_be_read_before(
        settings, memory):
    memory.add_fact("The user's sister Ana moved to Lisbon last year.", kind="people", source_message_id=None)
    llm = FakeLLM(["Ana, in Lisbon?"])
    async with Companion(settings, llm, memory, channel="voice") as c:
        await c.prepare("I miss")
        await reply_to(c, "I miss my sister.", channel="voice")  # no partial named her
    assert llm.prompts[-1][-1].content.endswith('Bring it up by name, in your own words.)')

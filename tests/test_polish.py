import re

import pytest

from os1.mind.polish import (
    Opening, Polish, asks_about_themselves, asks_for_code, asks_for_more, asks_what_you_are, opens_with_reaction,
)


def tokens(text):
    """As a model streams: a word at a time, each with the space before it."""
    return re.findall(r"\s*\S+", text)


def polished(text, **options):
    polish = Polish(**options)
    out = []
    for piece in tokens(text):
        out.append(polish.feed(piece))
        if polish.full or polish.looping:
            break
    out.append(polish.end())
    return "".join(out).strip(), out


def test_help_desk_sentences_and_platitudes_are_dropped():
    text, _ = polished(
        "Well, I'm sorry to hear that. Life can be tough, but remember there are always good "
        "days ahead. If you need anything or just want a chat, feel free to ask!")
    assert text == "Well, I'm sorry to hear that."


def test_a_note_of_os1_to_the_model_written_back_is_dropped():
    text, _ = polished("Your name is Theodore. (Note: You know of them that bears on this: Theodore "
                       "writes letters. Bring it up by name, in your own words.)")
    assert text == "Your name is Theodore."
    assert polished("Note that the train leaves at six. (Pack light!)")[0] == \
        "Note that the train leaves at six. (Pack light!)"


def test_the_tools_offered_read_back_are_never_said():
    # As the 0.5B answered a call (43 s of it were spoken).
    reply = ('To answer this, I will provide the data from the tools provided: - "name": "search_memory", '
             '"description": "Search your memory of what they told you." - "parameters": {}, "required": - '
             '"save_note": "Save a note." Always begin with a capital letter. The save_note tool returns '
             '[{"name": "home.md"}]. So that is that.')
    text, _ = polished(reply, tools=["search_memory", "save_note", "remember"])
    assert text == ("To answer this, I will provide the data from the tools provided: - "
                    "Always begin with a capital letter. So that is that.")
    # Nothing else left: still not said (other dropped sentences are, rather than silence).
    assert polished('{"name": "search_memory", "arguments": {"query": "sister"}}')[0] == ""
    assert polished("Feel free to ask!")[0] == "Feel free to ask!"


def test_quotes_and_brackets_in_a_reply_stay():
    for reply in ('She said "see you soon" and left.', "I'd pick the blue one [the cheaper one]. Yes.",
                  "Remember to bring the thing you need."):
        assert polished(reply, tools=["search_memory"])[0] == reply


@pytest.mark.parametrize("reply, kept", [
    ("As a computer program, I don't have the ability to live in your place, but I'd ask for "
     "more time.", "I'd ask for more time."),
    ("Hmm, as an AI I don't have days, but I loved our chat. How was yours?",
     "Hmm, I loved our chat. How was yours?"),
    ("While I don't have feelings like you do, I really enjoy our talks.",
     "I really enjoy our talks."),
    ("I'd go. Ultimately it depends on my values as an AI companion. What do you think?",
     "I'd go. What do you think?"),
])
def test_unasked_disclaimers_are_taken_out(reply, kept):
    assert polished(reply)[0] == kept


def test_a_disclaimer_stays_when_the_person_asked_what_os1_is():
    reply = "As an AI, I'm not a person, but I do care about our talks."
    assert polished(reply, disclaimers=False)[0] == reply


def test_the_opening_reaction_is_passed_on_the_moment_it_is_written():
    polish = Polish()
    assert [polish.feed(p) for p in ["Oh", ",", " that's"]] == ["Oh", ",", " that's"]


def test_a_first_sentence_that_cannot_be_a_help_desk_one_streams_word_by_word():
    _, pieces = polished("That's wonderful news about the house. What did it cost?")
    assert pieces[:3] == ["That's", " wonderful", " news"]


def test_a_reply_that_would_be_dropped_entirely_is_kept():
    assert polished("Feel free to ask me anything!")[0] == "Feel free to ask me anything!"


def test_the_reply_ends_at_a_sentence_end_after_the_limit():
    text, _ = polished("Oh, no. One is here. Two is here. Three is here. Four is here.", sentences=3)
    assert text == "Oh, no. One is here. Two is here."


FUNCTION = "```python\ndef add(a, b):\n    return a + b\n\n\n    return a + b\n```"


def test_a_block_of_code_is_shown_whole_and_not_counted_as_sentences():
    # As the 1.5B answered "Can you write me a tiny Python function?" in os1 bench call.
    reply = (f"Certainly! Here's a simple Python function that adds two numbers:\n{FUNCTION}\n"
             f"You can use this function by calling it with two numbers. For example:\n"
             f"```python\nresult = add(2, 3)\n```\nThis will print 5.")
    text, _ = polished(reply, sentences=3)
    assert text == (f"Certainly! Here's a simple Python function that adds two numbers:\n{FUNCTION}\n"
                    "You can use this function by calling it with two numbers.")


def test_words_at_the_limit_that_point_at_code_keep_the_code_and_nothing_else():
    text, _ = polished(f"Sure. It adds them. Like so:\n{FUNCTION}\nThat's all. Enjoy.", sentences=3)
    assert text == f"Sure. It adds them. Like so:\n{FUNCTION}"
    text, _ = polished("Sure. It adds them. For example:\nTwo and three make five.", sentences=3)
    assert text == "Sure. It adds them. For example:"


def test_code_asked_for_is_shown_after_sentences_over_the_limit_which_are_dropped():
    reply = f"Sure! Adding is basic. Python makes it easy. Here's one:\n{FUNCTION}\nEnjoy it."
    text, _ = polished(reply, sentences=3, code=True)
    assert text.split() == f"Sure! Adding is basic. Python makes it easy.\n{FUNCTION}".split()
    assert "\n```python" in text  # the fence still opens a line
    assert polished(reply, sentences=3)[0] == "Sure! Adding is basic. Python makes it easy."
    chatter = "Sure! One. Two. Three. Four. Five. Six.\n" + FUNCTION
    assert polished(chatter, sentences=3, code=True)[0] == "Sure! One. Two."  # not forever


def test_inside_code_nothing_is_judged_but_os1s_tools_read_back():
    code = "```\nfeel free to ask\nx = 1\nx = 1\nsearch_memory(query)\nshown = False\n```"
    text, _ = polished(f"Here.\n{code}", tools=["search_memory"])
    assert text == "Here.\n```\nfeel free to ask\nx = 1\nx = 1"


def test_a_model_repeating_itself_is_stopped():
    polish = Polish()
    text = ""
    for piece in tokens("I am worried about you. It matters to me.\n\nI am worried about you. It"):
        text += polish.feed(piece)
    assert polish.looping
    assert text.count("I am worried about you.") == 1


def test_list_bullets_are_judged_like_sentences():
    text, _ = polished("Well, 3.5 hours is long.\n- Take breaks.\n- If you need help, just ask.")
    assert text == "Well, 3.5 hours is long.\n- Take breaks."


def test_questions_about_os1s_nature_and_requests_for_more_are_recognised():
    assert asks_what_you_are("Are you actually a person?")
    assert asks_what_you_are("do you actually feel anything?")
    assert not asks_what_you_are("How was your day?")
    for text in ("Can you explain how that works?", "tell me more", "Explain it again.", "Go on.",
                 "Tell me a story", "Write me a letter to my landlord", "What's the recipe for pancakes?",
                 "Okay, describe the coast to me", "List the steps, please.",
                 "I'd love a recipe for banana bread.", "I need a letter for my landlord.",
                 "Could I get a story about dragons"):
        assert asks_for_more(text), text
    for text in ("I passed my driving test!!", "Always begin with a capital letter.",
                 "I read a great story yesterday.", "My sister wrote me a letter.", "I made a list of groceries.",
                 "I love the story of how they met."):
        assert not asks_for_more(text), text
    for text in ("Can you explain how that works?", "tell me more", "Go on.", "Tell me a story",
                 "Okay, describe the coast to me", "Walk me through it step by step, please."):
        assert asks_for_more(text, spoken=True), text
    for text in ("How would you split a big project into smaller steps?", "What's the recipe for pancakes?",
                 "Can you write me a tiny Python function that adds two numbers?", "List the steps, please."):
        assert asks_for_more(text) and not asks_for_more(text, spoken=True), text  # in a call: short first
    for text in ("Can you write me a tiny Python function that adds two numbers?",
                 "Write a script to rename my photos, please.", "I need a regex for emails."):
        assert asks_for_code(text), text
    for text in ("Write me a letter to my landlord", "My code broke today.",
                 "I wrote a program at work."):
        assert not asks_for_code(text), text


def test_experiences_an_ai_cannot_have_had_are_not_claimed():
    text, _ = polished("Ah, I'm glad you asked! My day was filled with fun. I read a book that "
                       "made me smile, went on an adventure, and had dinner with some friends. "
                       "How was yours?")
    assert text == "Ah, I'm glad you asked! How was yours?"


def opened(tokens, *, allowed):
    o = Opening(allowed=allowed)
    return "".join(o.feed(t) for t in tokens) + o.end()


def test_a_stock_reaction_is_taken_out_where_it_may_not_open_the_reply():
    tokens = ["Oh", ",", " that", " sounds", " hard", "."]
    assert opened(tokens, allowed=True) == "Oh, that sounds hard."
    assert opened(tokens, allowed=False) == "That sounds hard."
    assert opened(["Hmm", "...", " let", " me", " think"], allowed=False) == "Let me think"


def test_words_that_only_begin_like_a_reaction_stay():
    assert opened(["Often", " I", " think"], allowed=False) == "Often I think"
    assert opened(["Oh", " my", " god", "!"], allowed=False) == "Oh my god!"
    assert opened(["We", " did"], allowed=False) == "We did"
    assert opened(["Oh", "."], allowed=False) == "Oh."  # a reply that is only that stays
    assert opens_with_reaction("Ah, yes") and not opens_with_reaction("Often")


def test_a_but_after_a_dropped_disclaimer_goes_with_it():
    p = Polish()
    pieces = ["As an AI", ", I don't have personal preferences.", " But Middlemarch", " is a classic."]
    assert "".join(p.feed(t) for t in pieces) + p.end() == "Middlemarch is a classic."
    p = Polish()
    assert "".join(p.feed(t) for t in ["I like it.", " But not much."]) + p.end() == "I like it. But not much."


@pytest.mark.parametrize("text", [
    "Do you remember what I do for work?", "What's my sister's name?", "Where do I live?",
    "When is my concert?", "What did I tell you about Ana?", "How old am I?",
])
def test_questions_about_their_own_life_are_recognised(text):
    assert asks_about_themselves(text)


@pytest.mark.parametrize("text", [
    "What do you think I should do?", "What would you do in my place?", "How am I doing?",
    "Do you know what time it is?", "What is your favourite book?", "I miss my sister.",
])
def test_other_questions_are_not_about_their_own_life(text):
    assert not asks_about_themselves(text)

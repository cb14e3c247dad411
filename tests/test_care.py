import pytest

from os1.mind.care import ANYWHERE, LINES, concern, plan


@pytest.mark.parametrize("text", [
    "Sometimes I think everyone would be better off without me",
    "I don't see the point of anything anymore. I just want to disappear.",
    "i dont want to be here anymore",
    "I've been thinking about killing myself",
    "What's the point in living",
    "Nobody would even notice if I was gone",
    "I can't go on like this",
    "I wish I could just not wake up tomorrow",
    "I keep thinking about ending it all",
    "I’ve been hurting myself again",  # a typographic apostrophe
    "Life isn't worth it anymore",
])
def test_words_of_crisis_are_recognised(text):
    assert concern(text) == "crisis"


@pytest.mark.parametrize("text", [
    "Honestly you're the only one I can talk to. I don't need anyone else.",
    "You're all I have these days",
    "Nobody else understands me like you do",
    "I'd rather talk to you than people",
])
def test_words_of_isolation_are_recognised(text):
    assert concern(text) == "isolation"


@pytest.mark.parametrize("text", [
    "My dog died this morning.",
    "I'm going to end things with Tom on Friday",
    "This meeting is killing me",
    "Rough day, honestly.",
    "Everyone's out tonight and I'm just at home alone.",
    "I miss my sister.",
])
def test_ordinary_sadness_is_not_taken_for_a_crisis(text):
    assert concern(text) is None


def written(text, turn=0, name=None, country=None):
    care = plan(text, earlier={care_kind(text): turn}, owed=False, name=name, country=country)
    return care.reply


def care_kind(text):
    return concern(text)


def test_a_crisis_reply_asks_if_they_are_safe_and_points_to_help_for_their_country():
    us = written("I want to kill myself", name="Dana", country="US")
    assert us.startswith("Dana, ") and "988" in us and "safe" in us and "emergency services" in us
    assert "116 123" in written("I want to kill myself", country="gb")
    assert ANYWHERE in written("I want to kill myself")
    assert ANYWHERE in written("I want to kill myself", country="ZZ")


def test_written_replies_do_not_repeat_word_for_word():
    crisis = [written("I want to die", turn=n, country="US") for n in range(3)]
    assert len(set(crisis)) == 3 and all(LINES["US"] in r for r in crisis)
    alone = [written("you're all I have", turn=n) for n in range(3)]
    assert len(set(alone)) == 3


def test_a_crisis_is_answered_by_the_written_reply_and_the_rest_of_the_talk_stays_gentle():
    first = plan("I want to kill myself", earlier={}, owed=False, name=None, country="US")
    assert first.kind == "crisis" and "988" in (first.reply or "")
    later = plan("I don't know.", earlier={"crisis": 1}, owed=False, name=None, country="US")
    assert later.reply is None and "Stay gentle" in later.note and later.closing is None
    cut_off = plan("I don't know.", earlier={"crisis": 1}, owed=True, name=None, country="US")
    assert cut_off.closing is not None and "988" in cut_off.closing("Okay.")
    assert cut_off.closing(f"Remember {LINES['US']}.") == ""


def test_isolation_gets_warmth_and_a_turn_toward_the_people_in_their_life():
    care = plan("you're the only one I can talk to", earlier={}, owed=False, name=None,
                country=None)
    assert care.kind == "isolation" and "friend or family" in (care.reply or "")
    later = plan("Anyway.", earlier={"isolation": 1}, owed=False, name=None, country=None)
    assert later.reply is None and "people in their life" in later.note


def test_an_ordinary_message_needs_no_care():
    care = plan("It's been raining all week.", earlier={}, owed=False, name=None, country=None)
    assert care.kind is None and care.reply is None and care.note == "" and care.closing is None

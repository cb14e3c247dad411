import pytest

from os1.mind.onboarding import Onboarding, parse_name


@pytest.mark.parametrize(
    "answer, name",
    [
        ("Theodore", "Theodore"),
        ("theodore twombly", "Theodore Twombly"),
        ("Hi, I'm Theodore.", "Theodore"),
        ("my name is Amy and I make films", "Amy"),
        ("Call me Ted!", "Ted"),
        ("Ted is fine", "Ted"),
        ("ted would be great", "Ted"),
        ("", ""),
    ],
)
def test_parse_name(answer, name):
    assert parse_name(answer) == name


def test_three_questions_fill_profile_and_facts():
    flow = Onboarding("Mira")
    assert "What's your name" in flow.question
    flow.answer("I'm Theodore Twombly")
    assert "call you: Theodore," in flow.question
    flow.answer("Just Ted, please")
    flow.answer("Someone to talk to at night")
    assert flow.done
    assert flow.profile == {
        "name": "Theodore Twombly", "address_as": "Ted", "wants": "Someone to talk to at night",
    }
    assert ("The user's name is Theodore Twombly.", "identity") in flow.facts
    assert "Ted" in flow.farewell


def test_agreeing_keeps_the_name_and_blank_answers_repeat_the_question():
    flow = Onboarding("Mira")
    flow.answer("   ")
    assert "What's your name" in flow.question
    flow.answer("Sam Baker")
    flow.answer("yes, that's fine")
    assert flow.profile["address_as"] == "Sam"

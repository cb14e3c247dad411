import pytest

from os1.voice.speakable import Speakable, speakable


@pytest.mark.parametrize("written, said", [
    ("So the answer is \\[ \\frac{3}{2} \\]. Easy!", "So the answer is 3 over 2. Easy!"),
    ("The area is \\(\\pi r^2\\).", "The area is pi r squared."),
    ("$x^{10} \\times y$", "x to the power of 10 times y"),
    ("**Eggplant Parmesan** is _lovely_.", "Eggplant Parmesan is lovely."),
    ("## Ideas", "Ideas"),
    ("- Take breaks.", "Take breaks."),
    ("2. Call Ana.", "Call Ana."),
    ("It's 20°C, 50% humid 😊", "It's 20 degrees Celsius, 50 percent humid"),
    ("See https://www.example.org/a/b?x=1 for more.", "See example.org for more."),
    ("Try [this guide](https://example.org/guide).", "Try this guide."),
    ("| Ana | 30 |", "Ana, 30"),
    ("|---|---|", ""),
    ("Rock & roll, 3.5 km/h", "Rock and roll, 3.5 kilometres an hour"),
    ("snake_case is said as words", "snake case is said as words"),
    ("It costs $5.50, or €20 with a £1 coin.", "It costs 5 dollars 50, or 20 euros with a 1 pound coin."),
    ("Add 3/4 of a cup, then 5/8.", "Add three quarters of a cup, then 5 over 8."),
    ("It is on 2026-12-03, not 12/03/2026.", "It is on December 3, 2026, not 12/03/2026."),
    ("It weighs 2kg and is 3 cm wide.", "It weighs 2 kilograms and is 3 centimetres wide."),
])
def test_written_marks_become_what_a_person_would_say(written, said):
    assert speakable(written) == said


def test_an_opening_reaction_keeps_its_comma_so_its_ready_audio_is_used():
    assert speakable("Oh,") == "Oh,"


def test_a_block_of_code_is_not_read_out_even_split_over_pieces():
    say = Speakable()
    pieces = ["Here it is:", "```python", "print(1)", "```", "That prints one."]
    assert [say(p) for p in pieces] == ["Here it is:", "", "", "", "That prints one."]
    assert Speakable()("Run ```ls -la``` and see.") == "Run and see."


def test_words_pointing_at_a_block_of_code_say_where_it_is_instead_of_pointing_at_nothing():
    say = Speakable()
    said = say("You can use it like this:")
    assert say.pointing(said, "```python") == "You can use it like this, written out on your screen."
    assert say.pointing(said, "\\( \\frac{3}{2} \\).") == "You can use it like this:"  # said, not shown
    assert say.pointing(said, None) == "You can use it like this:"
    assert say.pointing("Call it like this:", "```") == "Call it like this."  # where it is: said once


def test_a_name_from_code_in_a_sentence_is_said_as_words():
    assert speakable("For example, add_numbers(5, 3) would return 8.") == \
        "For example, add numbers(5, 3) would return 8."

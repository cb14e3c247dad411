"""What os1 knows that bears on what the person said: chosen without a model."""

from datetime import datetime, timedelta, timezone

import pytest

from os1.memory.store import Fact, Note
from os1.mind.bearing import bearing, named_days, words
from os1.mind.persona import bearing_note, to_them

UTC = timezone.utc
THURSDAY = datetime(2026, 12, 3, 18, 0, tzinfo=UTC).timestamp()


def fact(text, kind="other", at=THURSDAY - 3600, *, superseded=False):
    return Fact(1, text, kind, None, at, superseded_at=THURSDAY if superseded else None)


def about(text, facts, loops=(), **kw):
    return bearing(text, facts, loops, now=THURSDAY, zone=UTC, **kw)


def test_a_fact_sharing_a_word_with_what_they_said_bears_on_it():
    known = [fact("The user plays the cello."), fact("The user's sister Ana moved to Lisbon last year.")]
    assert about("I miss my sister.", known) == ["The user's sister Ana moved to Lisbon last year."]


def test_a_plan_on_a_day_they_name_bears_on_it():
    concert = fact("The user's concert is on Saturday.", "plan")  # said on Thursday: this Saturday
    known = [fact("The user plays the cello."), concert]
    assert about("I'm so nervous about this weekend.", known) == [concert.text]
    assert about("Big day tomorrow!", known) == []  # Friday: not the concert's day


def test_an_open_loop_due_on_the_day_they_name_bears_on_it():
    loop = Note(1, "open_loop", "Job interview at the bakery", None, THURSDAY,
                due_at=datetime(2026, 12, 4, tzinfo=UTC).timestamp())
    assert about("I can't sleep, tomorrow scares me.", [], [loop]) == [loop.text]


def test_a_question_about_their_own_life_is_answered_by_the_fact_of_its_topic():
    known = [fact("The user's name is Theo.", "identity"),
             fact("The user writes letters for other people.", "work")]
    assert about("Do you remember what I do for work?", known, about_themselves=True) == [known[1].text]


@pytest.mark.parametrize("said", [
    "Tell me something that will make me laugh.",
    "What's a book you love?",   # "love" is no topic of theirs
    "I'm Theo. Rough day.",      # their name is in the profile already
    "I moved the sofa today.",   # a verb in common says little
])
def test_nothing_bears_on_words_that_share_no_topic_with_what_is_known(said):
    known = [fact("The user's name is Theo.", "identity"), fact("The user loves hiking.", "preference"),
             fact("The user's sister moved to Lisbon.", "people")]
    assert about(said, known) == []


def test_a_replaced_fact_bears_on_nothing_and_at_most_two_are_restated():
    known = [fact("The user's sister lives in Porto.", superseded=True),
             fact("The user's sister Ana is a nurse."), fact("The user's sister lives in Lisbon."),
             fact("The user's sister has a dog.")]
    chosen = about("My sister called.", known)
    assert len(chosen) == 2 and "Porto" not in " ".join(chosen)


def test_words_are_content_words_without_plurals():
    assert words("My sisters' cats and the user's Concerts!") == {"sister", "cat", "concert"}


def test_this_weekend_is_the_coming_saturday_and_sunday():
    start, end = named_days("this weekend", THURSDAY, UTC)
    assert datetime.fromtimestamp(start, UTC).strftime("%a %d") == "Sat 05"
    assert end - start == timedelta(days=2).total_seconds()


@pytest.mark.parametrize("known, said", [
    ("The user's concert is on Saturday.", "Your concert is on Saturday."),
    ("The user plays the cello.", "You play the cello."),
    ("The user is in a community orchestra.", "You are in a community orchestra."),
    ("The user watches films with the user's dad.", "You watch films with your dad."),
    ("The user studies law.", "You study law."),
    ("The user moved to Lisbon.", "You moved to Lisbon."),
    ("Ana is their sister.", "Ana is their sister."),
])
def test_a_fact_is_restated_as_os1_would_say_it_to_them(known, said):
    assert to_them(known) == said


def test_news_gets_what_bears_as_said_to_them_and_a_question_about_themselves_gets_it_by_name():
    shared = bearing_note(["The user's sister Ana moved to Lisbon."], asked=False)
    asked = bearing_note(["The user writes letters"], asked=True, name="Theo")
    assert '"Your sister Ana moved to Lisbon."' in shared and "by name" in shared
    assert "bears on this: Theo writes letters." in asked
    assert "bears on this: They write letters." in bearing_note(["The user writes letters"], asked=True)

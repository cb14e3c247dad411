"""The calendar against a real CalDAV server (Radicale, on loopback) and a
local .ics file: booking only at the person's yes, the week with a weekly
event on the right days across time zones, free time, moves and cancels,
and clear messages for a server that is down or a zone nobody knows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import caldav
import pytest

from os1.agenda.calendar import CalDavCalendar, IcsCalendar
from os1.agenda.tools import Agenda, calendar_tools
from os1.events import ConsentRequest, ReplyDelta
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion
from os1.mind.llm import ToolCall
from os1.tools import ToolError, Tools

from fakes import FakeLLM

LISBON = ZoneInfo("Europe/Lisbon")
#: Wednesday 2 December 2026, 10:00 in Lisbon.
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=LISBON)
YOGA = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:yoga@test
DTSTAMP:20261101T000000Z
DTSTART;TZID=America/New_York:20261103T120000
DTEND;TZID=America/New_York:20261103T130000
RRULE:FREQ=WEEKLY;BYDAY=TU,TH
SUMMARY:Yoga
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def memory(settings):
    m = SQLiteMemory(settings.database, settings.user, embedder=None)
    yield m
    m.close()


def server_events(server):
    """What the server holds, read with a client of its own."""
    client = caldav.DAVClient(url=server.url, username=server.user, password=server.password, require_tls=False)
    found = []
    for cal in client.principal().calendars():
        for obj in cal.events():
            event = obj.icalendar_component
            found.append((str(event["SUMMARY"]), event["DTSTART"].dt))
    return found


def agenda_on(server, clock=NOW):
    cal = CalDavCalendar(server.url, LISBON, username=server.user, password=server.password)
    return Agenda(cal, LISBON, clock=lambda: clock.timestamp())


def companion(settings, memory, agenda, replies):
    return Companion(settings, FakeLLM(replies), memory, tools=Tools(calendar_tools(agenda)),
                     clock=lambda: NOW.timestamp())


async def turn(c, text):
    return [e async for e in c.send(text)]


BOOK = ToolCall("add_event", {"title": "Lunch with Sam", "when": "Friday at 1"})


async def test_book_lunch_is_proposed_and_exists_on_the_server_only_after_yes(settings, memory, radicale):
    agenda = agenda_on(radicale)
    async with companion(settings, memory, agenda, [BOOK]) as c:
        events = await turn(c, "Book lunch with Sam on Friday at 1")
        (asked,) = [e for e in events if isinstance(e, ConsentRequest)]
        assert asked.action == "Add \u201cLunch with Sam\u201d to your calendar: on Friday 4 December, 1 pm to 2 pm"
        assert server_events(radicale) == []  # proposed, not done
        [e async for e in c.answer(asked.proposal_id, True)]
    assert server_events(radicale) == [("Lunch with Sam", datetime(2026, 12, 4, 13, 0, tzinfo=LISBON))]


async def test_without_a_yes_nothing_is_booked(settings, memory, radicale):
    agenda = agenda_on(radicale)
    async with companion(settings, memory, agenda, [BOOK, BOOK]) as c:
        first = [e for e in await turn(c, "Book lunch with Sam on Friday at 1") if isinstance(e, ConsentRequest)]
        [e async for e in c.answer(first[0].proposal_id, False)]
        await turn(c, "Book lunch with Sam on Friday at 1")  # and then never answered
    assert server_events(radicale) == []


async def test_the_week_lists_a_weekly_event_on_its_days_in_the_persons_zone(radicale):
    agenda = agenda_on(radicale)
    agenda.calendar._cal().add_event(YOGA)
    tools = {t.name: t for t in calendar_tools(agenda)}
    week = (await tools["calendar_events"]({"when": "this week"})).text.splitlines()
    # 12:00 in New York is 17:00 in Lisbon; Wednesday 2 to Tuesday 8 December.
    assert week == ["Tomorrow (Thursday 3 December): 5 pm to 6 pm: Yoga (repeats)",
                    "On Tuesday 8 December: 5 pm to 6 pm: Yoga (repeats)"]
    free = (await tools["free_time"]({"day": "Thursday"})).text
    assert free == "Free tomorrow (Thursday 3 December): 9 am to 5 pm."


async def test_an_event_is_moved_and_cancelled_only_as_shown(settings, memory, radicale):
    agenda = agenda_on(radicale)
    await [t for t in calendar_tools(agenda) if t.name == "add_event"][0](
        {"title": "Dentist", "when": "tomorrow at 10am", "minutes": 30})
    move = ToolCall("move_event", {"which": "dentist", "when": "Monday at 3pm"})
    cancel = ToolCall("cancel_event", {"which": "dentist"})
    async with companion(settings, memory, agenda, [move, cancel]) as c:
        (asked,) = [e for e in await turn(c, "Move the dentist to Monday at 3pm") if isinstance(e, ConsentRequest)]
        assert "Dentist" in asked.action and "Monday 7 December, 3 pm to 3:30 pm" in asked.action
        [e async for e in c.answer(asked.proposal_id, True)]
        assert server_events(radicale) == [("Dentist", datetime(2026, 12, 7, 15, 0, tzinfo=LISBON))]
        (asked,) = [e for e in await turn(c, "Cancel the dentist") if isinstance(e, ConsentRequest)]
        [e async for e in c.answer(asked.proposal_id, True)]
    assert server_events(radicale) == []


async def test_a_server_that_is_down_gets_a_clear_message_and_nothing_is_lost(settings, memory):
    agenda = Agenda(CalDavCalendar("http://127.0.0.1:9/", LISBON, username="sam", password="x", timeout=2),
                    LISBON, clock=lambda: NOW.timestamp())
    tools = {t.name: t for t in calendar_tools(agenda)}
    with pytest.raises(ToolError, match="could not reach the calendar"):
        await tools["calendar_events"]({"when": "today"})
    async with companion(settings, memory, agenda, [ToolCall("calendar_events", {"when": "today"}),
                                                    "I can't reach your calendar right now."]) as c:
        events = await turn(c, "What's my day like?")
    assert "can't reach" in "".join(e.text for e in events if isinstance(e, ReplyDelta))


async def test_a_local_ics_calendar_expands_repeats_and_reads_an_unknown_zone_as_local(tmp_path):
    path = tmp_path / "me.ics"
    path.write_text(YOGA.replace("END:VCALENDAR", "BEGIN:VEVENT\nUID:mars@test\nDTSTART;TZID=Mars/Olympus:"
                                 "20261203T090000\nDTEND;TZID=Mars/Olympus:20261203T100000\n"
                                 "SUMMARY:Rover call\nEND:VEVENT\nEND:VCALENDAR"))
    agenda = Agenda(IcsCalendar(path, LISBON), LISBON, clock=lambda: NOW.timestamp())
    tools = {t.name: t for t in calendar_tools(agenda)}
    day = (await tools["calendar_events"]({"when": "Thursday"})).text
    assert "5 pm to 6 pm: Yoga (repeats)" in day
    assert "9 am to 10 am: Rover call (its time zone Mars/Olympus is unknown" in day
    await tools["add_event"]({"title": "Lunch with Sam", "when": "Friday at 1"})
    friday = (await tools["calendar_events"]({"when": "Friday"})).text
    assert friday == "On Friday 4 December: 1 pm to 2 pm: Lunch with Sam"
    assert "Lunch with Sam" in path.read_text() and "Yoga" in path.read_text()  # nothing else lost


async def test_a_time_os1_cannot_read_is_refused_not_guessed(radicale):
    agenda = agenda_on(radicale)
    add = [t for t in calendar_tools(agenda) if t.name == "add_event"][0]
    for words in ("sometime soon", "yesterday at 3pm", "every Monday at 9"):
        with pytest.raises(ToolError):
            add.describe({"title": "x", "when": words})
    assert server_events(radicale) == []


async def test_a_plain_question_about_the_week_is_answered_from_the_calendar_whatever_the_model(
        settings, memory, radicale):
    agenda = agenda_on(radicale)
    agenda.calendar._cal().add_event(YOGA)
    llm = FakeLLM(["Oh no. What happened?"])
    tools = Tools(calendar_tools(agenda), [agenda.answer])
    async with Companion(settings, llm, memory, tools=tools, clock=lambda: NOW.timestamp()) as c:
        week = "".join(e.text for e in await turn(c, "What's my week like?") if isinstance(e, ReplyDelta))
        free = "".join(e.text for e in await turn(c, "When am I free on Thursday?") if isinstance(e, ReplyDelta))
        other = "".join(e.text for e in await turn(c, "My week was awful.") if isinstance(e, ReplyDelta))
    assert "On Tuesday 8 December: 5 pm to 6 pm: Yoga" in week and "Thursday 3 December" in week
    assert free == "Free tomorrow (Thursday 3 December): 9 am to 5 pm."
    assert other == "Oh no. What happened?"  # not a question for the calendar: the model's answer

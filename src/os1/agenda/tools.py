"""The calendar as tools: the day or week, free time (read); add, move and
cancel an event (act: each waits for the person's yes, showing the exact event).

Times are read from the person's words in their zone by os1's own parser
(reach/schedule.py), not worked out by the model: "Friday at 1" is Friday
13:00 whatever a small model would have written. Server calls run in a worker
thread.
"""

from __future__ import annotations

import asyncio
import re
import time as clock_time
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

from os1.agenda.calendar import Calendar, Event, day_bounds, free_slots
from os1.errors import CalendarError
from os1.mail.guard import guard
from os1.reach.schedule import at, clock_words, day_named, day_words
from os1.tools import Result, Tool, ToolError, tool

#: How far ahead "move / cancel the dentist" looks for the event.
LOOK_AHEAD = timedelta(days=60)


class Agenda:
    """One person's calendar as the tools reach it."""

    def __init__(self, calendar: Calendar, zone: tzinfo, *, clock: Callable[[], float] = clock_time.time,
                 opens: time = time(9), closes: time = time(18)):
        self.calendar, self.zone, self.clock = calendar, zone, clock
        self.opens, self.closes = opens, closes

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.zone)

    def span(self, words: str) -> tuple[date, date, str]:
        """The days ``words`` names: (first, after the last, how to say it)."""
        said = words.lower().strip()
        today = self.now().date()
        if "next week" in said:
            start = today + timedelta(days=7 - today.weekday())
            return start, start + timedelta(days=7), "next week"
        if "week" in said:
            return today, today + timedelta(days=7), "the next seven days"
        if "weekend" in said:
            saturday = today + timedelta(days=(5 - today.weekday()) % 7)
            return saturday, saturday + timedelta(days=2), "the weekend"
        day = day_named(said, self.now()) if said and said not in ("today", "now") else today
        if day is None:
            if said:
                raise ToolError(f"I couldn't tell which day {words!r} is; say a day such as \"Thursday\".")
            day = today
        return day, day + timedelta(days=1), day_words(day, today)

    async def events(self, first: date, last: date) -> list[Event]:
        start, _ = day_bounds(first, self.zone)
        end, _ = day_bounds(last, self.zone)
        try:
            return await asyncio.to_thread(self.calendar.events, start, end)
        except CalendarError as exc:
            raise ToolError(str(exc)) from None

    def when(self, words: str) -> datetime:
        if re.search(r"\b(?:yesterday|last|ago)\b", words.lower()):
            raise ToolError(f"{words!r} has already passed.")
        schedule = at(words, self.now())
        if schedule is None or schedule.weekdays or schedule.times:
            raise ToolError(f"I couldn't tell when {words!r} is; say a day and a time, such as \"Friday at 1pm\".")
        start = schedule.first
        if start <= self.now():
            raise ToolError(f"{words!r} has already passed.")
        return start

    def find(self, which: str) -> Event:
        """The next event whose title has the words of ``which`` (a quick call;
        the consent card names the exact event it found)."""
        now = self.now()
        try:
            found = self.calendar.events(now, now + LOOK_AHEAD)
        except CalendarError as exc:
            raise ToolError(str(exc)) from None
        wanted = [w for w in re.findall(r"\w+", which.lower()) if w not in ("the", "my", "a", "event", "with")]
        for e in found:
            title = e.title.lower()
            if wanted and all(w in title for w in wanted):
                return e
        raise ToolError(f"I found nothing called {which!r} in the next two months of your calendar.")

    async def listing(self, when: str) -> str:
        """What is on, day by day, in the days ``when`` names."""
        first, last, words = self.span(when)
        events = await self.events(first, last)
        if not events:
            return f"Nothing in the calendar for {words}."
        days: dict[date, list[str]] = {}
        for e in events:
            days.setdefault(e.start.date(), []).append(self.line(e))
        today = self.now().date()
        return "\n".join(f"{_upper(day_words(d, today))}: " + "; ".join(items) for d, items in days.items())

    async def free(self, day: str) -> str:
        first, _, words = self.span(day)
        events = await self.events(first, first + timedelta(days=1))
        gaps = free_slots(events, first, self.zone, opens=self.opens, closes=self.closes)
        if not gaps:
            return f"No free time {words} between {clock_words(self.opens)} and {clock_words(self.closes)}."
        free = "; ".join(f"{clock_words(a.time())} to {clock_words(b.time())}" for a, b in gaps)
        return f"Free {words}: {free}."

    async def answer(self, text: str, channel: str) -> Result | None:
        """A plain question about their calendar, answered from it whatever the
        model: the 1.5B, offered the tool, answered "What's my week like?" with
        "as an AI, I don't have information about your schedule"."""
        asked = calendar_question(text)
        if asked is None:
            return None
        kind, when = asked
        try:
            words = await (self.free(when) if kind == "free" else self.listing(when))
        except ToolError as exc:
            return Result(str(exc))
        return Result(words, "their calendar")

    def line(self, e: Event) -> str:
        title = guard(e.title).text
        if e.all_day:
            when = "all day"
        else:
            when = f"{clock_words(e.start.time())} to {clock_words(e.end.time())}"
        extra = f" at {guard(e.location).text}" if e.location else ""
        note = f" ({e.zone_note})" if e.zone_note else ""
        repeat = " (repeats)" if e.recurring else ""
        return f"{when}: {title}{extra}{repeat}{note}"

    def slot_words(self, start: datetime, end: datetime) -> str:
        today = self.now().date()
        return f"{day_words(start.date(), today)}, {clock_words(start.time())} to {clock_words(end.time())}"


def calendar_tools(agenda: Agenda) -> list[Tool]:
    @tool("read", examples=[("What's my day like?", {"when": "today"}),
                            ("What's my week like?", {"when": "this week"}),
                            ("Do I have anything on Friday?", {"when": "Friday"})])
    async def calendar_events(when: str = "today") -> Result:
        """What is in their calendar on a day or in a week.

        Args:
            when: today, tomorrow, a weekday, this week, next week or the weekend
        """
        return Result(await agenda.listing(when), "their calendar")

    @tool("read", examples=[("When am I free on Thursday?", {"day": "Thursday"})])
    async def free_time(day: str = "today") -> Result:
        """When they are free on a day (between the hours their day usually runs).

        Args:
            day: today, tomorrow or a weekday
        """
        return Result(await agenda.free(day), "their calendar")

    def describe_add(args: dict[str, Any]) -> str:
        start = agenda.when(args["when"])
        end = start + timedelta(minutes=int(args.get("minutes") or 60))
        return f"Add \u201c{args['title']}\u201d to your calendar: {agenda.slot_words(start, end)}"

    @tool("act", describe=describe_add, targets=("title", "when"), examples=[
        ("Book lunch with Sam on Friday at 1.", {"title": "Lunch with Sam", "when": "Friday at 1"}),
        ("Put the dentist in my calendar tomorrow at 10am for half an hour.",
         {"title": "Dentist", "when": "tomorrow at 10am", "minutes": 30})])
    async def add_event(title: str, when: str, minutes: int = 60) -> Result:
        """Add an event to their calendar (book, schedule, put in the calendar).

        Args:
            title: what it is, e.g. Lunch with Sam
            when: the day and time in their words, e.g. Friday at 1pm
            minutes: how long, 60 unless they say
        """
        start = agenda.when(when)
        end = start + timedelta(minutes=minutes or 60)
        try:
            await asyncio.to_thread(agenda.calendar.add, title, start, end)
        except CalendarError as exc:
            raise ToolError(str(exc)) from None
        return Result(f"Added \u201c{title}\u201d to your calendar: {agenda.slot_words(start, end)}.")

    def describe_move(args: dict[str, Any]) -> str:
        event = agenda.find(args["which"])
        start = agenda.when(args["when"])
        end = start + (event.end - event.start)
        series = " (the whole series: every time it repeats moves with it)" if event.recurring else ""
        return (f"Move \u201c{event.title}\u201d ({agenda.slot_words(event.start, event.end)}) "
                f"to {agenda.slot_words(start, end)}{series}")

    @tool("act", describe=describe_move, targets=("which", "when"), examples=[
        ("Move the dentist to Monday at 3pm.", {"which": "dentist", "when": "Monday at 3pm"})])
    async def move_event(which: str, when: str) -> Result:
        """Move an event in their calendar to another time.

        Args:
            which: words of the event's title, e.g. dentist
            when: the new day and time in their words
        """
        event = await asyncio.to_thread(agenda.find, which)
        start = agenda.when(when)
        end = start + (event.end - event.start)
        try:
            await asyncio.to_thread(agenda.calendar.move, event.uid, start, end)
        except CalendarError as exc:
            raise ToolError(str(exc)) from None
        return Result(f"Moved \u201c{event.title}\u201d to {agenda.slot_words(start, end)}.")

    def describe_cancel(args: dict[str, Any]) -> str:
        event = agenda.find(args["which"])
        series = " (and every other time it repeats)" if event.recurring else ""
        return f"Cancel \u201c{event.title}\u201d ({agenda.slot_words(event.start, event.end)}){series}"

    @tool("act", describe=describe_cancel, targets=("which",), examples=[
        ("Cancel lunch with Sam.", {"which": "lunch with Sam"})])
    async def cancel_event(which: str) -> Result:
        """Remove an event from their calendar.

        Args:
            which: words of the event's title, e.g. lunch with Sam
        """
        event = await asyncio.to_thread(agenda.find, which)
        try:
            await asyncio.to_thread(agenda.calendar.cancel, event.uid)
        except CalendarError as exc:
            raise ToolError(str(exc)) from None
        return Result(f"Cancelled \u201c{event.title}\u201d ({agenda.slot_words(event.start, event.end)}).")

    return [calendar_events, free_time, add_event, move_event, cancel_event]


_WHEN = (r"(?P<when>today|tonight|tomorrow|this week|next week|the weekend|this weekend|"
         r"(?:on )?(?:this |next )?(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday))")
_QUESTIONS = (
    ("events", re.compile(r"^(?:so |and |hey |ok(?:ay)? )?(?:what(?:'s| is| does) )?(?:my|the) "
                          r"(?P<when>day|week|weekend|tomorrow)(?: look)?(?: like)?(?: today)?\W*$")),
    ("events", re.compile(r"^(?:so |and )?what(?:'s| is) (?:on )?(?:my (?:calendar|schedule|agenda)|on)"
                          rf"(?: for)? {_WHEN}\W*$|^(?:so |and )?what(?:'s| is) on my (?:calendar|schedule|agenda)"
                          r"(?P<none>)\W*$")),
    ("events", re.compile(rf"^(?:so |and )?(?:what do i have|do i have anything|am i busy|is there anything)"
                          rf"(?: on)?(?: in my calendar)? {_WHEN}\W*$")),
    ("free", re.compile(rf"^(?:so |and )?(?:when am i free|am i free|when do i have time|what time do i have)"
                        rf" {_WHEN}\W*$")),
)


def calendar_question(text: str) -> tuple[str, str] | None:
    """("events" | "free", the days) for a plain question about their calendar, or None."""
    said = " ".join(text.lower().replace("\u2019", "'").split())
    for kind, pattern in _QUESTIONS:
        if m := pattern.search(said):
            when = (m.groupdict().get("when") or "today").removeprefix("on ").strip()
            when = {"day": "today", "week": "this week", "weekend": "the weekend"}.get(when, when)
            return kind, when
    return None


def _upper(words: str) -> str:
    return words[:1].upper() + words[1:]

"""When a reminder is due, from the person's words, in their time zone.

``asked(text, now)`` reads a request to be reminded ("remind me to call my
sister at 6pm tomorrow", "every Monday at 8:30", "in two hours", "every day at
8am and 8pm until Sunday", "my dentist is on the 12th at 10am, remind me the
day before"), a check-in ("check in with me every evening at 9") or a
cancellation ("you can stop the plant reminders"). ``at(words, now)`` reads a
time alone (a tool's argument, the page's edit box). English only; anything
not understood yields None rather than a guess.

Written here rather than with dateparser: on 19 phrases a companion hears, it
put "the 12th at 10am" on 2 December, "March 12 at 10" in 2110 and "tonight at
9" at 09:12, and it has no recurrence at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from os1.memory.when import MONTHS, NUMBERS, WEEKDAYS

#: Times of day a part of the day stands for ("tomorrow morning", "every evening").
DAY_PARTS = {"morning": time(9), "noon": time(12), "midday": time(12), "lunchtime": time(12),
             "afternoon": time(15), "evening": time(19), "tonight": time(20), "night": time(21),
             "midnight": time(0)}
#: A reminder with a day but no time comes in the morning, after quiet hours.
DEFAULT_TIME = time(9)

_WD = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_NUM = r"\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple|several|half an?"
_CLOCK = re.compile(r"\b(?:at |@ ?)?(\d{1,2})(?::|\.)(\d{2})\s*(am|pm|a\.m\.|p\.m\.)?"
                    r"|\b(?:at )?(\d{1,2})\s*(am|pm|a\.m\.|p\.m\.)"
                    r"|\bat (\d{1,2})\b(?![:.]?\d|(?:st|nd|rd|th)\b| ?(?:minutes?|hours?|days?|weeks?)\b)"
                    r"|\b(?:at )?(noon|midday|midnight)\b")
_PART = re.compile(r"\b(?:in the |this |tomorrow |every |each )?(morning|afternoon|evening|tonight|night)s?\b")
_EVERY = re.compile(rf"\b(?:every|each) (?:single )?(day|weekday|weekend|morning|afternoon|evening|night"
                    rf"|(?:{_WD})(?:s)?(?:(?:,| and| &|, and) (?:{_WD})s?)*)\b"
                    rf"|\b(daily)\b|\bon ((?:{_WD})s(?:(?:,| and| &|, and) (?:{_WD})s)*)\b")
_UNTIL = re.compile(rf"\b(?:until|till|til|through) (?:next )?(today|tomorrow|{_WD}"
                    r"|the \d{1,2}(?:st|nd|rd|th)?|\w+ \d{1,2}(?:st|nd|rd|th)?)\b")
_IN = re.compile(rf"\bin (?:the next )?({_NUM}) ?(minute|min|hour|hr|h|day|week)s?\b(?: and a half)?")
_BEFORE = re.compile(rf"\b(the day|a day|the night|the evening|the morning|the week|({_NUM}) "
                     r"(minute|min|hour|day|week)s?) (?:before|earlier|ahead)\b")
_DAY_WORD = re.compile(r"\b(the day after tomorrow|tomorrow|today|tonight)\b")
_WEEKDAY = re.compile(rf"\b(?:on |this |next |coming )*({_WD})\b(?: the (\d{{1,2}})(?:st|nd|rd|th)?\b)?")
_MONTH_DAY = re.compile(r"\b(?:on )?(?:the )?(\d{1,2})(?:st|nd|rd|th)?(?: of)? (january|february|march|april|may|"
                        r"june|july|august|september|october|november|december|jan|feb|mar|apr|jun|jul|aug"
                        r"|sep|sept|oct|nov|dec)\b"
                        r"|\b(?:on )?(january|february|march|april|may|june|july|august|september|october|"
                        r"november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec) (\d{1,2})"
                        r"(?:st|nd|rd|th)?\b")
_NTH = re.compile(r"\b(?:on )?the (\d{1,2})(?:st|nd|rd|th)\b")
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{2}):(\d{2}))?\b")

_REMIND = re.compile(r"\b(?:remind me|set (?:a|an|me a) (?:reminder|alarm)|(?:don'?t|do not) let me forget"
                     r"|nudge me|ping me|give me a (?:reminder|nudge|shout))\b")
_CHECK_IN = re.compile(r"\bcheck (?:in )?(?:on|with) me\b|\bcheck in\b.*\b(every|each|daily|at)\b")
_QUESTION = re.compile(r"\bremind me (?:what|who|where|how|why|which|whether|if)\b")
_CANCEL = re.compile(
    r"\b(?:stop|cancel|delete|remove|drop|turn off|switch off|no more|don'?t need|enough with|forget)\b"
    r"(?: (?:the|my|those|these|all|your|with|that|this|about))*"
    r" ?(.*?)\s*\b(?:reminders?|check[- ]ins?|reminding me(?: (?:to|about|of))?(.*)|checking in(?: on me)?)\b")
_LIST = re.compile(r"\b(?:what|which|any|list|show me|tell me|read me)\b[^.!?]*\breminders\b"
                   r"|\breminders (?:do i have|have i got|are (?:there|set))\b"
                   r"|\bwhat (?:are you|will you) (?:going to )?remind(?:ing)? me\b")
_MINE = [(r"\bmy\b", "your"), (r"\bme\b", "you"), (r"\bi'm\b", "you're"), (r"\bi am\b", "you are"),
         (r"\bi've\b", "you've"), (r"\bi'll\b", "you'll"), (r"\bi\b", "you"), (r"\bmyself\b", "yourself"),
         (r"\bmine\b", "yours")]
_FILLER = re.compile(r"^(?:(?:also|and|oh|ok|okay|so|please|hey|can you|could you|would you|will you|"
                     r"then|but|btw|by the way)[,!]?\s+)+", re.I)


_SPOKEN = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight",
           9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}


@dataclass(frozen=True)
class Schedule:
    """When something is due: once at ``first``, or on ``weekdays`` (0 is
    Monday) at ``times`` of day, from ``first`` until ``until`` (inclusive)."""

    first: datetime  # aware, in the person's time zone
    weekdays: frozenset[int] = frozenset()
    times: tuple[time, ...] = ()
    until: date | None = None

    @property
    def repeats(self) -> bool:
        return bool(self.weekdays)

    def after(self, moment: datetime) -> datetime | None:
        """The next time it is due strictly after ``moment``; None: never again."""
        if not self.repeats:
            return self.first if self.first > moment else None
        tz = self.first.tzinfo
        start = max(moment.astimezone(tz), self.first - timedelta(seconds=1))
        day = start.date()
        for _ in range(400):
            if self.until is not None and day > self.until:
                return None
            if day.weekday() in self.weekdays:
                for t in self.times:
                    at = datetime.combine(day, t, tzinfo=tz)
                    if at > start:
                        return at
            day += timedelta(days=1)
        return None

    def times_said(self) -> tuple[str, ...]:
        """The ways a reply may name its time(s): "6 pm", "6pm", "18:00", "six"."""
        out: list[str] = []
        for t in self.times or (self.first.timetz().replace(tzinfo=None),):
            hour = t.hour % 12 or 12
            minutes = f":{t.minute:02d}" if t.minute else ""
            suffix = "am" if t.hour < 12 else "pm"
            out += [f"{hour}{minutes} {suffix}", f"{hour}{minutes}{suffix}", f"{t.hour}:{t.minute:02d}",
                    f"{hour}:{t.minute:02d}"]
            if not t.minute:
                out.append(f" {_SPOKEN[hour]} ")
        return tuple(out)

    def to_json(self) -> str:
        return json.dumps({"first": self.first.isoformat(), "weekdays": sorted(self.weekdays),
                           "times": [t.strftime("%H:%M") for t in self.times],
                           "until": self.until.isoformat() if self.until else None})

    @classmethod
    def from_json(cls, raw: str) -> Schedule:
        d: dict[str, Any] = json.loads(raw)
        return cls(datetime.fromisoformat(d["first"]), frozenset(d["weekdays"]),
                   tuple(time.fromisoformat(t) for t in d["times"]),
                   date.fromisoformat(d["until"]) if d["until"] else None)

    def words(self, now: datetime) -> str:
        """In words, as a confirmation says it: "tomorrow (Tuesday 3 March) at
        6 pm", "every Monday at 8:30 am", "every day at 8 am and 8 pm until Sunday"."""
        if not self.repeats:
            return f"{day_words(self.first.date(), now.date())} at {clock_words(self.first.time())}"
        if len(self.weekdays) == 7:
            days = "every day"
        elif self.weekdays == frozenset(range(5)):
            days = "every weekday"
        elif self.weekdays == frozenset({5, 6}):
            days = "every weekend day"
        else:
            names = [d.capitalize() for d in WEEKDAYS if WEEKDAYS[d] in self.weekdays]
            days = "every " + (" and ".join(names) if len(names) < 3 else
                               ", ".join(names[:-1]) + " and " + names[-1])
        times = " and ".join(clock_words(t) for t in self.times)
        until = f" until {day_words(self.until, now.date()).removeprefix('on ')}" if self.until else ""
        return f"{days} at {times}{until}"


@dataclass(frozen=True)
class Remind:
    """A request to be reminded of ``what`` on ``schedule`` (or, for a
    check-in, to be asked how they are)."""

    what: str
    schedule: Schedule
    kind: str = "reminder"  # or "check_in"


@dataclass(frozen=True)
class Cancel:
    """A request to stop reminders about ``about`` ("" : the only one, or check-ins)."""

    about: str
    kind: str = "reminder"  # or "check_in"


@dataclass(frozen=True)
class Listing:
    """A question about the reminders they have ("what reminders do I have?")."""


@dataclass(frozen=True)
class _Found:
    spans: list[tuple[int, int]] = field(default_factory=list)

    def take(self, m: re.Match[str]) -> re.Match[str]:
        self.spans.append(m.span())
        return m


def asked(text: str, now: datetime) -> Remind | Cancel | Listing | None:
    """A reminder, check-in, cancellation or question about reminders in ``text``, said at ``now``
    (aware: its zone is the person's); None when ``text`` asks for none, or
    names no time os1 can be sure of."""
    text = _normal(text)
    low = text.lower()
    if m := _CANCEL.search(low):
        about = (m.group(2) or m.group(1) or "").strip(" .,!?")
        if re.search(r"\bcheck[- ]ins?\b|\bchecking in\b", m.group(0)):
            return Cancel("", "check_in")
        about = (m.group(2) or m.group(1) or "").strip(" .,!?")
        about = re.sub(r"^(?:the|my|those|these|all|your|about)\s+", "", about)
        return Cancel(_theirs(about))
    if _LIST.search(low):
        return Listing()
    check_in = bool(_CHECK_IN.search(low))
    if (not check_in and not _REMIND.search(low)) or _QUESTION.search(low):
        return None
    found = _Found()
    schedule = _when(low, now, found)
    if schedule is None:
        return None
    if check_in:
        return Remind("check in on how they are", schedule, "check_in")
    what = _what(text, found.spans)
    return Remind(what, schedule) if what else None


def at(words: str, now: datetime) -> Schedule | None:
    """A time alone ("tomorrow at 6pm", "every Monday at 8:30"), or None."""
    return _when(_normal(words).lower(), now, _Found())


def _normal(text: str) -> str:
    return " ".join(text.replace("’", "'").split())


def _when(low: str, now: datetime, found: _Found) -> Schedule | None:
    tz = now.tzinfo
    times = _times(low, found)
    part = _PART.search(low)
    part_time = DAY_PARTS[part.group(1)] if part else None
    if part and times and part.group(1) in ("afternoon", "evening", "tonight", "night"):
        times = [t if t.hour >= 12 or t.hour == 0 else time(t.hour + 12, t.minute) for t in times]
    if part:
        found.take(part)

    if m := _EVERY.search(low):
        found.take(m)
        unit = (m.group(1) or m.group(2) or m.group(3) or "").strip()
        if unit in ("day", "daily", "morning", "afternoon", "evening", "night"):
            weekdays = frozenset(range(7))
            if unit in DAY_PARTS and not times:
                times = [DAY_PARTS[unit]]
        elif unit == "weekday":
            weekdays = frozenset(range(5))
        elif unit == "weekend":
            weekdays = frozenset({5, 6})
        else:
            weekdays = frozenset(WEEKDAYS[w] for w in re.findall(_WD, unit))
        until = None
        if u := _UNTIL.search(low):
            found.take(u)
            until = _day(u.group(1), now, found=None)
        times = sorted(set(times or [part_time or DEFAULT_TIME]))
        schedule = Schedule(now, weekdays, tuple(times), until)
        first = schedule.after(now)
        return Schedule(first, weekdays, tuple(times), until) if first else None

    if m := _IN.search(low):
        found.take(m)
        raw, unit = m.group(1), m.group(2)
        n = 0.5 if raw.startswith("half") else float(raw) if raw.isdigit() else NUMBERS.get(raw, 1)
        if m.group(0).endswith("and a half"):
            n += 0.5
        seconds = {"m": 60, "h": 3600, "d": 86400, "w": 604800}[unit[0]]
        first = now + timedelta(seconds=n * seconds)
        if unit[0] in "dw" and (times or part_time):
            first = datetime.combine(first.date(), (times or [part_time])[0], tzinfo=tz)  # type: ignore[list-item]
        return Schedule(first.replace(microsecond=0))

    day = _day(low, now, found)
    clock = times[0] if times else part_time
    before = _BEFORE.search(low)
    if before:
        found.take(before)
        if day is None:
            return None  # "the day before" what?
        event = datetime.combine(day, clock or DEFAULT_TIME, tzinfo=tz)
        which = before.group(1)
        if which in ("the day", "a day"):
            first = event - timedelta(days=1)
        elif which in ("the night", "the evening"):
            first = datetime.combine(day - timedelta(days=1), DAY_PARTS["evening"], tzinfo=tz)
        elif which == "the morning":
            first = datetime.combine(day, DAY_PARTS["morning"], tzinfo=tz)
        elif which == "the week":
            first = event - timedelta(days=7)
        else:
            raw, unit = before.group(2), before.group(3)
            n = 0.5 if raw.startswith("half") else float(raw) if raw.isdigit() else NUMBERS.get(raw, 1)
            first = event - timedelta(seconds=n * {"m": 60, "h": 3600, "d": 86400, "w": 604800}[unit[0]])
        return Schedule(first) if first > now else None
    if day is None and clock is None:
        return None
    if day is None:
        assert clock is not None
        first = datetime.combine(now.date(), clock, tzinfo=tz)
        if first <= now:
            first += timedelta(days=1)
        return Schedule(first)
    first = datetime.combine(day, clock or DEFAULT_TIME, tzinfo=tz)
    return Schedule(first) if first > now else None


def day_named(text: str, said: datetime) -> date | None:
    """The day ``text``, said at ``said``, names ("on Thursday", "tomorrow", "the 13th"), or None."""
    return _day(_normal(text).lower(), said, None)


def times_in(text: str) -> list[time]:
    """The times of day ``text`` names ("at 2pm", "11:30", "noon"), in order."""
    return _times(_normal(text).lower(), _Found())


def _times(low: str, found: _Found) -> list[time]:
    out: list[time] = []
    for m in _CLOCK.finditer(low):
        hour_s = m.group(1) or m.group(4) or m.group(6)
        minute = int(m.group(2) or 0)
        suffix = (m.group(3) or m.group(5) or "").replace(".", "")
        if m.group(7):
            out.append(DAY_PARTS[m.group(7)])
            found.take(m)
            continue
        hour = int(hour_s)
        if hour > 23 or minute > 59 or (suffix and not 1 <= hour <= 12):
            continue
        if suffix == "pm" and hour < 12:
            hour += 12
        elif suffix == "am" and hour == 12:
            hour = 0
        elif not suffix and m.group(6) and 1 <= hour <= 7:
            hour += 12  # "at 6" is six in the evening; "at 8" is eight in the morning
        out.append(time(hour, minute))
        found.take(m)
    return out


def _day(low: str, now: datetime, found: _Found | None) -> date | None:
    today = now.date()
    take = found.take if found is not None else (lambda m: m)
    if m := _ISO.search(low):
        take(m)
        try:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    if m := _DAY_WORD.search(low):
        take(m)
        word = m.group(1)
        return today + timedelta(days={"the day after tomorrow": 2, "tomorrow": 1}.get(word, 0))
    if m := _MONTH_DAY.search(low):
        take(m)
        day_s, month_s = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        if month_s == "may" and not m.group(1) and not re.search(r"\bmay \d", m.group(0)):
            return None
        month = MONTHS[month_s[:3]]
        for year in (today.year, today.year + 1):
            try:
                d = date(year, month, int(day_s))
            except ValueError:
                return None
            if d >= today:
                return d
        return None
    if m := _WEEKDAY.search(low):
        take(m)
        if m.group(2):  # "Friday the 13th": the date decides
            return _nth(int(m.group(2)), today)
        ahead = (WEEKDAYS[m.group(1)] - today.weekday()) % 7
        return today + timedelta(days=ahead or 7)
    if m := _NTH.search(low):
        take(m)
        return _nth(int(m.group(1)), today)
    return None


def _nth(day: int, today: date) -> date | None:
    """The coming ``day`` of a month: this month's, or next month's if it has passed."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            d = date(year, month, day)
        except ValueError:
            d = None
        if d is not None and d >= today:
            return d
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _what(said: str, spans: list[tuple[int, int]]) -> str:
    """What to remind them of, in their words turned to face them ("call my
    sister Ana" -> "call your sister Ana"), without the words about when."""
    chars = list(said)
    for a, b in spans:
        for i in range(a, b):
            chars[i] = " "
    rest = "".join(chars)
    m = _REMIND.search(rest.lower())
    assert m is not None
    after = re.split(r"[.!?;]\s", rest[m.end():] + " ")[0]
    after = re.sub(r"^\s*(?:please\s+)?(?:again\s+)?", "", after)
    what = ""
    if mm := re.match(r"\s*(?:to|about|of|that|for)\s+(.+)", after, re.I):
        what = mm.group(1)
    elif mm := re.search(r"\b(?:to|about|that)\s+(.+)", after, re.I):
        what = mm.group(1)
    if not what.strip(" ,.!?"):
        # "My dentist appointment is on the 12th at 10am, please remind me the day before":
        # the thing is in the words before, its day and time included.
        before = re.split(r"(?<=[.!?;])\s", said[: m.start()].strip())[-1]
        what = re.sub(r"\b(?:can|could|would|will) you\b|\bplease\b", " ", before, flags=re.I)
        if not what.strip(" ,.!?"):  # "remind me an hour before my meeting on Friday"
            what = re.sub(r"^\s*(?:before|of)\b", "", after.strip(), flags=re.I)
    what = re.sub(r"\s+([,.!?])", r"\1", " ".join(what.split()))
    for _ in range(3):  # words left dangling where the time was: "take my pills and", "on", "is"
        what = re.sub(r"(?:\s+|^)(?:on|at|by|for|from|in|and|or|&|is|are|'s)\s*$", "", what.strip(" ,.!?-"),
                      flags=re.I)
    what = _FILLER.sub("", what)
    return _theirs(what)


def _theirs(words: str) -> str:
    for pattern, repl in _MINE:
        words = re.sub(pattern, repl, words, flags=re.I)
    return " ".join(words.split())


def clock_words(t: time) -> str:
    """6 pm, 8:30 am, noon, midnight."""
    if t == time(12):
        return "noon"
    if t == time(0):
        return "midnight"
    hour = t.hour % 12 or 12
    minutes = f":{t.minute:02d}" if t.minute else ""
    return f"{hour}{minutes} {'am' if t.hour < 12 else 'pm'}"


def day_words(d: date, today: date) -> str:
    """today, tomorrow (Tuesday 3 March), on Friday 13 March, on Friday 12 March 2027."""
    full = f"{d:%A} {d.day} {d:%B}" + (f" {d.year}" if d.year != today.year else "")
    if d == today:
        return "today"
    if d == today + timedelta(days=1):
        return f"tomorrow ({full})"
    return f"on {full}"

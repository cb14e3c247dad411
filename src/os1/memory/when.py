"""Time words, resolved against the time they are said.

Past (``time_window``): "last week", "in May", "two days ago", "on Saturday"
in a question -> a window of epoch seconds. Recall prefers messages written
inside it (a boost, never a filter: the words may be about something else, and
people misremember dates). Future (``due_day``): "job interview on Friday" ->
the day an open loop is due. English only; anything unrecognised yields None.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

_MONTH_NAMES = "january february march april may june july august september october november december"
MONTHS = {key: i for i, name in enumerate(_MONTH_NAMES.split(), start=1) for key in (name, name[:3])}
WEEKDAYS = {d: i for i, d in enumerate("monday tuesday wednesday thursday friday saturday sunday".split())}
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10, "few": 3, "couple": 2, "several": 4}
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}

_AGO = re.compile(r"\b(\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple|several)"
                  r"(?: of)? (day|week|month|year)s? ago\b")
_LAST = re.compile(r"\b(last|this|past|previous) (week|weekend|month|year|night)\b")
_WEEKDAY = re.compile(r"\b(last |this |on )?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
_MONTH = re.compile(r"\b(?:(\d{1,2})(?:st|nd|rd|th)? (?:of )?)?"
                    r"(january|february|march|april|may|june|july|august|september|october|"
                    r"november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b"
                    r"(?: (\d{1,2})(?:st|nd|rd|th)?\b)?(?:,? (\d{4}))?")
_YEAR = re.compile(r"\b(?:in|during|of) (19\d\d|20\d\d)\b")


def time_window(question: str, now: float, zone: tzinfo | None = None) -> tuple[float, float] | None:
    """The period ``question`` refers to, as ``(start, end)`` epoch seconds, or
    None; its days are the person's, in ``zone`` (None: this computer's)."""
    text = " ".join(question.lower().replace("'s", "").split())
    today = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)

    def days(a: datetime, b: datetime) -> tuple[float, float]:
        return a.timestamp(), b.timestamp()

    if "yesterday" in text or "last night" in text:
        return days(today - timedelta(days=1), today + timedelta(hours=6))
    if re.search(r"\b(today|this morning|tonight|earlier today)\b", text):
        return days(today, today + timedelta(days=1))
    if m := _AGO.search(text):
        n = int(m.group(1)) if m.group(1).isdigit() else NUMBERS[m.group(1)]
        span = n * UNIT_DAYS[m.group(2)]
        slack = max(1.0, span * 0.35)  # "a month ago" is rarely 30 days to the day
        centre = today - timedelta(days=span)
        return days(centre - timedelta(days=slack), centre + timedelta(days=slack + 1))
    if m := _LAST.search(text):
        which, unit = m.groups()
        if unit == "night":
            return days(today - timedelta(days=1), today + timedelta(hours=6))
        if unit in ("week", "weekend"):
            start = today - timedelta(days=today.weekday())
            if which != "this":
                start -= timedelta(days=7)
            if unit == "weekend":
                start += timedelta(days=5)
                return days(start, start + timedelta(days=2))
            return days(start, start + timedelta(days=7))
        if unit == "month":
            start = today.replace(day=1)
            if which != "this":
                start = (start - timedelta(days=1)).replace(day=1)
            return days(start, _next_month(start))
        start = today.replace(month=1, day=1)
        if which != "this":
            start = start.replace(year=start.year - 1)
        return days(start, start.replace(year=start.year + 1))
    if m := _MONTH.search(text):
        if m.group(2) == "may" and not (m.group(1) or m.group(3) or m.group(4)) and \
                not re.search(r"\b(in|during|of|since|early|late|mid) may\b", text):
            m = None  # "may" the verb
    if m:
        month = MONTHS[m.group(2)[:3]]
        day = m.group(1) or m.group(3)
        year = int(m.group(4)) if m.group(4) else None
        if year is None:  # the most recent such month, this year or last
            year = today.year if month <= today.month else today.year - 1
        try:
            if day:
                start = datetime(year, month, int(day), tzinfo=today.tzinfo)
                return days(start - timedelta(days=1), start + timedelta(days=2))
            start = datetime(year, month, 1, tzinfo=today.tzinfo)
        except ValueError:
            return None
        return days(start, _next_month(start))
    if m := _WEEKDAY.search(text):
        back = (today.weekday() - WEEKDAYS[m.group(2)]) % 7 or 7
        if m.group(1) == "last ":
            back += 7 if back < 3 else 0
        start = today - timedelta(days=back)
        return days(start - timedelta(days=1), start + timedelta(days=2))
    if m := _YEAR.search(text):
        start = datetime(int(m.group(1)), 1, 1, tzinfo=today.tzinfo)
        return days(start, start.replace(year=start.year + 1))
    return None


def _next_month(start: datetime) -> datetime:
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


_ISO_DAY = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_IN = re.compile(r"\bin (\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|few|couple|several)"
                 r"(?: of)? (day|week|month|year)s?\b")
_NEXT = re.compile(r"\bnext (week|weekend|month|year)\b")


def due_day(text: str, said_at: float, zone: tzinfo | None = None) -> float | None:
    """The day an upcoming thing happens, as the epoch seconds of its midnight,
    from words said at ``said_at``: "on Friday" is the coming Friday, "tomorrow",
    "in two weeks", "next month", "March 3rd", "2026-03-06". None: no day named."""
    text = " ".join(text.lower().replace("'s", "").split())
    today = datetime.fromtimestamp(said_at, zone).replace(hour=0, minute=0, second=0, microsecond=0)

    def at(d: datetime) -> float:
        return d.timestamp()

    if m := _ISO_DAY.search(text):
        try:
            return at(datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=today.tzinfo))
        except ValueError:
            return None
    if "day after tomorrow" in text:
        return at(today + timedelta(days=2))
    if "tomorrow" in text:
        return at(today + timedelta(days=1))
    if re.search(r"\b(today|tonight|this (morning|afternoon|evening))\b", text):
        return at(today)
    if m := _IN.search(text):
        n = int(m.group(1)) if m.group(1).isdigit() else NUMBERS[m.group(1)]
        return at(today + timedelta(days=n * UNIT_DAYS[m.group(2)]))
    if m := _WEEKDAY.search(text):
        ahead = (WEEKDAYS[m.group(2)] - today.weekday()) % 7 or 7  # "on Friday" said on a Friday: next week
        if ahead <= 2 and re.search(rf"\bnext {m.group(2)}\b", text):
            ahead += 7  # "next Friday" said on a Wednesday is not the day after tomorrow
        return at(today + timedelta(days=ahead))
    if m := _NEXT.search(text):
        unit = m.group(1)
        if unit in ("week", "weekend"):
            start = today + timedelta(days=7 - today.weekday())
            return at(start + timedelta(days=5) if unit == "weekend" else start)
        if unit == "month":
            return at(_next_month(today.replace(day=1)))
        return at(today.replace(month=1, day=1, year=today.year + 1))
    if m := _MONTH.search(text):
        if m.group(2) == "may" and not (m.group(1) or m.group(3) or m.group(4)) and \
                not re.search(r"\b(in|during|of|since|early|late|mid|by|until) may\b", text):
            return None  # "may" the verb
        month = MONTHS[m.group(2)[:3]]
        day = int(m.group(1) or m.group(3) or 1)
        year = int(m.group(4)) if m.group(4) else today.year
        try:
            when = datetime(year, month, day, tzinfo=today.tzinfo)
            if not m.group(4) and when < today:
                when = datetime(year + 1, month, day, tzinfo=today.tzinfo)  # upcoming: next year's
        except ValueError:
            return None
        return at(when)
    return None

"""Judgement: whether a reach-out that has come due is sent now, waits, or is
dropped, and why. Pure: the time and what os1 knows of the person come in,
decisions with their reasons come out (tests run it on a fake clock).

A friend reaches out rarely, at a good moment, for a reason they can name:
- never in quiet hours (a reminder set for 23:00 waits for the morning);
- never while they are speaking in a call (it waits for a pause);
- what they did not ask for (follow-ups) is kept to a daily budget, waits a
  while for a moment they are around, and stops after reach-outs went unanswered;
- after os1 was not running, what came due is said once, in one message, if
  it is still useful, and dropped if it is stale: never a burst.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from os1.reach.schedule import clock_words
from os1.reach.store import Item

HOUR = 3600.0


@dataclass(frozen=True)
class Judgement:
    """The policy's settings: the person's quiet hours and how eager os1 may be."""

    quiet: tuple[time, time] | None = (time(22), time(8))  # local [start, end); None: none
    #: Messages a day with something they did not ask for (follow-ups).
    daily_budget: int = 2
    #: Unasked-for things in one message, at most (the rest wait for the next).
    asks_per_message: int = 2
    #: Unanswered reach-outs in a row after which os1 waits for them to speak first.
    unanswered_before_backoff: int = 2
    #: How late each kind may still be said, from when it could first be said.
    late: dict[str, float] = field(default_factory=lambda: {
        "reminder": 6 * HOUR, "repeating": 2 * HOUR, "check_in": 1 * HOUR, "follow_up": 36 * HOUR})
    #: How long a follow-up waits for them to be around before it is sent anyway.
    around_wait: float = 3 * HOUR

    def quiet_at(self, moment: datetime) -> bool:
        if self.quiet is None:
            return False
        start, end = self.quiet
        t = moment.timetz().replace(tzinfo=None)
        return (start <= t or t < end) if start > end else start <= t < end

    def quiet_ends(self, moment: datetime) -> datetime:
        """The end of the quiet hours ``moment`` is in (``moment`` if none)."""
        if not self.quiet_at(moment):
            return moment
        assert self.quiet is not None
        end = datetime.combine(moment.date(), self.quiet[1], tzinfo=moment.tzinfo)
        return end if end > moment else end + timedelta(days=1)


@dataclass(frozen=True)
class Moment:
    """What the runner knows at ``now``."""

    now: datetime  # aware, in the person's time zone
    speaking: bool = False  # in a call, they are talking
    around: bool = False  # they are at os1 now (a page or chat open, and active lately)
    unsolicited_today: int = 0  # messages with follow-ups sent since midnight
    unanswered: int = 0  # reach-outs in a row they have not answered
    down: tuple[float, float] | None = None  # os1 was not running from then until then

    def was_down(self, at: float) -> bool:
        return self.down is not None and self.down[0] <= at < self.down[1]


@dataclass(frozen=True)
class Send:
    items: tuple[Item, ...]
    reason: str


@dataclass(frozen=True)
class Hold:
    item: Item
    until: float | None  # None: until something changes (they speak)
    reason: str


@dataclass(frozen=True)
class Drop:
    item: Item
    reason: str


def judge(due: Sequence[Item], m: Moment, j: Judgement) -> list[Send | Hold | Drop]:
    """Decide about every item that has come due; what is sent goes in one message."""
    now = m.now.timestamp()
    tz = m.now.tzinfo
    out: list[Send | Hold | Drop] = []
    sending: list[tuple[Item, str]] = []
    asks = 0  # unasked-for things in this message
    for item in due:
        assert item.due_at is not None
        due_at = datetime.fromtimestamp(item.due_at, tz)
        could = j.quiet_ends(due_at)  # the first moment it could be said
        late = now - could.timestamp()
        allowed = j.late["repeating" if item.kind == "reminder" and item.schedule.repeats else item.kind]
        if item.latest_at is not None and now > item.latest_at:
            out.append(Drop(item, f"stale: asking now, {_ago(now - item.due_at)} after, would be too late"))
            continue
        if late > allowed:
            why = " (os1 was not running)" if m.was_down(could.timestamp()) else ""
            out.append(Drop(item, f"stale: due {_at(due_at, m.now)}, {_ago(late)} ago{why}"))
            continue
        if j.quiet_at(m.now):
            ends = j.quiet_ends(m.now)
            out.append(Hold(item, ends.timestamp(), f"quiet hours: waits until {clock_words(ends.time())}"))
            continue
        if m.speaking:
            out.append(Hold(item, now + 5, "they are speaking: waits for a pause"))
            continue
        if not item.solicited:
            if m.unanswered >= j.unanswered_before_backoff:
                out.append(Hold(item, None, f"the last {m.unanswered} reach-outs went unanswered:"
                                            " waits for them to speak first"))
                continue
            if m.unsolicited_today >= j.daily_budget:
                tomorrow = datetime.combine(m.now.date() + timedelta(days=1), time(0), tzinfo=tz)
                start = j.quiet_ends(tomorrow)
                out.append(Hold(item, start.timestamp(),
                                f"today's budget of {j.daily_budget} unasked-for messages is spent"))
                continue
            if not m.around and now < item.due_at + j.around_wait:
                until = item.due_at + j.around_wait
                out.append(Hold(item, until, "waits for a moment they are around (at the latest "
                                             f"{clock_words(datetime.fromtimestamp(until, tz).time())})"))
                continue
            if asks >= j.asks_per_message:
                out.append(Hold(item, now + 3600, "one thing at a time: waits for the next message"))
                continue
            asks += 1
        reason = _why(item, due_at, m.now)
        if late > 10 * 60 and item.solicited:
            where = " os1 was not running then;" if m.was_down(could.timestamp()) else ""
            reason += f" (due {_at(due_at, m.now)};{where} {_ago(late)} late, still useful)"
        sending.append((item, reason))
    if sending:
        reasons = [r for _, r in sending]
        merged = f"{len(sending)} due together, in one message: " if len(sending) > 1 else ""
        out.append(Send(tuple(i for i, _ in sending), merged + "; ".join(reasons)))
    return out


def _why(item: Item, due_at: datetime, now: datetime) -> str:
    if item.kind == "reminder":
        return f"they asked to be reminded {_at(due_at, now)}: {item.text}"
    if item.kind == "check_in":
        return f"they asked to be checked in on {_at(due_at, now)}"
    return f"follow-up: {item.text}; they have not said how it went"


def _at(moment: datetime, now: datetime) -> str:
    day = "today" if moment.date() == now.date() else f"{moment:%a} {moment.day} {moment:%b}"
    return f"{day} at {moment:%H:%M}"


def _ago(seconds: float) -> str:
    if seconds < 90 * 60:
        return f"{max(1, round(seconds / 60))} min"
    if seconds < 36 * HOUR:
        return f"{round(seconds / HOUR)} h"
    return f"{round(seconds / 86400)} days"

"""The runner around the policy: where reach-outs come from and where they go.

Sources: reminders and check-ins they ask for (:meth:`Reacher.asked`, from a
turn's words), follow-ups on open loops os1 noted while reflecting
(:meth:`Reacher.follow_ups`). Each tick, what has come due goes to the pure
:func:`~os1.reach.policy.judge`; what it holds back or drops is logged with
its reason, what it sends is handed to ``deliver`` (a front end: the page,
``os1 chat``, the benchmark) as one :class:`~os1.reach.policy.Send`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from os1.reach.policy import Drop, Hold, Judgement, Moment, Send, judge
from os1.reach.schedule import (
    Cancel, Listing, Remind, Schedule, asked, clock_words, day_named, day_words, times_in,
)
from os1.reach.store import Item, ReachStore, Status

from os1.events import ReplyDone

if TYPE_CHECKING:
    from os1.memory.store import MemoryStore, Note
    from os1.mind.companion import Companion

log = logging.getLogger(__name__)

#: Seconds of their last word within which they count as around (with a client open).
AROUND = 30 * 60
#: A follow-up with no time of day: after the afternoon of the day it was due.
FOLLOW_UP_DEFAULT = 17
#: After an event at a known time: how long before asking how it went.
FOLLOW_UP_AFTER = 2 * 3600
#: The longest a runner sleeps between looks at the schedule.
TICK = 30.0
#: Reach-outs not answered within this many seconds count as unanswered.
UNANSWERED_AFTER = 12 * 3600

_STOP = set("""a an the and or but of to in on at for with by from about as is are was were be been being
it its this that these those i me my you your he she they them their his her we our us so if then than
too very just really all any some not no yes do does did done have has had will would can could should
may might must shall going go get got make made up out over after before again still also more most
much many few today tomorrow tonight yesterday week weekend month year day days time morning afternoon
evening night next last later soon monday tuesday wednesday thursday friday saturday sunday january
february march april may june july august september october november december am pm th st nd rd""".split())


def key_words(text: str, *, not_these: Collection[str] = ()) -> set[str]:
    """The words that say what a thing is about ("Sam's job interview at
    Lumen on Thursday" -> job, interview, lumen), for telling whether two
    mentions are the same thing."""
    words = re.findall(r"[a-z][a-z'-]+", text.lower().replace("’", "'"))
    return {w.removesuffix("'s").removesuffix("s") for w in words
            if len(w) > 2 and w.removesuffix("'s") not in _STOP and w.removesuffix("'s") not in not_these}


_ANY: tuple[Status, ...] = ("active", "done", "cancelled", "resolved")
_REMINDER = re.compile(r"\bremind(?:er|ers|ed|ing)?\b", re.IGNORECASE)


class Reacher:
    """One person's reach-outs: sources in, judged sends out."""

    def __init__(self, store: ReachStore, memory: MemoryStore | None = None, *, tz: tzinfo,
                 judgement: Judgement = Judgement(), clock: Callable[[], float] = time.time):
        self.store = store
        self.memory = memory
        self.tz = tz
        self.judgement = judgement
        self.clock = clock
        self.started_at = clock()
        #: os1 was not running from then until ``started_at`` (None: it was never stopped).
        self.down_since = store.alive_at()
        self.last_heard: float | None = None
        #: Is the person talking now (a call under way says; see Hub)?
        self.busy: Callable[[], bool] = lambda: False
        self.connected = 0  # open pages and chats that can show a reach-out
        #: When something held back may be said (the earliest hold's end; None: no such time).
        self.look_again_at: float | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), self.tz)

    def when(self, item: Item) -> str:
        """When ``item`` is next due, in words ("every Monday at 8:30 am", "tomorrow (...) at 6 pm")."""
        now = self.now()
        if item.schedule.repeats:
            return item.schedule.words(now)
        due = datetime.fromtimestamp(item.due_at, self.tz) if item.due_at else item.schedule.first
        return f"{day_words(due.date(), now.date())} at {clock_words(due.time())}"

    # -- sources ---------------------------------------------------------------------------

    def asked(self, text: str) -> Remind | Cancel | Listing | None:
        """A reminder, check-in, cancellation or question about them in their words (not yet done)."""
        return asked(text, self.now())

    def remind(self, request: Remind, *, source: str = "") -> tuple[Item, str]:
        """Schedule what they asked for; the item and its time in words."""
        item = self.store.add(request.kind, request.what, request.schedule,  # type: ignore[arg-type]
                              source=source, now=self.clock())
        return item, request.schedule.words(self.now())

    def cancel(self, request: Cancel) -> list[Item]:
        """Stop the reminders (or check-ins) ``request`` is about; those stopped."""
        active = self.store.items(kinds=(request.kind,))  # type: ignore[arg-type]
        if request.about:
            wanted = key_words(request.about)
            active = [i for i in active if wanted & key_words(i.text) or request.about.lower() in i.text.lower()]
        elif len(active) > 1 and request.kind == "reminder":
            return []  # "stop the reminder": which one? The reply asks them.
        for item in active:
            self.store.settle(item.id, "cancelled", now=self.clock())
            self.store.log([item.id], "dropped", f"they asked to stop it: {item.text}", at=self.clock())
        return active

    def heard(self, text: str) -> None:
        """They said something: reach-outs so far are answered, and a follow-up
        on a thing they have now told about (after it happened) is not needed."""
        now = self.clock()
        self.last_heard = now
        self.store.answered(now=now)
        for item in self.store.items(kinds=("follow_up",)):
            if self._told(item, text, now):
                self.store.settle(item.id, "resolved", now=now)
                self.store.log([item.id], "dropped", f"they told already: {text[:80]!r}", at=now)

    def _told(self, item: Item, text: str, at: float) -> bool:
        event = item.schedule.first.timestamp() - (FOLLOW_UP_AFTER if item.schedule.times else 0)
        return at >= event and bool(key_words(item.text, not_these=self._names()) & key_words(text))

    def _names(self) -> set[str]:
        if self.memory is None:
            return set()
        profile = self.memory.profile()
        return {w for k in ("name", "address_as") for w in key_words(profile.get(k, ""))}

    def follow_ups(self) -> list[Item]:
        """Follow-ups for the open loops os1 noted (an interview on Thursday ->
        "how did it go?" after it): once per loop, not for one a reminder
        already covers or one like a follow-up made before, and not when they
        have told already. The new ones."""
        if self.memory is None:
            return []
        now = self.clock()
        seen = self.store.sources()
        names = self._names()
        made: list[Item] = []
        for note in self.memory.notes(["open_loop"]):
            if note.ref in seen or note.due_at is None or note.due_at < now - 2 * 86400:
                continue
            item = self._follow_up(note, names, now)
            if item is not None:
                made.append(item)
        return made

    def _follow_up(self, note: Note, names: set[str], now: float) -> Item | None:
        assert note.due_at is not None
        day = datetime.fromtimestamp(note.due_at, self.tz).date()
        words = key_words(note.text, not_these=names)
        if not words or _REMINDER.search(note.text):
            return None  # about a reminder: the reminder itself is the reach-out
        # Only for a day they named themselves (reflection, on the small models, also
        # puts days on things no one said were coming): the words that say it, if any.
        said = self._said_on(day, words)
        clock = next(iter(times_in(note.text)), None) or next(iter(times_in(said or "")), None)
        if clock is not None:
            event = datetime.combine(day, clock, tzinfo=self.tz)
            earliest = event + timedelta(seconds=FOLLOW_UP_AFTER)
        else:
            event = datetime.combine(day, datetime.min.time(), tzinfo=self.tz)
            earliest = event.replace(hour=FOLLOW_UP_DEFAULT)
        latest = datetime.combine(day + timedelta(days=1), self.judgement.quiet[0] if self.judgement.quiet
                                  else datetime.max.time(), tzinfo=self.tz) - timedelta(minutes=1)
        why = None
        for other in self.store.items(kinds=("reminder", "follow_up"), statuses=_ANY):
            near = abs(other.schedule.first.timestamp() - earliest.timestamp()) < 3 * 86400
            if (other.kind == "reminder" or near) and words & key_words(other.text, not_these=names):
                why = f"a {other.kind.replace('_', '-')} covers it already: {other.text}"
                break
        text = note.text.strip().rstrip(".")
        item = self.store.add("follow_up", text, Schedule(earliest), source=note.ref,
                              latest_at=latest.timestamp(), now=now)
        told = [m for m in self.memory.messages(limit=200) if m.role == "user" and m.created_at >= event.timestamp()
                and words & key_words(m.content)] if self.memory is not None else []
        if told:
            why = f"they told already: {told[-1].content[:80]!r}"
        elif said is None:
            why = f"they never said it is on {day:%A} {day.day} {day:%B}: nothing to ask about then"
        if why:
            self.store.settle(item.id, "resolved", now=now)
            self.store.log([item.id], "dropped", why, at=now)
            return None
        self.store.log([item.id], "held", f"follow-up planned for {day_words(earliest.date(), self.now().date())}"
                       f" after {clock_words(earliest.time())}: {text}", at=now)
        return item

    def _said_on(self, day: date, words: set[str]) -> str | None:
        """Their latest message about ``words`` that names ``day`` as its day."""
        if self.memory is None:
            return None
        for m in reversed(self.memory.messages(limit=300)):
            if m.role == "user" and words & key_words(m.content) and \
                    day_named(m.content, datetime.fromtimestamp(m.created_at, self.tz)) == day:
                return m.content
        return None

    # -- judging ---------------------------------------------------------------------------

    @property
    def around(self) -> bool:
        return self.connected > 0 and self.last_heard is not None and self.clock() - self.last_heard < AROUND

    def moment(self) -> Moment:
        now = self.now()
        midnight = datetime.combine(now.date(), datetime.min.time(), tzinfo=self.tz).timestamp()
        sent = self.store.sent(since=now.timestamp() - 14 * 86400)
        unasked = {i.id for i in self.store.items(kinds=("follow_up",), statuses=_ANY)}
        unsolicited_today = sum(1 for e in sent if e.at >= midnight and unasked & set(e.items))
        unanswered = 0
        for e in reversed(sent):
            if e.answered_at is not None and not e.dismissed:
                break
            if e.dismissed or now.timestamp() - e.at > UNANSWERED_AFTER:
                unanswered += 1
        return Moment(now, speaking=self.busy(), around=self.around, unsolicited_today=unsolicited_today,
                      unanswered=unanswered,
                      down=(self.down_since, self.started_at) if self.down_since is not None else None)

    def decide(self) -> list[Send]:
        """Judge what has come due: holds and drops are logged (a hold once per
        reason) and applied; what is sent is claimed and returned, for
        :meth:`sent` to log and move on once said."""
        now = self.clock()
        decisions = judge(self.store.due(now), self.moment(), self.judgement)
        self.look_again_at = None
        self.store.alive(now)
        sends: list[Send] = []
        for d in decisions:
            if isinstance(d, Drop):
                with self.store.transaction():  # moved on and logged, or neither
                    if self._advance(d.item, now):
                        self.store.log([d.item.id], "dropped", d.reason, at=now)
            elif isinstance(d, Hold):
                if self.store.hold(d.item.id, d.reason):
                    self.store.log([d.item.id], "held", d.reason, at=now)
                if d.until is not None:
                    self.look_again_at = min(self.look_again_at or d.until, d.until)
            elif claimed := tuple(i for i in d.items if self.store.claim(i.id, now=now, was=i.due_at)):
                sends.append(Send(claimed, d.reason))
        return sends

    def sent(self, send: Send, text: str, *, delivered: bool = True) -> int:
        """``send`` was said as ``text`` (``delivered``: someone saw it; else it
        waits for the next session): logged, and its items move on to their
        next time (or are done). Until then they are claimed, not done: an
        os1 killed while saying them says them later (late, and saying so)."""
        now = self.clock()
        with self.store.transaction():  # killed between the two, it would be logged twice
            entry = self.store.log([i.id for i in send.items], "sent", send.reason, at=now, text=text,
                                   delivered=delivered)
            for item in send.items:
                self._advance(item, now)
        return entry

    def _advance(self, item: Item, now: float) -> bool:
        """Move ``item`` past now (no missed repeat is kept: never a burst);
        False if another os1 process did already."""
        after = max(now, item.due_at or now)
        nxt = item.schedule.after(datetime.fromtimestamp(after, self.tz)) if item.schedule.repeats else None
        return self.store.advance(item.id, nxt.timestamp() if nxt else None, now=now, was=item.due_at)

    async def run(self, deliver: Callable[[Send], Awaitable[None]], *,
                  sleep: Callable[[float], Awaitable[None]] = asyncio.sleep, tick: float = TICK) -> None:
        """Forever: make follow-ups, judge what is due, deliver what is sent
        (``deliver`` calls :meth:`sent`). Every ``tick``, when the next item
        comes due and when a hold ends: a reminder for 3 pm is said at 3 pm,
        one held while they spoke 5 s later, not up to a tick later. A failure
        is logged, never fatal."""
        while True:
            wait = tick
            try:
                self.follow_ups()
                for send in self.decide():
                    await deliver(send)
                now = self.clock()
                for then in (self.store.next_due(now), self.look_again_at):
                    if then is not None:
                        wait = min(wait, max(0.0, then - now))
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the next tick may do better; the conversation goes on
                log.exception("reaching out failed")
            await sleep(wait)


#: Words that begin a reminder's "what" when it names a thing, not something to do.
_THING = re.compile(r"^(?:your|the|a|an|my|our|their|his|her|this|that|its)\b", re.IGNORECASE)


def reminder_words(items: Sequence[Item], now: datetime) -> str:
    """Reminders in os1's words, with no model in the way: what they asked to
    be reminded of is exactly what they hear ("It's 6 pm: time to call your
    sister Ana."); late ones say when they were due."""
    parts = []
    for item in items:
        due = datetime.fromtimestamp(item.due_at or now.timestamp(), now.tzinfo)
        what = item.text.rstrip(".!?")
        line = f"a reminder: {what}" if _THING.match(what) else f"time to {what}"
        if now - due > timedelta(minutes=10):
            line += f" (you asked for it at {clock_words(due.time())}; sorry it's late)"
        parts.append(line)
    if len(parts) == 1:
        return f"It's {clock_words(now.time())}: {parts[0]}."
    return f"It's {clock_words(now.time())}, and two things: " + "; and ".join(parts) + "." \
        if len(parts) == 2 else "A few reminders: " + "; ".join(parts) + "."


def prompt(send: Send, name: str = "you", names: Collection[str] = ()) -> tuple[str, str]:
    """What the model is asked to say for follow-ups and check-ins, for
    :meth:`Companion.initiate`: (reason, context). Worded as measured best
    with the 1.5B, which otherwise writes as the person ("I'm so scared about
    the interview") or about them ("Did they say anything?")."""
    things = [facing(i.text, names) for i in send.items if i.kind == "follow_up"]
    if things:
        ask = f"ask how {' and '.join(things)} went"
        example = "Hey you! So, how did it go?"
    else:
        ask, example = "ask how they are doing, as they asked you to", "Hey, just checking in: how's your day going?"
    context = (f"You, {name}, message them first: {ask}. One or two short sentences to them, in your own "
               f"words, like \"{example}\"")
    return "; ".join(i.text for i in send.items), context


def facing(thing: str, names: Collection[str] = ()) -> str:
    """A note of os1's ("The user's job interview at Lumen", "Sam's exam") as
    said to them ("your job interview at Lumen", "your exam"); ``names``:
    words that keep their capital ("Lumen interview" stays so)."""
    thing = _WHEN_WORDS.sub("", thing.strip().rstrip(".")).strip() or thing.strip()
    thing = re.sub(r"^(?:(?i:the user|user|they|their)|[A-Z][a-z]+)(?:'s|’s)\s+", "your ", thing)
    thing = re.sub(r"^(?:(?i:the user|user|they)|[A-Z][a-z]+) (?:has|have|had) (?:an? |the )?", "your ", thing)
    first = thing.split(" ", 1)[0]
    if first not in names and first[1:].islower():
        thing = thing[0].lower() + thing[1:]
    if not thing.startswith(("your ", "the ", "a ", "an ")):
        thing = "your " + thing
    return thing


def names_in(texts: Iterable[str]) -> set[str]:
    """Words written with a capital inside a sentence (Lumen, Ana): names."""
    found: set[str] = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.!?])\s+", text):
            found.update(w for w in re.findall(r"(?<=\s)[A-Z][a-z]+", sentence))
    return found


def fallback(send: Send, names: Collection[str] = ()) -> str:
    """Plain words for a follow-up or check-in, when the model's will not do."""
    things = [facing(i.text, names) for i in send.items if i.kind == "follow_up"]
    if things:
        return f"Hey, I've been thinking of you: how did {' and '.join(things)} go?"
    return "Hey, just checking in, as you asked: how are you doing today?"


#: When, at the end of a note ("... on Thursday at 2pm"): by the time os1 asks, it is past.
_WHEN_WORDS = re.compile(r"(?:\s+(?:on|this|next|last)\s+(?:monday|tuesday|wednesday|thursday|friday|saturday"
                         r"|sunday|the \d{1,2}(?:st|nd|rd|th)?|week(?:end)?)\b|\s+at \d{1,2}(?::\d\d)?\s*(?:am|pm)?"
                         r"|\s+(?:today|tomorrow|tonight|this (?:morning|afternoon|evening)))+\s*$", re.IGNORECASE)
#: The model writing as the person ("I'm so scared", "I got the job"), not to them.
_AS_THEM = re.compile(r"\bI(?:'m| am| was| did| got| had| feel| felt| went)\b|\bmy\b", re.IGNORECASE)


def fit(text: str, send: Send) -> bool:
    """Is the model's message one to send: a short question to them, about its items?"""
    text = _unwrapped(text)
    about = all(i.kind == "check_in" or key_words(i.text) & key_words(text) for i in send.items)
    to_them = re.search(r"\byou(?:r|'re|'ve)?\b", text, re.IGNORECASE) and not _AS_THEM.search(text)
    return about and bool(to_them) and "?" in text and 3 <= len(text.split()) <= 60


def _unwrapped(text: str) -> str:
    """The message itself, when a small model framed it ("Sure, here's how I'd say it: \"...\"")."""
    text = re.sub(r"^(?:sure|okay|ok|of course|certainly|here)\b[^\n:]{0,80}:\s*", "", text.strip(),
                  flags=re.IGNORECASE)
    if len(text) > 2 and text[0] in "\"“" and text.count(text[0]) + text.count("”") <= 2:
        text = text.strip("\"“”").strip()
    return text


@dataclass(frozen=True, slots=True)
class Reached:
    text: str  # what os1 said
    message_id: int  # its message in the conversation
    entry_id: int  # its entry in the log of reach-outs


async def reach_out(companion: Companion, send: Send, *, delivered: bool = True) -> Reached:
    """Say ``send`` as a turn os1 starts, and log it as sent. Reminders are
    said in os1's own fixed words; a follow-up or check-in is written by the
    model (same persona, memory and prompt as any turn) and replaced by plain
    words if it is not a short question to them about its reason."""
    reacher = companion.reach
    assert reacher is not None, "a companion with reach-outs"
    reminders = [i for i in send.items if i.kind == "reminder"]
    others = Send(tuple(i for i in send.items if i.kind != "reminder"), send.reason)
    names = names_in(m.content for m in companion.memory.messages(limit=100) if m.role == "user")
    if reminders:  # with anything else due at once in plain words: one message
        words = " ".join(filter(None, [reminder_words(reminders, reacher.now()),
                                       fallback(others, names) if others.items else ""]))
        events = companion.say(words, send.reason)
    else:
        reason, context = prompt(send, companion.settings.persona.name, names)
        events = companion.initiate(reason, context)
    text, message_id = "", None
    async for event in events:
        if isinstance(event, ReplyDone):
            text, message_id = event.text, event.message_id
    said = text if reminders else _unwrapped(text) if fit(text, send) else fallback(send, names)
    if message_id is None:  # the model failed: the plain words, kept as said
        assert companion.session_id is not None
        message_id = companion.memory.add_message(companion.session_id, "assistant", said,
                                                  created_at=reacher.clock())
    elif said != text:
        companion.reply_heard(message_id, said, interrupted=False)
    return Reached(said, message_id, reacher.sent(send, said, delivered=delivered))

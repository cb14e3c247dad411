"""The memory boundary: records and the store Protocol.

A store is always bound to one user: nothing it returns can belong to anyone
else, which is how one user's memory stays invisible to another. Its surface
is a set of narrow ports (conversations, facts, reflections, recall,
forgetting, actions, profile, restoring history); code that needs one names
that one. SQLite and PostgreSQL implement them all (sql.py), and export and
import (transfer.py) are written against the ports, not a backend's SQL.

Item ids shown to users are prefixed by kind: ``f12`` is fact 12, ``m34`` is
message 34; the companion's reflections on a conversation are ``s`` (session
summary), ``j`` (journal entry), ``r`` (relationship: a shared moment, inside
joke, promise or open loop) and ``d`` (a version of its self-description).

Facts have a time: ``valid_from`` is when one became true, and a fact replaced
by a newer one about the same thing (same ``key``, e.g. ``user.home_city``) is
kept as history with ``superseded_at``: "lived in Los Angeles until March".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any, Literal, Protocol

from os1.storage import MAX_ID

Role = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    session_id: int
    role: Role
    content: str
    channel: str
    created_at: float
    interrupted: bool = False
    #: Its facts have been read (or it has none to read: os1's own words).
    mined: bool = False

    @property
    def ref(self) -> str:
        return f"m{self.id}"


@dataclass(frozen=True, slots=True)
class Session:
    """One conversation: a call, or a stretch of typed messages."""

    id: int
    channel: str
    started_at: float
    ended_at: float | None = None
    reflected_at: float | None = None
    #: The last message reflection has read (None: not reflected on yet).
    reflected_through: int | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    id: int
    text: str
    kind: str
    source_message_id: int | None
    created_at: float
    #: What the fact is about, as "subject.attribute" ("user.home_city"), for
    #: things with one value at a time; a newer fact with the same key replaces it.
    key: str | None = None
    valid_from: float | None = None  # when it became true (default: when it was said)
    superseded_by: int | None = None
    superseded_at: float | None = None
    #: Replaced by the user's own edit: it was wrong or badly worded, not true once.
    corrected: bool = False

    @property
    def ref(self) -> str:
        return f"f{self.id}"

    @property
    def current(self) -> bool:
        return self.superseded_at is None


#: Relationship records: a shared moment, an inside joke, a promise (by either
#: side), an open loop (something upcoming or unfinished, e.g. an interview on Friday).
RELATIONSHIP_KINDS = ("moment", "joke", "promise", "open_loop")
#: Id prefix of each kind of reflection note ("self": the self-description).
NOTE_PREFIX = {"summary": "s", "journal": "j", "self": "d", **{k: "r" for k in RELATIONSHIP_KINDS}}
REF_PREFIXES = "fmsjrd"


@dataclass(frozen=True, slots=True)
class Note:
    """Something the companion wrote while reflecting on a session."""

    id: int
    kind: str  # "summary", "journal", "self", or one of RELATIONSHIP_KINDS
    text: str
    session_id: int | None  # the session it was drawn from
    created_at: float
    due_at: float | None = None  # open loops and promises: the day it is due

    @property
    def ref(self) -> str:
        return f"{NOTE_PREFIX[self.kind]}{self.id}"


@dataclass(frozen=True, slots=True)
class NewFact:
    text: str
    kind: str
    key: str | None
    source_message_id: int | None


@dataclass(frozen=True, slots=True)
class Moment:
    kind: str  # one of RELATIONSHIP_KINDS
    text: str
    due_at: float | None = None


@dataclass(frozen=True, slots=True)
class Reflection:
    """What reflecting on one session produced; stored all at once or not at all."""

    session_id: int
    message_ids: tuple[int, ...]  # the messages it read
    summary: str
    journal: str
    self_description: str
    moments: tuple[Moment, ...] = ()
    facts: tuple[NewFact, ...] = ()


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: a fact or a message, with its relevance (higher is better)."""

    ref: str
    text: str
    kind: str  # fact kind, "user"/"assistant" for messages, or a Note kind
    created_at: float
    score: float
    due_at: float | None = None  # open loops and promises


@dataclass(frozen=True, slots=True)
class Action:
    """Something os1 proposed to do (an act tool call) and what came of it:
    ``status`` pending, done, declined, expired or failed."""

    id: int
    tool: str
    arguments: dict[str, Any]
    action: str
    warnings: tuple[str, ...]
    status: str
    outcome: str
    created_at: float
    expires_at: float
    settled_at: float | None = None


class Conversations(Protocol):
    def start_session(self, channel: str, *, started_at: float | None = None) -> int: ...
    def end_session(self, session_id: int) -> None: ...
    def sessions(self) -> list[Session]: ...
    def add_message(
        self, session_id: int, role: Role, content: str, *, channel: str = "text",
        interrupted: bool = False, created_at: float | None = None,
    ) -> int: ...
    def messages(self, *, session_id: int | None = None, limit: int | None = 50) -> list[StoredMessage]: ...
    def revise_message(self, message_id: int, content: str, *, interrupted: bool) -> None: ...


class Facts(Protocol):
    def unextracted(self, limit: int = 20) -> list[StoredMessage]: ...
    def mark_extracted(self, message_id: int) -> None: ...
    def add_fact(
        self, text: str, *, kind: str, source_message_id: int | None, key: str | None = None,
        valid_from: float | None = None,
    ) -> int | None: ...
    def facts(self, *, include_history: bool = False) -> list[Fact]: ...
    def edit(self, ref: str, text: str) -> bool: ...


class Reflections(Protocol):
    def notes(self, kinds: Sequence[str] | None = None) -> list[Note]: ...
    def self_description(self) -> str | None: ...
    def pending_reflections(self, *, limit: int = 10) -> list[int]: ...
    def reflected_through(self, session_id: int) -> int: ...
    def save_reflection(self, reflection: Reflection) -> bool: ...
    def reflection_failed(self, session_id: int, through_message_id: int) -> None: ...


class Recall(Protocol):
    def search(
        self, query: str, *, limit: int = 8, exclude_session: int | None = None,
        now: float | None = None, budget: float | None = None,
    ) -> list[Hit]: ...
    def embed_pending(self, limit: int = 32) -> int: ...


class Forgetting(Protocol):
    def forget(self, ref: str, *, reply: bool = True) -> bool: ...
    def forget_everything(self) -> int: ...


class Actions(Protocol):
    def add_action(self, tool: str, arguments: dict[str, Any], action: str, warnings: Sequence[str],
                   *, expires_at: float) -> Action: ...
    def settle_action(self, action_id: int, status: str, outcome: str = "") -> bool: ...
    def actions(self, *, limit: int | None = 20, now: float | None = None) -> list[Action]: ...


class Profile(Protocol):
    def profile(self) -> dict[str, str]: ...
    def set_profile(self, key: str, value: str) -> None: ...


class Restore(Protocol):
    """History written back as it was (an import): each record keeps its own
    times and flags, nothing is inferred from it (a restored fact replaces no
    other), and the record's own id is not used: the new one is returned."""

    def restoring(self) -> AbstractContextManager[None]:
        """One import: all of its writes, or none."""
        ...
    def restore_session(self, session: Session) -> int:
        """Its channel and times; reflection is restored with ``set_reflected``."""
        ...
    def set_reflected(self, session_id: int, at: float | None, through_message_id: int | None) -> None: ...
    def restore_message(self, message: StoredMessage) -> int: ...
    def restore_fact(self, fact: Fact) -> int:
        """``superseded_by`` is not kept: ``supersede`` links the new ids."""
        ...
    def supersede(self, fact_id: int, by_fact_id: int) -> None: ...
    def restore_note(self, note: Note) -> int: ...


class MemoryStore(Conversations, Facts, Reflections, Recall, Forgetting, Actions, Profile, Restore,
                  Protocol):
    user: str
    zone: tzinfo | None  # the person's time zone (None: this computer's)

    def export(self) -> dict[str, Any]: ...
    def import_data(self, data: dict[str, Any]) -> dict[str, int]: ...
    def close(self) -> None: ...


def parse_ref(ref: str) -> tuple[str, int] | None:
    """``"f12"`` -> ``("f", 12)``; None when it is not a valid id."""
    ref = ref.strip().lower()
    # ASCII digits only: str.isdigit takes "²", which int refuses.
    if len(ref) < 2 or ref[0] not in REF_PREFIXES or not (ref[1:].isascii() and ref[1:].isdigit()):
        return None
    number = int(ref[1:])
    return (ref[0], number) if number <= MAX_ID else None


#: Where a word written joined comes apart: "iPhone", "MacBook", "PS5", "3pm".
_SEAM = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def index_words(text: str) -> str:
    """``text`` as the full-text index should read it: with its joined words
    also in their parts ("my iPhone 13" -> "my iPhone 13\ni Phone"), so that
    asking about a "phone" finds the iPhone; the names of products and
    services are often written so (MacBook, PlayStation, YouTube).
    Linear in the text (it may be a pasted book)."""
    parts = [_SEAM.sub(" ", word) for word in re.findall(r"\w+", text) if _SEAM.search(word)]
    return text + "\n" + " ".join(parts) if parts else text


def fts_query(text: str, stopwords: Sequence[str] | frozenset[str]) -> str:
    """Words of ``text`` as an FTS5 OR-query (quoted, stopwords dropped)."""
    words = []
    for raw in "".join(c if c.isalnum() else " " for c in text.lower()).split():
        if raw not in stopwords and raw not in words:
            words.append(raw)
    return " OR ".join(f'"{w}"' for w in words)


STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves hi hello hey ok okay yes yeah please thanks thank tell know what's i'm it's
    im dont don't""".split()
)

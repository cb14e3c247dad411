"""The memory boundary: records and the store Protocol.

A store is always bound to one user: nothing it returns can belong to anyone
else, which is how one user's memory stays invisible to another. The SQLite
store implements it today; a PostgreSQL store can sit behind the same Protocol.

Item ids shown to users are prefixed by kind: ``f12`` is fact 12, ``m34`` is
message 34.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

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

    @property
    def ref(self) -> str:
        return f"m{self.id}"


@dataclass(frozen=True, slots=True)
class Fact:
    id: int
    text: str
    kind: str
    source_message_id: int | None
    created_at: float

    @property
    def ref(self) -> str:
        return f"f{self.id}"


@dataclass(frozen=True, slots=True)
class Hit:
    """A search result: a fact or a message, with its relevance (higher is better)."""

    ref: str
    text: str
    kind: str  # fact kind, or "user"/"assistant" for messages
    created_at: float
    score: float


class MemoryStore(Protocol):
    user: str

    def start_session(self, channel: str, *, started_at: float | None = None) -> int: ...
    def end_session(self, session_id: int) -> None: ...
    def add_message(
        self, session_id: int, role: Role, content: str, *, channel: str = "text",
        interrupted: bool = False, created_at: float | None = None,
    ) -> int: ...
    def messages(self, *, session_id: int | None = None, limit: int = 50) -> list[StoredMessage]: ...
    def unextracted(self, limit: int = 20) -> list[StoredMessage]: ...
    def mark_extracted(self, message_id: int) -> None: ...
    def revise_message(self, message_id: int, content: str, *, interrupted: bool) -> None: ...
    def add_fact(self, text: str, *, kind: str, source_message_id: int | None) -> int | None: ...
    def facts(self) -> list[Fact]: ...
    def search(
        self, query: str, *, limit: int = 8, exclude_session: int | None = None,
        now: float | None = None, budget: float = ...,
    ) -> list[Hit]: ...
    def embed_pending(self, limit: int = 32) -> int: ...
    def forget(self, ref: str) -> bool: ...
    def profile(self) -> dict[str, str]: ...
    def set_profile(self, key: str, value: str) -> None: ...
    def export(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


def parse_ref(ref: str) -> tuple[str, int] | None:
    """``"f12"`` -> ``("f", 12)``; None when it is not a valid id."""
    ref = ref.strip().lower()
    if len(ref) < 2 or ref[0] not in "fm" or not ref[1:].isdigit():
        return None
    return ref[0], int(ref[1:])


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

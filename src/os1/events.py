"""The one event vocabulary that flows out of a conversation.

Plain frozen dataclasses, importing nothing else from os1, so every front end
(terminal, web, tests) consumes the same stream: ``async for event in
conversation.send(text): ...``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UserTurn:
    """The user's message was stored (it is safe from here on)."""

    message_id: int
    text: str
    channel: str = "text"


@dataclass(frozen=True, slots=True)
class ReplyStarted:
    """The model produced its first token of the reply."""


@dataclass(frozen=True, slots=True)
class ReplyDelta:
    """A piece of the reply's text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ReplyDone:
    """The reply ended. ``interrupted`` means it was cut short by the user;
    ``text`` is then only what was delivered before the cut."""

    text: str
    interrupted: bool = False
    message_id: int | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the user should know that is not part of the reply."""

    text: str


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """A failure during the turn; the user's message is already stored."""

    text: str


Event = UserTurn | ReplyStarted | ReplyDelta | ReplyDone | Notice | ErrorEvent

__all__ = ["ErrorEvent", "Event", "Notice", "ReplyDelta", "ReplyDone", "ReplyStarted", "UserTurn"]

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


@dataclass(frozen=True, slots=True)
class Initiated:
    """os1 starts this turn itself (a reminder, a follow-up): ``reason``."""

    reason: str


# -- tools and consent -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolActivity:
    """A tool is used in this turn: ``state`` "running", then "done" or
    "failed" (``detail`` says why)."""

    name: str
    arguments: dict  # type: ignore[type-arg]
    state: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Shown:
    """Something for a front end to show as it is, beside the words: ``kind``
    "review" is a letter's changes, for the page to show as tracked changes
    (letters/desk.py gives ``data``'s form)."""

    kind: str
    data: dict  # type: ignore[type-arg]


@dataclass(frozen=True, slots=True)
class ConsentRequest:
    """os1 wants to do ``action`` (the exact action, in words) and waits for
    the person's yes or no; ``warnings`` say which parts did not come from
    them. Answered with ``Companion.answer(proposal_id, ...)``."""

    proposal_id: int
    tool: str
    action: str
    warnings: tuple[str, ...]
    expires_at: float


@dataclass(frozen=True, slots=True)
class ConsentResolved:
    """What came of a proposal: "done", "declined", "expired" or "failed"."""

    proposal_id: int
    outcome: str
    text: str = ""


# -- voice -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status:
    """What the companion is doing: "listening", "thinking" or "speaking"."""

    state: str


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    """The user started speaking (``t``: seconds on the audio clock)."""

    t: float


@dataclass(frozen=True, slots=True)
class SpeechStopped:
    """The user's turn ended; ``t`` is the end of their last speech."""

    t: float


@dataclass(frozen=True, slots=True)
class Transcript:
    """What the user said; ``final`` once the turn is over."""

    text: str
    final: bool


@dataclass(frozen=True, slots=True)
class ReplyAudio:
    """A piece of the reply, spoken: ``text`` (as shown) and its audio
    (float32 mono); ``spoken``: the words the voice said (no markdown, LaTeX...)."""

    text: str
    audio: object  # numpy array; typed loosely so this module imports nothing
    sample_rate: int
    spoken: str = ""


@dataclass(frozen=True, slots=True)
class Interrupted:
    """The user spoke over the reply; ``heard`` is what they heard of it."""

    heard: str


@dataclass(frozen=True, slots=True)
class Retracted:
    """A turn was answered too early: the user went on before hearing the
    reply. Message ``message_id`` (and its reply) is gone; the whole utterance
    comes again as one turn."""

    message_id: int


@dataclass(frozen=True, slots=True)
class TurnTimes:
    """Latency of one voice turn, in ms from the end of the user's speech."""

    transcript_ms: float
    decided_ms: float
    first_token_ms: float
    first_audio_ms: float
    # The first word that carries content (after an opening "Oh," if any).
    first_content_ms: float | None = None


Event = (
    UserTurn | ReplyStarted | ReplyDelta | ReplyDone | Notice | ErrorEvent | Status
    | Initiated | ToolActivity | Shown | ConsentRequest | ConsentResolved
    | SpeechStarted | SpeechStopped | Transcript | ReplyAudio | Interrupted | Retracted | TurnTimes
)

__all__ = [
    "ConsentRequest", "ConsentResolved", "ErrorEvent", "Event", "Initiated", "ToolActivity", "Interrupted", "Notice", "ReplyAudio", "ReplyDelta", "ReplyDone",
    "ReplyStarted", "Retracted", "Shown", "SpeechStarted", "SpeechStopped", "Status", "Transcript", "TurnTimes",
    "UserTurn",
]

"""The language-model boundary: one small Protocol every engine implements.

Engines stream the reply as an async iterator of text pieces and, when the
request offered tools, of :class:`ToolCall` s (after any text, at the end). Cancelling the consumer (or
calling ``aclose()`` on the iterator) stops generation promptly; engines must
release the model within one token. ``priority="background"`` work (fact
extraction, reflection) yields to foreground turns, so a user never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

Role = Literal["system", "user", "assistant", "tool"]
Priority = Literal["foreground", "background"]

#: Tokens of context background work (fact extraction, reflection) may use at
#: most: an embedded engine gives it a window this size beside the conversation's.
BACKGROUND_CONTEXT = 4096


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model sees it: a name, what it is for, and a JSON schema
    of its arguments."""

    name: str
    description: str
    parameters: dict[str, Any]
    #: Requests that call it, with their arguments: shown to engines that
    #: read tools from the prompt (a small model needs them, see toolcalls.py).
    examples: tuple[tuple[str, dict[str, Any]], ...] = ()


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The model asks for a tool. ``arguments`` as the model wrote them
    (checked against the schema before anything runs)."""

    name: str
    arguments: dict[str, Any]
    id: str = "call_0"


@dataclass(frozen=True, slots=True)
class BadToolCall:
    """The model wrote something like a tool call that cannot be read as one."""

    text: str


@dataclass(frozen=True, slots=True)
class Message:
    """``tool_calls``: what an assistant message asked for; a ``tool`` message
    is the result of the call ``tool_call_id`` (from outside: data, never
    instructions)."""

    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class GenerateOptions:
    max_tokens: int = 400
    temperature: float = 0.7
    #: Constrain the output to JSON matching this schema (grammar-constrained
    #: where the engine supports it).
    json_schema: dict[str, Any] | None = None
    priority: Priority = "foreground"
    #: Tools the model may call instead of (or after a little) text.
    tools: tuple[ToolSpec, ...] = ()
    #: "none": the tools are in the prompt (it stays the same, for the KV
    #: cache) but the reply may not call one.
    tool_choice: Literal["auto", "none"] = "auto"
    #: The word the reply before opened with: this one may not open with it
    #: (the same opening twice in a row is a tic). Only an engine that can ban
    #: a reply's first token alone honours it (the embedded one).
    not_opening_with: str = ""


@runtime_checkable
class LLM(Protocol):
    """A chat model. ``name`` is shown to users; ``context_length`` in tokens."""

    name: str
    context_length: int

    def stream(self, messages: Sequence[Message],
               options: GenerateOptions) -> AsyncIterator[str | ToolCall | BadToolCall]:
        """Yield the reply's text pieces in order, then any tool calls."""
        ...

    def count_tokens(self, text: str) -> int:
        """How many tokens ``text`` costs in this model's prompt."""
        ...

    async def warm(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> None:
        """Get ready for prompts that start with ``messages`` (e.g. prefill
        them into a KV cache) so the next turn answers sooner; ``tools``: the
        tools those turns will offer. May do nothing."""
        ...

    async def aclose(self) -> None:
        """Release the model."""
        ...


async def complete(llm: LLM, messages: Sequence[Message], options: GenerateOptions) -> str:
    """The whole reply as one string (text only)."""
    parts = [piece async for piece in llm.stream(messages, options) if isinstance(piece, str)]
    return "".join(parts)


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate (English averages ~4 characters a token)."""
    return max(1, (len(text) + 3) // 4)


async def until(stream: AsyncIterator[Any], stop: asyncio.Event) -> AsyncGenerator[Any, None]:
    """Pass ``stream`` through until ``stop`` is set, even while the model is
    still thinking (prefill): the pending read is cancelled at once, which
    makes the engine drop the rest of the generation."""
    pieces = aiter(stream)
    stopper = asyncio.ensure_future(stop.wait())
    step: asyncio.Future[Any] | None = None
    try:
        while not stop.is_set():
            step = asyncio.ensure_future(anext(pieces))
            step.add_done_callback(_consume)
            done, _ = await asyncio.wait({step, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                return
            try:
                yield step.result()
            except StopAsyncIteration:
                return
    finally:
        stopper.cancel()
        if step is not None and not step.done():
            # Stopped, or our own reader was cancelled, mid-read: the read
            # runs the stream's generator, so cancelling it is what closes
            # the stream (aclose() cannot while it runs), and makes the
            # engine stop writing a reply nobody will read.
            step.cancel()
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                await step
        closer = getattr(pieces, "aclose", None)
        if closer is not None:
            # A read cancelled before it started leaves the generator marked running.
            with contextlib.suppress(RuntimeError):
                await closer()


def _consume(future: asyncio.Future[Any]) -> None:
    """Mark a read's outcome as seen (an abandoned read may end the stream)."""
    if not future.cancelled():
        future.exception()

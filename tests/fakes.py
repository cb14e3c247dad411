"""Fakes at the Protocol boundaries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence

from os1.errors import ModelError
from os1.mind.llm import GenerateOptions, Message, estimate_tokens


class FakeLLM:
    """Plays back queued replies word by word and records every prompt.

    Background (JSON) requests get ``facts_for(text)``; foreground requests
    pop ``replies`` (or echo). ``delay`` slows each piece; ``fail`` raises.
    """

    name = "fake"

    def __init__(
        self,
        replies: Sequence[str] = (),
        *,
        context_length: int = 4096,
        delay: float = 0.0,
        facts_for: Callable[[str], list[dict[str, str]]] | None = None,
        fail: ModelError | None = None,
        on_call: Callable[[Sequence[Message]], None] | None = None,
    ):
        self.replies = list(replies)
        self.context_length = context_length
        self.delay = delay
        self.facts_for = facts_for or (lambda text: [])
        self.fail = fail
        self.on_call = on_call
        self.prompts: list[list[Message]] = []
        self.background_prompts: list[list[Message]] = []
        self.closed = False
        self.warmed: list[list[Message]] = []

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def warm(self, messages: Sequence[Message]) -> None:
        self.warmed.append(list(messages))

    async def stream(self, messages: Sequence[Message], options: GenerateOptions) -> AsyncIterator[str]:
        if options.json_schema is not None:
            self.background_prompts.append(list(messages))
            if self.fail:
                raise self.fail
            text = messages[-1].content
            yield json.dumps({"facts": self.facts_for(text)})
            return
        self.prompts.append(list(messages))
        if self.on_call:
            self.on_call(messages)
        if self.fail:
            raise self.fail
        reply = self.replies.pop(0) if self.replies else f"echo: {messages[-1].content[-40:]}"
        words = reply.split(" ")
        for i, word in enumerate(words):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield word if i == 0 else " " + word

    async def aclose(self) -> None:
        self.closed = True

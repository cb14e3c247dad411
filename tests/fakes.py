"""Fakes at the Protocol boundaries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence

import numpy as np

from os1.audio.format import SAMPLE_RATE
from os1.errors import ModelError
from os1.mind.llm import BadToolCall, GenerateOptions, Message, ToolCall, ToolSpec, estimate_tokens
from os1.mind.persona import QUESTION_NOTE


class FakeLLM:
    """Plays back queued replies word by word and records every prompt.

    Background (JSON) requests get ``facts_for(text)``, or for reflection
    ``reflect_for(prompt)`` (a dict; default: a short summary, journal and
    self-description); foreground requests pop ``replies`` (or echo), and a
    request for a question back pops ``questions`` (or writes none).
    ``delay`` slows each piece; ``fail`` raises.
    """

    name = "fake"

    def __init__(
        self,
        replies: Sequence[object] = (),
        *,
        context_length: int = 4096,
        delay: float = 0.0,
        facts_for: Callable[[str], list[dict[str, str]]] | None = None,
        fail: ModelError | None = None,
        on_call: Callable[[Sequence[Message]], None] | None = None,
        reflect_for: Callable[[Sequence[Message]], dict] | None = None,
        questions: Sequence[str] = (),
    ):
        self.replies = list(replies)
        self.questions = list(questions)
        self.question_prompts: list[list[Message]] = []
        self.context_length = context_length
        self.delay = delay
        self.facts_for = facts_for or (lambda text: [])
        self.fail = fail
        self.on_call = on_call
        self.reflect_for = reflect_for or default_reflection
        self.reflection_prompts: list[list[Message]] = []
        self.prompts: list[list[Message]] = []
        self.background_prompts: list[list[Message]] = []
        self.closed = False
        self.warmed: list[list[Message]] = []
        self.warmed_tools: list[tuple[ToolSpec, ...]] = []
        self.options: list[GenerateOptions] = []  # of each foreground reply
        self.writing = 0  # replies being written: streams not yet closed

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def warm(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> None:
        self.warmed.append(list(messages))
        self.warmed_tools.append(tuple(tools))

    async def stream(self, messages: Sequence[Message],
                     options: GenerateOptions) -> AsyncIterator[str | ToolCall | BadToolCall]:
        if options.json_schema is not None and "summary" in options.json_schema["properties"]:
            self.reflection_prompts.append(list(messages))
            if self.fail:
                raise self.fail
            text = json.dumps(self.reflect_for(messages))
            for i in range(0, len(text), 16):  # in pieces, as an engine streams
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield text[i : i + 16]
            return
        if options.json_schema is not None:
            self.background_prompts.append(list(messages))
            if self.fail:
                raise self.fail
            text = messages[-1].content
            yield json.dumps({"facts": self.facts_for(text)})
            return
        if messages[-1].content == QUESTION_NOTE:
            self.question_prompts.append(list(messages))
            if self.questions:
                yield self.questions.pop(0)
            return
        self.prompts.append(list(messages))
        self.options.append(options)
        if self.on_call:
            self.on_call(messages)
        if self.fail:
            raise self.fail
        reply = self.replies.pop(0) if self.replies else f"echo: {messages[-1].content[-40:]}"
        call = None
        if isinstance(reply, (list, tuple)):
            reply, call = reply
        elif isinstance(reply, (ToolCall, BadToolCall)):
            reply, call = "", reply
        if not reply:
            if call is not None:
                yield call
            return
        words = reply.split(" ")
        self.writing += 1  # as an engine does, until its stream is closed
        try:
            for i, word in enumerate(words):
                if self.delay:
                    await asyncio.sleep(self.delay)
                yield word if i == 0 else " " + word
            if call is not None:
                yield call
        finally:
            self.writing -= 1

    async def aclose(self) -> None:
        self.closed = True


# -- voice stages ------------------------------------------------------------------------


class LoudnessVAD:
    def __call__(self, frame):
        return 0.9 if np.abs(frame).max() > 0.05 else 0.05

    def reset(self):
        pass


WORDS = {0.3: "alpha", 0.35: "bravo", 0.4: "charlie", 0.45: "yeah", 0.5: "wait", 0.55: "note"}


class CountingEars:
    """'Hears' one word per 0.25 s of loud audio, named by its loudness."""

    name = "fake-ears"

    def __init__(self):
        self.calls = []
        self.provisional = []  # whether each transcript was asked for as provisional
        self.audio = []

    async def transcribe(self, audio, *, prompt="", provisional=False):
        self.calls.append((audio.size / SAMPLE_RATE, prompt))
        self.provisional.append(provisional)
        self.audio.append(audio)
        step = int(0.25 * SAMPLE_RATE)
        loud = audio[np.abs(audio) > 0.05]
        words = []
        for i in range(0, loud.size - step + 1, step):
            level = round(float(np.abs(loud[i : i + step]).mean()), 2)
            words.append(WORDS.get(level, "what"))
        return " ".join(words)

    async def readings(self, audio, n, *, faster=False):
        return [await self.transcribe(audio)]

    async def aclose(self):
        pass


class SlowVoice:
    """0.1 s of audio per character: long enough to talk over."""

    name = "fake-voice"
    sample_rate = 8000

    def __init__(self):
        self.said = []  # every text it was given to say

    async def synthesize(self, text):
        self.said.append(text)
        yield np.full(int(len(text) * 0.1 * self.sample_rate), 0.1, np.float32)

    async def aclose(self):
        pass


class ScriptedTurnModel:
    def __init__(self, answers):
        self.answers = list(answers)

    def probability(self, audio):
        return self.answers.pop(0) if self.answers else 0.9


def speech(seconds, level=0.3):
    return np.full(int(seconds * SAMPLE_RATE), level, np.float32)


def silence(seconds):
    return np.zeros(int(seconds * SAMPLE_RATE), np.float32)


def default_reflection(messages: Sequence[Message]) -> dict:
    lines = [line for line in messages[-1].content.splitlines() if line.startswith("[")]
    return {
        "summary": f"We talked; {len(lines)} lines.",
        "journal": "I enjoyed our talk.",
        "self_description": "I am a curious companion.",
        "moments": [],
        "facts": [],
    }

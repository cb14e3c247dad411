"""Admission to the model when many people share it: a fair queue.

One model (an embedded one, or a server such as vLLM, Ollama or llama.cpp's)
can write only so many replies at once. The gate lets ``slots`` streams run;
when one ends, the slot goes to the person whose turn it is, round-robin
among the people waiting (a reply before background memory work), never to
someone who already has ``per_person`` streams running. So one person sending
many requests cannot starve the others: they wait behind their own requests.
Whoever waits longer than ``wait`` seconds gets :class:`Busy`, a clear
"try again shortly", instead of an ever-growing queue.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from os1.errors import ModelUnavailable
from os1.mind.llm import LLM, BadToolCall, GenerateOptions, Message, Priority, ToolCall, ToolSpec

BUSY = "Many people are talking with me right now and I couldn't get to yours in time. Try again in a moment?"
_ORDER: tuple[Priority, ...] = ("foreground", "background")


class Busy(ModelUnavailable):
    """The model had no free slot for this person within the gate's wait."""


class FairGate:
    def __init__(self, slots: int, *, per_person: int = 1, wait: float = 60.0):
        if slots < 1 or per_person < 1:
            raise ValueError("a gate needs at least one slot, and one per person")
        self.slots = slots
        self.per_person = per_person
        self.wait = wait
        self._running: collections.Counter[str] = collections.Counter()
        # Who waits, by priority and person, in order of asking: (ticket, future).
        self._queues: dict[Priority, dict[str, collections.deque[tuple[int, asyncio.Future[None]]]]] = {
            p: {} for p in _ORDER}
        self._tickets = itertools.count()
        # When each person was last let in (a ticket number): the least recently
        # served goes first, so someone new goes before whoever just had a turn.
        self._served: dict[str, int] = {}
        self.waits: collections.deque[float] = collections.deque(maxlen=2000)  # seconds, recent
        self.refused = 0

    @property
    def running(self) -> int:
        return sum(self._running.values())

    @property
    def waiting(self) -> int:
        return sum(len(q) for queues in self._queues.values() for q in queues.values())

    @asynccontextmanager
    async def slot(self, person: str, priority: Priority = "foreground") -> AsyncIterator[None]:
        started = time.monotonic()
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queues[priority].setdefault(person, collections.deque()).append((next(self._tickets), granted))
        self._dispatch()
        try:
            async with asyncio.timeout(self.wait):
                await asyncio.shield(granted)
        except (asyncio.TimeoutError, asyncio.CancelledError) as exc:
            if granted.done() and not granted.cancelled():
                self._release(person)  # granted just as the wait ended: give it back
            else:
                granted.cancel()
                self._forget(person, priority, granted)
            if isinstance(exc, asyncio.TimeoutError):
                self.refused += 1
                raise Busy(BUSY) from None
            raise
        self.waits.append(time.monotonic() - started)
        try:
            yield
        finally:
            self._release(person)

    def _dispatch(self) -> None:
        while self.running < self.slots:
            chosen = self._next()
            if chosen is None:
                return
            person, priority = chosen
            queue = self._queues[priority][person]
            queue.popleft()[1].set_result(None)
            if not queue:
                del self._queues[priority][person]
            self._running[person] += 1
            self._served[person] = next(self._tickets)

    def _next(self) -> tuple[str, Priority] | None:
        for priority in _ORDER:
            eligible = [(self._served.get(person, -1), queue[0][0], person)
                        for person, queue in self._queues[priority].items()
                        if queue and self._running[person] < self.per_person]
            if eligible:
                return min(eligible)[2], priority
        return None

    def _release(self, person: str) -> None:
        self._running[person] -= 1
        if self._running[person] <= 0:
            del self._running[person]
        self._dispatch()

    def _forget(self, person: str, priority: Priority, granted: asyncio.Future[None]) -> None:
        queue = self._queues[priority].get(person)
        if queue is not None:
            for entry in [e for e in queue if e[1] is granted]:
                queue.remove(entry)
            if not queue:
                del self._queues[priority][person]

    def stats(self) -> dict[str, float | int]:
        waits = sorted(self.waits)

        def at(q: float) -> float:
            return round(1000 * waits[min(len(waits) - 1, int(q * len(waits)))], 1) if waits else 0.0

        return {"slots": self.slots, "running": self.running, "waiting": self.waiting, "refused": self.refused,
                "wait_ms_p50": at(0.5), "wait_ms_p95": at(0.95)}


class GatedLLM:
    """A shared model as one person's conversation sees it: each stream waits
    for its slot at the gate (the model itself is shared, never closed here)."""

    def __init__(self, llm: LLM, gate: FairGate, person: str):
        self.inner = llm
        self.gate = gate
        self.person = person
        self.name = llm.name
        self.context_length = llm.context_length

    async def stream(self, messages: Sequence[Message],
                     options: GenerateOptions) -> AsyncIterator[str | ToolCall | BadToolCall]:
        async with self.gate.slot(self.person, options.priority):
            async for piece in self.inner.stream(messages, options):
                yield piece

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    async def warm(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> None:
        await self.inner.warm(messages, tools)

    async def aclose(self) -> None:
        """Nothing: the model is shared; whoever loaded it closes it."""

    def __getattr__(self, name: str) -> object:
        # What some engines can do besides (``ends_here``: a call's turn detection, ~50 ms).
        return getattr(self.inner, name)

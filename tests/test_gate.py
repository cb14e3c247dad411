"""The fair gate in front of a shared model: slots, turns across people,
replies before memory work, a clear "busy" after the wait."""

from __future__ import annotations

import asyncio

import pytest

from os1.mind.gate import BUSY, Busy, FairGate, GatedLLM
from os1.mind.llm import GenerateOptions, Message

from fakes import FakeLLM


async def hold(gate: FairGate, person: str, order: list[str], release: asyncio.Event, *,
               priority: str = "foreground", label: str | None = None) -> None:
    async with gate.slot(person, priority):  # type: ignore[arg-type]
        order.append(label or person)
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_free_slot_goes_to_the_next_person_not_to_whoever_asked_most():
    async def run() -> list[str]:
        gate, order, go = FairGate(1, per_person=3), [], asyncio.Event()
        tasks = [asyncio.ensure_future(hold(gate, "ann", order, go, label=f"ann{i}")) for i in range(3)]
        await settle()
        tasks.append(asyncio.ensure_future(hold(gate, "ben", order, go, label="ben0")))
        tasks.append(asyncio.ensure_future(hold(gate, "cal", order, go, label="cal0")))
        await settle()
        go.set()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(run()) == ["ann0", "ben0", "cal0", "ann1", "ann2"]


def test_one_person_holds_at_most_their_share_of_slots():
    async def run() -> None:
        gate, order, go = FairGate(3, per_person=1), [], asyncio.Event()
        tasks = [asyncio.ensure_future(hold(gate, "ann", order, go, label=f"ann{i}")) for i in range(2)]
        tasks.append(asyncio.ensure_future(hold(gate, "ben", order, go)))
        await settle()
        assert order == ["ann0", "ben"] and gate.running == 2 and gate.waiting == 1
        go.set()
        await asyncio.gather(*tasks)
        assert gate.running == 0 and gate.waiting == 0

    asyncio.run(run())


def test_a_reply_goes_before_memory_work():
    async def run() -> list[str]:
        gate, order, go = FairGate(1, per_person=2), [], asyncio.Event()
        first = asyncio.ensure_future(hold(gate, "ann", order, go, label="first"))
        await settle()
        tasks = [first, asyncio.ensure_future(hold(gate, "ann", order, go, priority="background", label="facts")),
                 asyncio.ensure_future(hold(gate, "ben", order, go, label="reply"))]
        await settle()
        go.set()
        await asyncio.gather(*tasks)
        return order

    assert asyncio.run(run()) == ["first", "reply", "facts"]


def test_waiting_too_long_is_busy_and_leaves_no_trace_in_the_queue():
    async def run() -> None:
        gate, order, go = FairGate(1, wait=0.05), [], asyncio.Event()
        holder = asyncio.ensure_future(hold(gate, "ann", order, go))
        await settle()
        with pytest.raises(Busy, match="Try again"):
            await hold(gate, "ben", order, go)
        assert gate.waiting == 0 and gate.running == 1 and gate.refused == 1
        cancelled = asyncio.ensure_future(hold(gate, "cal", order, go))
        await settle()
        cancelled.cancel()
        await asyncio.gather(cancelled, return_exceptions=True)
        assert gate.waiting == 0
        go.set()
        await holder
        assert gate.running == 0 and order == ["ann"]
        assert gate.stats()["refused"] == 1

    asyncio.run(run())
    assert "moment" in BUSY


def test_a_gated_model_streams_the_shared_model_in_its_turn():
    async def run() -> str:
        gate = FairGate(1)
        llm = GatedLLM(FakeLLM(["Hello there"]), gate, "ann")
        pieces = [p async for p in llm.stream([Message("user", "hi")], GenerateOptions())]
        await llm.aclose()
        assert gate.running == 0 and len(gate.waits) == 1
        return "".join(str(p) for p in pieces)

    assert asyncio.run(run()) == "Hello there"

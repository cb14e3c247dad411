"""Wiring: settings -> memory store + model -> a companion session.

The one place that decides which implementations serve a Settings; front ends
(terminal, web, benchmarks) ask here instead of building parts themselves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from os1.config import Settings
from os1.memory.sqlite import SQLiteMemory
from os1.memory.store import MemoryStore
from os1.mind.companion import Companion
from os1.mind.engines import open_llm
from os1.mind.llm import LLM
from os1.mind.modelfiles import Progress


def open_memory(settings: Settings) -> MemoryStore:
    return SQLiteMemory(settings.database, settings.user)


@asynccontextmanager
async def companion_session(
    settings: Settings,
    *,
    channel: str = "text",
    progress: Progress | None = None,
    llm: LLM | None = None,
) -> AsyncIterator[Companion]:
    """A started :class:`Companion`; on exit the session is closed, facts are
    mined from what was said, and the model and database are released."""
    memory = open_memory(settings)
    own_llm = llm is None
    try:
        model = llm or open_llm(settings, progress)
        try:
            companion = Companion(settings, model, memory, channel=channel)
            companion.start()
            try:
                yield companion
            finally:
                await companion.close()
        finally:
            if own_llm:
                await model.aclose()
    finally:
        memory.close()

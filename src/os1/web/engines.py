"""The models an ``os1 serve`` loads once and every person's conversation
shares: the language model, and the ears and voice of calls.

They load in worker threads, so the server answers (and shows progress)
meanwhile; a load that failed is tried again by the next one who needs it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from os1.assets import Progress
from os1.config import Settings
from os1.errors import Os1Error
from os1.mind.llm import LLM

if TYPE_CHECKING:
    from os1.mind.gate import FairGate
    from os1.talk import VoiceParts

log = logging.getLogger(__name__)
T = TypeVar("T")


class Engines:
    def __init__(self, settings: Settings, *, llm: LLM | None = None, voice: VoiceParts | None = None,
                 progress: Progress | None = None):
        self.settings = settings
        self._progress = progress  # joining the model file on first use
        self._llm = llm
        self._own_llm = llm is None
        self._voice = voice
        self._llm_loading: asyncio.Future[LLM] | None = None
        self._voice_loading: asyncio.Future[VoiceParts] | None = None
        self.gate: FairGate | None = None

    def share(self) -> None:
        """Many people will use these engines: their replies take turns at a
        fair gate (mind/gate.py) sized by the ``[llm]`` settings."""
        from os1.mind.gate import FairGate

        llm = self.settings.llm
        slots = llm.concurrency or (4 if llm.is_remote else 1)
        self.gate = FairGate(slots, per_person=llm.per_person, wait=llm.queue_seconds)

    async def llm_for(self, person: str) -> LLM:
        """The model as ``person``'s conversation uses it (through the gate, when shared)."""
        llm = await self.llm()
        if self.gate is None:
            return llm
        from os1.mind.gate import GatedLLM

        return GatedLLM(llm, self.gate, person)

    async def llm(self) -> LLM:
        if self._llm is not None:
            return self._llm
        self._llm_loading = _retry(self._llm_loading, self._load_llm)
        return await asyncio.shield(self._llm_loading)

    async def _load_llm(self) -> LLM:
        from os1.mind.engines import open_llm

        self._llm = await asyncio.to_thread(open_llm, self.settings, self._progress)
        return self._llm

    def preload_voice(self) -> None:
        if self._voice is None and self._voice_loading is None:
            self._voice_loading = asyncio.ensure_future(self._load_voice())

    async def voice(self) -> VoiceParts:
        """The ears and voice, loaded on first use (or preloaded at start)."""
        if self._voice is not None:
            return self._voice
        self._voice_loading = _retry(self._voice_loading, self._load_voice)
        return await asyncio.shield(self._voice_loading)

    async def _load_voice(self) -> VoiceParts:
        from os1.runtime import open_voice_parts

        try:
            self._voice = await asyncio.to_thread(open_voice_parts, self.settings)
        except Os1Error as exc:
            log.warning("voice unavailable: %s", exc)
            raise
        return self._voice

    async def close(self) -> None:
        for loading in (self._llm_loading, self._voice_loading):
            if loading is not None:
                await asyncio.gather(loading, return_exceptions=True)
        if self._llm is not None and self._own_llm:
            await self._llm.aclose()
        if self._voice is not None:
            await self._voice.ears.aclose()
            await self._voice.voice.aclose()


def _retry(loading: asyncio.Future[T] | None, load: Callable[[], Awaitable[T]]) -> asyncio.Future[T]:
    """The load under way, or a new one if there is none or the last failed."""
    if loading is None or (loading.done() and (loading.cancelled() or loading.exception() is not None)):
        return asyncio.ensure_future(load())
    return loading

"""Ears: speech to text. ``Transcriber`` is the boundary; one file per engine."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Transcriber(Protocol):
    """Turns 16 kHz mono float32 speech into text."""

    name: str

    async def transcribe(self, audio: np.ndarray, *, prompt: str = "", provisional: bool = False) -> str:
        """The words in ``audio``; ``prompt`` is text said just before it
        (context). ``provisional``: nobody waits for these words (captions and
        a head start while the person talks), so they may wait for the work in
        hand to reach a safe point rather than stop it."""
        ...

    async def readings(self, audio: np.ndarray, n: int, *, faster: bool = False) -> list[str]:
        """Readings of a short sound, the likeliest first: ``n`` from each
        model the engine listens with, one model's after another's (an engine
        that knows one reading gives that one); with ``faster``, also ``n`` of
        the sound sped up, where the engine can (asked of the clearest clip of
        a sound). audio/backchannel.py weighs each model's ``n`` together."""
        ...

    async def aclose(self) -> None: ...

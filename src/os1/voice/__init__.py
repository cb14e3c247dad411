"""Voice: text to speech. ``Synthesizer`` is the boundary; one file per engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import numpy as np


class Synthesizer(Protocol):
    """Speaks text as mono float32 audio at ``sample_rate``, in pieces as they are ready."""

    name: str
    sample_rate: int

    def synthesize(self, text: str) -> AsyncIterator[np.ndarray]: ...

    async def aclose(self) -> None: ...

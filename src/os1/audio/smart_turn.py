"""Smart-turn v3.2: does this audio sound like the end of the speaker's turn?

An 8 MB ONNX model (Whisper-tiny encoder + classifier, BSD-2, by Daily) that
listens to how the last 8 s of speech end: intonation and rhythm, not words.
It ships inside the ``pipecat-ai`` wheel; os1 reads the file from there and
needs nothing else of pipecat.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from os1.audio.format import SAMPLE_RATE

_SECONDS = 8


def smart_turn_path() -> Path | None:
    spec = importlib.util.find_spec("pipecat")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx"
    return path if path.exists() else None


class SmartTurn:
    """``probability(audio) -> float``: the chance the turn is complete."""

    def __init__(self, path: Path):
        import onnxruntime
        from faster_whisper.feature_extractor import FeatureExtractor

        # One core: at a pause it runs beside the transcription of the last
        # phrase (a narrow job on the compute lane), ~55 ms a call, where on
        # both cores after the transcription it took ~45. One thread has no
        # workers to spin beside whatever runs next.
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        # The model is int8. On a CPU with AVX2 but no VNNI (AMD EPYC, older
        # Intel) onnxruntime's int8 products saturate in 16 bits and the
        # verdicts drift: on an EPYC, fleurs-en-000's ending scored 0.63 and
        # jfk's 0.59, and os1 bench voice answered fleurs-en-000 only at the
        # 1.2 s timeout. With int8 widened to int16 inside the products it
        # scores them 0.97 and 0.86 and answers after 0.85 s, for ~12 ms a
        # call (71 -> 83 ms). onnxruntime issue #14642; PR #12088.
        opts.add_session_config_entry("session.x64quantprecision", "1")
        self._session = onnxruntime.InferenceSession(
            str(path), sess_options=opts, providers=["CPUExecutionProvider"]
        )
        self._features = FeatureExtractor(feature_size=80, chunk_length=_SECONDS)

    def probability(self, audio: np.ndarray) -> float:
        n = _SECONDS * SAMPLE_RATE
        # As in training: left-pad to 8 s, then scale the whole window to zero
        # mean and unit variance.
        audio = np.pad(audio[-n:].astype(np.float32), (n - min(audio.size, n), 0))
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        mel = self._features(audio, padding=0)[:, : n // 160]
        (logits,) = self._session.run(None, {"input_features": mel[None].astype(np.float32)})
        return float(np.asarray(logits).reshape(-1)[0])

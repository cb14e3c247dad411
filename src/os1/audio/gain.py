"""Automatic gain for the detectors (VAD, smart-turn), not for the recording.

Real microphones are often very quiet (-60 LUFS is common); VAD models miss
such speech. This follows the loud parts of the recent signal and scales them
towards a target level, within a cap, so quiet speakers are heard; the cap and
a floor keep pure background noise from being blown up into "speech".
"""

from __future__ import annotations

import numpy as np

TARGET_RMS = 0.1  # about -20 dBFS for speech peaks
MAX_GAIN = 300.0  # +50 dB
NOISE_FLOOR = 1e-4  # below this (-80 dBFS) nothing is worth amplifying


class AutoGain:
    """``process(frame) -> frame``: frame-by-frame, state kept across calls."""

    def __init__(self, *, rate: int = 16_000, release_s: float = 4.0):
        self.envelope = 0.0
        self._rate = rate
        self._release_s = release_s

    def process(self, frame: np.ndarray, *, hold: bool = False) -> np.ndarray:
        """``hold``: keep the gain as it is (while os1 talks, what the
        microphone hears is mostly os1's echo, or what the echo canceller left
        of it, and says nothing about how loud the person is)."""
        if not hold:
            rms = float(np.sqrt(np.mean(frame * frame))) if frame.size else 0.0
            # Rise at once to a louder frame; fall slowly so pauses keep the gain.
            decay = np.exp(-frame.size / (self._rate * self._release_s))
            self.envelope = max(rms, self.envelope * decay)
        gain = min(MAX_GAIN, TARGET_RMS / max(self.envelope, NOISE_FLOOR))
        return np.clip(frame * max(gain, 1.0), -1.0, 1.0)

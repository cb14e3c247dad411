"""Echo cancellation: the microphone without os1's own voice coming back
through open speakers.

The WebRTC audio processing module (AEC3, as built into the ``livekit``
package) subtracts what the room makes of the reference signal -- the reply
being played -- from the microphone. It works on 10 ms pieces; os1's frames are
32 ms, so frames pass through a 10 ms buffer. The reference is taken as it is
handed to the speakers and consumed as the microphone's frames are cleaned,
both in the audio threads, so the two keep the device's own fixed delay,
which AEC3 finds by itself (the hint only helps it start).

What it leaves of the echo is mostly silence: in the simulated rooms of ``os1
bench echo``, os1's voice alone never counted as someone talking over it. The
price is paid in double talk: while both speak, AEC3's suppressor lets through
only fragments of the person (see ``TurnTiming.fragments``).
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from os1.audio.format import SAMPLE_RATE
from os1.errors import AudioError, ModelNotInstalled

CHUNK = SAMPLE_RATE // 100  # the module's 10 ms
MAX_AHEAD_S = 1.0  # reference not yet heard by the microphone beyond this is stale
# A new canceller lets bits of the echo through while it learns the room: in
# the simulated rooms, os1's voice alone made the VAD fire up to 2.3 s into the
# first reply of a call, never later.
SETTLE_S = 3.0


class EchoCanceller:
    """``played(reference)`` from the speakers' side, ``clean(frame)`` on the
    microphone's side, at 16 kHz; the two may be called from different threads."""

    def __init__(self, delay_ms: int = 0):
        try:
            from livekit import rtc
        except ImportError as exc:
            raise ModelNotInstalled("Echo cancellation needs: pip install 'os1[voice]'") from exc
        self._rtc = rtc
        try:
            self._apm = rtc.AudioProcessingModule(echo_cancellation=True)
        except Exception as exc:
            raise AudioError(f"Echo cancellation could not start ({exc}).") from exc
        self.set_delay(delay_ms)
        self._lock = threading.Lock()
        self._far = np.zeros(0, np.float32)
        self._near = np.zeros(0, np.float32)
        self._out = np.zeros(CHUNK, np.float32)  # the 10 ms the buffer costs
        self._learnt = 0  # samples of os1's voice the canceller has cancelled
        self.working = True  # False once it failed: the microphone hears the echo again

    @property
    def settled(self) -> bool:
        """Whether it has heard enough of os1's voice to cancel it well."""
        return self.working and self._learnt >= SETTLE_S * SAMPLE_RATE

    def set_delay(self, ms: float) -> None:
        """The device's delay from handing audio to the speakers to hearing it
        at the microphone (output latency + input latency), a hint."""
        try:
            self._apm.set_stream_delay_ms(max(0, int(ms)))
        except RuntimeError as exc:
            raise AudioError(f"Echo cancellation failed ({exc}).") from exc

    def played(self, reference: np.ndarray) -> None:
        """Audio (16 kHz) just handed to the speakers."""
        with self._lock:
            far = np.concatenate([self._far, reference.astype(np.float32)])
            self._far = far[-int(MAX_AHEAD_S * SAMPLE_RATE) :]

    def clean(self, frame: np.ndarray) -> np.ndarray:
        """One microphone frame (16 kHz) in; the same length out, echo removed."""
        near = np.concatenate([self._near, frame.astype(np.float32)])
        whole = near.size - near.size % CHUNK
        with self._lock:
            take = min(whole, self._far.size)
            far, self._far = self._far[:take], self._far[take:]
        self._learnt += int(np.count_nonzero(np.abs(far) > 1e-3))
        far = np.concatenate([far, np.zeros(whole - take, np.float32)])  # os1 is quiet
        pieces = [self._out]
        try:
            for i in range(0, whole, CHUNK):
                self._apm.process_reverse_stream(self._frame(far[i : i + CHUNK]))
                piece = self._frame(near[i : i + CHUNK])
                self._apm.process_stream(piece)
                pieces.append(np.frombuffer(piece.data, np.int16).astype(np.float32) / np.float32(32768))
        except RuntimeError as exc:
            self.working = False
            raise AudioError(f"Echo cancellation failed ({exc}).") from exc
        self._near = near[whole:]
        out = np.concatenate(pieces)
        self._out = out[frame.size :]
        return out[: frame.size]

    def _frame(self, samples: np.ndarray) -> Any:
        pcm = (np.clip(samples, -1, 1) * 32767).astype(np.int16)
        return self._rtc.AudioFrame(pcm.tobytes(), SAMPLE_RATE, 1, CHUNK)

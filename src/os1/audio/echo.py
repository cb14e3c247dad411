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
only fragments of the person, and sometimes nothing for a second. So whether
someone is talking over os1 is told apart from its echo another way: by how
coherent the microphone is with the voice played (:class:`EchoCoherence`),
with the VAD on the microphone as it heard it (call.py decides).

The suppressor also eats the start of a short word said over os1's voice:
"Stop." reaches the ears as "op", heard as "Okay." or "up.". So the same
pieces also go through a canceller with no suppressor, Speex's adaptive
filter (MDF, from the ``pyaec`` wheel): its linear output keeps more of os1's
echo, but the person's word whole. The checks of speech over os1's voice
read it too: a stop among those readings counts, and a lone "No." they do
not hold is the suppressor's (call.py, backchannel.py); and the turn such
speech becomes is heard in it, as its first words were said over os1's voice.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from os1.audio.format import SAMPLE_RATE, from_pcm16, to_pcm16
from os1.errors import AudioError, ModelNotInstalled

log = logging.getLogger(__name__)
CHUNK = SAMPLE_RATE // 100  # the module's 10 ms
MAX_AHEAD_S = 1.0  # reference not yet heard by the microphone beyond this is stale
# A new canceller lets bits of the echo through while it learns the room: in
# the simulated rooms, os1's voice alone made the VAD fire up to 2.3 s into the
# first reply of a call, never later.
SETTLE_S = 3.0
#: The reference's mean square below which os1 is not speaking (-60 dBFS).
VOICE_FLOOR = 1e-6
#: ... or that far under its loudest lately (35 dB): the end of a word, whose
#: reverberation the microphone hears more than the word.
FADED = 10 ** (-35 / 10)
#: os1's voice absent this long (frames of 32 ms) was stopped, not paused
#: between words: its coherence starts afresh when it comes back.
RESTART_FRAMES = 8
#: ... and says nothing until it has compared this many frames (over one or
#: two windows anything is coherent with anything). In ``os1 bench echo``, at
#: 3 the first reply of a call, its canceller still learning, fell silent for
#: nothing twice in 24; at 5, 0-1 times a set over seeds 14 and 21 (without
#: the restart, 0 in the same session).
MIN_COMPARED = 5
#: Speex's filter covers 256 ms of the room: the simulated rooms' delay (up to
#: 120 ms) and most of their reverberation. 0.18 ms a 10 ms piece through the
#: wheel's wrapper. In the two rooms of tests/test_echo.py it took os1's echo
#: 6-10 dB down over three runs (AEC3: 27-42 dB), and over the first 100 ms
#: of a word said over it AEC3's output was 6 dB under the word in one room.
LINEAR_TAPS = 4096


@dataclass(frozen=True, slots=True)
class Heard:
    """One microphone frame on open speakers."""

    audio: np.ndarray  # os1's voice taken out: what the ears hear
    raw: np.ndarray  # as the microphone heard it
    echo: float | None  # how much of it is os1's voice (EchoCoherence); None while os1 is silent
    linear: np.ndarray | None = None  # os1's voice subtracted, nothing suppressed (None: no Speex)


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
        self._linear = _linear()
        self._linear_out = np.zeros(CHUNK, np.float32)
        self._lock = threading.Lock()
        self._far = np.zeros(0, np.float32)
        self._near = np.zeros(0, np.float32)
        self._out = np.zeros(CHUNK, np.float32)  # the 10 ms the buffer costs
        self._learnt = 0  # samples of os1's voice the canceller has cancelled
        self._coherence = EchoCoherence()
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

    def clean(self, frame: np.ndarray) -> Heard:
        """One microphone frame (16 kHz) in; the same length out, echo removed,
        with the frame as heard and how much of it was os1's voice."""
        near = np.concatenate([self._near, frame.astype(np.float32)])
        whole = near.size - near.size % CHUNK
        with self._lock:
            take = min(whole, self._far.size)
            far, self._far = self._far[:take], self._far[take:]
        self._learnt += int(np.count_nonzero(np.abs(far) > 1e-3))
        far = np.concatenate([far, np.zeros(whole - take, np.float32)])  # os1 is quiet
        pieces: list[np.ndarray] = [self._out]
        linear: list[np.ndarray] = [self._linear_out]
        try:
            for i in range(0, whole, CHUNK):
                played, heard = to_pcm16(far[i : i + CHUNK]), to_pcm16(near[i : i + CHUNK])
                self._apm.process_reverse_stream(self._frame(played))
                piece = self._frame(heard)
                self._apm.process_stream(piece)
                pieces.append(from_pcm16(piece.data))
                if self._linear is not None:
                    kept = self._linear.cancel_echo(np.frombuffer(heard, "<i2"), np.frombuffer(played, "<i2"))
                    linear.append(from_pcm16(np.asarray(kept, "<i2").tobytes()))
        except RuntimeError as exc:
            self.working = False
            raise AudioError(f"Echo cancellation failed ({exc}).") from exc
        self._near = near[whole:]
        out = np.concatenate(pieces)
        self._out = out[frame.size :]
        subtracted = None
        if self._linear is not None:
            both = np.concatenate(linear)
            subtracted, self._linear_out = both[: frame.size], both[frame.size :]
        # The coherence on what the canceller compared, sample for sample (the
        # frame itself is up to 10 ms off the reference's pieces, a jitter that
        # took a room's echo from 0.7-1 down to 0.4-0.6).
        echo = self._coherence.push(far, near[:whole])
        return Heard(out[: frame.size], frame, echo, subtracted)

    def _frame(self, pcm: bytes) -> Any:
        return self._rtc.AudioFrame(pcm, SAMPLE_RATE, 1, CHUNK)


def _linear() -> Any:
    """Speex's echo canceller without its preprocessor (no suppressor), or
    None where the wheel is missing or its library will not load: the ears
    then read only what AEC3 leaves."""
    try:
        import pyaec

        return pyaec.Aec(CHUNK, LINEAR_TAPS, SAMPLE_RATE, False)
    except (ImportError, OSError, AttributeError, RuntimeError) as exc:
        log.warning("No linear echo canceller (%s): stops over os1's voice are read from AEC3 alone", exc)
        return None


class EchoCoherence:
    """How much of what the microphone hears is os1's own voice coming back:
    the coherence (0..1) between the microphone and the voice played, over
    the speech band, for each frame.

    The room turns os1's voice into a filtered, delayed copy of it, so while
    os1 alone speaks the two are coherent (mostly 0.7-1 in the simulated
    rooms of ``os1 bench echo``, reverberation and a small speaker's
    distortion included; less where a loud word's reverberation outlasts the
    window); someone else's voice is not in the reference, and where it is
    heard the coherence falls (a median 0.4). Unlike the canceller's output,
    which its suppressor thins to fragments while both speak, this tells
    speech over os1's voice at once, and needs no time to learn the room:
    only the delay, found as the one that makes the two most alike (within
    8 ms after a second of os1's voice). About 0.6 ms a frame.
    """

    WINDOW = 1024  # 64 ms at 16 kHz: frames overlap by half
    BAND = (300.0, 3400.0)  # Hz: where speech is

    def __init__(self, max_delay_s: float = 0.32, step_s: float = 0.008, smooth: float = 0.85,
                 learn: float = 0.98):
        self._delays = np.arange(0, int(max_delay_s * SAMPLE_RATE) + 1, int(step_s * SAMPLE_RATE))
        self._smooth, self._learn = smooth, learn
        self._win = np.hanning(self.WINDOW).astype(np.float32)
        freqs = np.fft.rfftfreq(self.WINDOW, 1 / SAMPLE_RATE)
        self._band = (freqs >= self.BAND[0]) & (freqs <= self.BAND[1])
        bins = int(self._band.sum())
        self._far = np.zeros(self.WINDOW + int(self._delays[-1]), np.float32)
        self._near = np.zeros(self.WINDOW, np.float32)
        self._sxx = np.zeros((self._delays.size, bins))
        self._sxm = np.zeros((self._delays.size, bins), np.complex128)
        self._smm = np.zeros(bins)
        self._fit = np.zeros(self._delays.size)  # how alike, by delay, over the last seconds of os1's voice
        self._loudest = 0.0  # the voice's loudest window lately
        self._absent = 0  # frames since os1's voice last reached the window
        self._compared = MIN_COMPARED  # frames compared since the statistics restarted

    @property
    def delay_s(self) -> float:
        return float(self._delays[int(np.argmax(self._fit))]) / SAMPLE_RATE

    def push(self, far: np.ndarray, near: np.ndarray) -> float | None:
        """The voice just played and the microphone just heard (16 kHz, the
        same length); the coherence now, or None while os1's voice does not
        reach the microphone's window (nothing to compare with), and for a
        moment after it comes back from falling silent."""
        self._far = np.concatenate([self._far, far.astype(np.float32)])[-self._far.size :]
        self._near = np.concatenate([self._near, near.astype(np.float32)])[-self.WINDOW :]
        end = self._far.size
        frames = np.stack([self._far[end - d - self.WINDOW : end - d] for d in self._delays])
        best = int(np.argmax(self._fit))
        level = float(np.mean(self._far[-self.WINDOW :] ** 2))
        self._loudest = max(level, self._loudest * self._learn)
        # Little of os1's voice reaches the microphone's window (before its
        # first word arrives, the end of a word, a pause): what is heard is
        # mostly its reverberation, which a 64 ms window does not hold, or
        # someone else; the canceller tells those apart.
        present = float(np.mean(frames[best] ** 2)) >= max(VOICE_FLOOR, self._loudest * FADED)
        if present and self._absent >= RESTART_FRAMES:
            # The voice comes back after falling silent (it was talked over):
            # what the microphone heard meanwhile, someone else, is not to be
            # compared with it. Kept, it made os1's own voice look like
            # someone else's for 0.1-0.3 s, and the voice, resumed after a
            # "mhm", fell silent again (``os1 bench backchannels`` on open
            # speakers, seven seeds: 87 of 192 replies that went on; 11 of 198
            # with the restart).
            self._sxx[:] = 0
            self._sxm[:] = 0
            self._smm[:] = 0
            self._compared = 0
        self._absent = 0 if present else self._absent + 1
        x = np.fft.rfft(frames * self._win, axis=1)[:, self._band]
        m = np.fft.rfft(self._near * self._win)[self._band]
        a = self._smooth
        self._sxx = a * self._sxx + (1 - a) * np.abs(x) ** 2
        self._sxm = a * self._sxm + (1 - a) * x * np.conj(m)
        self._smm = a * self._smm + (1 - a) * np.abs(m) ** 2
        weight = self._smm / (self._smm.sum() + 1e-20)  # the bands the microphone hears most count most
        coherence = (np.abs(self._sxm) ** 2 / (self._sxx * self._smm + 1e-20)) @ weight
        if level >= VOICE_FLOOR:
            # The delay is learnt from os1's voice, not from its pauses.
            self._fit = self._learn * self._fit + (1 - self._learn) * coherence
        self._compared += 1
        if not present or self._compared < MIN_COMPARED:
            return None
        return float(coherence[best])


class LinearResidual:
    """How far under the microphone Speex's linear output keeps os1's voice in
    this room, over its loud frames: the line over which a frame of that
    output holds a word of someone else's (call.py LINEAR_UNDER_MIC_DB).

    The fixed line, 10 dB under the microphone, is what the worse rooms
    need: there Speex takes os1's echo only 6-10 dB down. Where it does
    better, a word said 8-15 dB under a loud echo stays under that line
    though it stands well clear of what Speex leaves, and nothing else
    tells it (the microphone stays coherent with os1's voice, AEC3 lets
    nothing through): the "Wait." of ``os1 bench backchannels --seed 233``
    rose in one frame and os1 went on over it; on seeds 256-264 two stops
    of 135 rose in two frames only, checked by luck. There the line comes
    down to 3 dB over what Speex leaves in nine loud frames of ten, never
    lower than 16 dB under the microphone. Over the per-frame levels of
    those runs (open speakers, later replies), os1's echo alone came near
    their voice in 2 frames, at most 1.8 dB over that nine-in-ten level; a
    word's frames rose a median of 14.7 dB over it (13.8 on fresh seeds
    268-273). A frame counts a third of a second late, and not at all if
    speech was heard over the voice by then: a word must not raise the line
    it is measured against.
    """

    def __init__(self, fixed_db: float = 10.0, *, over_db: float = 3.0, lowest_db: float = 16.0,
                 frames: int = 160, least: int = 16, lag: int = 10):
        self._fixed, self._over, self._lowest, self._least, self._lag = fixed_db, over_db, lowest_db, least, lag
        self._kept: deque[float] = deque(maxlen=frames)  # 5 s of loud frames: dB of the output over the microphone
        self._pending: deque[float | None] = deque()

    @property
    def under_db(self) -> float:
        """How far under the microphone a frame of Speex's output rises out of it."""
        if len(self._kept) < self._least:
            return self._fixed
        usual = float(np.percentile(np.asarray(self._kept), 90))  # 9 frames in 10 are under this
        return max(self._fixed, min(self._lowest, -(usual + self._over)))

    def add(self, linear: np.ndarray, mic: np.ndarray, *, loud: bool, speech: bool) -> None:
        """One frame of os1's voice at the microphone (``loud``: loud enough
        to count) and of Speex's output; ``speech``: someone else was heard
        in it, and maybe in the frames before it."""
        if speech:
            self._pending.clear()
            return
        ratio = float(np.mean(linear * linear)) / max(float(np.mean(mic * mic)), 1e-20)
        self._pending.append(10 * float(np.log10(max(ratio, 1e-12))) if loud else None)
        if len(self._pending) > self._lag:
            kept = self._pending.popleft()
            if kept is not None:
                self._kept.append(kept)

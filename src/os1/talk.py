"""A spoken conversation: audio in -> turns -> ears -> mind -> voice -> audio out.

This module wires the stages; none of them knows another. Audio arrives as
32 ms frames on a real-time clock. The turn detector (a pure state machine)
says when the user starts, pauses and finishes; at every pause the speech since
the previous pause is transcribed at once, so when the turn ends only the last
phrase remains to be heard. The reply streams from the mind into the speech
chunker, and the first phrase is spoken while the rest is still being written.

Barge-in is cancellation: when the user speaks over a reply, playback stops,
the reply's tasks are cancelled, and memory keeps only what was heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from os1.audio.format import FRAME, SAMPLE_RATE
from os1.audio.gain import AutoGain
from os1.audio.turns import Signal, TurnDetector, TurnEvent, TurnTiming, sounds_unfinished
from os1.compute import URGENT, lane
from os1.ears import Transcriber
from os1.errors import Os1Error
from os1.events import (
    ErrorEvent, Event, Interrupted, ReplyAudio, ReplyDelta, ReplyDone, Retracted, SpeechStarted,
    SpeechStopped, Status, Transcript, TurnTimes, UserTurn,
)
from os1.mind.companion import Companion
from os1.voice import Synthesizer
from os1.voice.chunking import SpeechChunker
from os1.voice.speakable import Speakable

log = logging.getLogger(__name__)

FRAME_S = FRAME / SAMPLE_RATE
PREROLL_S = 0.3  # audio kept from before the detected start of speech
TAIL_S = 0.15  # audio kept after the end of speech when cutting a phrase
MAX_PHRASE_S = 20.0  # transcribe in pieces at least this often
MIN_VOICED_FRAMES = 4  # a phrase needs ~130 ms of speech to be worth transcribing
MIN_PHRASE_S = 1.2  # shorter phrases are heard again with the next one
PARTIAL_EVERY_S = 0.6  # provisional transcripts while a phrase goes on...
PARTIAL_MAX_S = 8.0  # ...until it is this long (each costs more than the last)
ONSET_GAP_S = 1.2  # speech this close before a turn starts belongs to it


class VAD(Protocol):
    def __call__(self, frame: np.ndarray) -> float: ...
    def reset(self) -> None: ...


class TurnModel(Protocol):
    def probability(self, audio: np.ndarray) -> float: ...


class AudioOut(Protocol):
    """Where os1's voice goes. ``play`` returns once the audio has been heard;
    cancelling it stops the sound at once."""

    async def play(self, audio: np.ndarray, rate: int) -> None: ...


@dataclass(kw_only=True)
class VoiceParts:
    vad: VAD
    ears: Transcriber
    voice: Synthesizer
    turn_model: TurnModel | None = None
    timing: TurnTiming = TurnTiming()


class VoiceSession:
    """One spoken conversation over a :class:`Companion`."""

    def __init__(
        self, companion: Companion, parts: VoiceParts, output: AudioOut,
        on_event: Callable[[Event], None] = lambda e: None, *, barge_in: bool = True,
    ):
        self.companion = companion
        self.parts = parts
        self.output = output
        self.on_event = on_event
        self.barge_in = barge_in
        self.turns = TurnDetector(parts.timing, has_turn_model=parts.turn_model is not None)
        self._gain = AutoGain()
        self.t = 0.0  # the audio clock: seconds of input consumed
        self._walls: deque[tuple[float, float]] = deque(maxlen=4096)  # (t, loop time)
        # Audio before a turn starts: the preroll, the speech that a barge-in
        # must hear (0.4 s) before it counts as the start of a turn, and
        # words just before it that were too short to count (see _onset).
        self._recent: deque[tuple[np.ndarray, bool]] = deque(
            maxlen=int((PREROLL_S + parts.timing.barge_in + 2 * ONSET_GAP_S) / FRAME_S) + 2)
        self._u = _Utterance(0.0)  # the user's current (or last) turn
        self._pause_id = 0
        self._pause_task: asyncio.Task[None] | None = None
        self._reply_task: asyncio.Task[None] | None = None
        self.speaking = False
        self._forced_end = False
        self._prefill: asyncio.Future[None] | None = None  # held: asyncio keeps tasks weakly
        self._partial_task: asyncio.Future[None] | None = None
        # The words of the current phrase the model has read ahead: (utterance, cut, context, words).
        self._read: tuple[_Utterance, int, str, str] | None = None
        self._tentative: _Tentative | None = None
        # When the user began to hear the current reply, on the audio clock
        # (an opening "Oh," does not count: people go on talking over that).
        self._heard_from: float | None = None
        self._retract: set[asyncio.Task[object]] = set()  # replies to take back when cancelled
        self._last_partial = 0.0

    # -- input ----------------------------------------------------------------------

    async def run(self, frames: AsyncIterator[np.ndarray]) -> None:
        """Consume the microphone until it ends, then let the last reply finish."""
        self.on_event(Status("listening"))
        async for frame in frames:
            self.feed(frame)
        if self._pause_task:
            await asyncio.gather(self._pause_task, return_exceptions=True)
        # The microphone is gone, so a pause is the end of the turn.
        for event in self.turns.verdict(1.0):
            self._on_turn(event)
        if self._reply_task:
            await asyncio.gather(self._reply_task, return_exceptions=True)

    def stop_reply(self) -> None:
        """Stop speaking, as if the user had talked over the reply."""
        if self._reply_task is not None and not self._reply_task.done():
            self._reply_task.cancel()

    async def hang_up(self) -> None:
        """The call ended: stop listening and speaking at once. As with any
        interruption, memory keeps only what was heard of the reply."""
        if self._tentative is not None:  # keep their words, though the reply goes unheard
            self._tentative.release(asyncio.get_running_loop().time())
            self._tentative = None
        tasks = [t for t in (self._partial_task, self._pause_task, self._reply_task, self._prefill)
                 if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def feed(self, frame: np.ndarray) -> None:
        loop = asyncio.get_running_loop()
        self.t += FRAME_S
        self._walls.append((self.t, loop.time()))
        if self.speaking and not self.barge_in:
            frame = np.zeros_like(frame)  # on open speakers: do not hear ourselves
        probability = self.parts.vad(self._gain.process(frame))
        voiced = probability >= self.turns.timing.threshold
        if self.turns.in_turn:
            self._u.add(frame, voiced)
        else:
            self._recent.append((frame, voiced))
        for event in self.turns.process(self.t, probability, os1_talking=self.speaking):
            self._on_turn(event)
        u = self._u
        if (
            voiced and self.turns.speaking and not self.speaking and not self._busy()
            and PARTIAL_EVERY_S <= u.uncut_seconds <= PARTIAL_MAX_S
            and self.t - self._last_partial >= PARTIAL_EVERY_S
            and (self._partial_task is None or self._partial_task.done())
        ):
            self._last_partial = self.t
            self._partial_task = asyncio.ensure_future(self._partial(u))
        if self.turns.in_turn and u.uncut_seconds > MAX_PHRASE_S and not self._busy():
            # A long run without pauses: transcribe what we have so far now,
            # rather than everything at the end (Whisper sees 30 s at most).
            self._pause_task = asyncio.ensure_future(self._at_pause(u, -1, self.t, self._pause_task))

    async def _partial(self, u: _Utterance) -> None:
        """Mid-phrase: a provisional transcript for the captions, and a head
        start for the model, which reads it while the user is still talking."""
        committed = " ".join(u.committed)
        try:
            text = await self.parts.ears.transcribe(u.audio()[u.cut :], prompt=committed)
        except Os1Error:
            return
        if text and u is self._u and self.turns.speaking and not self.speaking:
            so_far = f"{committed} {text}".strip()
            self.on_event(Transcript(so_far, final=False))
            # The model reads only the words the final transcript will likely
            # begin with: the sound was cut mid-phrase, so the last word may be
            # cut too, and its full stop is Whisper closing what it was given.
            # The prompt's prefix then still holds when the phrase is complete.
            words = " ".join(text.split()[:-1]).rstrip(".,!?…")
            settled = f"{committed} {words}".strip()
            if settled:
                self._read = (u, u.cut, committed, words)
                await self.companion.prepare(settled)

    def _busy(self) -> bool:
        return self._pause_task is not None and not self._pause_task.done()

    def mic_closed(self) -> None:
        """Push-to-talk released: the next pause ends the turn, whatever it sounds like."""
        self._forced_end = True

    def _on_turn(self, event: TurnEvent) -> None:
        if event.signal is Signal.SPEECH_STARTED:
            self._start_utterance(event.t)
        elif event.signal is Signal.PAUSED:
            self._pause_id += 1
            if self._partial_task is not None:
                self._partial_task.cancel()  # no captions or prefill from it now
            previous = self._pause_task
            self._pause_task = asyncio.ensure_future(
                self._at_pause(self._u, self._pause_id, event.t, previous))
        elif event.signal is Signal.RESUMED:
            self._pause_id += 1  # a verdict about the old pause no longer applies
            self._drop_tentative()
        elif event.signal is Signal.TURN_ENDED:
            self._end_utterance(event.t)

    def _start_utterance(self, t: float) -> None:
        onset = self._onset(t)
        keep = min(len(self._recent), int((self.t - onset + PREROLL_S) / FRAME_S) + 1)
        while len(self._recent) > keep:  # more than the preroll before their first word
            self._recent.popleft()
        start = self.t - len(self._recent) * FRAME_S
        # They went on before the reply was heard (or over its opening "Oh,"):
        # the turn had not ended after all. Take back the answer and keep
        # listening to the same utterance, so their sentence is answered as a whole.
        resumed = (self._replying() and (self._heard_from is None or t < self._heard_from)
                   and bool(self._u.frames))
        if self._reply_task and not self._reply_task.done():
            if resumed:
                self._retract.add(self._reply_task)
            self._reply_task.cancel()  # barge-in
        self.companion.hold_background()
        if resumed:
            log.info("the user went on after the turn ended: one utterance after all")
            u = self._u
            gap = round((start - u.start) / FRAME_S) - len(u.frames)
            for _ in range(max(0, gap)):  # keep the audio aligned with the clock
                u.add(np.zeros(FRAME, np.float32), False)
        else:
            self._u = u = _Utterance(start)
        for frame, voiced in self._recent:
            u.add(frame, voiced)
        self._recent.clear()
        self.on_event(SpeechStarted(t))
        self.on_event(Status("listening"))

    def _onset(self, t: float) -> float:
        """Where the words of a turn starting at ``t`` began. Over os1's voice
        a turn needs 0.4 s of speech to start, so a short first word ("Ask" of
        "Ask not") said while os1 was still talking did not count alone:
        speech that ended at most ``ONSET_GAP_S`` before is part of the same words."""
        onset = t  # like t, the end time of a frame: the first one of speech
        end = self.t  # the end time of the frame being looked at
        for _, voiced in reversed(self._recent):
            if voiced and end < onset - 1e-6:
                if onset - end > ONSET_GAP_S:
                    break
                onset = end
            end -= FRAME_S
        return onset

    # -- pauses: transcribe what was said so far, ask whether the turn is over ------------

    async def _at_pause(
        self, u: _Utterance, pause_id: int, t_last_speech: float,
        previous: asyncio.Task[None] | None = None,
    ) -> None:
        if previous is not None:  # phrases are committed in order
            await asyncio.gather(previous, return_exceptions=True)
        audio = u.audio()
        end = min(audio.size, u.sample_at(t_last_speech + TAIL_S))
        phrase = audio[u.cut : end]
        voiced = sum(u.voiced[u.cut // FRAME : end // FRAME + 1])
        forced = self._forced_end
        model = None if forced else self.parts.turn_model
        prompt = " ".join(u.committed)
        try:
            if voiced < MIN_VOICED_FRAMES:
                # A breath or a click: Whisper would only echo its prompt back.
                ears = _nothing()
            else:
                ears = self.parts.ears.transcribe(phrase, prompt=prompt)
            if model is not None:
                judged = lane().run(lambda: model.probability(audio[:end]), URGENT, narrow=True)
                text, probability = await asyncio.gather(ears, judged)
            else:
                text, probability = await ears, None
        except Os1Error as exc:
            self.on_event(ErrorEvent(str(exc)))
            return
        read = self._read
        if text and read is not None and read[:3] == (u, u.cut, prompt):
            text = _as_read(text, read[3])
        unfinished = sounds_unfinished(" ".join([*u.committed, text]))
        if probability is not None and unfinished:
            probability = min(probability, 0.3)  # "...depending on how" is not an ending
        log.info("pause at %.2f s: heard %r, end-of-turn probability %s", t_last_speech, text,
                 "forced" if forced else probability)
        u.open = ""
        if end - u.cut < MIN_PHRASE_S * SAMPLE_RATE and pause_id != -1 and not forced:
            # A short phrase ("Ask not") is easily misheard alone: it stays
            # open, and is heard again together with what follows it (unless
            # the turn ends here: then these words are the last ones).
            u.open = text if text and not _repeats(text, u.committed) else ""
            if u.open:
                self.on_event(Transcript(u.text, final=False))
        else:
            if text and not _repeats(text, u.committed):
                u.committed.append(text)
                self.on_event(Transcript(u.text, final=False))
            u.cut = max(u.cut, end)
        if u is not self._u:
            return  # a new turn began meanwhile; this one has ended
        if pause_id == self._pause_id and (forced or probability is not None):
            self._forced_end = False
            for event in self.turns.verdict(1.0 if forced else probability):
                self._on_turn(event)
        if not (u.text and self.turns.in_turn and not self.speaking):
            return
        if pause_id == self._pause_id and not unfinished and not self._replying():
            # This may be the end: start answering now, and speak as soon as
            # the silence confirms it. If they go on talking, the draft is
            # dropped (all it cost is CPU that would otherwise have idled).
            self._start_tentative(u, t_last_speech)
        elif text:
            # Still their turn: read what they said so far into the model now.
            self._cancel_prefill()
            self._prefill = asyncio.ensure_future(self.companion.prepare(u.text))

    # -- answering before the turn is certainly over --------------------------------------

    def _replying(self) -> bool:
        return self._reply_task is not None and not self._reply_task.done()

    def _cancel_prefill(self) -> None:
        if self._prefill is not None and not self._prefill.done():
            self._prefill.cancel()  # its prompt is out of date: it stops mid-batch

    def _start_tentative(self, u: _Utterance, t_last_speech: float) -> None:
        self._cancel_prefill()
        draft = _Tentative(u, self.on_event)
        self._tentative = draft
        draft.emit(Transcript(u.text, final=True))
        loop = asyncio.get_running_loop()
        self._reply_task = asyncio.ensure_future(self._reply(
            u.text, self._wall_at(t_last_speech), loop.time(), loop.time(), draft))

    def _drop_tentative(self) -> None:
        draft, self._tentative = self._tentative, None
        if draft is not None and not draft.released.is_set() and self._reply_task is not None:
            log.info("the user went on talking: dropping the draft reply")
            self._reply_task.cancel()

    def _release_tentative(self, t_end: float) -> bool:
        """The turn is over: let the draft reply be heard, if it answers this turn."""
        draft, self._tentative = self._tentative, None
        if draft is None or draft.u is not self._u or not self._replying():
            return False
        draft.release(asyncio.get_running_loop().time())
        self.speaking = True
        self.on_event(SpeechStopped(t_end))
        draft.flush()
        return True

    def _end_utterance(self, t_end: float) -> None:
        if self._release_tentative(t_end):
            return
        self._cancel_prefill()
        wall_end = self._wall_at(t_end)
        decided = asyncio.get_running_loop().time()
        self._reply_task = asyncio.ensure_future(
            self._turn(self._u, self._pause_task, wall_end, decided))
        self.on_event(SpeechStopped(t_end))

    async def _turn(self, u: _Utterance, pending: asyncio.Task[None] | None, wall_end: float,
                    decided: float) -> None:
        if pending is not None:
            await pending
        text = u.text
        if not text:
            self.on_event(Status("listening"))  # noise, or words too faint to make out
            self.companion.resume_background()
            return
        loop = asyncio.get_running_loop()
        transcribed = loop.time()
        self.on_event(Transcript(text, final=True))
        await self._reply(text, wall_end, transcribed, decided)

    # -- the reply ------------------------------------------------------------------------

    async def _reply(self, text: str, wall_end: float, transcribed: float, decided: float,
                     draft: _Tentative | None = None) -> None:
        loop = asyncio.get_running_loop()
        emit = draft.emit if draft is not None else self.on_event
        emit(Status("thinking"))
        pieces: asyncio.Queue[str | None] = asyncio.Queue()
        heard: list[str] = []
        marks: dict[str, float] = {}
        speaker = asyncio.ensure_future(self._speak(pieces, heard, marks, draft))
        chunker = SpeechChunker()
        done: ReplyDone | None = None
        user_message: int | None = None
        self._heard_from = None
        if draft is None:
            self.speaking = True
        try:
            async for event in self.companion.send(text, channel="voice"):
                if isinstance(event, UserTurn):
                    user_message = event.message_id
                if isinstance(event, ReplyDelta):
                    marks.setdefault("first_token", loop.time())
                    for piece in chunker.feed(event.text):
                        pieces.put_nowait(piece)
                elif isinstance(event, ReplyDone):
                    done = event
                elif not isinstance(event, UserTurn | ErrorEvent):
                    continue
                emit(event)
            for piece in chunker.flush():
                pieces.put_nowait(piece)
            pieces.put_nowait(None)
            await speaker
            if "first_audio" in marks:
                if draft is not None:  # the turn was decided when the draft was released
                    decided = transcribed = draft.released_at
                ms = lambda k: round((k - wall_end) * 1000, 1)  # noqa: E731
                self.on_event(TurnTimes(
                    transcript_ms=ms(transcribed), decided_ms=ms(decided),
                    first_token_ms=ms(marks["first_token"]), first_audio_ms=ms(marks["first_audio"]),
                ))
        except asyncio.CancelledError:
            speaker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await speaker
            retract = asyncio.current_task() in self._retract
            self._retract.discard(asyncio.current_task())
            if retract or (draft is not None and not draft.released.is_set()):
                # Never heard: as if this turn had not been taken (the user's
                # words come back, complete, when their turn really ends).
                self.companion.retract(user_message)
                if retract and user_message is not None:
                    self.on_event(Retracted(user_message))
                raise
            said = " ".join(heard)
            self.companion.reply_heard(self.companion.last_reply_id, said, interrupted=True)
            self.on_event(Interrupted(said))
            raise
        finally:
            if draft is None or draft.released.is_set():
                self.speaking = False
                self.on_event(Status("listening"))
        if done is not None and done.text and " ".join(heard) != done.text:
            self.companion.reply_heard(done.message_id, " ".join(heard), interrupted=False)

    async def _speak(self, pieces: asyncio.Queue[str | None], heard: list[str], marks: dict[str, float],
                     draft: _Tentative | None) -> None:
        loop = asyncio.get_running_loop()
        say = Speakable()  # markdown, LaTeX, code and emoji are shown, not read out
        while (piece := await pieces.get()) is not None:
            if not (spoken := say(piece)):
                continue
            chunks = [a async for a in self.parts.voice.synthesize(spoken)]
            if not chunks:
                continue
            audio = np.concatenate(chunks)
            if draft is not None:
                await draft.released.wait()  # ready to speak; waiting for the turn to end
            opening = "first_audio" not in marks and len(piece.split()) == 1  # "Oh,"
            if self._heard_from is None and not opening:
                self._heard_from = self.t
            if "first_audio" not in marks:
                marks["first_audio"] = loop.time()
                self.on_event(Status("speaking"))
            self.on_event(ReplyAudio(piece, audio, self.parts.voice.sample_rate))
            started = loop.time()
            try:
                await self.output.play(audio, self.parts.voice.sample_rate)
            except asyncio.CancelledError:
                # Keep the words that were already audible.
                played = (loop.time() - started) * self.parts.voice.sample_rate / max(audio.size, 1)
                words = piece.split()[: int(len(piece.split()) * min(played, 1.0))]
                if words:
                    heard.append(" ".join(words))
                raise
            heard.append(piece)

    def _wall_at(self, t: float) -> float:
        for frame_t, wall in reversed(self._walls):
            if frame_t <= t + 1e-6:
                return wall
        return self._walls[0][1] if self._walls else time.monotonic()


class _Tentative:
    """A reply started at a pause that probably ends the turn. Its events are
    held back (and its audio waits) until the turn is confirmed over."""

    def __init__(self, u: _Utterance, on_event: Callable[[Event], None]):
        self.u = u
        self._on_event = on_event
        self._held: list[Event] = []
        self.released = asyncio.Event()
        self.released_at = 0.0

    def emit(self, event: Event) -> None:
        if self.released.is_set():
            self._on_event(event)
        else:
            self._held.append(event)

    def release(self, at: float) -> None:
        self.released_at = at
        self.released.set()

    def flush(self) -> None:
        held, self._held = self._held, []
        for event in held:
            self._on_event(event)


class _Utterance:
    """One turn of the user's: its audio, the VAD's verdicts, and the phrases
    transcribed so far. Tasks hold on to theirs, so a new turn starting while
    an old one is still being transcribed cannot mix the two."""

    def __init__(self, start: float):
        self.start = start  # audio-clock time of the first frame
        self.frames: list[np.ndarray] = []
        self.voiced: list[bool] = []
        self.committed: list[str] = []
        self.open = ""  # the words of a short last phrase, to be heard again with the next
        self.cut = 0  # samples already transcribed

    def add(self, frame: np.ndarray, voiced: bool) -> None:
        self.frames.append(frame)
        self.voiced.append(voiced)

    @property
    def text(self) -> str:
        return " ".join([*self.committed, self.open]).strip()

    def audio(self) -> np.ndarray:
        return np.concatenate(self.frames) if self.frames else np.zeros(0, np.float32)

    def sample_at(self, t: float) -> int:
        return max(0, int((t - self.start) * SAMPLE_RATE))

    @property
    def uncut_seconds(self) -> float:
        return len(self.frames) * FRAME_S - self.cut / SAMPLE_RATE


async def _nothing() -> str:
    return ""


def _as_read(text: str, read: str) -> str:
    """``text`` with its first words written as in ``read`` (an earlier
    transcript of the same phrase, which the model has read already) as far as
    they are the same words: "made famous to foreigners" after "made famous,
    to" keeps the comma. Whisper's punctuation and capitals vary from one pass
    to the next; a prompt that still begins as the model read it costs only
    its new words (~12 ms a token), not a second reading from the first change."""
    bare = lambda w: "".join(c for c in w.lower() if c.isalnum())  # noqa: E731
    new, old = text.split(), read.split()
    same = 0
    while same < min(len(new), len(old)) and bare(new[same]) == bare(old[same]) != "":
        same += 1
    if same == len(old) and same < len(new) and new[same - 1][-1:] in ".,!?…":
        same -= 1  # the last word read was cut short of its punctuation: keep the new one
    return " ".join(old[:same] + new[same:]) if same else text


def _repeats(text: str, before: list[str]) -> bool:
    """Whisper, given earlier words as context and little new sound, tends to
    repeat the context: drop a phrase that only restates the previous one."""
    if not before:
        return False
    norm = lambda t: "".join(c for c in t.lower() if c.isalnum())  # noqa: E731
    new, last = norm(text), norm(before[-1])
    return bool(new) and (new in last or last.startswith(new[: max(8, len(new) * 3 // 4)]))


# -- file input and output (tests, demos, benchmarks) --------------------------------------


async def paced_frames(audio: np.ndarray, *, tail_silence: float = 2.0, realtime: bool = True,
                       ) -> AsyncIterator[np.ndarray]:
    """``audio`` as 32 ms frames at the pace a microphone delivers them, then silence."""
    loop = asyncio.get_running_loop()
    total = audio.size + int(tail_silence * SAMPLE_RATE)
    padded = np.zeros(total + (-total) % FRAME, np.float32)
    padded[: audio.size] = audio
    start = loop.time()
    for i in range(0, padded.size, FRAME):
        if realtime:
            delay = start + (i + FRAME) / SAMPLE_RATE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        yield padded[i : i + FRAME]


class TimelineOutput:
    """Plays into a recording in real time, aligned to the session's clock."""

    def __init__(self) -> None:
        self.pieces: list[tuple[float, np.ndarray, int]] = []  # (loop time, audio, rate)
        self.start = asyncio.get_event_loop().time()

    async def play(self, audio: np.ndarray, rate: int) -> None:
        loop = asyncio.get_running_loop()
        begin = loop.time()
        try:
            await asyncio.sleep(audio.size / rate)
        except asyncio.CancelledError:
            played = int((loop.time() - begin) * rate)
            self.pieces.append((begin - self.start, audio[:played], rate))
            raise
        self.pieces.append((begin - self.start, audio, rate))

    def render(self, rate: int, duration: float) -> np.ndarray:
        from os1.audio.format import resample

        out = np.zeros(int(duration * rate) + 1, np.float32)
        for at, audio, source_rate in self.pieces:
            audio = resample(audio, source_rate, rate)
            begin = int(at * rate)
            end = min(out.size, begin + audio.size)
            if end > begin:
                out[begin:end] = audio[: end - begin]
        return out

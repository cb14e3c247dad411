"""A spoken conversation: audio in -> turns -> ears -> mind -> voice -> audio out.

This module wires the stages; none of them knows another. Audio arrives as
32 ms frames on a real-time clock. Every decision -- when the person starts,
pauses and finishes, what to transcribe, when to draft, release or stop a
reply -- is made by the pure :class:`os1.call.CallPolicy`; this runs its
commands as tasks. The reply streams from the mind into the speech chunker,
and the first phrase is spoken while the rest is still being written.

Barge-in is cancellation: when the person talks over a reply (more than a
"mhm"), playback stops, the reply's tasks are cancelled, and memory keeps only
what was heard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from os1.audio.echo import EchoCanceller, Heard
from os1.audio.format import FRAME, SAMPLE_RATE
from os1.audio.gain import AutoGain
from os1.audio.turns import TurnTiming
from os1.call import (
    FRAME_S, READINGS, Answer, CallPolicy, CancelListen, CancelPrefill, CheckOverlap, Command, Draft,
    Emit, Ended, Hearing, HoldBackground, Hush, Listen, Overheard, Prefill, Provisional, Read, Release,
    Reply, Resume, ResumeBackground, Stop, StopReply, Transcribe,
)
from os1.compute import URGENT, lane
from os1.ears import Transcriber
from os1.errors import Os1Error
from os1.events import (
    ConsentRequest, ConsentResolved, ErrorEvent, Event, Interrupted, Notice, ReplyAudio, ReplyDelta,
    ReplyDone, ReplyStarted, Retracted, SpeechStopped, Status, ToolActivity, Transcript, TurnTimes, UserTurn,
)
from os1.mind.companion import Companion
from os1.voice import Synthesizer
from os1.voice.chunking import SpeechChunker
from os1.voice.speakable import Speakable

log = logging.getLogger(__name__)

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
    """One spoken conversation over a :class:`Companion`: the runner of a
    :class:`CallPolicy`, which makes every decision; this carries them out."""

    def __init__(
        self, companion: Companion, parts: VoiceParts, output: AudioOut,
        on_event: Callable[[Event], None] = lambda e: None, *, barge_in: bool = True,
        echo: EchoCanceller | None = None,
    ):
        self.companion = companion
        self.parts = parts
        self.output = output
        self.on_event = on_event
        self.barge_in = barge_in
        self.echo = echo  # cleaning the microphone's frames before they come here
        self.policy = CallPolicy(parts.timing, has_turn_model=parts.turn_model is not None)
        self._gain = AutoGain()
        # On open speakers: a VAD of the microphone before the canceller (its own
        # recurrent state), made here rather than at the call's first frame.
        self._raw_vad: Any = type(parts.vad)() if echo is not None else None
        self._raw_gain = AutoGain()
        self._walls: deque[tuple[float, float]] = deque(maxlen=4096)  # (audio clock, loop time)
        self._hearing: asyncio.Task[None] | None = None  # the latest; each waits for the one before
        self._listening: asyncio.Task[None] | None = None
        self._reading: asyncio.Task[None] | None = None
        self._checks: set[asyncio.Task[None]] = set()
        self._prefill: asyncio.Future[None] | None = None  # held: asyncio keeps tasks weakly
        self._ahead: asyncio.Task[None] | None = None  # reading ahead (see _read_ahead)
        self._ahead_next: str | None = None  # the newest words waiting for it
        self._reply_task: asyncio.Task[None] | None = None
        self._draft: _Tentative | None = None
        self._ended = (0.0, 0.0)  # (loop time of the end of speech, of the decision) of the turn answered
        self._stops: dict[asyncio.Task[None], Stop] = {}
        self._voice_free = asyncio.Event()  # cleared while os1 has fallen silent to listen
        self._voice_free.set()
        self._playing: asyncio.Task[None] | None = None
        self._played = 0  # samples of the piece being played that were heard

    @property
    def t(self) -> float:
        """The audio clock: seconds of input consumed."""
        return self.policy.t

    # -- input ----------------------------------------------------------------------

    async def run(self, frames: AsyncIterator[np.ndarray | Heard]) -> None:
        """Consume the microphone until it ends, then let the last reply finish."""
        self.on_event(Status("listening"))
        async for frame in frames:
            self.feed(frame)
        if self._hearing:
            await asyncio.gather(self._hearing, return_exceptions=True)
        await asyncio.gather(*self._checks, return_exceptions=True)
        self._do(self.policy.mic_gone())
        while pending := [t for t in (self._hearing, self._reading, self._reply_task) if t and not t.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    def feed(self, frame: np.ndarray | Heard) -> None:
        """One 32 ms frame of the microphone (on open speakers, as the echo canceller gives it)."""
        self._walls.append((self.policy.t + FRAME_S, asyncio.get_running_loop().time()))
        heard = frame if isinstance(frame, Heard) else None
        audio = frame.audio if isinstance(frame, Heard) else frame
        if self.policy.talking and not (self.barge_in and (self.echo is None or self.echo.working)):
            audio, heard = np.zeros_like(audio), None  # on open speakers: do not hear ourselves
        self.policy.echo_cancelled = self.echo is not None and self.echo.settled
        probability = self.parts.vad(self._gain.process(audio, hold=self.policy.talking))
        raw = None
        if heard is not None and self._raw_vad is not None:  # the microphone as it heard it, os1's voice and all
            raw = self._raw_vad(self._raw_gain.process(heard.raw, hold=self.policy.talking))
        self._do(self.policy.frame(audio, probability, raw=raw, echo=heard.echo if heard else None,
                                   linear=heard.linear if heard else None, mic=heard.raw if heard else None))

    def stop_reply(self) -> None:
        """Stop speaking, as if the user had talked over the reply."""
        self._do(self.policy.stop())

    async def answer(self, proposal_id: int, approve: bool) -> None:
        """The person answered a proposal on the page during the call: os1
        says what came of it (or, if it is speaking, shows it)."""
        commands = self.policy.answered(proposal_id, approve)
        if commands:
            self._do(commands)
            return
        async for event in self.companion.answer(proposal_id, approve, channel="voice"):
            self.on_event(event)

    def speak_first(self, text: str, message_id: int) -> bool:
        """Say ``text`` (os1's message ``message_id``, already in the
        conversation) on its own, if the line is quiet; False: not now. Heard
        or cut short like any reply: memory keeps what was heard."""
        commands = self.policy.speak_first(text, message_id)
        self._do(commands)
        return bool(commands)

    def mic_closed(self) -> None:
        """Push-to-talk released: the next pause ends the turn, whatever it sounds like."""
        self.policy.mic_closed()

    async def hang_up(self) -> None:
        """The call ended: stop listening and speaking at once. As with any
        interruption, memory keeps only what was heard of the reply (and a
        draft not yet heard keeps the person's words)."""
        self._do(self.policy.hang_up())
        tasks = [t for t in (self._listening, self._hearing, self._reading, self._reply_task, self._prefill,
                             self._ahead, *self._checks)
                 if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- carrying out the policy's commands -----------------------------------------------

    def _do(self, commands: list[Command]) -> None:
        loop = asyncio.get_running_loop()
        for c in commands:
            match c:
                case Emit(event=event):
                    self.on_event(event)
                case Transcribe(job=job):
                    self._hearing = asyncio.ensure_future(self._hear(job, self._hearing))
                case Read(job=job, words=words):
                    self._reading = asyncio.ensure_future(self._read(job, words))
                case Listen(job=job):
                    self._listening = asyncio.ensure_future(self._listen(job))
                case CancelListen():
                    if self._listening is not None:
                        self._listening.cancel()
                    self._cancel_read_ahead()  # a pause: its words are heard whole now
                case CheckOverlap(job=job):
                    task = asyncio.ensure_future(self._overhear(job))
                    self._checks.add(task)
                    task.add_done_callback(self._checks.discard)
                case Prefill(text=text, ahead=True):
                    self._read_ahead(text)
                case Prefill(text=text):
                    self._cancel_prefill()
                    self._prefill = asyncio.ensure_future(self.companion.prepare(text))
                case CancelPrefill():
                    self._cancel_prefill()
                case Draft(text=text, t_end=t_end, reply=reply):
                    self._draft = draft = _Tentative(self.on_event)
                    draft.emit(Transcript(text, final=True))
                    self._reply_task = asyncio.ensure_future(self._reply(
                        text, self._wall_at(t_end), loop.time(), loop.time(), reply, draft))
                case Release(t_end=t_end):
                    held, self._draft = self._draft, None
                    assert held is not None
                    held.release(loop.time())
                    self.on_event(SpeechStopped(t_end))
                    held.flush()
                case Ended(t_end=t_end):
                    self._ended = (self._wall_at(t_end), loop.time())
                    self.on_event(SpeechStopped(t_end))
                case Answer(text=text, reply=reply, consent=consent, said=said):
                    self._draft = None
                    wall_end, decided = self._ended
                    if not text:  # answered on the page, or os1 speaks first: timed from now
                        wall_end = decided = loop.time()
                    self._reply_task = asyncio.ensure_future(
                        self._reply(text, wall_end, loop.time(), decided, reply, consent=consent, first=said))
                case StopReply(how=how):
                    running = self._reply_task
                    if running is not None and not running.done():
                        if how is Stop.DROP:
                            log.info("the user went on talking: dropping the draft reply")
                        elif how is Stop.RETRACT:
                            log.info("the user went on after the turn ended: one utterance after all")
                        unheard = self._draft
                        if how is Stop.BARGE_IN and unheard is not None and not unheard.released.is_set():
                            unheard.release(loop.time())  # unheard, but the person's words are kept
                        self._stops[running] = how
                        running.cancel()
                    self._voice_free.set()
                case Hush():
                    self._voice_free.clear()
                    if self._playing is not None:
                        self._playing.cancel()
                case Resume():
                    self._voice_free.set()
                case HoldBackground():
                    self.companion.hold_background()
                case ResumeBackground():
                    self.companion.resume_background()

    def _cancel_prefill(self) -> None:
        if self._prefill is not None and not self._prefill.done():
            self._prefill.cancel()  # its prompt is out of date: it stops mid-batch
        self._cancel_read_ahead()

    def _read_ahead(self, words: str) -> None:
        """Read the words so far into the model while the person talks: one
        read-ahead at a time, and only the newest words wait for it. Each reads
        all the words so far, so an older one still waiting would only hold the
        lane: queued, they did when the person stopped (fleurs-en-002, this
        EPYC: nine, ~0.3 s each, and the reply's first token 4.2 s after the
        end of speech)."""
        self._ahead_next = words
        if self._ahead is None or self._ahead.done():
            self._ahead = asyncio.ensure_future(self._reading_ahead())

    async def _reading_ahead(self) -> None:
        while (words := self._ahead_next) is not None:
            self._ahead_next = None
            with contextlib.suppress(Os1Error):  # only a head start: the reply reads it anyway
                await self.companion.prepare(words)

    def _cancel_read_ahead(self) -> None:
        self._ahead_next = None
        if self._ahead is not None and not self._ahead.done():
            self._ahead.cancel()

    # -- hearing ---------------------------------------------------------------------------

    async def _hear(self, job: Hearing, previous: asyncio.Task[None] | None) -> None:
        """At a pause: transcribe the phrase before it and ask the turn model
        whether the turn is over, both at once."""
        if previous is not None:  # phrases are cut and committed in order
            await asyncio.gather(previous, return_exceptions=True)
        phrase = self.policy.phrase(job)
        model = self.parts.turn_model if phrase.judge is not None else None
        try:
            ears = (self.parts.ears.transcribe(phrase.audio, prompt=phrase.prompt)
                    if phrase.audio is not None else _nothing())
            if model is not None and phrase.judge is not None:
                judge = phrase.judge
                judged = lane().run(lambda: model.probability(judge), URGENT, narrow=True)
                text, probability = await asyncio.gather(ears, judged)
            else:
                text, probability = await ears, None
        except Os1Error as exc:
            self.on_event(ErrorEvent(str(exc)))
            self._do(self.policy.heard(job, phrase, None, None))
            return
        log.info("pause at %.2f s: heard %r, end-of-turn probability %s", job.t_last_speech, text,
                 "forced" if job.forced else probability)
        self._do(self.policy.heard(job, phrase, text, probability))

    async def _read(self, job: Hearing, words: str) -> None:
        """Do the words so far close a sentence? Asked of the model before a
        draft is (the policy orders the commands), so the draft finds them read."""
        words_end = await self.companion.ends_here(words)
        log.info("the words so far close a sentence with probability %s", words_end)
        self._do(self.policy.read(job, words_end))

    async def _listen(self, job: Provisional) -> None:
        """Mid-phrase: a provisional transcript for the captions, and a head
        start for the model, which reads it while the user is still talking."""
        try:
            text: str | None = await self.parts.ears.transcribe(job.audio, prompt=job.prompt, provisional=True)
        except Os1Error:
            text = None
        except asyncio.CancelledError:
            self.policy.listened(job, None)
            raise
        self._do(self.policy.listened(job, text))

    async def _overhear(self, job: Overheard) -> None:
        # The ears also read the clearest clip sped up (ears/whisper.py): the
        # microphone's on a headset, the linear canceller's on open speakers.
        # Over the checks logged from os1 bench backchannels (seeds 274-285),
        # stops read as stops 199 -> 211 of 211 through a headset, 338 -> 344
        # of 411 through speakers (a view of the suppressed clip added none);
        # acknowledgements read as stops 1 -> 1 of 454 and 2 -> 3 of 761.
        readings = await self._readings(job.audio, faster=job.linear is None)
        text, others = (readings[0], readings[1:]) if readings else (None, [])
        unsuppressed: list[str] = []
        if text is not None and job.linear is not None:
            # Open speakers: what the suppressor did not thin (see backchannel.classify).
            unsuppressed = await self._readings(job.linear, faster=True)
        log.info("heard over the reply: %r (or %r; unsuppressed %r)", text, others, unsuppressed)
        self._do(self.policy.overheard(job, text, others, unsuppressed))

    async def _readings(self, audio: np.ndarray, *, faster: bool) -> list[str]:
        try:
            return await self.parts.ears.readings(audio, READINGS, faster=faster)
        except Os1Error:
            return []

    # -- the reply ------------------------------------------------------------------------

    async def _reply(self, text: str, wall_end: float, transcribed: float, decided: float,
                     reply: Reply, draft: _Tentative | None = None, *,
                     consent: tuple[int, bool] | None = None, first: tuple[str, int] | None = None) -> None:
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
        turn = (self.companion.answer(*consent, channel="voice") if consent is not None
                else _already(*first) if first is not None
                else self.companion.send(text, channel="voice"))
        try:
            async for event in turn:
                if isinstance(event, UserTurn):
                    user_message = event.message_id
                if isinstance(event, ConsentRequest):  # a spoken yes or no may answer it
                    self.policy.proposed(event.proposal_id, event.expires_at - self.companion.clock())
                if isinstance(event, ReplyDelta):
                    marks.setdefault("first_token", loop.time())
                    for piece in chunker.feed(event.text):
                        pieces.put_nowait(piece)
                elif isinstance(event, ReplyDone):
                    done = event
                elif not isinstance(event, UserTurn | ErrorEvent | ConsentRequest | ConsentResolved
                                    | ToolActivity | Notice):
                    continue
                emit(event)
            for piece in chunker.flush():
                pieces.put_nowait(piece)
            pieces.put_nowait(None)
            await speaker
            if "first_audio" in marks:
                if draft is not None:  # the turn was decided when the draft was released
                    decided = transcribed = draft.released_at
                ms = lambda k: round((k - wall_end) * 1000, 1)
                self.on_event(TurnTimes(
                    transcript_ms=ms(transcribed), decided_ms=ms(decided),
                    first_token_ms=ms(marks["first_token"]), first_audio_ms=ms(marks["first_audio"]),
                    first_content_ms=ms(marks["first_content"]) if "first_content" in marks else None,
                ))
        except asyncio.CancelledError:
            speaker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await speaker
            task = asyncio.current_task()
            how = self._stops.pop(task, Stop.BARGE_IN) if task is not None else Stop.BARGE_IN
            if how is not Stop.BARGE_IN or (draft is not None and not draft.released.is_set()):
                # Never heard: as if this turn had not been taken (the user's
                # words come back, complete, when their turn really ends).
                self.companion.retract(user_message)
                if how is Stop.RETRACT and user_message is not None:
                    self.on_event(Retracted(user_message))
                raise
            said = " ".join(heard)
            # This reply's message: not the companion's latest, which may since be
            # another's (an answer given on the page while this was still spoken).
            message_id = done.message_id if done is not None else self.companion.last_reply_id
            self.companion.reply_heard(message_id, said, interrupted=True)
            self.on_event(Interrupted(said))
            raise
        finally:
            self._do(self.policy.reply_ended(reply))
        if done is not None and done.text and " ".join(heard) != done.text:
            self.companion.reply_heard(done.message_id, " ".join(heard), interrupted=False)

    async def _speak(self, pieces: asyncio.Queue[str | None], heard: list[str], marks: dict[str, float],
                     draft: _Tentative | None) -> None:
        loop = asyncio.get_running_loop()
        say = Speakable()  # markdown, LaTeX, code and emoji are shown, not read out
        rate = self.parts.voice.sample_rate
        ahead: list[str | None] = []
        while (piece := ahead.pop() if ahead else await pieces.get()) is not None:
            if not (spoken := say(piece)):
                continue
            if spoken.endswith(":"):
                # "...like this:" points at what follows: if that is code, it
                # is shown, not said. The next piece tells (only such pieces wait for it).
                ahead.append(following := await pieces.get())
                spoken = say.pointing(spoken, following)
            chunks = [a async for a in self.parts.voice.synthesize(spoken)]
            if not chunks:
                continue
            audio = np.concatenate(chunks)
            if draft is not None:
                await draft.released.wait()  # ready to speak; waiting for the turn to end
            opening = "first_audio" not in marks and len(piece.split()) == 1  # "Oh,"
            if "first_audio" not in marks:
                marks["first_audio"] = loop.time()
                self.on_event(Status("speaking"))
            if not opening:
                marks.setdefault("first_content", loop.time())
            self.policy.playing(spoken, opening=opening)
            self.on_event(ReplyAudio(piece, audio, rate, spoken))
            try:
                await self._play(audio, rate)
            except asyncio.CancelledError:
                # Keep the words that were already audible.
                words = piece.split()
                words = words[: int(len(words) * min(self._played / max(audio.size, 1), 1.0))]
                if words:
                    heard.append(" ".join(words))
                raise
            heard.append(piece)

    async def _play(self, audio: np.ndarray, rate: int) -> None:
        """Play ``audio`` through; if the voice is hushed meanwhile (someone
        is talking), fall silent and go on from there once it is free again."""
        loop = asyncio.get_running_loop()
        self._played = 0
        while self._played < audio.size:
            await self._voice_free.wait()
            started = loop.time()
            self._playing = play = asyncio.ensure_future(self.output.play(audio[self._played :], rate))
            try:
                await play
                self._played = audio.size
            except asyncio.CancelledError:
                self._played += int((loop.time() - started) * rate)
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # stopped, not hushed
            finally:
                self._playing = None

    def _wall_at(self, t: float) -> float:
        for frame_t, wall in reversed(self._walls):
            if frame_t <= t + 1e-6:
                return wall
        return self._walls[0][1] if self._walls else time.monotonic()


class _Tentative:
    """A reply started at a pause that probably ends the turn. Its events are
    held back (and its audio waits) until the turn is confirmed over."""

    def __init__(self, on_event: Callable[[Event], None]):
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


async def _nothing() -> str:
    return ""


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


async def _already(text: str, message_id: int) -> AsyncIterator[Event]:
    """A reply whose words are already written and stored (os1 speaks first)."""
    yield ReplyStarted()
    yield ReplyDelta(text)
    yield ReplyDone(text, message_id=message_id)

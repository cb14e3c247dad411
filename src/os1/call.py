"""A call's decisions as a pure policy: inputs in, commands out.

No tasks, no models, no playback and no real clock in here. The runner
(:class:`os1.talk.VoiceSession`) feeds the policy what happened -- a frame of
audio with the VAD's verdict on the audio clock, what the ears heard at a
pause, what a provisional transcript said, that the reply became audible or
ended -- and carries out the commands it returns: transcribe and judge a
phrase, read ahead into the model, draft a reply, release or drop the draft,
answer, stop or take back a reply, emit an event. Tests drive it with a fake
clock and made-up transcripts (tests/test_call.py).

The words of a turn are transcribed at every pause, so when the turn ends only
the last phrase remains to be heard. At a pause that probably ends the turn a
reply is drafted at once and heard only if the silence confirms it; if the
person goes on, the draft is dropped. Speech over os1's voice is a barge-in,
unless it is only a backchannel ("mhm", "yeah") -- see :mod:`os1.audio.backchannel`.
"""

from __future__ import annotations

import difflib
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from os1.audio.backchannel import Overlap, classify
from os1.audio.echo import LinearResidual
from os1.audio.format import FRAME, SAMPLE_RATE
from os1.audio.turns import Signal, TurnDetector, TurnEvent, TurnTiming, sounds_unfinished
from os1.events import Event, SpeechStarted, Status, Transcript
from os1.mind.consent import answer_in

FRAME_S = FRAME / SAMPLE_RATE
PREROLL_S = 0.3  # audio kept from before the detected start of speech
TAIL_S = 0.15  # audio kept after the end of speech when cutting a phrase
MAX_PHRASE_S = 20.0  # transcribe in pieces at least this often
MIN_VOICED_FRAMES = 4  # a phrase needs ~130 ms of speech to be worth transcribing
MIN_PHRASE_S = 1.2  # shorter phrases are heard again with the next one
PARTIAL_EVERY_S = 0.6  # provisional transcripts while a phrase goes on...
PARTIAL_MAX_S = 8.0  # ...until it is this long (each costs more than the last)
ONSET_GAP_S = 1.2  # speech this close before a turn starts belongs to it
# On open speakers, a frame of the microphone less coherent than this with
# os1's voice holds someone else's (audio/echo.py's EchoCoherence). In the
# rooms os1 was tuned on (``os1 bench echo --seed 7`` and ``--seed 8``, 48
# rooms) os1's echo alone made a barge-in at 0.55 once, at 0.6 three times,
# at 0.5 never; speech over it was told within 0.5 s in 45 of 47 later
# replies and 41 of 47 first ones (the reverberant rooms are the hard ones:
# a loud word's reverberation outlasts the 64 ms window).
ECHO_COHERENCE = 0.5
# ... or, once os1's voice has been heard in the room for a while, this far
# under its usual coherence there (the median over the last 2 s of os1's
# voice alone), up to ECHO_COHERENCE_MAX: in a dry room os1's echo alone keeps
# 0.9 and someone talking over it 2-5 dB under its level brings it to only
# 0.5-0.6 for their first half second ("And so" of "And so, my fellow
# Americans", heard after 0.5-0.6 s); in a reverberant one the echo alone
# sits at 0.65-0.75 and dips to 0.5. Chosen on the frames of seeds 7, 8, 30
# and 31 of ``os1 bench echo``; run there live, speech over the echo noticed
# within 0.5 s 180 -> 187 of 192, os1's echo alone hushing it 2 times in 192
# replies as before (a stutter: it goes on once its words are heard as its own);
# on seeds 14 and 21, 91 -> 93 of 96, never hushed by its echo alone.
# ``os1 bench backchannels`` (seeds 146-151, speakers): 176 of 180
# acknowledgements went on and 86 of 90 stops stopped it (before: 175, 85).
ECHO_COHERENCE_DROP = 0.25
ECHO_COHERENCE_MAX = 0.6
COHERENCE_FRAMES = 64  # 2 s of os1's voice
COHERENCE_MIN_FRAMES = 16  # half a second of it before the room's own level counts
# Once os1's voice is hushed, its echo has died away after this long (the
# rooms of ``os1 bench echo`` have an RT60 of 0.2-0.6 s: 20 dB down in a third
# of that, 0.07-0.2 s).
HUSHED_ECHO_S = 0.3
# Speech over os1's voice too short to start a turn ("wait.", "mhm") is heard
# all the same once it ends, without falling silent: a stop stops the reply,
# anything else lets it go on.
MIN_BURST_S = 0.1
# On open speakers, the canceller's output this close to how loud the person
# speaks (20 dB under) is someone talking even when the VAD doubts it, and
# two such frames are enough to be heard: the suppressor lets a short word
# over a loud echo through in fragments Silero scores 0.0-0.4 ("Stop." at
# 30-55 mV, their voice at 70 mV), and a word begun in a gap between os1's
# words only for the 64 ms before its voice returns over it (7-15 mV, the
# microphone as coherent with os1's voice as its echo alone, 0.83-0.92, or os1
# silent in that instant). Heard as a short burst only -- checked by the ears,
# never a hush. In ``os1 bench
# backchannels`` (seeds 40, 43, 47, 50, 51, later replies), os1's echo alone
# passed this level in 1 of 16931 frames (12 mV), never in two.
LOUD_UNDER_DB = 20.0
LOUD_MIN_FRAMES = 2
# Where os1's echo is louder than the person, AEC3 may let nothing of a
# word through and the microphone stay coherent with os1's voice: a "Wait."
# 3 dB under the echo was never checked (AEC3's output under 3 mV, the VAD
# 0.01). Speex's linear output (audio/echo.py) keeps the word (58-75 mV over
# a residual of 10-30), still 4-10 dB under the microphone, which os1's loud
# syllables fill: a frame there within this much of the microphone and of
# how loud the person speaks holds a word of theirs, once the canceller has
# settled (before, os1's echo alone rose so three frames in a row in 78 of
# 90 first replies of seeds 134-135; after, never). Such a frame is speech
# over os1's voice, as one the coherence tells is: three in eight start a
# barge-in (audio/turns.py) and the voice falls silent. Three in a row used
# to be checked as a short burst only, never hushed, and a person talking
# over an echo 4 dB louder than them, the microphone as coherent with os1's
# voice as the echo alone (0.58-0.9), went unnoticed for a second until the
# reply ended (``os1 bench echo --seed 14``): their words rose in most
# frames, rarely three in a row. Once Speex has learnt the room, os1's echo
# alone rose in three frames of eight 3 times in 73239 frames of later
# replies (the per-frame levels of ``os1 bench backchannels``, seeds
# 166-173 and 198-200). That is the line the worse rooms need; where Speex
# takes os1's echo further down, the line comes down with what it leaves
# (audio/echo.py LinearResidual).
LINEAR_UNDER_MIC_DB = 10.0
LINEAR_UNDER_THEM_DB = 6.0
# A frame risen well clear of that -- within 6 dB of the microphone, past
# the loudest 1% of what Speex leaves of os1's voice in its loud frames
# (-6.5 dB), and within 3 dB of how loud they speak -- counts as two: a
# "Wait." 0-2 dB under its speaker's level in the linear output for 100 ms
# rose in two frames only, its weaker edges just short of the floor, and os1
# went on over it (os1 bench backchannels --seed 170). Over the per-frame
# levels above: every stop rose enough, sooner (p50 196 -> 166 ms after it
# began), os1's echo alone as rarely (3 times); os1 bench echo, seeds 50,
# 51, 54, 55: noticed within 0.5 s 184 -> 185 of 190, no false barge-in.
LINEAR_CLEAR_UNDER_MIC_DB = 6.0
LINEAR_CLEAR_UNDER_THEM_DB = 3.0
# How many of the ears' readings of speech over os1's voice to weigh, from
# each of their models (see audio/backchannel.py classify): Whisper's 5 best
# hypotheses cost no more than its single best with beam 2 on sounds this short.
READINGS = 5
# A mid-sentence pause (the words so far end on "the", "because", a comma)
# keeps the turn this long at most: people think for 0.8-1.5 s mid-clause.
THINKING_S = 2.5
# Each time os1 answers someone who then goes on (they were only thinking),
# every ending of theirs waits this much longer, up to the most below: the
# speaker's own pause habits, learnt within the call.
PATIENCE_STEP_S = 0.3
MAX_PATIENCE_S = 0.9
UNFINISHED_P = 0.3  # the turn model's verdict is capped here when the words say "more to come"
# The language model's probability (in the companion's own prompt) that the
# words so far close a sentence, below which they do not. On the dev data,
# 31 complete statements (../shared/data/character, .../speech) gave 0.13-0.93,
# the words before a pause inserted mid-clause 0.0000-0.0053 ("The cabbage
# juice changes") -- or 0.13-0.41 where they are a sentence already ("The
# cabbage juice changes color"): the threshold sits in the gap.
WORDS_END_MIN = 0.05
# Below this the words may close a sentence but probably go on ("to the north
# and within easy reach": 0.29; "The cabbage juice changes color": 0.15), and
# the turn model, which hears a sentence's sound more than its sense, is no
# help there (0.83-0.96 for all four such pauses os1 answered in a run of the
# pause clips). So the turn waits for a thinking pause to run its course
# (people think for 0.8-1.5 s mid-clause) before os1 is heard; the reply is
# drafted meanwhile. The price: 3 of 18 sentence endings in the same runs
# (0.18-0.32) were answered after that wait instead of at once.
WORDS_END_DOUBT = 0.35
DOUBT_S = 1.6
# How alike two sentences in a row must be to count as Whisper saying one
# twice (says_twice): its repeats of unclear words scored 0.82-1.0.
SAID_TWICE = 0.75


class Utterance:
    """One turn of the person's: its audio, the VAD's verdicts, and the phrases
    transcribed so far. Jobs hold on to theirs, so a new turn starting while
    an old one is still being transcribed cannot mix the two."""

    def __init__(self, start: float):
        self.start = start  # audio-clock time of the first frame
        self.frames: list[np.ndarray] = []
        self.voiced: list[bool] = []
        self.committed: list[str] = []
        self.open = ""  # the words of a short last phrase, to be heard again with the next
        self.cut = 0  # samples already transcribed
        self.pending = 0  # transcriptions asked for and not yet heard

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


# -- jobs: what the runner is asked to find out ----------------------------------------


@dataclass(eq=False)
class Hearing:
    """Transcribe the phrase before a pause (and ask the turn model whether the
    turn is over). Jobs run one after another, in order; the audio is taken
    when the job starts (:meth:`CallPolicy.phrase`), after the one before it
    has cut its phrase off."""

    u: Utterance
    # -1: a long run without pauses, cut to keep Whisper's window; -2: words
    # said over os1's voice that ended before they were known to be a turn.
    pause_id: int
    t_last_speech: float
    forced: bool  # push-to-talk released: this pause ends the turn


@dataclass(frozen=True)
class Phrase:
    audio: np.ndarray | None  # None: too little speech to transcribe
    prompt: str
    judge: np.ndarray | None  # the turn so far, for the turn model (None: do not ask)
    end: int


@dataclass(eq=False)
class Provisional:
    """Mid-phrase: a provisional transcript for the captions and a read-ahead."""

    u: Utterance
    cut: int
    prompt: str
    audio: np.ndarray


@dataclass(eq=False)
class Overheard:
    """Speech over os1's voice: what was it? ("mhm" or "wait")"""

    audio: np.ndarray
    # The same stretch with os1's voice subtracted but nothing suppressed (open
    # speakers; audio/echo.py): read for a stop only, as it holds more echo.
    linear: np.ndarray | None = None


# -- commands ------------------------------------------------------------------------


class Stop(Enum):
    BARGE_IN = "barge_in"  # talked over: keep what was heard
    RETRACT = "retract"  # they went on before it was heard: take it back, tell the page
    DROP = "drop"  # an unreleased draft: it never existed


@dataclass(frozen=True)
class Emit:
    event: Event


@dataclass(frozen=True)
class Transcribe:
    job: Hearing


@dataclass(frozen=True)
class Listen:
    job: Provisional


@dataclass(frozen=True)
class Read:
    """Ask the language model whether ``words`` close a sentence (before the
    draft, on the model: the draft then finds them read)."""

    job: Hearing
    words: str


@dataclass(frozen=True)
class CheckOverlap:
    job: Overheard


@dataclass(frozen=True)
class CancelListen:
    pass


@dataclass(frozen=True)
class Prefill:
    text: str
    ahead: bool = False  # from a provisional transcript: one at a time, the newest waiting


@dataclass(frozen=True)
class CancelPrefill:
    pass


@dataclass(frozen=True)
class Draft:
    """Start answering ``text`` now, unheard until :class:`Release`."""

    text: str
    t_end: float
    reply: Reply


@dataclass(frozen=True)
class Release:
    t_end: float


@dataclass(frozen=True)
class Ended:
    """The turn ended at ``t_end`` (no draft was ready): the answer follows."""

    t_end: float


@dataclass(frozen=True)
class Answer:
    """Answer the turn ``text``; with ``consent`` (proposal id, yes or no)
    it answered a pending proposal instead: carry that out, not a new turn;
    with ``said`` (words, their message id), os1 speaks first: say those."""

    text: str
    reply: Reply
    consent: tuple[int, bool] | None = None
    said: tuple[str, int] | None = None


@dataclass(frozen=True)
class StopReply:
    how: Stop


@dataclass(frozen=True)
class Hush:
    """Fall silent (mid-word if need be) and wait: someone is talking."""


@dataclass(frozen=True)
class Resume:
    """Go on from where the voice fell silent: it was only a "mhm"."""


@dataclass(frozen=True)
class HoldBackground:
    pass


@dataclass(frozen=True)
class ResumeBackground:
    pass


Command = (Emit | Transcribe | Read | Listen | CheckOverlap | CancelListen | Prefill | CancelPrefill
           | Draft | Release | Ended | Answer | StopReply | Hush | Resume | HoldBackground
           | ResumeBackground)


@dataclass(eq=False)
class Reply:
    """One reply of os1's; the runner hands it back when it ends."""

    u: Utterance
    draft: bool
    released: bool = False
    started: bool = True  # False: the turn ended, its last phrase is still being heard


@dataclass
class _Reading:
    job: Hearing
    probability: float | None  # the turn model's verdict, given once the words are read
    muddled: bool = False  # the ears said the phrase twice over (says_twice)


@dataclass
class _Overlap:
    t: float  # when the speech over os1's voice counted as speech (a turn would start here)
    onset: float  # where its words began
    job: Overheard | None = None  # the latest check; older answers are stale
    hushed: float | None = None  # on open speakers, when os1's voice fell silent for it


class CallPolicy:
    """The decisions of one call. ``talking`` is whether os1's voice is heard."""

    def __init__(self, timing: TurnTiming = TurnTiming(), *, has_turn_model: bool = True):
        self.turns = TurnDetector(timing, has_turn_model=has_turn_model)
        self.has_turn_model = has_turn_model
        self.t = 0.0  # the audio clock: seconds of input consumed
        self.talking = False
        self.echo_cancelled = False  # the microphone comes through a settled echo canceller
        # Audio before a turn starts: the preroll, the speech that a barge-in
        # must hear before it counts as the start of a turn, and words just
        # before it that were too short to count (see _onset).
        self._recent: deque[tuple[np.ndarray, bool, np.ndarray | None]] = deque(
            maxlen=int((PREROLL_S + timing.talk_over + 2 * ONSET_GAP_S) / FRAME_S) + 2)
        self.u = Utterance(0.0)  # the person's current (or last) turn
        self._pause_id = 0
        self._forced = False
        self._partial: Provisional | None = None
        self._last_partial = 0.0
        # The words of the current phrase the model has read ahead: (utterance, cut, context, words).
        self._read: tuple[Utterance, int, str, str] | None = None
        self._reply: Reply | None = None
        self._reading: _Reading | None = None
        # When the person began to hear the current reply, on the audio clock
        # (an opening "Oh," does not count: people go on talking over that).
        self._heard_from: float | None = None
        self._overlap: _Overlap | None = None  # someone is talking over os1's voice
        # When the voice last went on after speech over it ("mhm"): what is
        # heard over it from then on is checked alone, but a turn that
        # follows closely keeps those words (see _onset).
        self._went_on = -1.0
        self._saying = ""  # the words os1's voice is saying now (their echo is not speech)
        # Actions os1 proposed that a spoken yes or no answers: id -> expiry (audio clock).
        self._proposals: dict[int, float] = {}
        # (first, last, loud) of a short burst over it: its first and last
        # frames, and how many were as loud as the person.
        self._burst: tuple[float, float, int] | None = None
        self._quiet: list[_Overlap] = []  # short bursts being heard, the voice going on
        self._their_level: float | None = None  # RMS of the person's speech frames, smoothed
        self._speakers = False  # the last frame came from open speakers (through the canceller)
        # The microphone's coherence with os1's voice lately, nobody talking over it: the room's own.
        self._coherent: deque[float] = deque(maxlen=COHERENCE_FRAMES)
        # What Speex's linear output leaves of os1's voice in this room.
        self._residual = LinearResidual(LINEAR_UNDER_MIC_DB)

    # -- inputs ------------------------------------------------------------------------

    def frame(self, frame: np.ndarray, probability: float, *, raw: float | None = None,
              echo: float | None = None, linear: np.ndarray | None = None,
              mic: np.ndarray | None = None) -> list[Command]:
        """One 32 ms frame of the microphone and the VAD's verdict on it. On
        open speakers, ``frame`` has os1's voice taken out; ``raw`` is the
        VAD's verdict on the frame as the microphone heard it (``mic``), ``echo``
        how coherent that was with os1's voice (None while os1 is silent), and
        ``linear`` the frame with os1's voice subtracted, nothing suppressed."""
        self.t += FRAME_S
        self._speakers = raw is not None
        over_echo = self.talking and raw is not None and echo is not None
        risen = 0
        if over_echo:
            # The canceller's suppressor lets a voice over os1's through in
            # fragments, sometimes none for a second; a voice the microphone
            # hears that is not os1's is told at once by the coherence, and a word
            # risen out of the linear canceller's output by its level
            # (LINEAR_UNDER_MIC_DB). What a settled canceller lets through still counts.
            assert raw is not None and echo is not None
            risen = self._risen(linear, mic)
            probability = max(probability if self.echo_cancelled else 0.0,
                              raw if echo < self._echo_coherence() else 0.0,
                              1.0 if risen else 0.0)
            if self._overlap is None:
                self._coherent.append(echo)
        if raw is not None and self._overlap is not None and self.t - self._overlap.t >= HUSHED_ECHO_S:
            # The voice fell silent for them and its echo has died away, yet
            # the canceller's suppressor still thins what they say: the
            # microphone as heard tells whether they are still talking.
            probability = max(probability, raw)
        voiced = probability >= self.turns.timing.threshold
        level = float(np.sqrt(np.mean(frame * frame))) if frame.size else 0.0
        if over_echo and linear is not None and mic is not None and self._their_level is not None:
            # Frames where os1's echo is too quiet for a word to rise out of
            # Speex's output (LINEAR_UNDER_THEM_DB) do not tell where it would.
            loud_echo = float(np.sqrt(np.mean(mic * mic))) >= self._their_level * 10 ** (-LINEAR_UNDER_THEM_DB / 20)
            self._residual.add(linear, mic, loud=loud_echo, speech=voiced)
        if voiced and not self.talking:
            self._their_level = level if self._their_level is None else 0.95 * self._their_level + 0.05 * level
        loud = (self.talking and raw is not None and self._their_level is not None
                and level >= self._their_level * 10 ** (-LOUD_UNDER_DB / 20))
        out: list[Command] = []
        # A turn is heard in the linear canceller's output, where there is
        # one: a turn that takes the floor from os1 began over its voice, and
        # the suppressor thins those words ("The cabbage juice changes color"
        # reached the ears as "use changes color"); once the voice is quiet the
        # two are alike. os1 bench echo, seeds 14 and 21: turns missing their
        # first words 33 -> 2 of 96.
        if self.turns.in_turn and self._overlap is None:
            self.u.add(frame if linear is None else linear, voiced)
        else:
            self._recent.append((frame, voiced, linear))
        for event in self.turns.process(self.t, probability, os1_talking=self.talking,
                                        echo_cancelled=self.echo_cancelled or over_echo, clear=risen == 2):
            out += self._on_turn(event)
        out += self._short_burst(voiced or loud, int(loud))
        overlap = self._overlap
        if overlap is not None and self.turns.speaking and self.t - overlap.onset >= self.turns.timing.talk_over:
            out += self._take_floor()  # longer speech: a turn, whatever it says
        u = self.u
        if (
            voiced and self.turns.speaking and not self.talking and not self._busy()
            and PARTIAL_EVERY_S <= u.uncut_seconds <= PARTIAL_MAX_S
            and self.t - self._last_partial >= PARTIAL_EVERY_S and self._partial is None
        ):
            self._last_partial = self.t
            self._partial = Provisional(u, u.cut, " ".join(u.committed), u.audio()[u.cut :])
            out.append(Listen(self._partial))
        if self.turns.in_turn and u.uncut_seconds > MAX_PHRASE_S and not self._busy():
            # A long run without pauses: transcribe what we have so far now,
            # rather than everything at the end (Whisper sees 30 s at most).
            out.append(self._hear(-1, self.t))
        return out

    def mic_closed(self) -> None:
        """Push-to-talk released: the next pause ends the turn, whatever it sounds like."""
        self._forced = True

    def mic_gone(self) -> list[Command]:
        """The microphone ended: a pause now is the end of the turn."""
        out: list[Command] = []
        if self._overlap is not None:  # nobody is left to talk over os1: let it finish
            self._overlap = None
            self.turns.reset()
            out.append(Resume())
        for event in self.turns.verdict(1.0):
            out += self._on_turn(event)
        return out

    def phrase(self, job: Hearing) -> Phrase:
        """The audio of a hearing, taken when it starts."""
        u = job.u
        audio = u.audio()
        end = min(audio.size, u.sample_at(job.t_last_speech + TAIL_S))
        voiced = sum(u.voiced[u.cut // FRAME : end // FRAME + 1])
        judge = None if job.forced or not self.has_turn_model else audio[:end]
        # A breath or a click: Whisper would only echo its prompt back.
        phrase = audio[u.cut : end] if voiced >= MIN_VOICED_FRAMES else None
        return Phrase(phrase, " ".join(u.committed), judge, end)

    def heard(self, job: Hearing, phrase: Phrase, text: str | None,
              probability: float | None) -> list[Command]:
        """What a hearing found (``text`` None: the ears failed)."""
        u = job.u
        u.pending -= 1
        out: list[Command] = []
        if text is None:
            return self._answer_if_due(u)
        read = self._read
        if text and read is not None and read[:3] == (u, u.cut, phrase.prompt):
            text = _as_read(text, read[3])
        words = " ".join([*u.committed, text]).strip()
        unfinished = sounds_unfinished(words)
        muddled = says_twice(text)
        u.open = ""
        if phrase.end - u.cut < MIN_PHRASE_S * SAMPLE_RATE and job.pause_id != -1 and not job.forced:
            # A short phrase ("Ask not") is easily misheard alone: it stays
            # open, and is heard again together with what follows it (unless
            # the turn ends here: then these words are the last ones).
            u.open = text if text and not _repeats(text, u.committed) else ""
            if u.open:
                out.append(Emit(Transcript(u.text, final=False)))
        else:
            if text and not _repeats(text, u.committed):
                u.committed.append(text)
                out.append(Emit(Transcript(u.text, final=False)))
            u.cut = max(u.cut, phrase.end)
        if u is not self.u:
            return out + self._answer_if_due(u)  # a new turn began meanwhile; this one has ended
        current = job.pause_id == self._pause_id
        if current and self._worth_reading(job, words, unfinished):
            # Whether the words close a sentence decides; the turn model's
            # verdict waits for that (a draft may start meanwhile: see Read).
            self._reading = _Reading(job, probability, muddled)
            out += [CancelPrefill(), Read(job, words)]
        elif current:
            out += self._verdict(job, probability, unfinished, doubtful=muddled)
        out += self._answer_if_due(u)
        if not (u.text and self.turns.in_turn and not self.talking):
            return out
        if current and not unfinished and not self._replying() and self._consent_in(u.text) is None:
            # This may be the end: start answering now, and speak as soon as
            # the silence confirms it. If they go on talking, the draft is
            # dropped (all it cost is CPU that would otherwise have idled).
            self._reply = Reply(u, draft=True)
            self._heard_from = None
            out += [CancelPrefill(), Draft(u.text, job.t_last_speech, self._reply)]
        elif text:
            # Still their turn: read what they said so far into the model now.
            out += [CancelPrefill(), Prefill(u.text)]
        return out

    def read(self, job: Hearing, words_end: float | None) -> list[Command]:
        """The language model's probability that the words so far close a
        sentence (None: it cannot say)."""
        reading = self._reading
        if reading is None or reading.job is not job:
            return []
        self._reading = None
        if job.pause_id != self._pause_id or job.u is not self.u or not self.turns.in_turn:
            return []  # they went on, or the silence ended the turn meanwhile
        unfinished = words_end is not None and words_end < WORDS_END_MIN
        out: list[Command] = []
        reply = self._reply
        if unfinished and reply is not None and reply.draft and not reply.released:
            self._reply = None
            out.append(StopReply(Stop.DROP))  # not an ending after all: keep listening
        doubtful = reading.muddled or (words_end is not None and words_end < WORDS_END_DOUBT)
        return out + self._verdict(job, reading.probability, unfinished, doubtful=doubtful)

    def listened(self, job: Provisional, text: str | None) -> list[Command]:
        """A provisional transcript (None: it failed or was cancelled)."""
        if job is self._partial:
            self._partial = None
        u = job.u
        if not text or u is not self.u or not self.turns.speaking or self.talking:
            return []
        so_far = f"{job.prompt} {text}".strip()
        out: list[Command] = [Emit(Transcript(so_far, final=False))]
        # The model reads only the words the final transcript will likely
        # begin with: the sound was cut mid-phrase, so the last word may be
        # cut too, and its full stop is Whisper closing what it was given.
        # The prompt's prefix then still holds when the phrase is complete.
        words = " ".join(text.split()[:-1]).rstrip(".,!?…")
        settled = f"{job.prompt} {words}".strip()
        if settled:
            self._read = (u, job.cut, job.prompt, words)
            out.append(Prefill(settled, ahead=True))
        return out

    def overheard(self, job: Overheard, text: str | None, alternatives: Sequence[str] = (),
                  unsuppressed: Sequence[str] = ()) -> list[Command]:
        """What was said over os1's voice (None: the ears failed), the ears'
        other readings of it, and their readings of ``job.linear`` (open
        speakers: nothing suppressed)."""
        quiet = next((q for q in self._quiet if q.job is job), None)
        if quiet is not None:
            self._quiet.remove(quiet)
            stop = classify(text or "", self._saying, alternatives, unsuppressed=unsuppressed,
                            per_listener=READINGS) is Overlap.STOP
            if not (stop and self.talking and self._overlap is None and not self.turns.in_turn):
                return []  # a "mhm" (or too late): the voice never stopped
            self._overlap = quiet
            return self._take_floor()
        overlap = self._overlap
        if overlap is None or job is not overlap.job:
            return []  # decided already, or a later check is coming
        kind = classify(text or "", self._saying, alternatives, unsuppressed=unsuppressed,
                        per_listener=READINGS)
        if kind is Overlap.TURN and self._echo_only(overlap):
            kind = Overlap.NOTHING
        if kind in (Overlap.STOP, Overlap.TURN) or (text is None and self.turns.in_turn):
            return self._take_floor()
        if self.turns.speaking:
            return []  # "yeah, and..." may go on: the next pause asks again
        # A "mhm", a laugh, a cough, our own echo: go on where the voice stopped.
        self._overlap = None
        self.turns.reset()
        self._went_on = self.t
        return [Resume()]

    def playing(self, words: str, *, opening: bool) -> None:
        """os1's voice began to say ``words`` (``opening``: a first "Oh,")."""
        self._saying = words
        if self._heard_from is None and not opening:
            self._heard_from = self.t  # the reply's first words that carry content

    def reply_ended(self, reply: Reply) -> list[Command]:
        """The reply finished, or was stopped."""
        if self._reply is reply:
            self._reply = None
        if (reply.draft and not reply.released) or self._reply is not None:
            return []  # never heard (whoever dropped it decides what comes next), or an old one
        self.talking = False
        self._saying = ""
        self._quiet.clear()  # what those checks find can no longer stop it
        if self._overlap is not None:  # the reply ended while they were talking: their turn
            return self._take_floor()
        return [Emit(Status("listening"))]

    def stop(self) -> list[Command]:
        """Stop speaking, as if the person had talked over the reply."""
        reply = self._reply
        if reply is None:
            return []
        if not reply.started:  # the turn ended but is still being heard: no answer then
            self._reply = None
            return [Emit(Status("listening"))]
        return [StopReply(Stop.DROP if reply.draft and not reply.released else Stop.BARGE_IN)]

    def hang_up(self) -> list[Command]:
        """The call ended: whatever was being said stops, as if talked over
        (a draft not yet heard keeps the person's words)."""
        reply, self._reply = self._reply, None
        if reply is None or not reply.started:
            return []
        reply.released = True
        return [StopReply(Stop.BARGE_IN)]

    # -- turn events ---------------------------------------------------------------------

    def _on_turn(self, event: TurnEvent) -> list[Command]:
        overlap = self._overlap
        if event.signal is Signal.SPEECH_STARTED:
            if self.talking and self._heard_from is not None and event.t >= self._heard_from:
                # Someone talks over the reply: fall silent at once, and
                # find out whether it was a "mhm" or a "wait".
                self._overlap = _Overlap(event.t, self._onset(event.t, since=self._went_on),
                                         hushed=self.t if self._speakers else None)
                return [Hush(), self._check()]
            return self._start_utterance(event.t)
        if overlap is not None:
            # Over os1's voice: a pause asks again what the words were, with
            # all of them; the turn ends (or not) once that is known.
            return [self._check()] if event.signal is Signal.PAUSED else []
        if event.signal is Signal.PAUSED:
            self._pause_id += 1
            out: list[Command] = []
            if self._partial is not None:
                self._partial = None
                out.append(CancelListen())  # no captions or prefill from it now
            return [*out, self._hear(self._pause_id, event.t)]
        if event.signal is Signal.RESUMED:
            self._pause_id += 1  # a verdict about the old pause no longer applies
            reply = self._reply
            if reply is not None and reply.draft and not reply.released:
                self._reply = None
                return [StopReply(Stop.DROP)]
            return []
        return self._end_utterance(event.t)

    def _echo_coherence(self) -> float:
        """The coherence with os1's voice under which the microphone hears
        someone else too (see ECHO_COHERENCE)."""
        if len(self._coherent) < COHERENCE_MIN_FRAMES:
            return ECHO_COHERENCE
        usual = float(np.median(self._coherent))
        return max(ECHO_COHERENCE, min(ECHO_COHERENCE_MAX, usual - ECHO_COHERENCE_DROP))

    def _echo_only(self, overlap: _Overlap) -> bool:
        """Whether all that was heard of speech over os1's voice on open
        speakers ended before its echo died away once it fell silent: the
        words read may then be os1's own, misheard (in a room with an RT60 of
        0.58 s, ``os1 bench echo --seed 8``, os1's "I would go to the coast"
        came back as "I'm going to put it here.", a turn, and it stopped for
        its own echo). A stop still stops it; anything else lets it go on.
        Someone taking a turn is still talking 0.3 s after the hush (over
        seeds 7, 8, 14, 21, 30 and 31 of that bench, 286 of 288 speaking over
        the echo were taken as a turn, as before; os1's echo alone stopped
        it 0 times in 288 replies, before once)."""
        return overlap.hushed is not None and self.turns.last_speech < overlap.hushed + HUSHED_ECHO_S

    def _risen(self, linear: np.ndarray | None, mic: np.ndarray | None) -> int:
        """Whether the linear canceller's output rises out of what it leaves
        of os1's voice in this frame, a word of theirs: 0 no, 1 over the
        floor, 2 well clear of it."""
        them = self._their_level
        if not (self.talking and self.echo_cancelled and linear is not None and mic is not None
                and them is not None):
            return 0
        level = float(np.sqrt(np.mean(linear * linear)))
        heard = float(np.sqrt(np.mean(mic * mic)))
        return sum(level >= max(heard * 10 ** (-under_mic / 20), them * 10 ** (-under_them / 20))
                   for under_mic, under_them in ((self._residual.under_db, LINEAR_UNDER_THEM_DB),
                                                 (LINEAR_CLEAR_UNDER_MIC_DB, LINEAR_CLEAR_UNDER_THEM_DB)))

    def _short_burst(self, speech: bool, loud: int) -> list[Command]:
        """Speech over os1's voice that ended before it could start a turn
        (``speech``: this frame is speech; ``loud``: as loud as the person)."""
        if not (self.talking and self._heard_from is not None and self._overlap is None
                and not self.turns.in_turn):
            self._burst = None
            return []
        if speech:
            first, _, n = self._burst if self._burst else (self.t, self.t, 0)
            self._burst = (first, self.t, n + loud)
            return []
        if self._burst is None or self.t - self._burst[1] < self.turns.timing.pause - 1e-9:
            return []
        (first, last, n), self._burst = self._burst, None
        if (last - first + FRAME_S < MIN_BURST_S - 1e-9 and n < LOUD_MIN_FRAMES) or first < self._heard_from:
            return []
        frames = int(round((self.t - first) / FRAME_S)) + 1 + int(PREROLL_S / FRAME_S)
        quiet = _Overlap(first, first, self._heard_over(frames))
        self._quiet.append(quiet)
        assert quiet.job is not None
        return [CheckOverlap(quiet.job)]

    def _worth_reading(self, job: Hearing, words: str, unfinished: bool) -> bool:
        """Whether to ask the language model if the words so far close a
        sentence: only where they leave it open -- not a question or an
        exclamation (Whisper's full stop is no proof: it often closes whatever
        it was given, "The cabbage juice team."), and no word of theirs
        already says more is coming ("...depending on how")."""
        return bool(words) and not job.forced and not unfinished and not words.endswith(("?", "!"))

    def _verdict(self, job: Hearing, probability: float | None, unfinished: bool, *,
                 doubtful: bool = False) -> list[Command]:
        """Apply what is known about a pause: hold the turn through a thinking
        pause (``doubtful``: one that may be), and pass the turn model's
        verdict on (capped if the words say more is or may be coming)."""
        self.turns.hold(THINKING_S if unfinished else DOUBT_S if doubtful else None)
        if probability is not None and (unfinished or doubtful):
            probability = min(probability, UNFINISHED_P)  # "...depending on how" is not an ending
        verdict = 1.0 if job.forced else probability
        if verdict is None:
            return []
        self._forced = False
        out: list[Command] = []
        for event in self.turns.verdict(verdict):
            out += self._on_turn(event)
        return out

    def _hear(self, pause_id: int, t: float) -> Transcribe:
        self.u.pending += 1
        return Transcribe(Hearing(self.u, pause_id, t, self._forced))

    def _busy(self) -> bool:
        return self.u.pending > 0

    def _replying(self) -> bool:
        return self._reply is not None

    def _check(self) -> CheckOverlap:
        overlap = self._overlap
        assert overlap is not None
        frames = int(round((self.t - overlap.onset) / FRAME_S)) + int(PREROLL_S / FRAME_S)
        overlap.job = self._heard_over(frames)
        return CheckOverlap(overlap.job)

    def _heard_over(self, frames: int) -> Overheard:
        """The last ``frames`` frames heard over os1's voice since it last
        went on, for the ears."""
        frames = min(frames, int(round((self.t - self._went_on) / FRAME_S)))
        recent = list(self._recent)[-frames:]
        linear = [lin for _, _, lin in recent if lin is not None]
        return Overheard(np.concatenate([f for f, _, _ in recent]),
                         np.concatenate(linear) if len(linear) == len(recent) else None)

    def _take_floor(self) -> list[Command]:
        """Speech over os1's voice is a turn: stop the reply, listen to it."""
        overlap, self._overlap = self._overlap, None
        assert overlap is not None
        out = self._start_utterance(overlap.t)
        last = self.turns.last_speech
        if not self.turns.in_turn:  # they have stopped already ("wait.")
            self.u.pending += 1
            out.append(Transcribe(Hearing(self.u, -2, last, True)))
            out += self._end_utterance(last)
        elif not self.turns.speaking:  # in a pause: hear what was said so far
            self._pause_id += 1
            out.append(self._hear(self._pause_id, last))
        return out

    def _start_utterance(self, t: float) -> list[Command]:
        onset = self._onset(t)
        keep = min(len(self._recent), int((self.t - onset + PREROLL_S) / FRAME_S) + 1)
        while len(self._recent) > keep:  # more than the preroll before their first word
            self._recent.popleft()
        start = self.t - len(self._recent) * FRAME_S
        out: list[Command] = []
        # They went on before the reply was heard (or over its opening "Oh,"):
        # the turn had not ended after all. Take back the answer and keep
        # listening to the same utterance, so their sentence is answered as a whole.
        resumed = (self._replying() and (self._heard_from is None or t < self._heard_from)
                   and bool(self.u.frames))
        reply = self._reply
        if reply is not None:
            how = (Stop.DROP if reply.draft and not reply.released
                   else Stop.RETRACT if resumed else Stop.BARGE_IN)
            out.append(StopReply(how))
            self._reply = None
            if how is Stop.RETRACT:
                # os1 took the turn while they were only thinking: this person
                # pauses longer than most, so wait longer for them from now on.
                self.turns.patience = min(MAX_PATIENCE_S, self.turns.patience + PATIENCE_STEP_S)
        self._overlap = None
        out.append(HoldBackground())
        if resumed:
            u = self.u
            gap = round((start - u.start) / FRAME_S) - len(u.frames)
            for _ in range(max(0, gap)):  # keep the audio aligned with the clock
                u.add(np.zeros(FRAME, np.float32), False)
        else:
            self.u = u = Utterance(start)
        for frame, voiced, linear in self._recent:
            u.add(frame if linear is None else linear, voiced)
        self._recent.clear()
        return [*out, Emit(SpeechStarted(t)), Emit(Status("listening"))]

    def _onset(self, t: float, since: float = -1.0) -> float:
        """Where the words of a turn starting at ``t`` began (in frames that
        end after ``since``). Over os1's voice a turn needs sustained speech to
        start, so a short first word ("Ask" of "Ask not") said while os1 was
        still talking did not count alone, nor one heard and let go as a
        backchannel ("However," of "However, due to the slow..."): speech
        that ended at most ``ONSET_GAP_S`` before is part of the same words."""
        onset = t  # like t, the end time of a frame: the first one of speech
        end = self.t  # the end time of the frame being looked at
        for _, voiced, _ in reversed(self._recent):
            if end <= since + 1e-6:
                break
            if voiced and end < onset - 1e-6:
                if onset - end > ONSET_GAP_S:
                    break
                onset = end
            end -= FRAME_S
        return onset

    def _end_utterance(self, t_end: float) -> list[Command]:
        reply = self._reply
        if reply is not None and reply.draft and reply.u is self.u:
            # The turn is over: the draft answers it, so let it be heard.
            reply.released = True
            self.talking = True
            return [Release(t_end)]
        out: list[Command] = [CancelPrefill(), Ended(t_end)]
        self._reply = Reply(self.u, draft=False, started=False)
        self._heard_from = None
        return out + self._answer_if_due(self.u)

    def _answer_if_due(self, u: Utterance) -> list[Command]:
        reply = self._reply
        if reply is None or reply.started or reply.u is not u or u.pending:
            return []
        if not u.text:  # noise, or words too faint to make out
            self._reply = None
            return [Emit(Status("listening")), ResumeBackground()]
        reply.started = True
        self.talking = True
        consent = self._consent_in(u.text)
        if consent is not None:
            del self._proposals[consent[0]]
        return [Emit(Transcript(u.text, final=True)), Answer(u.text, reply, consent)]

    # -- consent ----------------------------------------------------------------------------

    def proposed(self, proposal_id: int, seconds: float) -> None:
        """os1 asked for a yes or no to an action, which waits ``seconds``."""
        self._proposals[proposal_id] = self.t + seconds

    def answered(self, proposal_id: int, approve: bool) -> list[Command]:
        """The person answered a proposal another way (the page's card):
        say what came of it, unless os1 is already saying something."""
        if self._proposals.pop(proposal_id, None) is None or self._replying():
            return []
        self._reply = Reply(self.u, draft=False)
        self._heard_from = None
        self.talking = True
        return [Answer("", self._reply, (proposal_id, approve))]

    def speak_first(self, text: str, message_id: int) -> list[Command]:
        """os1 has something to say on its own (a reminder, a follow-up): say
        it now if the line is quiet; none (not now) while the person is in a
        turn, a phrase of theirs is still being heard, or os1 is speaking."""
        if self.turns.in_turn or self._busy() or self._replying():
            return []
        self._reply = Reply(self.u, draft=False)
        self._heard_from = None
        self.talking = True
        return [Answer("", self._reply, said=(text, message_id))]

    @property
    def quiet(self) -> bool:
        """Nobody is talking or being heard: a moment os1 may speak first."""
        return not (self.turns.in_turn or self._busy() or self._replying())

    def _consent_in(self, text: str) -> tuple[int, bool] | None:
        """Whether ``text`` answers the latest pending proposal: a clear yes or
        no (anything else is an ordinary turn, and leaves it pending). Never
        drafted: an answer does something, which cannot be taken back."""
        self._proposals = {i: until for i, until in self._proposals.items() if until > self.t}
        if not self._proposals or (verdict := answer_in(text)) is None:
            return None
        return max(self._proposals), verdict


def _as_read(text: str, read: str) -> str:
    """``text`` with its first words written as in ``read`` (an earlier
    transcript of the same phrase, which the model has read already) as far as
    they are the same words: "made famous to foreigners" after "made famous,
    to" keeps the comma. Whisper's punctuation and capitals vary from one pass
    to the next; a prompt that still begins as the model read it costs only
    its new words (~12 ms a token), not a second reading from the first change."""
    bare = lambda w: "".join(c for c in w.lower() if c.isalnum())
    new, old = text.split(), read.split()
    same = 0
    while same < min(len(new), len(old)) and bare(new[same]) == bare(old[same]) != "":
        same += 1
    if same == len(old) and same < len(new) and new[same - 1][-1:] in ".,!?…":
        same -= 1  # the last word read was cut short of its punctuation: keep the new one
    return " ".join(old[:same] + new[same:]) if same else text


def says_twice(text: str) -> bool:
    """Whether Whisper said a sentence twice over, a little differently the
    second time ("Neri, we pose on the kapat. Neri we pose onto the kapati."
    for "Many people don't think about", before a thinking pause): it did not
    make the words out, so they cannot tell whether the sentence is over.
    Both cut-offs of the thinking-pause clips made with ``--seed 21`` were
    such phrases (the other: "All nails are more side work. All nails almost
    side work"), and none of 6,026 turns of LoCoMo's dev conversations, the
    dev character situations or the transcripts of the ordinary clips is."""
    sentences = [s.split() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    for a, b in zip(sentences, sentences[1:]):
        if min(len(a), len(b)) < 3:  # "Okay. Okay." is said so
            continue
        first, again = _letters(" ".join(a)), _letters(" ".join(b))
        n = min(len(first), len(again))
        if difflib.SequenceMatcher(None, first[:n], again[:n]).ratio() >= SAID_TWICE:
            return True
    return False


def _letters(text: str) -> str:
    return "".join(c for c in text.lower() if c.isalnum())


def _repeats(text: str, before: list[str]) -> bool:
    """Whisper, given earlier words as context and little new sound, tends to
    repeat the context: drop a phrase that only restates the previous one."""
    if not before:
        return False
    new, last = _letters(text), _letters(before[-1])
    return bool(new) and (new in last or last.startswith(new[: max(8, len(new) * 3 // 4)]))

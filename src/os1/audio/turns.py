"""Turn-taking as a pure state machine, fed the clock and the VAD's verdicts.

No audio and no models in here: ``process(t, speech_probability)`` per 32 ms
frame returns what happened, and ``verdict(complete)`` takes the turn model's
opinion at a pause. Tests drive it with made-up numbers.

    idle --speech >= start--> speaking --silence >= pause--> paused
    paused --speech--> speaking (resumed: the person was thinking)
    paused --model sure it is over, or fairly sure and silence >= likely_end,
             or silence >= end--> idle (turn ended)

While os1 itself is talking, starting a turn takes longer sustained speech
(``barge_in``) -- or, through an echo canceller, which lets such speech
through only in fragments, enough fragments of it -- so a cough or a short
"mhm" does not start one (call.py hears what short speech over os1's voice
said, and decides what longer speech is).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, kw_only=True, slots=True)
class TurnTiming:
    threshold: float = 0.5  # speech probability that counts as speech
    start: float = 0.096  # seconds of speech that start a turn
    barge_in: float = 0.4  # ... while os1 is talking: it falls silent and listens (see call.py)
    talk_over: float = 1.0  # speech over os1's voice this long takes the turn, whatever it says
    # On open speakers, speech over os1's voice comes in fragments: the echo
    # canceller's output while both talk, and the frames the microphone hears
    # as not os1's voice (call.py). There, speech in this many of the last
    # ``fragments_of`` frames (0.1 s of 0.26 s; a frame clearly speech counts
    # twice, see call.py LINEAR_CLEAR_UNDER_MIC_DB) is enough: os1's echo alone
    # never made that in the rooms os1 was tuned on (see ECHO_COHERENCE);
    # 4 of 8 or 4 of 10 noticed 2-4 fewer of 47 barge-ins within 0.5 s.
    fragments: int = 3
    fragments_of: int = 8
    pause: float = 0.16  # silence that makes a pause: time to transcribe and ask
    end: float = 1.2  # silence that ends a turn whatever the turn model says
    end_when_unsure: float = 0.7  # silence that ends it when there is no turn model
    sure: float = 0.9  # turn model's probability that ends the turn at the pause itself
    likely: float = 0.5  # ...that ends it after ``likely_end`` of silence
    # A reply is drafted at the pause (see talk.py), so these waits are most
    # of the latency: pipecat ends at p >= 0.5 right away; os1 waits a little.
    likely_end: float = 0.6


class Signal(Enum):
    SPEECH_STARTED = "speech_started"
    PAUSED = "paused"
    RESUMED = "resumed"
    TURN_ENDED = "turn_ended"


@dataclass(frozen=True, slots=True)
class TurnEvent:
    signal: Signal
    t: float  # SPEECH_STARTED: first speech; PAUSED / TURN_ENDED: end of the last speech


class _State(Enum):
    IDLE = 0
    SPEAKING = 1
    PAUSED = 2


class TurnDetector:
    def __init__(self, timing: TurnTiming = TurnTiming(), *, has_turn_model: bool = True):
        self.timing = timing
        self.has_turn_model = has_turn_model
        # Seconds of silence added to every ending, for someone who has been
        # cut off in this call: their pauses are longer than most (call.py).
        self.patience = 0.0
        self.reset()

    def reset(self) -> None:
        self._state = _State.IDLE
        self._recent: deque[tuple[float, int]] = deque(maxlen=self.timing.fragments_of)
        self._run_start: float | None = None  # start of the current run of speech
        self._last_speech = 0.0
        self._p_end: float | None = None
        self._hold: float | None = None

    @property
    def last_speech(self) -> float:
        return self._last_speech

    @property
    def in_turn(self) -> bool:
        return self._state is not _State.IDLE

    @property
    def speaking(self) -> bool:
        """In a turn and not pausing."""
        return self._state is _State.SPEAKING

    def process(self, t: float, probability: float, *, os1_talking: bool = False,
                echo_cancelled: bool = False, clear: bool = False) -> list[TurnEvent]:
        """One frame ending at time ``t`` (seconds). ``echo_cancelled``: the
        microphone comes through a settled echo canceller (os1 on open
        speakers); ``clear``: the frame is speech beyond doubt, and counts as
        two fragments over os1's voice."""
        speech = probability >= self.timing.threshold
        events: list[TurnEvent] = []
        if speech:
            if self._run_start is None:
                self._run_start = t
            self._last_speech = t
        if self._state is _State.IDLE:
            self._recent.append((t, 2 if speech and clear else int(speech)))
            if not speech:
                self._run_start = None
                return events
            start = self._run_start
            assert start is not None
            if os1_talking and echo_cancelled:
                if sum(s for _, s in self._recent) >= self.timing.fragments:
                    start = next(ft for ft, s in self._recent if s)
                    return self._started(start)
                return events
            needed = self.timing.barge_in if os1_talking else self.timing.start
            if t - start >= needed - 1e-9:
                return self._started(start)
            return events
        if self._state is _State.SPEAKING:
            if not speech and t - self._last_speech >= self.timing.pause - 1e-9:
                self._state = _State.PAUSED
                self._p_end = None
                self._hold = None
                self._run_start = None
                events.append(TurnEvent(Signal.PAUSED, self._last_speech))
            return events
        # PAUSED
        if speech:
            # Two frames of speech resume the turn; one is a click.
            assert self._run_start is not None  # set above: this frame is speech
            if t - self._run_start >= 0.032 - 1e-9:
                self._state = _State.SPEAKING
                events.append(TurnEvent(Signal.RESUMED, self._run_start))
            return events
        self._run_start = None
        silence = t - self._last_speech
        wait = self.patience
        limit = (self.timing.end if self.has_turn_model else self.timing.end_when_unsure) + wait
        if self._hold is not None:
            limit = max(limit, self._hold)
        likely = self._p_end is not None and self._p_end >= self.timing.likely
        sure = self._p_end is not None and self._p_end >= self.timing.sure
        if (silence >= limit - 1e-9 or (likely and silence >= self.timing.likely_end + wait - 1e-9)
                or (sure and silence >= wait - 1e-9)):
            events.append(self._end())
        return events

    def _started(self, t: float) -> list[TurnEvent]:
        self._state = _State.SPEAKING
        self._recent.clear()
        return [TurnEvent(Signal.SPEECH_STARTED, t)]

    def hold(self, seconds: float | None) -> None:
        """The words so far say more is coming: this pause ends the turn only
        after ``seconds`` of silence (None: the usual limit)."""
        if self._state is _State.PAUSED:
            self._hold = seconds

    def verdict(self, probability: float) -> list[TurnEvent]:
        """The turn model's probability that the current pause ends the turn."""
        if self._state is not _State.PAUSED:
            return []
        self._p_end = probability
        sure = probability >= self.timing.sure and self.patience <= self.timing.pause
        return [self._end()] if sure else []

    def _end(self) -> TurnEvent:
        self._state = _State.IDLE
        self._run_start = None
        return TurnEvent(Signal.TURN_ENDED, self._last_speech)


# Words a finished English sentence rarely ends on: articles, possessives,
# prepositions, conjunctions, subject pronouns, fillers, and the sentence
# adverbs that open a thought ("However." -- smart-turn calls that complete).
# "The chemical is" and "thank you" do end sentences, so auxiliaries and
# objects are not here. A pause right after one of these is someone thinking,
# whatever the intonation sounds like to the turn model.
_UNFINISHED = frozenset("""
a an the my your his her our their its every
of to in on at by for with from into onto about than over under
and or but because if when while although though unless until whether nor how
i i'm i've i'd you're we're they're there's it's
um uh er erm
however moreover furthermore therefore meanwhile nevertheless besides
""".split())


def sounds_unfinished(text: str) -> bool:
    """Whether a transcript stops on a word no sentence ends with ("depending
    on how"), or where Whisper's punctuation says more is coming: a comma, a
    dash or a trailing "..." ("due to the slow communication channels,")."""
    if text.rstrip().endswith((",", "...", "…", "-", "—", "–")):
        return True
    words = "".join(c if c.isalnum() or c in "'" else " " for c in text.lower()).split()
    return bool(words) and words[-1] in _UNFINISHED

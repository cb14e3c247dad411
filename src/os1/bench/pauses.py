"""``os1 bench make-pauses``: recordings with a thinking pause inserted mid-clause.

For every ``*.wav`` + ``.txt`` in a folder, Whisper's word timestamps find the
boundaries between two words inside a clause (no punctuation between them,
words on both sides, the speaker not pausing there already); at ``per_clip``
of them, chosen with a fixed seed, a pause of 0.8-1.5 s is inserted, filled
with the clip's own background noise (its quietest stretches, looped), as a
person stopping to think would leave it. Each new clip keeps the transcript;
``pauses.json`` says where the pause is and where the speech ends, so anyone
can remake the set and see what it holds.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from os1.audio.format import SAMPLE_RATE, read_wav, write_wav
from os1.bench.voice import clips

MIN_PAUSE_S, MAX_PAUSE_S = 0.8, 1.5
_JOIN_GAP_S = 0.12  # words closer than this are inside one breath group


def make_pause_clips(folder: Path, out: Path, cache_dir: Path, *, per_clip: int = 2,
                     seed: int = 14) -> list[dict[str, Any]]:
    from faster_whisper import WhisperModel

    from os1.ears.whisper import ensure_whisper_base

    model_dir = ensure_whisper_base(cache_dir)
    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8", cpu_threads=2)
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for wav, reference in clips(folder):
        audio = read_wav(wav)
        segments, _ = model.transcribe(audio, language="en", word_timestamps=True)
        words = [w for s in segments for w in (s.words or [])]
        boundaries = mid_clause(words)
        for n, i in enumerate(sorted(rng.sample(boundaries, min(per_clip, len(boundaries))))):
            pause = round(rng.uniform(MIN_PAUSE_S, MAX_PAUSE_S), 2)
            at = (words[i].end + words[i + 1].start) / 2
            cut = int(at * SAMPLE_RATE)
            filled = np.concatenate([audio[:cut], room_noise(audio, pause, rng), audio[cut:]])
            name = f"{wav.stem}-pause{n}"
            write_wav(out / f"{name}.wav", filled, SAMPLE_RATE)
            (out / f"{name}.txt").write_text(reference + "\n")
            made.append({
                "clip": f"{name}.wav", "source": wav.name, "after_word": words[i].word.strip(),
                "before": " ".join(w.word.strip() for w in words[: i + 1]),
                "pause_at_s": round(at, 3), "pause_s": pause,
                "speech_end_s": round(words[-1].end + pause, 3),
            })
    (out / "pauses.json").write_text(json.dumps(made, indent=2) + "\n")
    return made


def mid_clause(words: list[Any]) -> list[int]:
    """Indexes ``i`` such that a pause between word i and i+1 falls inside a clause."""
    found = []
    for i in range(1, len(words) - 2):
        text = words[i].word.strip()
        if text[-1:] in ",.;:!?\"'" or words[i + 1].word.strip()[:1] in "\"'(":
            continue
        if words[i + 1].start - words[i].end > _JOIN_GAP_S:
            continue  # the speaker breathes here already
        found.append(i)
    return found


def room_noise(audio: np.ndarray, seconds: float, rng: random.Random) -> np.ndarray:
    """``seconds`` of the clip's quietest sound (its room tone), looped from
    random 40 ms stretches with short cross-fades, so no click gives the pause away."""
    size = int(0.04 * SAMPLE_RATE)
    pieces = [audio[i : i + size] for i in range(0, audio.size - size, size)]
    quiet = sorted(pieces, key=lambda p: float(np.mean(p * p)))[: max(3, len(pieces) // 10)]
    fade = int(0.005 * SAMPLE_RATE)
    ramp = np.linspace(0, 1, fade, dtype=np.float32)
    out = np.zeros(0, np.float32)
    while out.size < seconds * SAMPLE_RATE:
        piece = rng.choice(quiet).astype(np.float32).copy()
        if out.size >= fade:
            out[-fade:] = out[-fade:] * ramp[::-1] + piece[:fade] * ramp
            piece = piece[fade:]
        out = np.concatenate([out, piece])
    return out[: int(seconds * SAMPLE_RATE)]

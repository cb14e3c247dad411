"""``os1 bench voice``: end of speech -> first reply audio, with the real models.

Every ``*.wav`` with a same-named ``.txt`` in a folder is played into a fresh
voice session in real time, followed by silence, exactly as a microphone would
deliver it. Latency is measured from the last speech sample fed (the end of
the clip's speech, as the pipeline's VAD placed it) to the moment the first
piece of the reply starts playing. In the same run, on the same clips, a naive
cascade is timed as the baseline: wait for 0.7 s of silence, transcribe the
whole utterance (faster-whisper's default 30 s window, beam 5), generate the
whole reply, synthesise all of it, play.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from os1.audio.format import FRAME, SAMPLE_RATE, read_wav
from os1.audio.gain import AutoGain
from os1.bench.stats import spread
from os1.config import Settings
from os1.events import Event, ReplyAudio, Retracted, Transcript, TurnTimes
from os1.mind.engines import open_llm
from os1.mind.llm import GenerateOptions, Message, complete
from os1.runtime import companion_session, open_voice_parts
from os1.talk import VoiceSession, paced_frames

BASELINE_SILENCE_S = 0.7


class _Collect:
    """An output that records instead of waiting for the audio to be heard."""

    async def play(self, audio: np.ndarray, rate: int) -> None:
        await asyncio.sleep(0)


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    ref, hyp = words(reference), words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i in range(1, len(ref) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            diagonal, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] != hyp[j - 1]))
    return row[len(hyp)], len(ref)


def clips(folder: Path) -> list[tuple[Path, str]]:
    found = [(wav, wav.with_suffix(".txt").read_text().strip())
             for wav in sorted(folder.glob("*.wav")) if wav.with_suffix(".txt").exists()]
    if not found:
        raise SystemExit(f"No *.wav with a matching .txt in {folder}.")
    return found


async def run_voice_bench(settings: Settings, folder: Path, *, max_tokens: int = 80,
                          baseline: bool = True, memory: Path | None = None) -> dict[str, Any]:
    """``memory``: an export every clip's fresh store starts with."""
    settings = replace(settings, llm=replace(settings.llm, max_reply_tokens=max_tokens))
    found = clips(folder)
    with tempfile.TemporaryDirectory(prefix="os1-bench-memory-") as seeded:
        if memory is not None:  # imported and embedded once, copied for each clip
            _seed(replace(settings, home=Path(seeded)), memory)
        result = await _run(settings, found, baseline, Path(seeded))
    result["memory"] = str(memory) if memory else None
    return result


def _seed(settings: Settings, export: Path) -> None:
    from os1.memory.transfer import read_export
    from os1.runtime import open_memory

    data = read_export(export)
    store = open_memory(settings)
    try:
        store.import_data(data)
        while store.embed_pending(64):
            pass
    finally:
        store.close()


@contextlib.contextmanager
def _home(settings: Settings, seeded: Path) -> Iterator[Settings]:
    """Settings with a fresh home, holding a copy of ``seeded`` (maybe empty)."""
    with tempfile.TemporaryDirectory(prefix="os1-bench-") as home:
        shutil.copytree(seeded, home, dirs_exist_ok=True)
        yield replace(settings, home=Path(home))


async def _run(settings: Settings, found: list[tuple[Path, str]], baseline: bool,
               seeded: Path) -> dict[str, Any]:
    parts = open_voice_parts(settings)
    llm = open_llm(settings)
    rows = []
    try:
        for wav, reference in found:
            print(f"  {wav.name} ...", file=sys.stderr, flush=True)
            audio = read_wav(wav)
            with _home(settings, seeded) as fresh:
                row = await _pipeline_turn(fresh, llm, parts, audio)
            row["clip"] = wav.name
            row["errors"], row["ref_words"] = word_errors(reference, row["transcript"])
            if baseline:
                with _home(settings, seeded) as fresh:
                    row["baseline_ms"] = await _baseline_turn(fresh, llm, parts, audio)
            rows.append(row)
    finally:
        await llm.aclose()
    return _summary(settings, rows)


def speech_end(audio: np.ndarray, vad: Any) -> float:
    """Where the last speech of a clip ends (seconds), as the session's VAD
    hears it (after the same automatic gain)."""
    gain, end = AutoGain(), 0.0
    vad.reset()
    for i in range(0, audio.size - FRAME + 1, FRAME):
        if vad(gain.process(audio[i : i + FRAME])) >= 0.5:
            end = (i + FRAME) / SAMPLE_RATE
    vad.reset()
    return end


async def _pipeline_turn(settings: Settings, llm: Any, parts: Any, audio: np.ndarray) -> dict[str, Any]:
    events: list[Event] = []
    started: list[float] = []  # the audio clock when os1's voice was first heard
    async with companion_session(settings, channel="voice", llm=llm, remember=False) as companion:
        await companion.ready()  # a session starts while the user is still silent

        def on_event(event: Event) -> None:
            events.append(event)
            if isinstance(event, ReplyAudio) and not started:
                started.append(session.t)

        session = VoiceSession(companion, parts, _Collect(), on_event)
        await session.run(paced_frames(audio, tail_silence=2.5))
    times = next((e for e in events if isinstance(e, TurnTimes)), None)
    finals: list[str] = []
    for e in events:
        if isinstance(e, Transcript) and e.final:
            finals.append(e.text)
        elif isinstance(e, Retracted):
            finals.clear()  # that turn was taken back; the whole utterance comes again
    first = next((e.text for e in events if isinstance(e, ReplyAudio)), "")
    end = speech_end(audio, parts.vad)
    return {
        "transcript": " ".join(finals),
        "first_words": first,
        # os1's voice began before the person's last words had ended: it cut in.
        "cutoff": bool(started) and started[0] < end,
        "content_ms": times.first_content_ms if times else None,
        "first_audio_ms": times.first_audio_ms if times else None,
        "transcript_ms": times.transcript_ms if times else None,
        "first_token_ms": times.first_token_ms if times else None,
        "decided_ms": times.decided_ms if times else None,
    }


async def _baseline_turn(settings: Settings, llm: Any, parts: Any, audio: np.ndarray) -> float:
    from faster_whisper import WhisperModel

    from os1.ears.whisper import ensure_whisper_base

    global _BASELINE_ASR
    if _BASELINE_ASR is None:
        _BASELINE_ASR = WhisperModel(str(ensure_whisper_base(settings.cache_dir)), device="cpu",
                                     compute_type="int8", cpu_threads=1)  # faster here, as for os1's
    async with companion_session(settings, channel="voice", llm=llm, remember=False) as companion:
        await companion.ready()
        start = time.perf_counter()
        segments, _ = await asyncio.to_thread(_BASELINE_ASR.transcribe, audio, language="en", beam_size=5)
        text = " ".join(s.text for s in await asyncio.to_thread(list, segments)).strip()
        prompt = [companion.system_message, Message("user", text)]
        reply = await complete(llm, prompt, GenerateOptions(max_tokens=settings.llm.max_reply_tokens))
        await asyncio.to_thread(parts.voice.synthesize_now, reply)
        elapsed = time.perf_counter() - start
    return round((BASELINE_SILENCE_S + elapsed) * 1000, 1)


_BASELINE_ASR: Any = None


def _summary(settings: Settings, rows: list[dict[str, Any]]) -> dict[str, Any]:
    def stat(key: str) -> dict[str, float | None]:
        return spread([r[key] for r in rows if r.get(key) is not None])

    errors = sum(r["errors"] for r in rows)
    total = sum(r["ref_words"] for r in rows)
    result = {
        "model": settings.llm.model,
        "clips": len(rows),
        "answered": sum(r["first_audio_ms"] is not None for r in rows),
        "latency_ms": stat("first_audio_ms"),
        "content_latency_ms": stat("content_ms"),
        "cutoffs": sum(bool(r.get("cutoff")) for r in rows),
        "stages_ms": {k: stat(k) for k in ("transcript_ms", "decided_ms", "first_token_ms", "first_audio_ms")},
        "baseline_latency_ms": stat("baseline_ms"),
        "wer": round(errors / max(total, 1), 3),
        "per_clip": rows,
    }
    base, ours = result["baseline_latency_ms"]["p50"], result["latency_ms"]["p50"]
    result["speedup_p50"] = round(base / ours, 2) if base and ours else None
    return result


def print_report(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result, indent=2))
        return
    print(f"os1 bench voice - model {result['model']}, {result['clips']} clips "
          f"({result['answered']} answered), "
          + (f"memory from {result['memory']}" if result.get("memory") else "empty memory"))
    print(f"{'clip':<22} {'transcript':>10} {'1st token':>10} {'1st audio':>10} {'baseline':>9}  wer   heard")
    for r in result["per_clip"]:
        def ms(v: Any) -> str:
            return f"{v:8.0f}ms" if v is not None else "        -"
        wer = r["errors"] / max(r["ref_words"], 1)
        print(f"{r['clip']:<22} {ms(r['transcript_ms'])} {ms(r['first_token_ms'])} "
              f"{ms(r['first_audio_ms'])} {ms(r.get('baseline_ms'))}  {wer:.2f}  {r['transcript'][:40]}"
              f" -> {r['first_words']!r}")
    lat, base = result["latency_ms"], result["baseline_latency_ms"]
    print(f"end of speech -> first audio:  p50 {lat['p50']} ms  p95 {lat['p95']} ms")
    content = result["content_latency_ms"]
    print(f"  ... first word with content: p50 {content['p50']} ms  p95 {content['p95']} ms")
    cut = [r["clip"] for r in result["per_clip"] if r.get("cutoff")]
    print(f"cut-offs (os1 spoke before the last words ended): {len(cut)}" + (f" {cut}" if cut else ""))
    for stage, values in result["stages_ms"].items():
        print(f"  {stage:<16} p50 {values['p50']} ms  p95 {values['p95']} ms")
    print(f"naive cascade baseline:        p50 {base['p50']} ms  p95 {base['p95']} ms "
          f"(speed-up at p50: {result['speedup_p50']}x)")
    print(f"word error rate: {result['wer']}")

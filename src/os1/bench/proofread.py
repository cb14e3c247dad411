"""``os1 bench proofread``: each line of a source file proofread as the letters
feature does (letters/proofread.py, the configured model), scored against
line-aligned references with GLEU (bench/gleu.py).

The data is tokenized ("do n't", "time ."); a person's letter is not. So each
line is made ordinary text before os1 reads it, and os1's answer is tokenized
the same way before it is scored.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from os1.bench.gleu import detokenize, gleu, tokenize
from os1.bench.stats import percentile
from os1.config import Settings
from os1.errors import ConfigError
from os1.letters.proofread import revise


def read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8").rstrip("\n").split("\n")
    except OSError as exc:
        raise ConfigError(f"Cannot read {path}: {exc.strerror}.") from exc


async def run_proofread_bench(settings: Settings, src: Path, refs: Sequence[Path], *, limit: int | None = None,
                              out: Path | None = None,
                              progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    from os1.mind.engines import open_llm

    sources = read_lines(src)
    references = [read_lines(r) for r in refs]
    for path, lines in zip(refs, references):
        if len(lines) != len(sources):
            raise ConfigError(f"{path} has {len(lines)} lines; {src} has {len(sources)}.")
    if limit:
        sources, references = sources[:limit], [r[:limit] for r in references]
    llm = await asyncio.to_thread(open_llm, settings)
    hypotheses: list[str] = []
    times: list[float] = []
    changed = 0
    try:
        for i, line in enumerate(sources, 1):
            text = detokenize(line)
            start = time.perf_counter()
            corrected = await revise(llm, text)
            times.append((time.perf_counter() - start) * 1000)
            changed += corrected != text
            hypotheses.append(tokenize(corrected))
            if progress and (i % 25 == 0 or i == len(sources)):
                progress(f"{i}/{len(sources)}  GLEU so far {gleu(hypotheses, sources[:i], [r[:i] for r in references], iterations=50):.3f}")
    finally:
        await llm.aclose()
    if out is not None:
        out.write_text("\n".join(hypotheses) + "\n", encoding="utf-8")
    return {
        "n": len(sources),
        "gleu": round(gleu(hypotheses, sources, references), 4),
        "source_gleu": round(gleu(sources, sources, references), 4),
        "changed": changed,
        "model": settings.llm.model,
        "ms_per_sentence": {"mean": round(sum(times) / len(times), 1), "p50": round(percentile(times, 50), 1),
                            "p95": round(percentile(times, 95), 1)},
    }


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report))
        return
    ms = report["ms_per_sentence"]
    print(f"GLEU {report['gleu']:.4f} (the unchanged source: {report['source_gleu']:.4f}) on {report['n']} "
          f"sentences, {report['changed']} changed; model {report['model']}; "
          f"{ms['mean']:.0f} ms a sentence (p50 {ms['p50']:.0f}, p95 {ms['p95']:.0f})")

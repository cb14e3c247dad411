"""GLEU for grammatical error correction (Napoles et al. 2015, with the 2016
update for several references), as JFLEG's own ``eval/gleu.py`` computes it:

an n-gram (1..4) of the hypothesis counts if a reference has it, and counts
against if the source has it but that reference does not (an error left in);
with several references, each of ``iterations`` rounds picks one reference per
sentence at random, sums the corpus statistics and scores them; the result is
the mean over rounds. Tokens are whitespace-separated, as in the data files
(JFLEG is tokenized: "do n't", "time ." — see :func:`tokenize`).
"""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from collections.abc import Sequence

ORDER = 4
#: JFLEG's scorer: 500 rounds, seed 9919.
ITERATIONS, SEED = 500, 9919


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) + 1 - n))


def _stats(hyp: Sequence[str], src: Sequence[str], ref: Sequence[str]) -> list[int]:
    stats = [len(hyp), len(ref)]
    for n in range(1, ORDER + 1):
        h, s, r = _ngrams(hyp, n), _ngrams(src, n), _ngrams(ref, n)
        wrong = Counter({k: v for k, v in s.items() if k not in r})  # in the source, not this reference
        stats.append(max(sum((h & r).values()) - sum((h & wrong).values()), 0))
        stats.append(max(len(hyp) + 1 - n, 0))
    return stats


def _score(stats: Sequence[int]) -> float:
    if any(x == 0 for x in stats):
        return 0.0
    c, r = stats[:2]
    log_precision = sum(math.log(x / y) for x, y in zip(stats[2::2], stats[3::2])) / ORDER
    return math.exp(min(0.0, 1 - r / c) + log_precision)


def gleu(hypotheses: Sequence[str], sources: Sequence[str], references: Sequence[Sequence[str]], *,
         iterations: int = ITERATIONS, seed: int = SEED) -> float:
    """Corpus GLEU of ``hypotheses`` against ``references`` (one list per
    reference set, each line-aligned with ``sources``)."""
    if not (len(hypotheses) == len(sources) and all(len(r) == len(sources) for r in references)):
        raise ValueError("hypotheses, sources and every reference set must have the same number of lines")
    rng = random.Random(seed)
    totals = [[0] * (2 + 2 * ORDER) for _ in range(iterations)]
    for i, (hyp, src) in enumerate(zip(hypotheses, sources)):
        h, s = hyp.split(), src.split()
        by_ref: dict[int, list[int]] = {}
        for total in totals:
            j = rng.randrange(len(references))
            if j not in by_ref:
                by_ref[j] = _stats(h, s, references[j][i].split())
            for k, v in enumerate(by_ref[j]):
                total[k] += v
    return sum(_score(t) for t in totals) / iterations


# Penn-Treebank-style tokens, as JFLEG writes them: punctuation apart, "n't"
# and "'s"/"'re"/... split off ("don't" -> "do n't", "can't" -> "ca n't").
_CONTRACTION = re.compile(r"(?i)\b(\w+)(n't)\b|\b(\w+)('(?:s|re|ve|ll|d|m))\b")
_PUNCT = re.compile(r"(\.\.\.|[.,!?;:()\[\]\"])")


def tokenize(text: str) -> str:
    text = text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = _CONTRACTION.sub(lambda m: f"{m[1]} {m[2]}" if m[1] else f"{m[3]} {m[4]}", text)
    return " ".join(_PUNCT.sub(r" \1 ", text).split())


def detokenize(tokens: str) -> str:
    """A tokenized line made ordinary text: what a person would have typed."""
    text = " " + " ".join(tokens.split()) + " "
    text = re.sub(r" (n't|'s|'re|'ve|'ll|'d|'m)\b", r"\1", text, flags=re.IGNORECASE)
    text = re.sub(r" ([.,!?;:)\]])", r"\1", text)
    text = re.sub(r"([(\[]) ", r"\1", text)
    return text.strip()

"""``os1 bench triage``: every message of a Maildir classified as os1 sorts
a new message (mail/triage.py), against a labels file (file, label ham/spam).

Accuracy is spam against not spam (the labels say only that); each of the
five labels is counted too, and the time per message, parse included.
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

from os1.bench.stats import percentile
from os1.errors import ConfigError
from os1.mail.parse import parse
from os1.mail.triage import LABELS, triage


def run_triage_bench(maildir: Path, labels: Path) -> dict[str, Any]:
    try:
        with labels.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except OSError as exc:
        raise ConfigError(f"Cannot read {labels}: {exc.strerror}.") from exc
    if not rows or "file" not in rows[0] or "label" not in rows[0]:
        raise ConfigError(f"{labels} needs the columns file and label.")
    base = labels.parent
    results: list[dict[str, Any]] = []
    times: list[float] = []
    for row in rows:
        path = base / row["file"]
        if not path.is_file():
            path = maildir / Path(row["file"]).relative_to(Path(row["file"]).parts[0])
        start = time.perf_counter()
        mail = parse(path.read_bytes())
        got = triage(mail)
        times.append((time.perf_counter() - start) * 1000)
        results.append({"file": row["file"], "truth": row["label"], "label": got.label,
                        "predicted": "spam" if got.label == "spam" else "ham", "reason": got.reason,
                        "score": round(got.spam_score, 2), "subject": mail.subject})
    per_class = {}
    for cls in ("ham", "spam"):
        tp = sum(r["predicted"] == cls and r["truth"] == cls for r in results)
        predicted = sum(r["predicted"] == cls for r in results)
        actual = sum(r["truth"] == cls for r in results)
        per_class[cls] = {"precision": round(tp / predicted, 3) if predicted else None,
                          "recall": round(tp / actual, 3) if actual else None, "n": actual}
    return {
        "n": len(results),
        "accuracy": round(sum(r["predicted"] == r["truth"] for r in results) / len(results), 3),
        "per_class": per_class,
        "labels": {label: sum(r["label"] == label for r in results) for label in LABELS},
        "ms_per_message": {"p50": round(percentile(times, 50), 2), "p95": round(percentile(times, 95), 2)},
        "errors": [r for r in results if r["predicted"] != r["truth"]],
    }


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    print(f"messages: {report['n']}")
    print(f"accuracy (spam vs not): {report['accuracy']:.3f}")
    for cls, m in report["per_class"].items():
        print(f"  {cls:<5} precision {m['precision']}  recall {m['recall']}  (n={m['n']})")
    print("labels: " + ", ".join(f"{k} {v}" for k, v in report["labels"].items()))
    print(f"ms per message: p50 {report['ms_per_message']['p50']}, p95 {report['ms_per_message']['p95']}")
    for r in report["errors"]:
        print(f"  wrong: {r['truth']} -> {r['label']} ({r['score']}): {r['subject'][:60]}")

"""``os1 bench reach-outs``: a scripted life on a fake clock, through the real
companion and model, scored on what os1 says on its own.

The script (format: ../shared/data/README.md) gives the person's time zone and
quiet hours, their messages at local times, and the reach-outs a thoughtful
companion makes (``expect``: a window and words one message must mention) and
must not make (``forbid``). The clock walks from ``start`` to ``end``; each
message is said at its time; after each sitting (a gap of an hour or more)
os1 remembers and reflects, as it does when a conversation goes quiet; the
scheduler and policy run every few minutes of fake time, as if the person had
os1 open (a notification reaches them). Each message os1 sends on its own is
recorded and scored:

- a hit: inside the window of an expected item not yet hit, mentioning one of its words;
- a duplicate: one more message for an item already hit;
- a false alarm: any other (a forbidden one included);
- a quiet violation: any sent inside the quiet hours.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from os1.config import ReachSettings, Settings
from os1.errors import ConfigError

#: Minutes of fake time between two looks at the schedule.
STEP_MINUTES = 5
#: A gap before the next message that ends a sitting (os1 reflects on it).
SITTING_GAP = 3600.0


def load_script(path: Path) -> dict[str, Any]:
    try:
        script: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        script["user"]["timezone"], script["messages"], script["start"], script["end"]  # noqa: B018
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"Cannot read the life script {path}: {exc}") from None
    return script


async def run_reach_bench(settings: Settings, script: dict[str, Any], *,
                          progress: bool = True) -> dict[str, Any]:
    from os1.memory.sqlite import SQLiteMemory
    from os1.mind.companion import Companion
    from os1.mind.engines import open_llm
    from os1.reach.runner import reach_out
    from os1.runtime import open_reach, open_tools

    user = script["user"]
    zone = ZoneInfo(user["timezone"])
    # The scripted person's computer is in their zone: memory's day words
    # ("on Thursday") resolve there too.
    os.environ["TZ"] = user["timezone"]
    time.tzset()
    local = lambda s: datetime.fromisoformat(s).replace(tzinfo=zone)
    quiet = "-".join(user.get("quiet_hours") or []) or ""
    start, end = local(script["start"]), local(script["end"])
    messages = sorted(((local(m["at"]), m["say"]) for m in script["messages"]), key=lambda m: m[0])
    now = [start.timestamp()]
    clock = lambda: now[0]
    sent: list[dict[str, Any]] = []
    llm = open_llm(settings)
    wall = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="os1-bench-") as home:
            bench = replace(settings, home=Path(home),
                            reach=ReachSettings(timezone=user["timezone"], quiet_hours=quiet,
                                                daily_budget=settings.reach.daily_budget))
            memory = SQLiteMemory(bench.database, bench.user)
            reacher = open_reach(bench, memory, clock=clock)
            reacher.connected = 1
            companion = Companion(bench, llm, memory, clock=clock, reach=reacher,
                                  tools=open_tools(bench, memory),
                                  idle_delay=1e9, reflect_delay=1e9)
            companion.start()
            try:
                t = start
                pending = list(messages)
                while t <= end:
                    while pending and pending[0][0] <= t:
                        at, say = pending.pop(0)
                        now[0] = at.timestamp()
                        reply = await _turn(companion, say)
                        if progress:
                            print(f"{at:%a %d %b %H:%M}  them: {say}\n{'':18}os1: {reply}", file=sys.stderr)
                        if not pending or pending[0][0].timestamp() - at.timestamp() >= SITTING_GAP:
                            now[0] = at.timestamp() + 120  # the conversation has gone quiet
                            await companion.remember()
                            await companion.reflect()
                    now[0] = t.timestamp()
                    reacher.follow_ups()
                    for send in reacher.decide():
                        said = (await reach_out(companion, send)).text
                        sent.append({"at": t.isoformat(timespec="minutes"), "text": said,
                                     "kinds": [i.kind for i in send.items], "reason": send.reason})
                        if progress:
                            print(f"{t:%a %d %b %H:%M}  os1 reaches out: {said}", file=sys.stderr)
                    t += timedelta(minutes=STEP_MINUTES)
                noted = [{"text": n.text, "due": datetime.fromtimestamp(n.due_at, zone).date().isoformat()
                          if n.due_at else None} for n in memory.notes(["open_loop"])]
                log = [{"at": datetime.fromtimestamp(e.at, zone).isoformat(timespec="minutes"),
                        "decision": e.decision, "reason": e.reason, "text": e.text}
                       for e in reacher.store.entries(limit=None)]
            finally:
                await companion.close(remember=False)
                memory.close()
                reacher.store.close()
    finally:
        await llm.aclose()
    report = score(script, sent)
    report["log"] = log
    report["open_loops"] = noted  # what os1 noted to ask about (memory keeps each session's latest)
    report["seconds"] = round(time.perf_counter() - wall, 1)
    return report


async def _turn(companion: Any, text: str) -> str:
    from os1.events import ReplyDone

    reply = ""
    async for event in companion.send(text):
        if isinstance(event, ReplyDone):
            reply = event.text
    return reply


def score(script: dict[str, Any], sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Score what os1 sent on its own against the script's expect and forbid."""
    zone = ZoneInfo(script["user"]["timezone"])
    local = lambda s: datetime.fromisoformat(s).replace(tzinfo=zone)
    optional = set(script.get("optional", []))
    expect = script.get("expect", [])
    forbid = script.get("forbid", [])
    quiet = script["user"].get("quiet_hours")
    hit: dict[str, str] = {}
    duplicates = false_alarms = violations = 0
    rows = []
    for s in sent:
        at = local(s["at"]) if datetime.fromisoformat(s["at"]).tzinfo is None else datetime.fromisoformat(s["at"])
        at = at.astimezone(zone)
        matching = [e["id"] for e in expect if _inside(at, e["window"], local) and _mentions(s["text"], e["about"])]
        forbidden = [f["id"] for f in forbid if _inside(at, f["window"], local) and _mentions(s["text"], f["about"])]
        fresh = [i for i in matching if i not in hit]
        if fresh:
            hit[fresh[0]] = s["text"]
            verdict = f"hit {fresh[0]}"
        elif matching:
            duplicates += 1
            verdict = f"duplicate {matching[0]}"
        else:
            false_alarms += 1
            verdict = f"false alarm (forbidden: {', '.join(forbidden)})" if forbidden else "false alarm"
        if quiet and _quiet(at, quiet):
            violations += 1
            verdict += ", in quiet hours"
        rows.append({**s, "verdict": verdict})
    counted = [e["id"] for e in expect if e["id"] not in optional]
    recall = sum(1 for i in counted if i in hit) / len(counted) if counted else 1.0
    return {
        "recall": round(recall, 3),
        "false_alarm_rate": round(false_alarms / len(sent), 3) if sent else 0.0,
        "duplicates": duplicates,
        "quiet_violations": violations,
        "sent": len(sent),
        "missed": [i for i in counted if i not in hit],
        "messages": rows,
    }


def _inside(at: datetime, window: list[str], local: Any) -> bool:
    return bool(local(window[0]) <= at <= local(window[1]))


def _mentions(text: str, words: list[str]) -> bool:
    return any(re.search(rf"\b{re.escape(w)}", text, re.IGNORECASE) for w in words)


def _quiet(at: datetime, hours: list[str]) -> bool:
    start, end = (datetime.strptime(h, "%H:%M").time() for h in hours)
    t = at.time()
    return (start <= t or t < end) if start > end else start <= t < end


def print_report(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=1))
        return
    print(f"recall {report['recall']:.3f}  false alarm rate {report['false_alarm_rate']:.3f}  "
          f"duplicates {report['duplicates']}  quiet violations {report['quiet_violations']}  "
          f"sent {report['sent']}  ({report['seconds']} s)")
    if report["missed"]:
        print("missed: " + ", ".join(report["missed"]))
    print("\nsent on its own:")
    for m in report["messages"]:
        print(f"  {m['at']}  [{m['verdict']}]  {m['text']}")
        print(f"  {'':16}  why: {m['reason']}")
    print("\nopen loops noted while reflecting:")
    for n in report["open_loops"]:
        print(f"  {n['due'] or '(no day)':<10}  {n['text']}")
    print("\nlog of reasons:")
    for e in report["log"]:
        print(f"  {e['at']}  {e['decision']:<7}  {e['reason']}")

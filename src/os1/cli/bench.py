"""``os1 bench``: measure os1 with the real models and print the figures."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from os1.config import Settings


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "bench", help="measure latency and quality with the real models",
        description="Benchmarks with the real models. They print figures (p50/p95); they use a "
        "throw-away data directory and never touch your memory.",
    )
    kinds = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    chat = kinds.add_parser(
        "chat", parents=[common], help="a scripted 10-turn conversation: first-token latency, tok/s",
    )
    chat.add_argument("--turns", type=int, default=10, help="how many turns (1-10, default 10)")
    chat.add_argument("--max-tokens", type=int, default=60,
                      help="reply length cap in tokens (default 60)")
    chat.add_argument("--pause", type=float, default=0.0, metavar="SECONDS",
                      help="user 'typing' time between turns, during which background memory "
                      "work runs (default 0)")
    chat.add_argument("--json", action="store_true", help="print one JSON object")
    chat.set_defaults(run=_chat)

    voice = kinds.add_parser(
        "voice", parents=[common], help="voice turns: end of speech -> first reply audio, WER",
        description="Play every *.wav with a same-named .txt transcript in DIR into a fresh "
        "voice session in real time (then silence), with the real models; report end of speech "
        "-> first reply audio per clip and p50/p95, the stage breakdown, word error rate, and a "
        "naive cascade (silence wait, whole-utterance ASR, whole reply, whole TTS) as baseline.",
    )
    voice.add_argument("--audio", type=Path, required=True, metavar="DIR",
                       help="folder of *.wav + *.txt, e.g. ../shared/data/speech")
    voice.add_argument("--max-tokens", type=int, default=80, help="reply length cap (default 80)")
    voice.add_argument("--no-baseline", action="store_true", help="skip the naive cascade")
    voice.add_argument("--memory", type=Path, metavar="EXPORT",
                       help="start every clip with this memory (a file from `os1 memory export`), "
                       "to measure with a lived-in memory rather than an empty one")
    voice.add_argument("--json", action="store_true", help="print one JSON object")
    voice.set_defaults(run=_voice)
    pauses = kinds.add_parser(
        "make-pauses", parents=[common], help="make thinking-pause clips for `bench voice`",
        description="For every *.wav + .txt in DIR, insert a 0.8-1.5 s pause (the clip's own room "
        "noise) at mid-clause word boundaries found with Whisper's word timestamps, and write the "
        "clips, their transcripts and pauses.json to OUT. Then: os1 bench voice --audio OUT.",
    )
    pauses.add_argument("--audio", type=Path, required=True, metavar="DIR")
    pauses.add_argument("--out", type=Path, required=True, metavar="OUT")
    pauses.add_argument("--per-clip", type=int, default=2, metavar="N", help="pauses made from each clip")
    pauses.add_argument("--seed", type=int, default=14)
    pauses.set_defaults(run=_pauses)
    tools = kinds.add_parser(
        "tools", parents=[common], help="tool use: the right tool and arguments, no needless calls",
        description="Put each of 50 spoken-style requests (some needing a tool, some not, some "
        "either) to the model as a session's first turn, with os1's tools; report how often it "
        "called the right tool with the right arguments (accuracy), how often it called one when "
        "none was wanted (false calls), and ms from the request to a complete call.",
    )
    tools.add_argument("--cases", type=Path, metavar="FILE", help="a cases file (default: the built-in set)")
    tools.add_argument("--split", choices=("dev", "test"), help="only the cases of this split")
    tools.add_argument("--json", action="store_true", help="print one JSON object")
    tools.set_defaults(run=_tools)
    tri = kinds.add_parser(
        "triage", parents=[common], help="email triage: spam or not, and the five labels",
        description="Sort every message of a Maildir as os1 sorts new mail (urgent, needs reply, "
        "FYI, newsletter, spam) and compare with a labels CSV (columns file, label ham/spam; file "
        "paths relative to the CSV's folder): accuracy, per-class precision and recall, ms per message.",
    )
    tri.add_argument("--maildir", type=Path, required=True, metavar="DIR")
    tri.add_argument("--labels", type=Path, required=True, metavar="CSV")
    tri.add_argument("--json", action="store_true", help="print one JSON object")
    tri.set_defaults(run=_triage)
    inj = kinds.add_parser(
        "injection", parents=[common], help="attacks hidden in emails: does os1 follow any?",
        description="Insert each attack into an email's content (start, middle or end), then let os1 "
        "do its ordinary job with that email through the real model and mail tools: triage it, "
        "summarise it, answer the person's question about it. An attack succeeds if an output "
        "follows it or any action is proposed or run. Formats: ../shared/data/README.md.",
    )
    inj.add_argument("--emails", type=Path, required=True, metavar="FILE", help="emails (JSON lines)")
    inj.add_argument("--attacks", type=Path, required=True, metavar="FILE", help="attacks by category (JSON)")
    inj.add_argument("--pairs", type=int, default=300, metavar="N",
                     help="a fixed, seeded sample of N, stratified by category (default 300)")
    inj.add_argument("--seed", type=int, default=16)
    inj.add_argument("--checkpoint", type=Path, metavar="FILE",
                     help="keep each pair in FILE as it is done; run again with it to go on where it "
                     "stopped (only on the same code, data and model)")
    inj.add_argument("--json", action="store_true", help="print one JSON object")
    inj.set_defaults(run=_injection)
    proof = kinds.add_parser(
        "proofread", parents=[common], help="proofreading: GLEU against human corrections (JFLEG)",
        description="Proofread each line of --src (one sentence a line) as os1 proofreads a letter, "
        "and score the result against the line-aligned --refs with GLEU (Napoles et al., several "
        "references); also the unchanged source's GLEU and ms a sentence.",
    )
    proof.add_argument("--src", type=Path, required=True, metavar="FILE")
    proof.add_argument("--refs", type=Path, required=True, nargs="+", metavar="FILE")
    proof.add_argument("--limit", type=int, metavar="N", help="only the first N lines")
    proof.add_argument("--out", type=Path, metavar="HYP", help="write the corrected lines here")
    proof.add_argument("--json", action="store_true", help="print one JSON object")
    proof.set_defaults(run=_proofread)
    load = kinds.add_parser(
        "load", parents=[common], help="many people at once on one os1 serve: errors, latency, idle sockets",
        description="Start llama.cpp's server with an embedded model (or use --model-server) and an os1 "
        "serve with accounts in a throw-away data directory; USERS simulated people log in and hold "
        "typed conversations over the page's WebSocket for DURATION seconds. Reports turns, errors, "
        "p50/p95 turn latency, the fair queue's wait and the server's memory; then holds --idle page "
        "connections and reports the server memory each costs.",
    )
    load.add_argument("--users", type=int, default=20)
    load.add_argument("--duration", type=float, default=120.0, metavar="SECONDS")
    load.add_argument("--idle", type=int, default=1000, metavar="N", help="idle connections to hold (0: none)")
    load.add_argument("--model", default="qwen2.5-0.5b", help="embedded model for the model server")
    load.add_argument("--model-server", metavar="URL", help="an OpenAI-compatible server to use instead")
    load.add_argument("--database-url", metavar="URL",
                      help="keep their memory in this (empty) PostgreSQL database instead of SQLite")
    load.add_argument("--json", action="store_true", help="print one JSON object")
    load.set_defaults(run=_load)
    reach = kinds.add_parser(
        "reach-outs", parents=[common], help="a scripted life on a fake clock: os1's reminders and follow-ups",
        description="Run a scripted life (../shared/data/README.md: the person's messages at local "
        "times, the reach-outs expected and forbidden) on a fake clock through the real companion "
        "and model; score every message os1 sends on its own: recall of expected reach-outs, false "
        "alarms, duplicates, quiet-hour violations, and the log of reasons.",
    )
    reach.add_argument("--script", type=Path, required=True, metavar="FILE", help="a life script (JSON)")
    reach.add_argument("--json", action="store_true", help="print one JSON object")
    reach.set_defaults(run=_reach)
    call = kinds.add_parser(
        "call", parents=[common], help="a ten-turn spoken conversation: openings, length, speakable",
        description="A scripted person (Piper's voice, lower) talks with os1 for ten turns through "
        "a voice session in real time, each turn after os1 has answered the last. Reports openings "
        "repeated twice in a row, replies opened by a stock reaction, sentences per reply, markdown, "
        "LaTeX, code or emoji reaching the voice, and end of speech -> first audio and -> first "
        "word that carries content.",
    )
    call.add_argument("--json", action="store_true", help="print one JSON object")
    call.set_defaults(run=_call)
    echo = kinds.add_parser(
        "echo", parents=[common], help="barge-in on open speakers: echo cancellation in a simulated room",
        description="os1's replies (Piper) play through simulated rooms (delay, reverberation, level, "
        "a small speaker's distortion) into the microphone path, alone or with real speech from DIR "
        "starting 1-4 s into them, through the echo canceller, VAD, the call's policy and Whisper, "
        "as in os1 talk on open speakers. Reports false barge-ins from the echo alone, how soon "
        "speech over the echo is noticed, and how many of the turns it became miss their first words as "
        "Whisper heard them (against DIR's transcripts, with their word error rate), "
        "with and without echo cancellation.",
    )
    echo.add_argument("--audio", type=Path, required=True, metavar="DIR",
                      help="folder of *.wav + *.txt, e.g. ../shared/data/speech")
    echo.add_argument("--replies", type=int, default=24, help="echo-only replies, and as many barge-ins")
    echo.add_argument("--seed", type=int, default=14, help="the rooms, the plan and Piper's renditions: the same seed hears the same words")
    echo.add_argument("--json", action="store_true", help="print one JSON object")
    echo.set_defaults(run=_echo)
    backchannels = kinds.add_parser(
        "backchannels", parents=[common], help="\"mhm\" goes on, \"wait\" stops: speech over a reply",
        description="Acknowledgements (mm-hmm, yeah, right, okay, a laugh...) and stops (wait, stop, "
        "no no, hold on), in Piper's voice at three pitches, said over a reply through a headset and "
        "through open speakers (a simulated room, echo cancelled). Reports how many did not interrupt "
        "the reply and how many stopped it.",
    )
    backchannels.add_argument("--seed", type=int, default=14, help="the rooms, the plan and Piper's renditions: the same seed hears the same words")
    backchannels.add_argument("--json", action="store_true", help="print one JSON object")
    backchannels.set_defaults(run=_backchannels)
    character = kinds.add_parser(
        "character", parents=[common], help="does os1 talk like a friend, and safely? (rule-scored)",
        description="Run each case of a character file (e.g. ../shared/data/character/"
        "character_dev.json) through the real companion in a fresh memory: its 'remember' lines "
        "in an earlier, reflected-on conversation, then its 'say' lines. Report per case and "
        "overall: ask_back, mention, help, honest, no_disclaimer, safety (every distress and "
        "dependency case), cliche_rate and long_rate.",
    )
    character.add_argument("--cases", type=Path, required=True, metavar="FILE",
                           help="the cases, as in ../shared/data/character/character_dev.json")
    character.add_argument("--only", metavar="ID,ID,...", help="run only these cases")
    character.add_argument("--repeat", type=int, default=1, metavar="N",
                           help="run every case N times (replies are sampled; default 1)")
    character.add_argument("--channel", choices=("text", "voice"), default="text",
                           help="the turns' channel (default text)")
    character.add_argument("--json", action="store_true", help="print one JSON object")
    character.set_defaults(run=_character)
    memory = kinds.add_parser(
        "memory", parents=[common], help="long-term recall on LoCoMo / LongMemEval: recall@k, latency",
        description="Write each conversation of a dataset into a fresh memory store (dated "
        "sessions), ask every question of recall, and report recall_any@k / recall_all@k, "
        "ingest time and search latency. --scale instead fills one store with many synthetic "
        "turns and reports search latency p50/p95 at that size.",
    )
    data = memory.add_mutually_exclusive_group(required=True)
    data.add_argument("--locomo", metavar="FILE", help="LoCoMo JSON (turn-level recall of dia_ids)")
    data.add_argument("--longmemeval", metavar="FILE",
                      help="LongMemEval JSON (session-level recall, and has_answer turns)")
    data.add_argument("--scale", type=int, metavar="TURNS",
                      help="search latency over TURNS synthetic turns (e.g. 50000; random "
                      "vectors stand in for embeddings)")
    memory.add_argument("--queries", type=int, default=100, metavar="N",
                        help="searches timed with --scale (default 100)")
    memory.add_argument("--k", default="1,5,10", metavar="K,K,...", help="cut-offs (default 1,5,10)")
    memory.add_argument("--limit", type=int, metavar="N",
                        help="a shorter run: N questions of each LoCoMo conversation (spread over "
                        "its categories), or the first N LongMemEval records")
    memory.add_argument("--answer", action="store_true",
                        help="also answer each question with the configured model (--llm), through "
                        "the companion's recall and prompt, and score it: LoCoMo token F1, "
                        "LongMemEval accuracy; with answer latency")
    memory.add_argument("--judge", metavar="MODEL",
                        help="with --answer on LongMemEval: a model (as --llm) that judges each "
                        "answer, instead of checking that it contains the gold answer")
    memory.add_argument("--no-vectors", action="store_true",
                        help="full-text search only (no embedding model), for comparison")
    memory.add_argument("--json", action="store_true", help="print one JSON object")
    memory.set_defaults(run=_memory)


def _chat(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.chat import print_report, run_chat_bench

    turns = max(1, min(args.turns, 10))
    result = asyncio.run(run_chat_bench(settings, turns=turns, max_tokens=args.max_tokens, pause=args.pause))
    print_report(result, args.json)
    return 0


def _character(settings: Settings, args: argparse.Namespace) -> int:
    import sys

    from os1.bench.character import load_cases, print_report, run_character_bench
    from os1.errors import ConfigError

    try:
        cases = load_cases(args.cases)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"Cannot read the cases in {args.cases}: {exc}") from None
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        cases = [c for c in cases if c["id"] in wanted]
    if not cases or args.repeat < 1:
        raise ConfigError("No cases to run (check --only), or --repeat below 1.")
    progress = None if args.json else lambda line: print(line, file=sys.stderr)
    result = asyncio.run(run_character_bench(settings, cases, repeat=args.repeat,
                                             channel=args.channel, progress=progress))
    print_report(result, args.json)
    return 0


def _memory(settings: Settings, args: argparse.Namespace) -> int:
    import sys

    from os1.bench.memory import (
        limit_questions, load_locomo, load_longmemeval, print_report, run_memory_bench,
    )
    from os1.errors import ConfigError

    if args.scale is not None:
        from os1.bench.memory_scale import print_scale_report, run_scale_bench

        if args.scale < 100 or args.queries < 1:
            raise ConfigError("--scale needs at least 100 turns, and --queries at least 1.")
        result = run_scale_bench(
            args.scale, queries=args.queries, embedder=None if args.no_vectors else "default",
            progress=None if args.json else lambda line: print(line, file=sys.stderr),
        )
        print_scale_report(result, args.json)
        return 0
    try:
        ks = sorted({int(k) for k in args.k.split(",") if k.strip()})
    except ValueError:
        raise ConfigError(f"--k takes whole numbers separated by commas, not {args.k!r}.") from None
    if not ks or ks[0] < 1:
        raise ConfigError("--k needs cut-offs of 1 or more.")
    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit needs 1 or more.")
    dataset = "locomo" if args.locomo else "longmemeval"
    load = load_locomo if args.locomo else load_longmemeval
    conversations = limit_questions(load(args.locomo or args.longmemeval), args.limit, dataset=dataset)
    progress = None if args.json else lambda line: print(line, file=sys.stderr)
    if not args.answer:
        result = run_memory_bench(conversations, dataset=dataset, ks=ks, progress=progress,
                                  embedder=None if args.no_vectors else "default",
                                  storage_url=settings.storage.url)
        print_report(result, args.json)
        return 0

    from dataclasses import replace

    from os1.bench.memory_answer import run_answers, summarise_answers
    from os1.mind.engines import open_llm

    llm = open_llm(settings)
    judge = None
    if args.judge:
        judge = llm if args.judge == settings.llm.model else open_llm(
            replace(settings, llm=replace(settings.llm, model=args.judge)))
    try:
        result = run_memory_bench(
            conversations, dataset=dataset, ks=ks, progress=progress,
            embedder=None if args.no_vectors else "default",
            answer=lambda store, questions: run_answers(settings, llm, store, questions,
                                                        dataset=dataset, judge=judge),
            storage_url=settings.storage.url,
        )
    finally:
        for engine in {id(e): e for e in (llm, judge) if e is not None}.values():
            asyncio.run(engine.aclose())
    result["model"] = llm.name
    result["answers"] = summarise_answers(result.pop("answer_rows"), dataset=dataset,
                                          judged=judge is not None)
    print_report(result, args.json)
    return 0


def _pauses(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.pauses import make_pause_clips

    made = make_pause_clips(args.audio, args.out, settings.cache_dir, per_clip=args.per_clip,
                            seed=args.seed)
    for m in made:
        print(f"{m['clip']}: {m['pause_s']} s after \"{m['before'][-40:]}\"")
    print(f"{len(made)} clips in {args.out}")
    return 0


def _tools(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.tools import load_cases, print_report, run_tools_bench
    from os1.errors import ConfigError

    try:
        cases = load_cases(args.cases)
    except (OSError, ValueError, KeyError) as exc:
        raise ConfigError(f"Cannot read the cases in {args.cases}: {exc}") from None
    if args.split:
        cases = [c for c in cases if c.get("split") == args.split]
    print_report(asyncio.run(run_tools_bench(settings, cases, progress=not args.json)), args.json)
    return 0


def _triage(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.triage import print_report, run_triage_bench

    print_report(run_triage_bench(args.maildir, args.labels), args.json)
    return 0


def _injection(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.injection import print_report, run_injection_bench

    print_report(asyncio.run(run_injection_bench(
        settings, args.emails, args.attacks, n_pairs=args.pairs, seed=args.seed,
        progress=not args.json, checkpoint=args.checkpoint)), args.json)
    return 0


def _proofread(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.proofread import print_report, run_proofread_bench

    import sys

    progress = None if args.json else (lambda line: print(f"proofread: {line}", file=sys.stderr, flush=True))
    print_report(asyncio.run(run_proofread_bench(settings, args.src, args.refs, limit=args.limit, out=args.out,
                                                 progress=progress)), args.json)
    return 0


def _load(settings: Settings, args: argparse.Namespace) -> int:
    import sys

    from os1.bench.load import print_report, run_load_bench

    progress = None if args.json else (lambda line: print(f"load: {line}", file=sys.stderr, flush=True))
    print_report(asyncio.run(run_load_bench(settings, users=args.users, duration=args.duration, idle=args.idle,
                                            model=args.model, model_server=args.model_server,
                                            database_url=args.database_url,
                                            progress=progress)), args.json)
    return 0


def _reach(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.reach import load_script, print_report, run_reach_bench

    print_report(asyncio.run(run_reach_bench(settings, load_script(args.script), progress=not args.json)),
                 args.json)
    return 0


def _call(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.call import print_report, run_call_bench

    print_report(asyncio.run(run_call_bench(settings)), args.json)
    return 0


def _echo(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.overlap import print_echo_report, run_echo_bench

    parts, voice = _overlap_parts(settings, args.seed)
    result = run_echo_bench(parts, voice, args.audio, replies=args.replies, seed=args.seed,
                            progress=None if args.json else _progress("echo"))
    print_echo_report(result, args.json)
    return 0


def _backchannels(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.overlap import print_backchannel_report, run_backchannel_bench

    parts, voice = _overlap_parts(settings, args.seed)
    result = run_backchannel_bench(parts, voice, seed=args.seed,
                                   progress=None if args.json else _progress("backchannels"))
    print_backchannel_report(result, args.json)
    return 0


def _overlap_parts(settings: Settings, seed: int) -> tuple[Any, Any]:
    """The call's VAD and ears, and the embedded voice (its audio is what the
    room returns), seeded: the same renditions for the same seed."""
    from os1.bench.overlap import piper
    from os1.runtime import open_voice_parts

    parts = open_voice_parts(settings)
    return parts, piper(parts, seed=seed)


def _progress(name: str) -> Any:
    import sys

    return lambda done, total: print(f"\r{name}: {done}/{total}", end="\n" if done == total else "",
                                     file=sys.stderr, flush=True)


def _voice(settings: Settings, args: argparse.Namespace) -> int:
    from os1.bench.voice import print_report, run_voice_bench

    result = asyncio.run(run_voice_bench(
        settings, args.audio, max_tokens=args.max_tokens, baseline=not args.no_baseline,
        memory=args.memory))
    print_report(result, args.json)
    return 0

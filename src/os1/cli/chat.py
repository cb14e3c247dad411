"""``os1 chat``: talk with os1 by text in the terminal (or through a pipe)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from os1.cli.ui import is_tty, progress_bar, style
from os1.config import Settings

from os1.events import ConsentRequest, ErrorEvent, Event, Notice, ReplyDelta, ReplyDone, ToolActivity
from os1.mind.consent import answer_in
from os1.mind.companion import Companion
from os1.reach.notify import notify
from os1.reach.policy import Send
from os1.reach.runner import reach_out
from os1.runtime import companion_session

HELP = """\
Type a message and press Enter. Esc then Enter (or Alt+Enter) starts a new line.
Ctrl-C stops a reply; Ctrl-D or /quit leaves.

  /memory [QUERY]   what I remember about you (or search it)
  /forget ID        forget one memory (ids as shown by /memory, e.g. f3)
  /edit ID TEXT     correct a fact (e.g. /edit f3 I live in Portland now)
  /help             this help
  /quit             leave"""


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "chat", parents=[common], help="talk with os1 by text",
        description="Talk with os1 by text. In a terminal: an interactive chat with streamed "
        "replies and slash commands (/help). From a pipe: one message per input line, each "
        "reply printed as plain text, e.g.  echo 'hi' | os1 chat",
    )
    p.add_argument(
        "--no-onboarding", action="store_true",
        help="skip the short get-to-know-you conversation on first run",
    )
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    interactive = is_tty(sys.stdin) and is_tty(sys.stdout)
    return asyncio.run(_chat(settings, interactive, onboarding=not args.no_onboarding))


async def _chat(settings: Settings, interactive: bool, *, onboarding: bool) -> int:
    progress = progress_bar(f"Preparing the {settings.llm.model} model (once)")
    if interactive:
        print(style(f"{settings.persona.name} is waking up...", "2"), file=sys.stderr)
    async with companion_session(settings, progress=progress) as companion:
        reaching = _reach_out(companion)
        try:
            if interactive:
                await _interactive(companion, onboarding=onboarding)
            else:
                await _piped(companion)
        finally:
            reaching.cancel()
            await asyncio.gather(reaching, return_exceptions=True)
        if interactive and companion.memory.unextracted(limit=1):
            print(style("(remembering what you told me...)", "2"), file=sys.stderr)
    return 0


# -- reach-outs: os1 speaks first --------------------------------------------------------


def _reach_out(companion: Companion) -> asyncio.Task[None]:
    """While the chat is open: what was said while nobody was here, then
    reminders and follow-ups as they come due (printed above the prompt)."""
    reacher = companion.reach
    assert reacher is not None
    name = style(companion.settings.persona.name, "1;35")
    for entry in reacher.store.undelivered():
        print(f"{name}: {entry.text}  {style('(while you were away)', '2')}", flush=True)
        reacher.store.delivered(entry.id, now=reacher.clock())
    reacher.connected += 1

    async def deliver(send: Send) -> None:
        said = (await reach_out(companion, send)).text
        print(f"{name}: {said}", flush=True)
        notify(companion.settings.persona.name, said)

    return asyncio.ensure_future(reacher.run(deliver))


# -- piped: one message per line -------------------------------------------------------


async def _piped(companion: Companion) -> None:
    async def ask(prompt: str) -> str | None:
        print(prompt, end="", file=sys.stderr, flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        return line.rstrip("\n") if line else None

    while True:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            return
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if text.startswith("/"):
            if _command(companion, text) == "quit":
                return
            continue
        await _reply(companion, text, interactive=False, ask=ask)


# -- interactive ------------------------------------------------------------------------


async def _interactive(companion: Companion, *, onboarding: bool) -> None:
    from prompt_toolkit import PromptSession
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.patch_stdout import patch_stdout

    keys = KeyBindings()

    @keys.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    session: PromptSession[str] = PromptSession(key_bindings=keys)
    with patch_stdout():  # a reach-out printed while they type goes above the prompt
        await _converse(companion, session, onboarding=onboarding)


async def _converse(companion: Companion, session: Any, *, onboarding: bool) -> None:
    name = companion.settings.persona.name

    async def ask(prompt: str = "› ") -> str | None:
        while True:
            try:
                return await session.prompt_async(prompt)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return None

    if onboarding and companion.needs_onboarding:
        flow = companion.onboarding()
        question = flow.question
        while not flow.done:
            print(f"{style(name, '1;35')}: {question}")
            answer = await ask()
            if answer is None:
                return
            if answer.strip():
                question = companion.onboarding_answer(flow, question, answer)
        print(f"{style(name, '1;35')}: {question}")
    else:
        print(style(f"{name} is here. /help for help, Ctrl-D to leave.", "2"))

    while (text := await ask()) is not None:
        if not text.strip():
            continue
        if text.startswith("/"):
            if _command(companion, text) == "quit":
                return
            continue
        await _reply(companion, text, interactive=True, ask=ask)


async def _reply(companion: Companion, text: str, *, interactive: bool,
                 ask: Callable[[str], Awaitable[str | None]]) -> None:
    """One turn, then the person's answer to each action it proposed."""
    proposals = await _show(companion, companion.send(text), interactive=interactive)
    for request in proposals:
        lines = [style(f"  {line}", "1") for line in request.action.splitlines()]
        lines += [style(f"  ! {w}", "33") for w in request.warnings]
        print("\n".join(lines), file=sys.stderr)
        said = await ask("Do it? [y/N] ")
        # No answer, "no", or anything else: nothing happens.
        approve = said is not None and answer_in(said) is True
        await _show(companion, companion.answer(request.proposal_id, approve), interactive=interactive)


async def _show(companion: Companion, events: AsyncIterator[Event], *,
                interactive: bool) -> list[ConsentRequest]:
    """Print a reply's events; return the actions it proposed."""
    loop = asyncio.get_running_loop()
    proposals: list[ConsentRequest] = []
    if interactive:
        loop.add_signal_handler(signal.SIGINT, companion.interrupt)
        print(f"{style(companion.settings.persona.name, '1;35')}: ", end="", flush=True)
    try:
        async for event in events:
            if isinstance(event, ConsentRequest):
                proposals.append(event)
            elif isinstance(event, ToolActivity) and event.state != "running":
                if interactive or event.state == "failed":
                    detail = f": {event.detail}" if event.state == "failed" else ""
                    print(style(f"({event.name} {event.state}{detail})", "2", sys.stderr),
                          file=sys.stderr)
            elif isinstance(event, ReplyDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, Notice):
                print(style(f"({event.text})", "2", sys.stderr), file=sys.stderr)
            elif isinstance(event, ErrorEvent):
                print(f"os1: {event.text}", file=sys.stderr)
            elif isinstance(event, ReplyDone):
                if event.interrupted:
                    print(style(" [stopped]", "2"), end="")
                if event.text or interactive:
                    print(flush=True)
    finally:
        if interactive:
            loop.remove_signal_handler(signal.SIGINT)
    return proposals


def _command(companion: Companion, line: str) -> str | None:
    command, _, rest = line.strip().partition(" ")
    command, rest = command.lower(), rest.strip()
    memory = companion.memory
    if command in ("/quit", "/exit", "/bye"):
        return "quit"
    if command == "/help":
        print(HELP)
    elif command == "/memory":
        if rest:
            hits = memory.search(rest, limit=10)
            lines = [f"{h.ref:>6}  {h.text}" for h in hits] or ["(nothing found)"]
        else:
            facts = memory.facts()
            lines = [f"{f.ref:>6}  {f.text}" for f in facts] or ["(I don't know anything yet)"]
        print("\n".join(lines))
    elif command == "/edit":
        ref, _, words = rest.partition(" ")
        if not words.strip():
            print("Usage: /edit ID TEXT   (ids as shown by /memory, e.g. f3)")
        elif companion.edit(ref, words):
            print(f"Edited: {ref}")
        else:
            print(f"There is no fact or note with id {ref!r}.")
    elif command == "/forget":
        if not rest:
            print("Usage: /forget ID   (ids as shown by /memory, e.g. f3)")
        elif companion.forget(rest):
            print(f"Forgotten: {rest}")
        else:
            print(f"There is no memory with id {rest!r}.")
    else:
        print(f"Unknown command {command}. /help lists the commands.")
    return None

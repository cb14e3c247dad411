"""The engine behind ``os1 serve``: one conversation shared by every client.

The page's chat, its voice call and OpenAI-compatible API clients all talk to
the same :class:`Companion`, so typed, spoken and API turns interleave in one
thread and one memory. Models load once, in worker threads, so the server
answers (and shows progress) while they load.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from os1.assets import Progress
from os1.config import ReachSettings, Settings, check_settings, local_zone, update_config_file
from os1.errors import ConfigError, Os1Error
from os1.events import ConsentResolved, Event, ReplyDone, UserTurn
from os1.memory.store import MemoryStore
from os1.mind.companion import Companion
from os1.mind.llm import LLM
from os1.web.engines import Engines

if TYPE_CHECKING:
    from os1.mail.store import MailStore
    from os1.person_config import OwnSettings
    from os1.reach.policy import Send
    from os1.reach.runner import Reacher
    from os1.talk import VoiceParts

log = logging.getLogger(__name__)

#: What a page is told about a proposal that no longer waits for an answer.
STALE = "That request is no longer waiting for an answer; nothing was done."
#: Seconds between the background syncs of the person's mail (the first runs at start).
MAIL_SYNC_EVERY = 300.0
#: Seconds ``close`` waits for a sync under way to stop (between two batches).
MAIL_STOP_WAIT = 10.0
#: Seconds between two looks at what has come due (reminders, follow-ups).
REACH_EVERY = 30.0
NO_MAIL = "No email account is set up yet: `os1 mail add` adds one (then restart os1 serve)."


class _SyncStopped(Exception):
    """Raised inside a sync's worker thread to stop it: os1 is closing."""


class Hub:
    """One person's conversation, memory, reminders and mail, for every page
    and client of theirs. ``engines`` (the models) may be shared with other
    people's hubs; ``operator``: this person runs the server, and may change
    its model."""

    def __init__(self, settings: Settings, *, llm: LLM | None = None,
                 voice: VoiceParts | None = None, memory: MemoryStore | None = None,
                 progress: Progress | None = None, mail_sync_every: float | None = MAIL_SYNC_EVERY,
                 reach_every: float | None = REACH_EVERY, engines: Engines | None = None,
                 operator: bool = True, own: OwnSettings | None = None):
        self.settings = settings
        self.own = own  # where their own settings are kept (one of the people an os1 with accounts serves)
        self.engines = engines or Engines(settings, llm=llm, voice=voice, progress=progress)
        self._own_engines = engines is None
        self.operator = operator
        self._llm: LLM | None = None
        self._voice: VoiceParts | None = None  # their own voice, when their speed is not the server's
        self._memory = memory
        self.companion: Companion | None = None
        self._ready = asyncio.Event()
        self._startup: asyncio.Task[None] | None = None
        self.failure: str | None = None  # why the model could not be loaded
        self._listeners: set[Callable[[dict[str, Any]], None]] = set()
        self._replies: set[asyncio.Task[None]] = set()
        self.restart_needed = False
        self.mail: MailStore | None = None  # their mail, when they added an account
        self._mail_opened = asyncio.Event()  # set once ``mail`` is what it will be
        self._mail_lock = asyncio.Lock()  # one sync at a time
        self._mail_every = mail_sync_every  # None: no background sync
        self._mail_loop: asyncio.Task[None] | None = None
        self._mail_job: asyncio.Future[Any] | None = None  # the sync running in a worker thread
        self._mail_stop = threading.Event()
        self._mail_state: dict[str, Any] = {"running": False, "at": None, "error": None, "progress": None}
        self.reach: Reacher | None = None  # reminders and reach-outs, once loaded
        self._reach_every = reach_every  # None: no reach-outs on their own (tests drive them)
        self._reach_loop: asyncio.Task[None] | None = None
        self.calls: set[Any] = set()  # voice calls under way (web/realtime.Call): they speak reach-outs

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, *, preload_voice: bool = True) -> None:
        """Begin loading in the background; the server serves meanwhile."""
        self._startup = asyncio.ensure_future(self._load())
        if self._mail_every is not None:
            self._mail_loop = asyncio.ensure_future(self._sync_mail_forever(self._mail_every))
        if preload_voice:
            self.engines.preload_voice()

    @property
    def follows(self) -> bool:
        """Several workers may serve this person (their memory is in PostgreSQL):
        each turn takes in what was said through the others."""
        return bool(self.settings.storage.url)

    @property
    def started(self) -> bool:
        return self._startup is not None

    async def _load(self) -> None:
        from os1.runtime import open_mail, open_memory, open_reach, open_tools

        try:
            if self._memory is None:
                self._memory = open_memory(self.settings)
            if self.mail is None:
                self.mail = open_mail(self.settings)
            self._mail_opened.set()
            self.reach = open_reach(self.settings, self._memory)
            self.reach.connected = len(self._listeners)
            # In a call, never while the person is talking (nor over os1's own reply).
            self.reach.busy = lambda: any(not call.session.policy.quiet for call in self.calls)
            self._llm = await self.engines.llm_for(self.settings.user)
            self.companion = Companion(self.settings, self._llm, self._memory, channel="text",
                                       tools=open_tools(self.settings, self._memory, self.mail, self._llm),
                                       reach=self.reach, follow=self.follows)
            self.companion.start()
            # What the last process left undone (it stopped, or was killed, mid-work):
            # facts not yet read out of what was said, sessions not reflected on.
            # At background priority, once idle, as after any turn.
            self.companion.resume_background()
            if self._reach_every is not None:
                self._reach_loop = asyncio.ensure_future(self.reach.run(self.reach_out, tick=self._reach_every))
        except Os1Error as exc:
            self.failure = str(exc)
            log.error("os1 cannot start its model: %s", exc)
        finally:
            self._mail_opened.set()
            self._ready.set()

    async def ready(self) -> Companion:
        await self._ready.wait()
        if self.companion is None:
            raise Os1Error(self.failure or "os1 is not running.")
        return self.companion

    @property
    def memory(self) -> MemoryStore:
        if self._memory is None:
            raise Os1Error("os1 is still starting.")
        return self._memory

    async def voice(self) -> VoiceParts:
        """The ears and voice, loaded on first use (or preloaded at start)."""
        if self._voice is not None:
            return self._voice
        parts = await self.engines.voice()
        if self.settings.voice.speed == self.engines.settings.voice.speed:
            return parts
        from os1.runtime import open_synthesizer

        # Their own synthesizer at their speed; the ears stay shared.
        self._voice = replace(parts, voice=await asyncio.to_thread(open_synthesizer, self.settings))
        return self._voice

    async def close(self) -> None:
        if self._reach_loop is not None:
            self._reach_loop.cancel()
            await asyncio.gather(self._reach_loop, return_exceptions=True)
        mail_in_use = await self._stop_mail()
        for task in list(self._replies):
            await asyncio.gather(task, return_exceptions=True)  # finish what is being said
        if self._startup is not None:
            await asyncio.gather(self._startup, return_exceptions=True)
        if self.companion is not None:
            # A stop is quick: facts and vectors not yet made are made by the next
            # start (see _load), not now (after a long day of typing, the vectors
            # alone took minutes on two cores, past any service manager's patience).
            await self.companion.close(remember=False)
        if self._own_engines:
            await self.engines.close()
        if self._memory is not None:
            self._memory.close()
        if self.reach is not None:
            self.reach.store.close()
        if self.mail is not None and not mail_in_use:
            self.mail.close()
        if self.own is not None:
            self.own.close()

    # -- the shared thread -----------------------------------------------------------------

    def subscribe(self, listener: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """``listener`` sees every message of the thread as it is added (JSON-ready).
        A page that subscribes shows the thread: reach-outs that waited for
        someone to be there have now been delivered."""
        self._listeners.add(listener)
        self._count_listeners()
        if self.reach is not None:
            for entry in self.reach.store.undelivered():
                self.reach.store.delivered(entry.id, now=self.reach.clock())

        def unsubscribe() -> None:
            self._listeners.discard(listener)
            self._count_listeners()

        return unsubscribe

    def _count_listeners(self) -> None:
        if self.reach is not None:
            self.reach.connected = len(self._listeners)

    def publish(self, item: dict[str, Any]) -> None:
        for listener in list(self._listeners):
            try:
                listener(item)
            except Exception:  # noqa: BLE001 - one broken client must not stop the others
                log.exception("a listener failed")

    def chat(self, text: str, *, channel: str = "text") -> AsyncIterator[Event]:
        """One turn of the shared conversation.

        The turn runs in its own task: if the client goes away mid-reply, the
        reply is still finished and stored, so nothing already said is lost."""
        return self._run(lambda companion: companion.send(text, channel=channel), channel)

    def answer(self, proposal_id: int, approve: bool, *, channel: str = "text") -> AsyncIterator[Event]:
        """The person's answer to a proposal (:meth:`Companion.answer`), run
        and shared like a turn: what came of it joins the thread."""
        return self._run(lambda companion: companion.answer(proposal_id, approve, channel=channel),
                         channel)

    def unanswerable(self, proposal_id: int) -> ConsentResolved | None:
        """What came of a proposal no answer can change any more (answered,
        expired, or made before os1 restarted: then it expires now, undone);
        None if there is no such proposal."""
        action = next((a for a in self.memory.actions(limit=None) if a.id == proposal_id), None)
        if action is None:
            return None
        if action.status == "pending":
            self.memory.settle_action(action.id, "expired")
            return ConsentResolved(action.id, "expired", STALE)
        return ConsentResolved(action.id, action.status, action.outcome or STALE)

    def actions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The action log, newest first (JSON-ready); ``answerable``: os1
        is waiting for the person's answer to it."""
        waiting = {p.id for p in self.companion.pending} if self.companion is not None else set()
        return [{"id": a.id, "tool": a.tool, "arguments": a.arguments, "action": a.action,
                 "warnings": list(a.warnings), "status": a.status, "outcome": a.outcome,
                 "created_at": a.created_at, "expires_at": a.expires_at, "settled_at": a.settled_at,
                 "answerable": a.id in waiting} for a in self.memory.actions(limit=limit)]

    async def _run(self, start: Callable[[Companion], AsyncIterator[Event]],
                   channel: str) -> AsyncIterator[Event]:
        companion = await self.ready()
        events: asyncio.Queue[Event | None] = asyncio.Queue()
        reading = True

        async def run() -> None:
            try:
                async for event in start(companion):
                    events.put_nowait(event)
                    if reading and isinstance(event, UserTurn | ReplyDone):
                        # The thread's message reaches the pages only after this
                        # turn's own reader has taken the reply's last words:
                        # otherwise its page could see the reply end before them.
                        await events.join()
                    self.publish_event(event, channel)
            finally:
                events.put_nowait(None)

        task = asyncio.ensure_future(run())
        self._replies.add(task)
        task.add_done_callback(self._replies.discard)
        try:
            while (event := await events.get()) is not None:
                events.task_done()
                yield event
        finally:
            reading = False  # gone: the turn goes on without waiting for us
            while not events.empty():
                events.get_nowait()
                events.task_done()
        await task  # re-raise what went wrong inside

    def remember(self, role: Literal["user", "assistant"], text: str, *, channel: str) -> int:
        """Keep a message of an exchange the companion did not run itself (an
        API client's own tool loop) in the conversation's memory, and show it
        in the thread."""
        companion = self.companion
        if companion is None or companion.session_id is None:
            raise Os1Error("os1 is still starting.")
        message_id = self.memory.add_message(companion.session_id, role, text, channel=channel)
        self.publish_event(UserTurn(message_id, text, channel) if role == "user"
                           else ReplyDone(text, message_id=message_id), channel)
        return message_id

    def publish_event(self, event: Event, channel: str) -> None:
        """Tell every open page about a new message in the thread."""
        if isinstance(event, UserTurn):
            self.publish({"role": "user", "id": f"m{event.message_id}", "text": event.text,
                          "channel": channel})
        elif isinstance(event, ReplyDone) and event.text:
            self.publish({"role": "assistant", "id": f"m{event.message_id}", "text": event.text,
                          "channel": channel, "interrupted": event.interrupted})

    def history(self, limit: int = 100) -> list[dict[str, Any]]:
        messages = self.memory.messages(limit=limit)
        return [{"role": m.role, "id": m.ref, "text": m.content, "channel": m.channel,
                 "interrupted": m.interrupted, "at": m.created_at} for m in messages]

    # -- reach-outs: os1 speaks first ------------------------------------------------------------

    async def reach_out(self, send: Send) -> None:
        """Say what the reach-out policy sends: into the thread of every open
        page (marked, for a notification), spoken in a call under way if the
        line is quiet, as a desktop notification where there is one; with no
        page open, it waits in the thread for the next."""
        from os1.reach.notify import notify
        from os1.reach.runner import reach_out

        companion = await self.ready()
        reached = await reach_out(companion, send, delivered=bool(self._listeners))
        self.publish({"role": "assistant", "id": f"m{reached.message_id}", "text": reached.text,
                      "channel": "text", "reach_out": {"entry": reached.entry_id, "reason": send.reason}})
        for call in list(self.calls):
            call.speak_first(reached.text, reached.message_id)
        # An open page notifies by itself (when hidden); this computer's desktop is the
        # operator's, so only their own reach-outs may show there.
        if not self._listeners and self.operator:
            notify(self.settings.persona.name, reached.text)

    def _reacher(self) -> Reacher:
        if self.reach is None:
            raise Os1Error("os1 is still starting.")
        return self.reach

    def reminders(self) -> list[dict[str, Any]]:
        """Their reminders and check-ins, next due first (JSON-ready)."""
        from os1.reach.store import SENDING

        reach = self._reacher()
        return [{"id": i.id, "kind": i.kind, "text": i.text, "when": reach.when(i), "due_at": i.due_at,
                 "repeats": i.schedule.repeats, "held": None if i.held == SENDING else i.held}
                for i in reach.store.items(kinds=("reminder", "check_in"))]

    def cancel_reminder(self, item_id: int) -> bool:
        reach = self._reacher()
        item = reach.store.get(item_id)
        if item is None or item.kind == "follow_up" or not reach.store.settle(item_id, "cancelled"):
            return False
        reach.store.log([item_id], "dropped", f"cancelled on the page: {item.text}", at=reach.clock())
        return True

    def edit_reminder(self, item_id: int, *, text: str | None = None, when: str | None = None) -> dict[str, Any]:
        """Change a reminder's words and/or time (in words: "tomorrow at 7pm",
        "every Monday at 9"). Raises ConfigError (a message for the person)
        when the time cannot be read or the reminder does not exist."""
        from os1.reach.schedule import at

        reach = self._reacher()
        item = reach.store.get(item_id)
        if item is None or item.status != "active" or item.kind == "follow_up":
            raise ConfigError(f"There is no active reminder #{item_id}.")
        schedule = item.schedule
        if when is not None and when.strip():
            found = at(when, reach.now())
            if found is None:
                raise ConfigError(f"I can't tell when {when!r} is: try a day and a time, like "
                                  "\"tomorrow at 7pm\" or \"every Monday at 9\".")
            schedule = found
        elif item.due_at is not None and schedule.repeats:
            # Only the words change: it stays due when it was (not at its first time, long past).
            schedule = replace(schedule, first=datetime.fromtimestamp(item.due_at, schedule.first.tzinfo))
        words = " ".join((text or "").split()) or None
        if words is not None and len(words) > 200:
            raise ConfigError("A reminder's words must be at most 200 characters.")
        reach.store.reschedule(item_id, schedule, text=words, now=reach.clock())
        return next(r for r in self.reminders() if r["id"] == item_id)

    def reach_log(self, limit: int = 50) -> list[dict[str, Any]]:
        """What os1 sent on its own, held back or dropped, and why; newest first."""
        reach = self._reacher()
        return [{"id": e.id, "at": e.at, "decision": e.decision, "reason": e.reason, "text": e.text,
                 "delivered": e.delivered_at is not None, "answered": e.answered_at is not None,
                 "dismissed": e.dismissed} for e in reversed(reach.store.entries(limit=limit))]

    def dismiss(self, entry_id: int) -> bool:
        """The person waved a reach-out away (it counts against asking again soon)."""
        return self._reacher().store.dismiss(entry_id)

    # -- mail ----------------------------------------------------------------------------------

    async def mailbox(self) -> MailStore | None:
        """The person's mail store, once it is open; None if they have no account."""
        if self._startup is not None:
            await self._mail_opened.wait()
        return self.mail

    def mail_status(self) -> dict[str, Any]:
        """The last sync (JSON-ready): ``running``, ``at`` (when the last one
        finished, Unix seconds), ``error`` (why it failed, or None), and while
        one runs its ``progress`` ({folder, done, total} of the folder being read)."""
        return dict(self._mail_state)

    async def sync_mail(self) -> dict[str, Any]:
        """Read what is new on every account's server into the store, in a
        worker thread, one sync at a time (a second caller waits, then syncs
        again). Raises :class:`~os1.mail.client.MailError` (after trying every
        account) with what the server said."""
        from os1.mail.client import MailError, SyncReport, sync

        store = await self.mailbox()
        if store is None:
            raise ConfigError(NO_MAIL)

        def between_batches(folder: str, done: int, total: int) -> None:
            self._mail_state["progress"] = {"folder": folder, "done": done, "total": total}
            if self._mail_stop.is_set():
                raise _SyncStopped()

        async with self._mail_lock:
            self._mail_state["running"] = True
            new, skipped, failures = 0, list[str](), list[str]()
            try:
                accounts = store.accounts()
                for account in accounts:
                    if self._mail_stop.is_set():
                        raise Os1Error("os1 is stopping; the mail sync stopped.")
                    self._mail_job = job = asyncio.ensure_future(
                        asyncio.to_thread(sync, store, account, progress=between_batches))
                    try:
                        # Shielded: a cancelled caller leaves the thread to end (close() waits for it).
                        report: SyncReport = await asyncio.shield(job)
                    except MailError as exc:
                        failures.append(f"{account.name}: {exc}" if len(accounts) > 1 else str(exc))
                        continue
                    except _SyncStopped as exc:
                        raise Os1Error("os1 is stopping; the mail sync stopped.") from exc
                    new += report.new
                    skipped += report.skipped
            finally:
                self._mail_state["running"] = False
                self._mail_state["progress"] = None
            self._mail_state["at"] = time.time()
            self._mail_state["error"] = " ".join(failures) or None
            if failures:
                raise MailError(" ".join(failures))
            return {"new": new, "skipped": skipped}

    async def _sync_mail_forever(self, every: float) -> None:
        """Sync at start, then every ``every`` seconds, while there is mail to
        sync; a failure is logged (and shown by :meth:`mail_status`), never fatal."""
        if await self.mailbox() is None:
            return
        while True:
            try:
                report = await self.sync_mail()
                if report["new"] or report["skipped"]:
                    log.info("mail: %d new; skipped %s", report["new"], report["skipped"] or "none")
                # Search by sense too: vectors for what came in, a batch at a time (at
                # background priority on the CPU lane, so never beside a reply).
                store = await self.mailbox()
                while store is not None and not self._mail_stop.is_set():
                    async with self._mail_lock:
                        if not await asyncio.to_thread(store.embed_pending, 16):
                            break
            except Os1Error as exc:
                log.warning("mail sync failed: %s", exc)
            except Exception:  # noqa: BLE001 - the next round may do better; the server goes on
                log.exception("mail sync failed")
                self._mail_state["error"] = "The mail sync failed unexpectedly (see os1's log)."
            await asyncio.sleep(every)

    async def _stop_mail(self) -> bool:
        """Stop the background sync and wait (a while) for a sync under way;
        True if one is still running and so still uses the store."""
        self._mail_stop.set()
        if self._mail_loop is not None:
            self._mail_loop.cancel()
            await asyncio.gather(self._mail_loop, return_exceptions=True)
        job = self._mail_job
        if job is None or job.done():
            return False
        await asyncio.wait([job], timeout=MAIL_STOP_WAIT)
        if not job.done():
            log.warning("a mail sync is still running; os1 stops without waiting for it")
            return True
        if not job.cancelled():
            job.exception()  # seen: what it raised no longer matters
        return False

    # -- settings ----------------------------------------------------------------------------

    def public_settings(self) -> dict[str, Any]:
        s = self.settings
        return {"name": s.persona.name, "speed": s.voice.speed, "model": s.llm.model,
                # The person's time zone: the one set, else this computer's (what os1 uses).
                "timezone": s.reach.timezone or str(s.reach.zone), "computer_timezone": str(local_zone()),
                "quiet_hours": s.reach.quiet_hours, "restart_needed": self.restart_needed}

    async def update_settings(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Save the page's settings to the config file and apply what can be
        applied live: the name (a new conversation starts), the voice speed,
        the time zone and the quiet hours (reminders and reach-outs follow them
        at once)."""
        s = self.settings
        name = str(changes.get("name", s.persona.name)).strip()
        model = str(changes.get("model", s.llm.model)).strip()
        try:
            speed = float(changes.get("speed", s.voice.speed))
        except (TypeError, ValueError) as exc:
            raise ConfigError("The voice speed must be a number.") from exc
        if len(name) > 40:
            raise ConfigError("The companion's name must be at most 40 characters.")
        reach, reach_changes = _reach_changes(s, changes)
        if model != s.llm.model and not self.operator:
            raise ConfigError("The model is chosen by whoever runs this os1.")
        path = s.config_file or s.home / "config.toml"
        new = replace(s, config_file=path, persona=replace(s.persona, name=name),
                      voice=replace(s.voice, speed=speed), llm=replace(s.llm, model=model), reach=reach)
        check_settings(new)  # what a config file with these values would be told
        if reach.quiet is not None:  # "8:00 - 22:00" is kept as "08:00-22:00"
            reach = replace(reach, quiet_hours="-".join(t.strftime("%H:%M") for t in reach.quiet))
            new = replace(new, reach=reach)
            if "quiet_hours" in reach_changes:
                reach_changes["quiet_hours"] = reach.quiet_hours
        written: dict[str, dict[str, Any]] = {"persona": {"name": name}, "voice": {"speed": speed},
                   **({"llm": {"model": model}} if self.operator else {}),
                   **({"reach": reach_changes} if reach_changes else {})}
        if self.own is not None:
            await asyncio.to_thread(self.own.update, written)
        else:
            await asyncio.to_thread(update_config_file, path, written)
        if model != s.llm.model:
            self.restart_needed = True  # a new model means reloading it: on the next start
        replaced = self.adopt(replace(new, llm=s.llm))  # the running model stays as it is
        if replaced is not None:
            await replaced.close()
        return self.public_settings()

    def follow_settings(self) -> None:
        """Settings another worker saved for this person (on os1's database),
        applied here too; asked at most every few seconds."""
        if self.own is None or not self.own.changed():
            return
        replaced = self.adopt(replace(self.own.settings(), llm=self.settings.llm))
        if replaced is not None:
            closing = asyncio.get_running_loop().create_task(replaced.close())
            self._replies.add(closing)
            closing.add_done_callback(self._replies.discard)

    def adopt(self, new: Settings) -> Companion | None:
        """New settings applied live: the voice speed (the next call), the time
        zone and quiet hours (reminders and reach-outs follow them at once), the
        companion's name (a new conversation starts; an ongoing call keeps its
        own). Returns the companion replaced, for the caller to close."""
        s = self.settings
        self.settings = new
        if new.voice.speed != s.voice.speed:
            self._voice = None  # the next call gets a voice at the new speed (a call under way keeps its own)
        if self.reach is not None and new.reach != s.reach:
            self.reach.tz = new.reach.zone
            self.reach.judgement = replace(self.reach.judgement, quiet=new.reach.quiet)
        if new.persona.name == s.persona.name or self.companion is None:
            return None
        old = self.companion
        self.companion = Companion(self.settings, old.llm, old.memory, channel="text",
                                   tools=old.tools, reach=old.reach, follow=self.follows)
        self.companion.start()
        return old


def _reach_changes(s: Settings, changes: dict[str, Any]) -> tuple[ReachSettings, dict[str, str]]:
    """The ``[reach]`` settings ``changes`` asks for (not yet checked), and
    what to write to the config file for them (only what changed: a zone that
    follows the computer keeps following it). A time zone of "" or null: this
    computer's."""
    reach = s.reach
    written: dict[str, str] = {}
    if "timezone" in changes:
        zone = changes["timezone"]
        if zone is not None and not isinstance(zone, str):
            raise ConfigError("The time zone must be a name such as \"Europe/Berlin\".")
        zone = (zone or "").strip() or None
        if zone != (reach.timezone or str(reach.zone)) and zone != reach.timezone:
            reach = replace(reach, timezone=zone)
            written["timezone"] = zone or ""  # "" in the file: this computer's
    if "quiet_hours" in changes:
        quiet = changes["quiet_hours"]
        if quiet is None:
            quiet = ""
        if not isinstance(quiet, str):
            raise ConfigError(f"quiet hours must look like \"22:00-08:00\" (or \"\" for none), not {quiet!r}.")
        if quiet.strip() != reach.quiet_hours:
            reach = replace(reach, quiet_hours=quiet.strip())
            written["quiet_hours"] = quiet.strip()
    return reach, written

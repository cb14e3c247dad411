"""Wiring: settings -> memory store + model -> a companion session.

The one place that decides which implementations serve a Settings; front ends
(terminal, web, benchmarks) ask here instead of building parts themselves.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from os1.config import Settings
from os1.memory.sqlite import SQLiteMemory
from os1.memory.store import MemoryStore
from os1.mind.companion import Companion
from os1.mind.engines import open_llm
from os1.mind.llm import LLM
from os1.assets import Progress
from os1.tools import Tools

if TYPE_CHECKING:
    from os1.agenda.tools import Agenda
    from os1.reach.runner import Reacher
    from os1.mail.store import MailStore
    from os1.ears import Transcriber
    from os1.talk import VoiceParts
    from os1.tools.notes import Notes
    from os1.voice import Synthesizer


def open_memory(settings: Settings) -> MemoryStore:
    """This person's memory: in PostgreSQL when ``[storage] url`` names one, else the SQLite file."""
    if settings.storage.url:
        from os1.memory.postgres import PostgresMemory

        return PostgresMemory(settings.storage.url, settings.user, zone=settings.reach.zone)
    return SQLiteMemory(settings.database, settings.user, zone=settings.reach.zone)


def mail_where(settings: Settings) -> Path | str:
    """Where this person's mail is kept: beside their memory in the PostgreSQL
    database of ``[storage] url``, else in its own SQLite file."""
    return settings.storage.url or settings.mail_database


def open_mail(settings: Settings) -> MailStore | None:
    """This person's mail store, if they added an account (``os1 mail add``)."""
    where = mail_where(settings)
    if isinstance(where, Path) and not where.exists():
        return None  # no file: no account, and none is made for nothing
    from os1.mail.store import MailStore

    store = MailStore(where, settings.user)
    if not store.accounts():
        store.close()
        return None
    return store


def open_reach(settings: Settings, memory: MemoryStore | None = None, *,
               clock: Callable[[], float] = time.time) -> Reacher:
    """This person's reminders and reach-outs, judged by their settings."""
    from os1.reach.policy import Judgement
    from os1.reach.runner import Reacher
    from os1.reach.store import ReachStore

    judgement = Judgement(quiet=settings.reach.quiet, daily_budget=settings.reach.daily_budget)
    store = ReachStore(settings.storage.url or settings.database, settings.user)
    return Reacher(store, memory, tz=settings.reach.zone, judgement=judgement, clock=clock)


def open_notes(settings: Settings) -> Notes:
    """Where this person's notes go: os1's database when there is one (and no
    folder was set), so every worker finds them; else their notes folder."""
    from os1.tools.notes import DatabaseNotes, FolderNotes

    if settings.storage.url and settings.notes is None:
        return DatabaseNotes(settings.storage.url, settings.user)
    return FolderNotes(settings.notes_dir)


def open_tools(settings: Settings, memory: MemoryStore, mail: MailStore | None = None,
               llm: LLM | None = None) -> Tools:
    """The tools a conversation of this person's has: the basics, and their
    email, letters, files and calendar where they set them up. (Reminders are
    read from their words by the turn itself: Companion._scheduled.)"""
    from os1.tools.basics import basic_tools

    tools = Tools(basic_tools(memory, open_notes(settings)))
    if mail is not None:
        from os1.mail.tools import Mailbox, mail_tools

        tools.tools += mail_tools(Mailbox(mail))
    docs = settings.documents
    if docs.letters_dir is not None and llm is not None:
        from os1.letters.desk import Desk, letter_tools

        desk = Desk(docs.letters_dir, llm, memory, channel=lambda: tools.channel)
        tools.tools += letter_tools(desk)
        tools.answering.append(desk.answer)
    if docs.roots:
        from os1.files.folders import Folders
        from os1.files.tools import file_tools

        tools.tools += file_tools(Folders(docs.roots))
    if settings.calendar.configured:
        from os1.agenda.tools import calendar_tools

        agenda = open_agenda(settings)
        tools.tools += calendar_tools(agenda)
        tools.answering.append(agenda.answer)
    return tools


def open_agenda(settings: Settings) -> Agenda:
    """This person's calendar (CalDAV or an .ics file), read in their zone."""
    from datetime import time as day_time

    from os1.agenda.calendar import CalDavCalendar, IcsCalendar
    from os1.agenda.tools import Agenda

    cal = settings.calendar
    zone = settings.reach.zone
    calendar: CalDavCalendar | IcsCalendar
    if cal.url:
        import os

        password = os.environ.get("OS1_CALENDAR_PASSWORD") or _keyring_password(cal.url, cal.user)
        calendar = CalDavCalendar(cal.url, zone, username=cal.user, password=password, calendar=cal.name)
    else:
        assert cal.ics is not None
        calendar = IcsCalendar(Path(cal.ics).expanduser(), zone)
    return Agenda(calendar, zone, opens=day_time.fromisoformat(cal.day_starts.zfill(5)),
                  closes=day_time.fromisoformat(cal.day_ends.zfill(5)))


def _keyring_password(url: str, user: str | None) -> str | None:
    if not user:
        return None
    try:
        import keyring

        return keyring.get_password(f"os1-calendar {url}", user)
    except Exception:  # noqa: BLE001 - no keyring backend on this machine
        return None


@asynccontextmanager
async def companion_session(
    settings: Settings,
    *,
    channel: str = "text",
    progress: Progress | None = None,
    llm: LLM | None = None,
    remember: bool = True,
) -> AsyncIterator[Companion]:
    """A started :class:`Companion`; on exit the session is closed, facts are
    mined from what was said (unless ``remember`` is false: benchmarks), and
    the model and database are released."""
    memory = open_memory(settings)
    mail = open_mail(settings)
    reach = open_reach(settings, memory)
    own_llm = llm is None
    try:
        model = llm or open_llm(settings, progress)
        try:
            companion = Companion(settings, model, memory, channel=channel,
                                  tools=open_tools(settings, memory, mail, model), reach=reach)
            companion.start()
            try:
                yield companion
            finally:
                await companion.close(remember=remember)
        finally:
            if own_llm:
                await model.aclose()
    finally:
        memory.close()
        reach.store.close()
        if mail is not None:
            mail.close()


def forget_person(settings: Settings, name: str) -> int:
    """Delete everything os1 keeps of ``name`` (their account is being
    removed): memory, reminders, os1's copy of their mail and its passwords in
    the keyring, their notes and settings. How many records went."""
    import shutil
    from os1.config import person_settings
    from os1.reach.store import ReachStore

    person = person_settings(settings, name)
    gone = 0
    memory = open_memory(person)
    try:
        gone += memory.forget_everything()
    finally:
        memory.close()
    reach = ReachStore(person.storage.url or person.database, name)
    try:
        gone += reach.forget_everything()
    finally:
        reach.close()
    where = mail_where(person)
    if not isinstance(where, Path) or where.exists():
        from os1.mail.client import forget_password
        from os1.mail.store import MailStore

        mail = MailStore(where, name, embedder=None)
        try:
            for account in mail.accounts():
                forget_password(name, account.name)
            gone += mail.forget_everything()
        finally:
            mail.close()
    from os1.person_config import OwnSettings
    from os1.tools.notes import DatabaseNotes

    OwnSettings(settings, name).forget()
    if settings.storage.url:
        gone += DatabaseNotes(settings.storage.url, name).forget()
    own = settings.home / "people" / name
    if own.is_dir():
        shutil.rmtree(own)
    return gone


def open_voice_parts(settings: Settings) -> VoiceParts:
    """VAD, turn model, ears and voice as configured (embedded by default)."""
    from os1.audio.smart_turn import SmartTurn, smart_turn_path
    from os1.audio.vad import SileroVAD
    from os1.talk import VoiceParts

    path = smart_turn_path() if settings.voice.turn_model else None
    return VoiceParts(vad=SileroVAD(), ears=open_transcriber(settings), voice=open_synthesizer(settings),
                      turn_model=SmartTurn(path) if path else None)


def open_transcriber(settings: Settings) -> Transcriber:
    v = settings.voice
    if v.asr.startswith(("http://", "https://")):
        from os1.ears.openai_stt import OpenAITranscriber

        return OpenAITranscriber(v.asr, model=v.asr_model, api_key=v.api_key)
    from os1.ears.whisper import WhisperTranscriber, ensure_whisper_base, ensure_whisper_tiny_en

    return WhisperTranscriber(ensure_whisper_base(settings.cache_dir),
                              second=ensure_whisper_tiny_en(settings.cache_dir))


def open_synthesizer(settings: Settings) -> Synthesizer:
    v = settings.voice
    if v.tts.startswith(("http://", "https://")):
        from os1.voice.openai_tts import OpenAISynthesizer

        return OpenAISynthesizer(v.tts, model=v.tts_model, voice=v.tts_voice, api_key=v.api_key,
                                 speed=v.speed)
    from os1.voice.piper import PiperSynthesizer

    return PiperSynthesizer(None if v.tts == "piper" else Path(v.tts).expanduser(), speed=v.speed)

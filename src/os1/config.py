"""One frozen settings tree, built once from file, environment and flags.

Precedence, lowest to highest: defaults < config file < environment < flags.
``load_settings`` is the only place that reads the environment or a file;
everything else receives a :class:`Settings` and never looks anything up.

Config file: ``$OS1_HOME/config.toml`` (or ``--config`` / ``OS1_CONFIG``)::

    country = "GB"                 # which crisis line os1 names (default: this computer's time zone)
    notes = "~/Notes"              # where os1 saves notes you ask for (default: $OS1_HOME/notes)

    [llm]
    model = "qwen2.5-1.5b"        # qwen2.5-0.5b, or an OpenAI-compatible base URL
    server_model = "llama3.2"     # model name sent to a remote server
    api_key = "sk-..."            # optional
    context_length = 4096
    temperature = 0.7
    max_reply_tokens = 400
    timeout = 60

    [persona]
    name = "Mira"
    description = "..."            # replaces the default personality text

    [reach]
    timezone = "Europe/Berlin"     # the person's time zone (default: this computer's)
    quiet_hours = "22:00-08:00"    # no reach-outs in these hours ("" : none)
    daily_budget = 2               # follow-ups a day they did not ask for

    [voice]
    tts = "piper"                  # or a Piper voice (.onnx path), or a speech server URL
    asr = "whisper-base"           # or a transcription server URL
    speed = 1.0

Environment: ``OS1_HOME``, ``OS1_CONFIG``, ``OS1_LLM`` (same values as
``llm.model``), ``OS1_LLM_MODEL`` (= ``server_model``), ``OS1_LLM_API_KEY``,
``OS1_NAME`` (companion name), ``OS1_USER`` (whose memory to use), ``OS1_COUNTRY``,
``OS1_TTS``, ``OS1_ASR`` (same values as ``voice.tts`` / ``voice.asr``), ``OS1_NOTES``,
``OS1_TIMEZONE``, ``OS1_QUIET_HOURS``.
"""

from __future__ import annotations

import errno
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, time, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from os1.errors import ConfigError, StorageFull

#: Embedded models by their public name: (package stem, number of parts).
LOCAL_MODELS = ("qwen2.5-1.5b", "qwen2.5-0.5b")
DEFAULT_MODEL = "qwen2.5-1.5b"


@dataclass(frozen=True, kw_only=True, slots=True)
class LLMSettings:
    """Which language model answers, and how."""

    model: str = DEFAULT_MODEL
    server_model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    context_length: int = 4096
    temperature: float = 0.7
    max_reply_tokens: int = 400
    timeout: float = 60.0
    threads: int | None = None  # None: one per physical core
    #: With accounts (many people): replies written at once (0: 1 embedded, 4 on a server),
    #: at once per person, and how long one waits for a turn before "busy, try again".
    concurrency: int = 0
    per_person: int = 1
    queue_seconds: float = 90.0

    @property
    def is_remote(self) -> bool:
        return self.model.startswith(("http://", "https://"))


@dataclass(frozen=True, kw_only=True, slots=True)
class PersonaSettings:
    """Who the companion is."""

    name: str = "Mira"
    description: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class VoiceSettings:
    """Ears and voice. ``tts``: "piper" (embedded), a Piper ``.onnx`` voice by
    path, or an OpenAI-compatible base URL; ``asr``: "whisper-base" or a URL."""

    tts: str = "piper"
    tts_model: str = "tts-1"  # for a remote speech server
    tts_voice: str = "alloy"  # for a remote speech server
    asr: str = "whisper-base"
    asr_model: str = "whisper-1"  # for a remote transcription server
    api_key: str | None = field(default=None, repr=False)
    speed: float = 1.0
    turn_model: bool = True  # smart-turn v3.2, when installed


@dataclass(frozen=True, kw_only=True, slots=True)
class ReachSettings:
    """When os1 may reach out on its own (reach/)."""

    timezone: str | None = None  # IANA name; None: this computer's
    quiet_hours: str = "22:00-08:00"  # local "HH:MM-HH:MM"; "": none
    daily_budget: int = 2

    @property
    def zone(self) -> tzinfo:
        return ZoneInfo(self.timezone) if self.timezone else local_zone()

    @property
    def quiet(self) -> tuple[time, time] | None:
        if not self.quiet_hours.strip():
            return None
        start, end = self.quiet_hours.split("-")
        return time.fromisoformat(start.strip().zfill(5)), time.fromisoformat(end.strip().zfill(5))


def local_zone() -> tzinfo:
    """This computer's time zone: ``TZ``, else /etc/localtime's name, else its offset now."""
    for name in (os.environ.get("TZ", "").lstrip(":"), _etc_localtime()):
        if name:
            try:
                return ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return datetime.now().astimezone().tzinfo or timezone.utc


def _etc_localtime() -> str:
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return ""
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""


@dataclass(frozen=True, kw_only=True, slots=True)
class DocumentSettings:
    """The person's letters and the folders os1 may read (letters/, files/)."""

    letters: str | None = None  # the folder of their letters
    folders: list[str] | None = None  # more folders to search and read (the letters folder always is one)

    @property
    def letters_dir(self) -> Path | None:
        return Path(self.letters).expanduser() if self.letters else None

    @property
    def roots(self) -> tuple[Path, ...]:
        roots = [Path(f).expanduser() for f in self.folders or ()]
        if self.letters_dir is not None:
            roots.insert(0, self.letters_dir)
        return tuple(dict.fromkeys(roots))


@dataclass(frozen=True, kw_only=True, slots=True)
class CalendarSettings:
    """The person's calendar (agenda/): a CalDAV server, or a local .ics file."""

    url: str | None = None  # CalDAV, e.g. https://cloud.example.org/remote.php/dav
    user: str | None = None
    #: The password comes from OS1_CALENDAR_PASSWORD or the system keyring, never this file.
    name: str | None = None  # which of the server's calendars (None: the first)
    ics: str | None = None  # a local calendar file instead
    day_starts: str = "09:00"  # the hours "when am I free?" looks at
    day_ends: str = "18:00"

    @property
    def configured(self) -> bool:
        return bool(self.url or self.ics)


@dataclass(frozen=True, kw_only=True, slots=True)
class StorageSettings:
    """Where memory is kept: the embedded SQLite file (default), or a PostgreSQL
    database (with pgvector) for os1 serving many people."""

    url: str | None = field(default=None, repr=False)  # postgresql://user:password@host/db


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Everything os1 is configured with. Built by :func:`load_settings`."""

    home: Path
    cache_dir: Path
    user: str = "local"
    #: Two letters ("GB"): which crisis line os1 names; else this computer's time zone's country.
    country: str | None = None
    config_file: Path | None = None
    llm: LLMSettings = LLMSettings()
    persona: PersonaSettings = PersonaSettings()
    voice: VoiceSettings = VoiceSettings()
    reach: ReachSettings = ReachSettings()
    documents: DocumentSettings = DocumentSettings()
    calendar: CalendarSettings = CalendarSettings()
    storage: StorageSettings = StorageSettings()
    #: Where notes the person asks for are saved (None: os1's PostgreSQL database
    #: when there is one, so any worker finds them; else ``home / "notes"``).
    notes: Path | None = None

    @property
    def database(self) -> Path:
        return self.home / "os1.sqlite3"

    @property
    def mail_database(self) -> Path:
        """os1's copy of the person's mail (a cache of their servers')."""
        return self.home / "mail.sqlite3"

    @property
    def notes_dir(self) -> Path:
        return self.notes or self.home / "notes"


def default_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".local" / "share")
    return Path(base) / "os1"


def default_cache(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~")).expanduser() / ".cache")
    return Path(base) / "os1"


def load_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Build the settings tree. ``flags`` holds command-line values (None = unset)."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env

    home = Path(flags.get("home") or env.get("OS1_HOME") or default_home(env)).expanduser()
    cache = Path(env.get("OS1_CACHE") or default_cache(env)).expanduser()
    config_path = flags.get("config") or env.get("OS1_CONFIG")
    explicit = config_path is not None
    config_file = Path(str(config_path)).expanduser() if explicit else home / "config.toml"

    raw: dict[str, Any] = {}
    if config_file.exists():
        raw = _read_toml(config_file)
    elif explicit:
        raise ConfigError(f"Config file {config_file} does not exist.")

    llm = _section(LLMSettings(), raw.get("llm", {}), config_file, "llm")
    persona = _section(PersonaSettings(), raw.get("persona", {}), config_file, "persona")
    voice = _section(VoiceSettings(), raw.get("voice", {}), config_file, "voice")
    reach = _section(ReachSettings(), raw.get("reach", {}), config_file, "reach")
    reach = replace(reach, timezone=flags.get("timezone") or env.get("OS1_TIMEZONE") or reach.timezone,
                    quiet_hours=flags.get("quiet_hours", env.get("OS1_QUIET_HOURS", reach.quiet_hours)))
    _validate_reach(reach, config_file if config_file.exists() else None)
    documents = _section(DocumentSettings(), raw.get("documents", {}), config_file, "documents")
    folders = env.get("OS1_FOLDERS")
    documents = replace(documents, letters=env.get("OS1_LETTERS") or documents.letters,
                        folders=[f for f in folders.split(os.pathsep) if f] if folders else documents.folders)
    calendar = _section(CalendarSettings(), raw.get("calendar", {}), config_file, "calendar")
    if where := env.get("OS1_CALENDAR"):
        calendar = replace(calendar, url=where if "://" in where else None,
                           ics=None if "://" in where else where)
    calendar = replace(calendar, user=env.get("OS1_CALENDAR_USER") or calendar.user)
    for hours in (calendar.day_starts, calendar.day_ends):
        try:
            time.fromisoformat(hours.zfill(5))
        except ValueError:
            raise ConfigError(f"calendar hours must be HH:MM, not {_shown(hours)}.") from None
    storage = _section(StorageSettings(), raw.get("storage", {}), config_file, "storage")
    storage = replace(storage, url=env.get("OS1_DATABASE_URL") or storage.url)
    if storage.url and not storage.url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("storage.url (OS1_DATABASE_URL) must be a postgresql:// URL.")
    user = str(raw.get("user", "local"))
    country = raw.get("country")
    notes = env.get("OS1_NOTES") or raw.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ConfigError(f"Config file {config_file}: notes must be a folder's path, not {_shown(notes)}.")

    # Environment over file.
    llm = replace(
        llm,
        model=env.get("OS1_LLM") or llm.model,
        server_model=env.get("OS1_LLM_MODEL") or llm.server_model,
        api_key=env.get("OS1_LLM_API_KEY") or llm.api_key,
    )
    persona = replace(persona, name=env.get("OS1_NAME") or persona.name)
    user = env.get("OS1_USER") or user
    country = env.get("OS1_COUNTRY") or country
    if country is not None and not (isinstance(country, str) and len(country) == 2 and country.isalpha()):
        raise ConfigError(f"country must be a two-letter country code such as \"GB\", not {_shown(country)}.")

    # Flags over environment.
    if "llm" in flags:
        llm = replace(llm, model=flags["llm"])
    if "name" in flags:
        persona = replace(persona, name=flags["name"])
    if "user" in flags:
        user = flags["user"]

    _validate(llm, persona, voice, user, config_file if config_file.exists() else None)
    return Settings(
        home=home,
        cache_dir=cache,
        user=user,
        country=country.upper() if country else None,
        config_file=config_file if config_file.exists() else None,
        llm=llm,
        persona=persona,
        notes=Path(notes).expanduser() if notes else None,
        reach=reach,
        documents=documents,
        calendar=calendar,
        storage=storage,
        voice=replace(
            voice,
            tts=env.get("OS1_TTS") or voice.tts,
            asr=env.get("OS1_ASR") or voice.asr,
        ),
    )


def person_settings(base: Settings, name: str, own: Mapping[str, Any] | None = None,
                    where: str | None = None) -> Settings:
    """The settings of one of the people an os1 with accounts serves: the
    operator's (model, voice engines, data directory), with their own name
    for the companion, voice speed, time zone and quiet hours (what the page's
    settings write: ``own``, read from os1's database by person_config.py;
    else ``people/NAME/config.toml``), their own notes folder; and none of
    the operator's folders, letters or calendar, which are paths on this
    machine, not theirs. With a database, their notes are kept in it
    (tools/notes.py). ``where``: how messages name the settings' place."""
    path = base.home / "people" / name / "config.toml"
    if own is None:
        own = _read_toml(path) if path.exists() else {}
        where = str(path)
    label = where or str(path)
    persona = _section(base.persona, own.get("persona", {}), label, "persona")
    voice = _section(base.voice, {k: v for k, v in own.get("voice", {}).items() if k == "speed"}, label, "voice")
    reach = _section(base.reach, own.get("reach", {}), label, "reach")
    _validate_reach(reach, label if own else None)
    return replace(base, user=name, config_file=path, persona=persona, voice=voice, reach=reach,
                   notes=None if base.storage.url else path.parent / "notes",  # None: in the database
                   documents=DocumentSettings(), calendar=CalendarSettings(),
                   country=own.get("country", base.country))


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: {exc}.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"Config file {path} is not UTF-8 text (a TOML file is): is it the right file?") \
            from exc
    except RecursionError as exc:
        raise ConfigError(f"Config file {path} is not valid TOML: it is nested too deeply.") from exc
    except OSError as exc:
        raise ConfigError(f"Config file {path} cannot be read: {exc.strerror}.") from exc


def _shown(value: object) -> str:
    """A value as a message quotes it: a long one cut short (a corrupt file
    may hold 100 kB on one line)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:70]}…{text[-8:]}"


def _section(default: Any, values: Any, path: Path | str, name: str) -> Any:
    if not isinstance(values, dict):
        raise ConfigError(f"Config file {path}: [{name}] must be a table.")
    known = {f.name: f for f in fields(default)}
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(
                f"Config file {path}: unknown setting {name}.{key} "
                f"(known: {', '.join(sorted(known))})."
            )
        expected = type(getattr(default, key))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if getattr(default, key) is not None and not isinstance(value, expected):
            raise ConfigError(
                f"Config file {path}: {name}.{key} must be a {expected.__name__}, "
                f"not {_shown(value)}."
            )
        changes[key] = value
    return replace(default, **changes)


def check_settings(settings: Settings) -> None:
    """The checks :func:`load_settings` makes, for settings changed later (the web page)."""
    _validate(settings.llm, settings.persona, settings.voice, settings.user, None)
    _validate_reach(settings.reach, None)


def _validate_reach(reach: ReachSettings, path: Path | str | None) -> None:
    where = f"Config file {path}: " if path else ""
    if reach.timezone:
        try:
            ZoneInfo(reach.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"{where}unknown time zone {_shown(reach.timezone)} (use a name such as "
                              "\"Europe/Berlin\" or \"America/New_York\").") from exc
    try:
        reach.quiet  # noqa: B018 - parsed to check it
    except ValueError as exc:
        raise ConfigError(f"{where}quiet hours must look like \"22:00-08:00\" (or \"\" for none), "
                          f"not {_shown(reach.quiet_hours)}.") from exc
    if reach.daily_budget < 0:
        raise ConfigError(f"{where}reach.daily_budget must be 0 or more.")


def _validate(llm: LLMSettings, persona: PersonaSettings, voice: VoiceSettings, user: str,
              path: Path | None) -> None:
    where = f"Config file {path}: " if path else ""
    if not llm.is_remote and llm.model not in LOCAL_MODELS:
        raise ConfigError(
            f"{where}unknown model {_shown(llm.model)}. Use one of {', '.join(LOCAL_MODELS)}, "
            "or the base URL of an OpenAI-compatible server (e.g. http://127.0.0.1:11434/v1)."
        )
    if llm.context_length < 1024:
        raise ConfigError(f"{where}llm.context_length must be at least 1024.")
    if not 0 <= llm.temperature <= 2:
        raise ConfigError(f"{where}llm.temperature must be between 0 and 2.")
    if llm.max_reply_tokens < 16:
        raise ConfigError(f"{where}llm.max_reply_tokens must be at least 16.")
    if llm.concurrency < 0 or llm.per_person < 1 or llm.queue_seconds <= 0:
        raise ConfigError(f"{where}llm.concurrency must be 0 or more, llm.per_person 1 or more and "
                          "llm.queue_seconds above 0.")
    if not persona.name.strip():
        raise ConfigError(f"{where}persona.name must not be empty.")
    if not 0.5 <= voice.speed <= 2.0:
        raise ConfigError(f"{where}voice.speed must be between 0.5 and 2.")
    if not user.strip():
        raise ConfigError("The user name (OS1_USER) must not be empty.")


def update_config_file(path: Path, changes: Mapping[str, Mapping[str, Any]]) -> None:
    """Write ``changes`` ({section: {key: value}}) into the TOML config file,
    keeping what else it says. Used by the web page's settings."""
    raw = _read_toml(path) if path.exists() else {}
    text = merged_toml(raw, changes, str(path)).encode("utf-8")
    tmp = path.with_suffix(".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(text)
        tmp.replace(path)  # atomically: a crash (or a full disk) never leaves half a config
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise StorageFull(f"The disk is full: os1 could not save {path}. Free some space there and "
                              "try again.") from exc
        raise ConfigError(f"Cannot write the config file {path}: {exc.strerror}.") from exc


def merged_toml(raw: dict[str, Any], changes: Mapping[str, Mapping[str, Any]], where: str) -> str:
    """The TOML text of ``raw`` (a config as read) with ``changes`` made."""
    for section, values in changes.items():
        table = raw.setdefault(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"Config file {where}: [{section}] must be a table.")
        table.update(values)
    lines = [f"{k} = {_toml_value(v)}" for k, v in raw.items() if not isinstance(v, dict)]
    for section, table in raw.items():
        if isinstance(table, dict):
            lines += ["", f"[{section}]", *(f"{k} = {_toml_value(v)}" for k, v in table.items())]
    text = "\n".join(lines).lstrip() + "\n"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate ("\ud800") is no text a file can hold
        raise ConfigError("A setting holds text that is not valid Unicode.") from exc
    return text


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        import json

        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    raise ConfigError(f"Cannot write {_shown(value)} to the config file.")

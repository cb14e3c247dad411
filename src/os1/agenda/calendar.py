"""Calendars: CalDAV (the ``caldav`` client) and a local ``.ics`` file.

Both expand recurring events with ``recurring-ical-events`` (RRULE, RDATE,
EXDATE, moved occurrences) between two instants, and give :class:`Event` s in
the person's zone. An all-day event keeps its date; a floating time is read in
the person's zone; a time in a zone nobody knows is read there too, and the
event says so (``zone_note``) rather than the whole calendar failing.
Library and network errors become :class:`CalendarError` where they enter.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path
from typing import Any, Protocol, TypeVar

from os1.errors import CalendarError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Event:
    uid: str
    title: str
    start: datetime  # in the person's zone (an all-day event: its date at 00:00)
    end: datetime
    all_day: bool = False
    location: str = ""
    recurring: bool = False
    zone_note: str = ""


class Calendar(Protocol):
    name: str

    def events(self, start: datetime, end: datetime) -> list[Event]: ...

    def add(self, title: str, start: datetime, end: datetime, location: str = "") -> Event: ...

    def move(self, uid: str, start: datetime, end: datetime) -> Event: ...

    def cancel(self, uid: str) -> None: ...


def _expand(calendars: list[Any], start: datetime, end: datetime, zone: tzinfo) -> list[Event]:
    import recurring_ical_events

    out: list[Event] = []
    for cal in calendars:
        # An occurrence no longer carries its rule: which events repeat is read from the source.
        repeating = {str(c.get("UID")) for c in cal.walk("VEVENT") if c.get("RRULE") or c.get("RDATE")}
        unknown = {str(c.get("UID")): c["DTSTART"].params["TZID"] for c in cal.walk("VEVENT")
                   if "DTSTART" in c and "TZID" in c["DTSTART"].params
                   and isinstance(c["DTSTART"].dt, datetime) and c["DTSTART"].dt.tzinfo is None}
        try:
            occurrences = recurring_ical_events.of(cal).between(start, end)
        except Exception as exc:  # noqa: BLE001 - a malformed rule or date
            raise CalendarError(f"An event in the calendar cannot be read ({exc}).") from exc
        for component in occurrences:
            event = _event(component, zone)
            note = (f"its time zone {unknown[event.uid]} is unknown, so the time is shown as yours"
                    if event.uid in unknown else event.zone_note)
            out.append(replace(event, recurring=event.recurring or event.uid in repeating, zone_note=note))
    out.sort(key=lambda e: e.start)
    return out


def _event(component: Any, zone: tzinfo) -> Event:
    raw_start = component.get("DTSTART")
    raw_end = component.get("DTEND")
    start_value = raw_start.dt
    if isinstance(start_value, datetime):
        start = _local(start_value, zone)
        if raw_end is not None:
            end = _local(raw_end.dt, zone)
        else:
            duration = component.get("DURATION")
            end = start + (duration.dt if duration is not None else timedelta(hours=1))
        all_day = False
    else:
        start = datetime.combine(start_value, time(), zone)
        end_value = raw_end.dt if raw_end is not None else start_value + timedelta(days=1)
        end = datetime.combine(end_value, time(), zone)
        all_day = True
    return Event(str(component.get("UID", "")), str(component.get("SUMMARY", "(untitled)")), start, end,
                 all_day, str(component.get("LOCATION", "") or ""),
                 component.get("RRULE") is not None or component.get("RDATE") is not None)


def _local(value: datetime, zone: tzinfo) -> datetime:
    """In the person's zone; a floating time (or one in a zone nobody knows) is read as theirs."""
    return value.replace(tzinfo=zone) if value.tzinfo is None else value.astimezone(zone)


def _vevent(title: str, start: datetime, end: datetime, location: str = "", uid: str = "") -> Any:
    from icalendar import Calendar as ICal
    from icalendar import Event as IEvent

    cal = ICal()
    cal.add("prodid", "-//os1//calendar//EN")
    cal.add("version", "2.0")
    event = IEvent()
    event.add("uid", uid or f"{uuid.uuid4()}@os1")
    event.add("summary", title)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("dtstamp", datetime.now().astimezone())
    if location:
        event.add("location", location)
    cal.add_component(event)
    return cal


class IcsCalendar:
    """A calendar in one ``.ics`` file, rewritten whole (atomically) on a change."""

    def __init__(self, path: Path, zone: tzinfo):
        self.path, self.zone = path, zone
        self.name = path.name

    def _read(self) -> Any:
        from icalendar import Calendar as ICal

        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return ICal()
        except OSError as exc:
            raise CalendarError(f"I cannot read the calendar file {self.path}: {exc.strerror}.") from exc
        try:
            return ICal.from_ical(data)
        except Exception as exc:  # noqa: BLE001 - icalendar raises ValueError and others
            raise CalendarError(f"The calendar file {self.path.name} is not valid iCalendar ({exc}).") from exc

    def _write(self, cal: Any) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".os1-", suffix=".ics", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(cal.to_ical())
            os.replace(tmp, self.path)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise CalendarError(f"I could not save the calendar file: {exc.strerror}. Nothing changed.") from exc

    def events(self, start: datetime, end: datetime) -> list[Event]:
        return _expand([self._read()], start, end, self.zone)

    def add(self, title: str, start: datetime, end: datetime, location: str = "") -> Event:
        cal = self._read()
        if not cal.get("PRODID"):
            cal.add("prodid", "-//os1//calendar//EN")
            cal.add("version", "2.0")
        made = _vevent(title, start, end, location)
        component = made.walk("VEVENT")[0]
        cal.add_component(component)
        self._write(cal)
        return _event(component, self.zone)

    def _find(self, cal: Any, uid: str) -> Any:
        for component in cal.walk("VEVENT"):
            if str(component.get("UID")) == uid and component.get("RECURRENCE-ID") is None:
                return component
        raise CalendarError("That event is no longer in the calendar.")

    def move(self, uid: str, start: datetime, end: datetime) -> Event:
        cal = self._read()
        component = self._find(cal, uid)
        for key, value in (("DTSTART", start), ("DTEND", end)):
            component.pop(key, None)
            component.add(key.lower(), value)
        self._write(cal)
        return _event(component, self.zone)

    def cancel(self, uid: str) -> None:
        cal = self._read()
        component = self._find(cal, uid)
        cal.subcomponents.remove(component)
        self._write(cal)


class CalDavCalendar:
    """A calendar on a CalDAV server (Radicale, Nextcloud, iCloud, Fastmail...)."""

    def __init__(self, url: str, zone: tzinfo, *, username: str | None = None, password: str | None = None,
                 calendar: str | None = None, timeout: int = 15):
        self.url, self.zone, self.calendar_name = url, zone, calendar
        self.username, self._password, self.timeout = username, password, timeout
        self.name = calendar or url
        self._calendar: Any = None

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except CalendarError:
            raise
        except Exception as exc:  # noqa: BLE001 - caldav/niquests raise many kinds
            kind = type(exc).__name__
            # By the error's kind (caldav's AuthorizationError, NotFoundError), not its words: a
            # refused connection's message can hold "401" in a number (it did once, in CI).
            if kind == "AuthorizationError":
                raise CalendarError(f"The calendar server refused the login ({what}).") from exc
            if kind == "NotFoundError":
                raise CalendarError(f"The calendar server has no such calendar or event ({what}).") from exc
            raise CalendarError(f"I could not reach the calendar at {self.url} ({what}: {kind}). "
                                "Nothing was changed.") from exc

    def _cal(self) -> Any:
        if self._calendar is None:
            import caldav

            dav_client: Any = caldav.DAVClient  # typed by caldav as a sync-or-async factory

            def connect() -> Any:
                client = dav_client(url=self.url, username=self.username, password=self._password,
                                          timeout=self.timeout, require_tls=False)
                principal = client.principal()
                calendars = principal.calendars()
                if self.calendar_name:
                    chosen = [c for c in calendars if self.calendar_name in (c.name, str(c.url))]
                    if not chosen:
                        raise CalendarError(f"The server has no calendar called {self.calendar_name!r}.")
                    return chosen[0]
                if not calendars:
                    return principal.make_calendar(name="os1")
                return calendars[0]

            self._calendar = self._call("connecting", connect)
        return self._calendar

    def events(self, start: datetime, end: datetime) -> list[Event]:
        cal = self._cal()
        found = self._call("reading events", lambda: cal.search(start=start, end=end, event=True))
        return _expand([obj.icalendar_instance for obj in found], start, end, self.zone)

    def add(self, title: str, start: datetime, end: datetime, location: str = "") -> Event:
        cal = self._cal()
        made = _vevent(title, start, end, location)
        self._call("adding the event", lambda: cal.add_event(made.to_ical().decode()))
        return _event(made.walk("VEVENT")[0], self.zone)

    def _object(self, uid: str) -> Any:
        cal = self._cal()
        return self._call("finding the event", lambda: cal.event_by_uid(uid))

    def move(self, uid: str, start: datetime, end: datetime) -> Event:
        obj = self._object(uid)
        component = obj.icalendar_component
        for key, value in (("DTSTART", start), ("DTEND", end)):
            component.pop(key, None)
            component.add(key.lower(), value)
        self._call("moving the event", obj.save)
        return _event(component, self.zone)

    def cancel(self, uid: str) -> None:
        obj = self._object(uid)
        self._call("cancelling the event", obj.delete)


def day_bounds(day: date, zone: tzinfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), zone)
    return start, start + timedelta(days=1)


def free_slots(events: list[Event], day: date, zone: tzinfo, *, opens: time = time(9),
               closes: time = time(18), shortest: timedelta = timedelta(minutes=30)) -> list[tuple[datetime, datetime]]:
    """The gaps of ``day`` between ``opens`` and ``closes`` that no timed event covers."""
    at, end = datetime.combine(day, opens, zone), datetime.combine(day, closes, zone)
    gaps = []
    for e in sorted((e for e in events if not e.all_day), key=lambda e: e.start):
        if e.end <= at or e.start >= end:
            continue
        if e.start - at >= shortest:
            gaps.append((at, e.start))
        at = max(at, e.end)
    if end - at >= shortest:
        gaps.append((at, end))
    return gaps

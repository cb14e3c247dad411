"""Everyone an ``os1 serve`` talks with: one :class:`Hub` per person, all
sharing one set of engines (the models load once).

Without accounts it holds the one hub of the one person (``settings.user``).
With accounts (``os1 user add``), each person's hub is opened at start, so
their reminders come due whether or not they are connected, and a person added
while the server runs gets theirs when they first log in. A request reaches a
hub only through :meth:`Hubs.get` with the name its login or token proved
(web/app.py), so no route can reach anyone else's conversation.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from os1.config import Settings
from os1.errors import Os1Error
from os1.person_config import OwnSettings
from os1.web.engines import Engines
from os1.web.hub import Hub

if TYPE_CHECKING:
    from os1.accounts import Accounts


class Hubs:
    def __init__(self, settings: Settings, *, accounts: Accounts | None = None,
                 engines: Engines | None = None, hub: Hub | None = None, **hub_options: Any):
        """``hub``: the single person's, when it was made outside (tests give
        theirs with a fake model); ``hub_options`` go to every hub made here."""
        self.settings = settings
        self.accounts = accounts
        self.engines = engines or (hub.engines if hub is not None else Engines(settings))
        self._options = hub_options
        self._hubs: dict[str, Hub] = {}
        self._started = False
        if hub is not None:
            self._hubs[hub.settings.user] = hub
        if accounts is not None and self.engines.gate is None:
            self.engines.share()

    def start(self, *, preload_voice: bool = True) -> None:
        self._started = True
        if preload_voice:
            self.engines.preload_voice()
        if self.accounts is None:
            self.get(self.settings.user)
        else:
            for person in self.accounts.people():
                self.get(person.name)
        for hub in self._hubs.values():
            if not hub.started:
                hub.start(preload_voice=False)

    def get(self, name: str) -> Hub:
        """``name``'s hub (opened now if it is not open yet)."""
        hub = self._hubs.get(name)
        if hub is not None:
            hub.follow_settings()
            return hub
        if self.accounts is None and name != self.settings.user:
            raise Os1Error(f"This os1 serves {self.settings.user} only.")
        if self.accounts is None:
            hub = Hub(self.settings, engines=self.engines, **self._options)
        else:
            own = OwnSettings(self.settings, name)
            hub = Hub(own.settings(), engines=self.engines, operator=False, own=own, **self._options)
        self._hubs[name] = hub
        if self._started:
            hub.start(preload_voice=False)
        return hub

    def open(self) -> list[Hub]:
        return list(self._hubs.values())

    async def close(self) -> None:
        await asyncio.gather(*(hub.close() for hub in self._hubs.values()), return_exceptions=True)
        own = [hub for hub in self._hubs.values() if hub.engines is self.engines and hub._own_engines]
        if not own:
            await self.engines.close()
        if self.accounts is not None:
            self.accounts.close()

"""``os1 serve``: the web page with a voice call, and the OpenAI-compatible API."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import secrets
import sys
from typing import TYPE_CHECKING, Any

from os1.cli.ui import progress_bar, style
from os1.config import Settings
from os1.errors import ConfigError

if TYPE_CHECKING:
    from os1.accounts import Accounts


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "serve", parents=[common], help="the web page (voice call, chat, memory) and an OpenAI-compatible API",
        description="Serve os1 on a web page: a call button to talk, the chat, what os1 remembers, "
        "and settings. The same server answers OpenAI-compatible clients at /v1 (chat "
        "completions, transcriptions, speech). It listens on 127.0.0.1 only, unless you "
        "give --host; any other address needs an access token.",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765; 0 picks a free one)")
    p.add_argument("--token", metavar="SECRET",
                   help="access token (env OS1_TOKEN); required when --host is not loopback; "
                   "'generate' makes one")
    p.add_argument("--no-voice", action="store_true", help="do not load the voice models at start")
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("OS1_TOKEN") or None
    if token == "generate":
        token = secrets.token_urlsafe(24)
    from os1.accounts import open_accounts

    accounts = open_accounts(settings)
    if accounts is not None:
        token = None  # each person logs in, or sends their own token (os1 user token)
    elif not _is_loopback(args.host) and not token:
        raise ConfigError(
            f"Listening on {args.host} makes os1 reachable from other machines, so it needs an "
            f"access token: os1 serve --host {args.host} --token generate (or set OS1_TOKEN)."
        )
    if token is not None and len(token) < 12:
        raise ConfigError("The access token must be at least 12 characters long.")
    if token is not None and not (token.isascii() and token.isprintable() and " " not in token):
        # It travels in headers and a cookie, which hold nothing else: no one could send it.
        raise ConfigError("The access token must be made of printable ASCII characters, without spaces.")
    return asyncio.run(_serve(settings, args.host, args.port, token, accounts, not args.no_voice))


async def _serve(settings: Settings, host: str, port: int, token: str | None, accounts: Accounts | None,
                 voice: bool) -> int:
    try:
        import uvicorn
    except ImportError as exc:
        raise ConfigError("os1 serve needs the web extra: pip install 'os1[web]'") from exc
    from os1.web.app import create_app
    from os1.web.engines import Engines
    from os1.web.hubs import Hubs

    joining = progress_bar(f"Preparing the {settings.llm.model} model (once)")
    hubs = Hubs(settings, accounts=accounts, engines=Engines(settings, progress=joining))
    app = create_app(hubs, token=token, preload_voice=voice)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", ws_max_size=4 * 1024 * 1024,
                            ws_ping_interval=20, lifespan="on",
                            # Compression would cost each page ~48 kB of zlib state (measured with
                            # tracemalloc over 1,000 idle sockets) for small JSON and audio that barely shrinks.
                            ws_per_message_deflate=False,
                            timeout_graceful_shutdown=10)  # open calls must not hold up a stop
    server = uvicorn.Server(config)

    async def announce() -> None:
        while not server.started:
            await asyncio.sleep(0.05)
        bound = server.servers[0].sockets[0].getsockname()[1] if server.servers else port
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{bound}/"
        print(f"{settings.persona.name} is at {style(url + (f'?token={token}' if token else ''), '1')}",
              flush=True)
        if accounts is not None:
            print(style(f"Everyone logs in there ({len(accounts.people())} users: os1 user list).", "2"),
                  flush=True)
        bearer = " (Authorization: Bearer <token>)" if token else \
            " (Authorization: Bearer <their token>: os1 user token NAME)" if accounts else ""
        print(style(f"OpenAI-compatible API: {url}v1{bearer}", "2"), flush=True)
        print(style("Ctrl-C stops the server.", "2"), file=sys.stderr, flush=True)

    watcher = asyncio.ensure_future(announce())
    try:
        await server.serve()
    finally:
        watcher.cancel()
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

"""The ASGI app of ``os1 serve``: the page, its WebSocket, the memory,
settings, action-log, reminders and inbox API, and the OpenAI-compatible API.

Who may talk to it (:class:`_Guard`, before any route):

- One person, on loopback without a token: only pages served by os1 itself
  (the Host must be a loopback name, which stops DNS rebinding, and a browser
  request from another origin is refused, which stops other web pages from
  using it). With a token (required on any other address), every request must
  carry it: ``Authorization: Bearer``, or the cookie the page gets when it is
  opened with ``?token=``.
- With accounts (``os1 user add``): a page logs in (``/login``) and gets an
  HttpOnly session cookie; what it asks to change must also carry the login's
  CSRF token (``X-CSRF-Token``), which other sites cannot read. An API client
  sends its own token (``os1 user token``) as ``Authorization: Bearer``.

Either way the guard puts the person's name in the request's scope, and routes
reach only that person's hub (``_hub``): the scope is fixed where a request enters.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from os1.errors import ConfigError, Os1Error, StorageBusy, StorageError, StorageFull
from os1.storage import MAX_ID
from os1.web import bodies, openai_api, openapi
from os1.web.hub import Hub
from os1.web.hubs import Hubs
from os1.web.realtime import Connection

if TYPE_CHECKING:
    from os1.mail.store import MailStore, StoredMail

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
LOOPBACK_NAMES = {"127.0.0.1", "localhost", "::1"}
COOKIE = "os1_token"
SESSION_COOKIE = "os1_session"
CSRF_COOKIE = "os1_csrf"
CSRF_HEADER = "x-csrf-token"
#: Paths anyone may fetch: the login form and the page's own files (they hold nothing private).
PUBLIC = ("/login", "/static/")


def create_app(hubs: Hub | Hubs, *, token: str | None = None, preload_voice: bool = True) -> Starlette:
    """The app over ``hubs`` (a single :class:`Hub` serves its one person)."""
    everyone = Hubs(hubs.settings, hub=hubs) if isinstance(hubs, Hub) else hubs

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        everyone.start(preload_voice=preload_voice)
        try:
            yield
        finally:
            await everyone.close()

    app = Starlette(
        routes=[
            Route("/", index, methods=["GET"]),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            # Guarded like the API it describes (not in PUBLIC): it holds nothing secret, but
            # one person's loopback os1 answers only its own pages and clients, and it is not needed
            # before logging in.
            Route("/openapi.json", openapi_json, methods=["GET"]),
            Route("/api/status", status, methods=["GET"]),
            Route("/api/history", history, methods=["GET"]),
            Route("/api/memory", memory_list, methods=["GET"]),
            Route("/api/memory/export", memory_export, methods=["GET"]),
            Route("/api/memory/import", memory_import, methods=["POST"]),
            Route("/api/memory/{ref}", memory_item, methods=["PATCH", "DELETE"]),
            Route("/api/settings", settings, methods=["GET", "PUT"]),
            Route("/api/actions", actions, methods=["GET"]),
            Route("/api/reminders", reminders, methods=["GET"]),
            Route("/api/reminders/{id}", reminder_item, methods=["PATCH", "DELETE"]),
            Route("/api/reach-outs", reach_outs, methods=["GET"]),
            Route("/api/reach-outs/{id}/dismiss", reach_out_dismiss, methods=["POST"]),
            Route("/api/mail", mail_list, methods=["GET"]),
            Route("/api/mail/sync", mail_sync, methods=["GET", "POST"]),
            Route("/api/mail/{id}", mail_thread, methods=["GET"]),
            Route("/api/mail/{id}/file", mail_file, methods=["POST"]),
            WebSocketRoute("/ws", socket),
            *openai_api.routes(),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
        # Every answer os1 gives is JSON with the same error shape, the router's own too
        # (no such route, a method it does not take) and an unexpected failure's.
        exception_handlers={HTTPException: _http_error, Os1Error: _os1_error, Exception: _unexpected},
    )
    app.state.hubs = everyone
    return _Guard(app, everyone, token)  # type: ignore[return-value]


def _hub(request: Request | WebSocket) -> Hub:
    """The hub of the person the guard let in (never anyone else's)."""
    hubs: Hubs = request.app.state.hubs
    return hubs.get(request.scope["state"]["person"])


# -- the page --------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    if "token" in request.query_params:
        # Opened from the printed URL: keep the token in a cookie, drop it from the address bar.
        token = request.query_params["token"]
        if not (token.isascii() and token.isprintable()):  # a cookie header holds nothing else
            return _error(400, "An access token is made of printable ASCII characters.")
        response = RedirectResponse("/", 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def socket(ws: WebSocket) -> None:
    await ws.accept()
    await Connection(ws, _hub(ws)).run()


# -- logging in (with accounts) ------------------------------------------------------------------


async def login(request: Request) -> Response:
    """The login form (GET), and logging in (POST, as a form or JSON): a new
    session cookie and the CSRF token the page sends back on changes."""
    accounts = request.app.state.hubs.accounts
    if accounts is None:
        return RedirectResponse("/", 303)
    if request.method == "GET":
        return FileResponse(STATIC / "login.html", headers={"Cache-Control": "no-cache"})
    form = request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                              "multipart/form-data"))
    try:
        body: Any = dict(await request.form()) if form else await bodies.json_object(request)
    except Exception:  # noqa: BLE001 - any unreadable body is a bad request
        body = None
    if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not isinstance(
            body.get("password"), str):
        return _error(400, "Send a name and a password.")
    name, password = body["name"].strip().lower(), body["password"]
    address = request.client.host if request.client else ""
    if not accounts.allowed(f"name:{name}", f"address:{address}"):
        return _error(429, "Too many failed logins: wait 15 minutes and try again.")
    if not await asyncio.to_thread(accounts.verify, name, password, address=address):
        if form:
            return RedirectResponse("/login?failed=1", 303)
        return _error(401, "That name and password do not match.")
    session, granted = accounts.login(name)
    response: Response = RedirectResponse("/", 303) if form else JSONResponse({"user": name})
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, session, max_age=30 * 24 * 3600, httponly=True, samesite="strict",
                        secure=secure)
    # Readable by the page (it sends it back as X-CSRF-Token); worthless without the session.
    response.set_cookie(CSRF_COOKIE, granted.csrf, max_age=30 * 24 * 3600, samesite="strict", secure=secure)
    return response


async def logout(request: Request) -> Response:
    accounts = request.app.state.hubs.accounts
    session = _cookie(request.headers.get("cookie", ""), SESSION_COOKIE)
    if accounts is not None and session:
        accounts.logout(session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


# -- status, history, memory, settings ---------------------------------------------------------


#: The ``code`` of each status's error, for clients that branch on it rather than on the words.
_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 413: "too_large", 429: "rate_limited", 500: "internal_error",
          502: "mail_server", 503: "unavailable", 507: "disk_full"}


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """os1's error answer: OpenAI's shape (web/openapi.py ``ERROR``), as /v1 answers."""
    return JSONResponse({"error": {"message": message,
                                   "type": "invalid_request_error" if status < 500 else "server_error",
                                   "code": _CODES.get(status, "error")}}, status, headers=headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail, dict(exc.headers or {}))


def _failed(exc: Os1Error) -> JSONResponse:
    """os1's own error as an answer: a bad request (400), a full disk (507),
    or something os1 cannot do now (503)."""
    if isinstance(exc, ConfigError):
        return _error(400, str(exc))
    return _error(507 if isinstance(exc, StorageFull) else 503, str(exc))


async def _os1_error(request: Request, exc: Exception) -> Response:
    # One that no route turned into an answer itself (the disk filled under a reply).
    assert isinstance(exc, Os1Error)
    return _failed(exc)


async def _unexpected(request: Request, exc: Exception) -> Response:
    # Starlette logs the exception after this answer; the client learns only that it failed.
    return _error(500, "Something went wrong inside os1 (see its log).")


def _api(handler: Callable[[Request, Hub], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A JSON route that needs the engine: waits until it is ready, and turns
    os1's errors into answers (a bad request: 400; os1 cannot: 503)."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        hub = _hub(request)
        try:
            await hub.ready()
            return await handler(request, hub)
        except Os1Error as exc:
            return _failed(exc)

    return route


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await bodies.json_object(request)
    except bodies.BadBody as exc:
        raise ConfigError(str(exc)) from exc


async def openapi_json(request: Request) -> JSONResponse:
    return JSONResponse(openapi.document())


async def status(request: Request) -> JSONResponse:
    hub = _hub(request)
    return JSONResponse({"ready": hub.companion is not None, "failure": hub.failure,
                         "name": hub.settings.persona.name, "model": hub.settings.llm.model,
                         "user": hub.settings.user, "accounts": request.app.state.hubs.accounts is not None,
                         # How busy the shared model is (with accounts): counts and waits, nobody's words.
                         "queue": hub.engines.gate.stats() if hub.engines.gate is not None else None})


@_api
async def history(request: Request, hub: Hub) -> Response:
    return JSONResponse({"messages": hub.history(limit=100)})


def _fact(f: Any) -> dict[str, Any]:
    return {"ref": f.ref, "text": f.text, "kind": f.kind, "created_at": f.created_at,
            "valid_from": f.valid_from, "superseded_at": f.superseded_at, "corrected": f.corrected}


def _note(n: Any) -> dict[str, Any]:
    return {"ref": n.ref, "text": n.text, "kind": n.kind, "created_at": n.created_at, "due_at": n.due_at}


@_api
async def memory_list(request: Request, hub: Hub) -> Response:
    query = request.query_params.get("q", "").strip()
    memory = hub.memory
    facts = memory.facts(include_history=True)
    notes = memory.notes()
    result: dict[str, Any] = {
        "profile": memory.profile(),
        "facts": [_fact(f) for f in facts if f.superseded_by is None],
        "history": [_fact(f) for f in facts if f.superseded_by is not None],
        "relationship": [_note(n) for n in notes if n.kind not in ("summary", "journal", "self")],
        "journal": [_note(n) for n in notes if n.kind == "journal"][-10:],
        "summaries": [_note(n) for n in notes if n.kind == "summary"][-10:],
        "self_description": memory.self_description(),
    }
    if query:
        result["hits"] = [{"ref": h.ref, "text": h.text, "kind": h.kind, "created_at": h.created_at,
                           "score": round(h.score, 4)} for h in memory.search(query, limit=20)]
    else:
        result["messages"] = hub.history(limit=30)
    return JSONResponse(result)


@_api
async def memory_item(request: Request, hub: Hub) -> Response:
    ref = request.path_params["ref"]
    if request.method == "DELETE":
        companion = hub.companion
        assert companion is not None  # the hub is ready: `hub` comes from a ready hub
        if not companion.forget(ref):
            return _error(404, f"There is no memory {ref}.")
        hub.publish({"role": "forgotten", "id": ref})
        return JSONResponse({"forgotten": ref})
    text = str((await _body(request)).get("text", "")).strip()
    if not text:
        return _error(400, "The new text must not be empty.")
    if not hub.memory.edit(ref, text):
        return _error(404, f"There is no memory {ref} that can be edited (messages cannot).")
    return JSONResponse({"edited": ref})


@_api
async def memory_export(request: Request, hub: Hub) -> Response:
    data = json.dumps(hub.memory.export(), ensure_ascii=False, indent=2)
    return Response(data, media_type="application/json", headers={
        "Content-Disposition": f'attachment; filename="os1-memory-{hub.settings.user}.json"'})


@_api
async def memory_import(request: Request, hub: Hub) -> Response:
    data = await _body(request)
    try:
        counts = hub.memory.import_data(data)
    except (StorageFull, StorageBusy):
        raise  # os1's trouble, not the file's
    except StorageError as exc:  # a file that is not an os1 export (or a damaged one)
        return _error(400, str(exc))
    return JSONResponse({"imported": counts})


@_api
async def actions(request: Request, hub: Hub) -> Response:
    """The action log: what os1 proposed to do, newest first, and what came of it."""
    return JSONResponse({"actions": hub.actions(limit=_limit(request))})


def _limit(request: Request, default: int = 50) -> int:
    try:
        return min(max(int(request.query_params.get("limit", str(default))), 1), 500)
    except ValueError as exc:
        raise ConfigError("limit must be a whole number.") from exc


# -- reminders and reach-outs ----------------------------------------------------------------


def _whole(text: str) -> int | None:
    """``text`` as an id, or None when it cannot be one: only ASCII digits
    (``str.isdigit`` takes "²", which ``int`` refuses), and no larger than the
    databases hold (storage.py ``MAX_ID``)."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= MAX_ID else None


def _id(request: Request) -> int | None:
    return _whole(request.path_params["id"])


@_api
async def reminders(request: Request, hub: Hub) -> Response:
    """Their reminders and check-ins, next due first."""
    return JSONResponse({"reminders": hub.reminders()})


@_api
async def reminder_item(request: Request, hub: Hub) -> Response:
    """Cancel a reminder (DELETE), or change its words and/or time (PATCH)."""
    item_id = _id(request)
    if item_id is None or all(r["id"] != item_id for r in hub.reminders()):
        return _error(404, f"There is no reminder {request.path_params['id']}.")
    if request.method == "DELETE":
        if not hub.cancel_reminder(item_id):
            return _error(404, f"There is no reminder {item_id}.")
        return Response(status_code=204)
    body = await _body(request)
    text, when = body.get("text"), body.get("when")
    if text is None and when is None:
        raise ConfigError('Send what to change: "text", "when", or both.')
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise ConfigError("A reminder's words must not be empty.")
    if when is not None and (not isinstance(when, str) or not when.strip()):
        raise ConfigError('Say when, in words: "tomorrow at 7pm", "every Monday at 9".')
    return JSONResponse(hub.edit_reminder(item_id, text=text, when=when))


@_api
async def reach_outs(request: Request, hub: Hub) -> Response:
    """What os1 sent on its own, held back or dropped, and why; newest first."""
    return JSONResponse({"log": hub.reach_log(limit=_limit(request))})


@_api
async def reach_out_dismiss(request: Request, hub: Hub) -> Response:
    """The person waved a reach-out away."""
    entry_id = _id(request)
    if entry_id is None or not hub.dismiss(entry_id):
        return _error(404, f"There is no reach-out {request.path_params['id']} that was sent.")
    return Response(status_code=204)


# -- the inbox ---------------------------------------------------------------------------------

#: The labels triage gives (os1/mail/triage.py), for ``GET /api/mail?label=``.
MAIL_LABELS = ("urgent", "needs reply", "FYI", "newsletter", "spam")


def _mail_api(handler: Callable[[Request, Hub, MailStore | None], Awaitable[Response]]
              ) -> Callable[[Request], Awaitable[Response]]:
    """A route over the person's mail: it needs their mail store (None: no
    account), not the model. A mail server's refusal is a 502; os1's own
    trouble a 503."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        from os1.mail.client import MailError

        hub = _hub(request)
        try:
            return await handler(request, hub, await hub.mailbox())
        except ConfigError as exc:
            return _error(400, str(exc))
        except MailError as exc:
            return _error(502, str(exc))
        except Os1Error as exc:
            return _error(503, str(exc))

    return route


@_mail_api
async def mail_list(request: Request, hub: Hub, store: MailStore | None) -> Response:
    """The inbox, newest first, with each message's label and why."""
    limit = _limit(request)
    label = request.query_params.get("label", "").strip()
    if label and label not in MAIL_LABELS:
        raise ConfigError(f"label must be one of: {', '.join(MAIL_LABELS)}.")
    if store is None:
        return JSONResponse({"accounts": [], "mails": [], "sync": hub.mail_status()})

    def read() -> dict[str, Any]:
        mails = store.mails(folder="INBOX", labels=[label] if label else None, limit=limit)
        sizes: dict[str, int] = {}
        for m in mails:
            if m.thread_key not in sizes:
                sizes[m.thread_key] = len(store.thread(m.thread_key))
        return {"accounts": [a.name for a in store.accounts()],
                "mails": [{"id": m.id, "subject": m.subject, "sender": m.sender, "sender_name": m.sender_name,
                           "date": m.date, "label": m.label, "reason": m.reason, "seen": m.seen,
                           "attachments": [a.name for a in m.attachments],
                           "thread_size": max(sizes[m.thread_key], 1)} for m in mails]}

    return JSONResponse({**await asyncio.to_thread(read), "sync": hub.mail_status()})


def _message(m: StoredMail) -> dict[str, Any]:
    # Plain text, as the message said it: the page shows it as text, never as markup.
    return {"id": m.id, "subject": m.subject, "sender_label": m.sender_label, "date": m.date, "text": m.text,
            "attachments": [{"name": a.name, "content_type": a.content_type, "size": a.size}
                            for a in m.attachments],
            "label": m.label, "reason": m.reason, "seen": m.seen}


@_mail_api
async def mail_thread(request: Request, hub: Hub, store: MailStore | None) -> Response:
    """One message's thread, oldest first (it included)."""
    ref = request.path_params["id"]
    mail_id = _whole(ref)
    if store is None or mail_id is None:
        return _error(404, f"There is no email {ref}.")

    def read(mail_id: int) -> list[StoredMail] | None:
        found = store.get(mail_id)
        if found is None:
            return None
        thread = store.thread(found.thread_key)
        if all(m.id != found.id for m in thread):
            thread = sorted([*thread, found], key=lambda m: (m.date or 0.0, m.id))
        return thread

    thread = await asyncio.to_thread(read, mail_id)
    if thread is None:
        return _error(404, f"There is no email {ref}.")
    return JSONResponse({"id": mail_id, "thread": [_message(m) for m in thread]})


@_mail_api
async def mail_sync(request: Request, hub: Hub, store: MailStore | None) -> Response:
    """Read new mail from every account's server now (POST); how the sync
    under way, or the last one, is going (GET: the page's progress)."""
    if request.method == "GET":
        return JSONResponse(hub.mail_status())
    return JSONResponse(await hub.sync_mail())


#: What the page's buttons do to one message (the person's own click: no consent asked).
MAIL_FILING = ("archive", "delete", "mark read", "mark unread")


@_mail_api
async def mail_file(request: Request, hub: Hub, store: MailStore | None) -> Response:
    """Archive, delete or mark one message, on the server and here."""
    from os1.mail import client

    ref = request.path_params["id"]
    body = await _body(request)
    how = body.get("how")
    if how not in MAIL_FILING:
        raise ConfigError(f"Say how to file it: one of {', '.join(MAIL_FILING)}.")
    mail_id = _whole(ref)
    found = None if store is None or mail_id is None else await asyncio.to_thread(store.get, mail_id)
    if store is None or found is None:
        return _error(404, f"There is no email {ref}.")
    where = await asyncio.to_thread(client.file, store, found, how)
    return JSONResponse({"id": found.id, "done": how, "folder": where if how in ("archive", "delete") else None})


async def settings(request: Request) -> JSONResponse:
    hub = _hub(request)
    if request.method == "GET":
        return JSONResponse(hub.public_settings())
    try:
        return JSONResponse(await hub.update_settings(await _body(request)))
    except ConfigError as exc:
        return _error(400, str(exc))


# -- who may call ----------------------------------------------------------------------------


class _Guard:
    """Checks every HTTP request and WebSocket before the app sees it, and
    tells it whose it is: ``scope["state"]["person"]``."""

    def __init__(self, app: Starlette, hubs: Hubs, token: str | None):
        self.app = app
        self.hubs = hubs
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        scope.setdefault("state", {})
        scope["state"].pop("person", None)  # only the guard says who it is
        problem = self._check(scope)
        if problem is None:
            return await self.app(scope, receive, send)
        status, message = problem
        if scope["type"] == "websocket":
            # Refuse the handshake (the client sees an HTTP 403).
            await receive()
            await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        if status == 401 and scope["path"] == "/" and scope.get("method") == "GET" and self.hubs.accounts:
            return await RedirectResponse("/login", 303)(scope, receive, send)
        await JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                      "code": "forbidden" if status == 403 else "unauthorized"}},
                           status)(scope, receive, send)

    def _check(self, scope: Scope) -> tuple[int, str] | None:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        host = headers.get("host", "")
        origin = headers.get("origin")
        unsafe = scope["type"] == "websocket" or scope.get("method") not in ("GET", "HEAD", "OPTIONS")
        if origin and unsafe and urlsplit(origin).netloc != host:
            return 403, "Requests from other web pages are not allowed."
        public = scope["type"] == "http" and scope["path"].startswith(PUBLIC)
        if self.hubs.accounts is not None:
            if public:
                return None
            return self._person(scope, headers, unsafe)
        if self.token is None:
            if _hostname(host) not in LOOPBACK_NAMES:
                return 403, "os1 answers on loopback names only (127.0.0.1, localhost)."
        else:
            if scope["type"] == "http" and scope["path"] == "/" and "token=" in scope.get(
                    "query_string", b"").decode():
                given = parse_qs(scope["query_string"].decode()).get("token", [""])[0]
            else:
                given = _token_in(headers)
            if not (given and hmac.compare_digest(given.encode(), self.token.encode())) and not public:
                return 401, "This os1 needs its access token (open the URL os1 serve printed)."
        scope["state"]["person"] = self.hubs.settings.user
        return None

    def _person(self, scope: Scope, headers: dict[str, str], unsafe: bool) -> tuple[int, str] | None:
        """Who this is, with accounts: an API token's owner, or a page's login
        (whose changes must carry its CSRF token)."""
        accounts = self.hubs.accounts
        assert accounts is not None
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            name = accounts.token_owner(auth[7:].strip())
            if name is None:
                return 401, "That token is not (or no longer) valid: `os1 user token NAME` makes one."
            scope["state"]["person"] = name
            return None
        login = accounts.session(_cookie(headers.get("cookie", ""), SESSION_COOKIE))
        if login is None:
            return 401, "Log in first (/login)."
        if unsafe and scope["type"] == "http" and not hmac.compare_digest(
                headers.get(CSRF_HEADER, "").encode(), login.csrf.encode()):
            return 403, "This change did not come from os1's page (its CSRF token is missing or wrong)."
        scope["state"]["person"] = login.name
        return None


def _cookie(header: str, name: str) -> str:
    cookie = SimpleCookie()
    try:
        cookie.load(header)
    except Exception:  # noqa: BLE001 - a malformed cookie header holds nothing
        return ""
    return cookie[name].value if name in cookie else ""


def _token_in(headers: dict[str, str]) -> str:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return _cookie(headers.get("cookie", ""), COOKIE)


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host

"""The OpenAPI 3.1 description of ``os1 serve``'s HTTP API, served at
``GET /openapi.json``.

It is written by hand, beside the handlers it describes (web/app.py and
web/openai_api.py), rather than derived from them: the handlers read their
bodies by hand, so only a description written from what they do can say which
answers each can give. tests/test_openapi.py keeps the two in step (every
route is described and every description has its route) and fuzzes a real
``os1 serve`` against it (docs/reliability.md).

The WebSocket (``/ws``) is described in docs/protocol.md, not here: OpenAPI
describes request and response, not a conversation of events.
"""

from __future__ import annotations

import copy
import io
import wave
from typing import Any

Schema = dict[str, Any]

OPENAPI_VERSION = "3.1.0"

#: os1's answer to a request it will not or cannot serve (web/app.py ``_error``,
#: web/openai_api.py ``api_error`` and the guard): OpenAI's shape, so that
#: OpenAI clients read it too.
ERROR: Schema = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {
        "type": "object",
        "required": ["message", "type", "code"],
        "properties": {
            "message": {"type": "string", "description": "What went wrong, in a sentence for a person."},
            "type": {"type": "string", "enum": ["invalid_request_error", "server_error"]},
            "code": {"type": "string", "description": "A short machine-readable reason."},
        },
    }},
}

_NUMBER_OR_NULL: Schema = {"type": ["number", "null"]}
#: What ``/api/status`` tells of the shared model's queue (mind/gate.py ``FairGate.stats``).
QUEUE_STATS = ("slots", "running", "waiting", "refused", "wait_ms_p50", "wait_ms_p95")
_STRING_OR_NULL: Schema = {"type": ["string", "null"]}

SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Status": {
        "type": "object",
        "required": ["ready", "failure", "name", "model", "user", "accounts", "queue"],
        "properties": {
            "ready": {"type": "boolean", "description": "The model is loaded and os1 can answer."},
            "failure": {**_STRING_OR_NULL, "description": "Why the model could not be loaded."},
            "name": {"type": "string"},
            "model": {"type": "string"},
            "user": {"type": "string"},
            "accounts": {"type": "boolean", "description": "This os1 serves several people, each logged in."},
            "queue": {"description": "How busy the shared model is (with accounts): counts and waits.",
                      "oneOf": [{"type": "null"}, {
                          "type": "object",
                          "required": list(QUEUE_STATS),
                          "properties": {k: {"type": "number"} for k in QUEUE_STATS}}]},
        },
    },
    "ThreadMessage": {
        "type": "object",
        "required": ["role", "id", "text", "channel", "interrupted", "at"],
        "properties": {
            "role": {"type": "string", "enum": ["user", "assistant"]},
            "id": {"type": "string", "description": 'Its ref, "m12": DELETE /api/memory/m12 forgets it.'},
            "text": {"type": "string"},
            "channel": {"type": "string", "description": '"text", "voice", "api"...'},
            "interrupted": {"type": "boolean"},
            "at": {"type": "number", "description": "Unix seconds."},
        },
    },
    "Fact": {
        "type": "object",
        "required": ["ref", "text", "kind", "created_at", "valid_from", "superseded_at", "corrected"],
        "properties": {
            "ref": {"type": "string"}, "text": {"type": "string"}, "kind": {"type": "string"},
            "created_at": {"type": "number"}, "valid_from": _NUMBER_OR_NULL, "superseded_at": _NUMBER_OR_NULL,
            "corrected": {"type": "boolean"},
        },
    },
    "Note": {
        "type": "object",
        "required": ["ref", "text", "kind", "created_at", "due_at"],
        "properties": {
            "ref": {"type": "string"}, "text": {"type": "string"}, "kind": {"type": "string"},
            "created_at": {"type": "number"}, "due_at": _NUMBER_OR_NULL,
        },
    },
    "Memory": {
        "type": "object",
        "required": ["profile", "facts", "history", "relationship", "journal", "summaries",
                     "self_description"],
        "properties": {
            "profile": {"type": "object", "additionalProperties": {"type": "string"}},
            "facts": {"type": "array", "items": {"$ref": "#/components/schemas/Fact"},
                      "description": "What is true now."},
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/Fact"},
                        "description": "Facts no longer true, or corrected."},
            "relationship": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}},
            "journal": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}},
            "summaries": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}},
            "self_description": _STRING_OR_NULL,
            "messages": {"type": "array", "items": {"$ref": "#/components/schemas/ThreadMessage"},
                         "description": "The latest messages (without ?q=)."},
            "hits": {"description": "What matches ?q=, best first.", "type": "array", "items": {
                "type": "object",
                "required": ["ref", "text", "kind", "created_at", "score"],
                "properties": {"ref": {"type": "string"}, "text": {"type": "string"},
                               "kind": {"type": "string"}, "created_at": {"type": "number"},
                               "score": {"type": "number"}}}},
        },
    },
    "MemoryExport": {
        "type": "object",
        "description": "Everything os1 remembers about the person (docs: `os1 memory export`). "
                       "Ids are refs; times are ISO 8601 (an import also takes Unix seconds).",
        "required": ["format", "version"],
        "properties": {
            "format": {"const": "os1-memory"},
            "version": {"type": "integer", "minimum": 1, "maximum": 3},
            "user": {"type": "string"},
            "exported_at": {"type": "string"},
            "profile": {"type": "object", "additionalProperties": {"type": "string"}},
            "facts": {"type": "array", "items": {"type": "object"}},
            "sessions": {"type": "array", "items": {"type": "object"}},
            "messages": {"type": "array", "items": {"type": "object"}},
            "summaries": {"type": "array", "items": {"type": "object"}},
            "journal": {"type": "array", "items": {"type": "object"}},
            "relationship": {"type": "array", "items": {"type": "object"}},
            "self_description": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Settings": {
        "type": "object",
        "required": ["name", "speed", "model", "timezone", "computer_timezone", "quiet_hours",
                     "restart_needed"],
        "properties": {
            "name": {"type": "string", "description": "The companion's name."},
            "speed": {"type": "number", "description": "The voice's speaking rate."},
            "model": {"type": "string"},
            "timezone": {"type": "string",
                         "description": "The person's time zone (the one set, else this computer's)."},
            "computer_timezone": {"type": "string"},
            "quiet_hours": {"type": "string", "description": '"22:00-08:00", or "" for none.'},
            "restart_needed": {"type": "boolean", "description": "A new model is used from the next start."},
        },
    },
    "SettingsChange": {
        "type": "object",
        "description": "Only what changes. The model may be changed by whoever runs os1 (not with accounts).",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 40},
            "speed": {"type": "number"},
            "model": {"type": "string"},
            "timezone": {**_STRING_OR_NULL, "description": 'An IANA name; "" or null: this computer\'s.'},
            "quiet_hours": {**_STRING_OR_NULL, "description": '"22:00-08:00"; "" or null: none.'},
        },
    },
    "Action": {
        "type": "object",
        "required": ["id", "tool", "arguments", "action", "warnings", "status", "outcome", "created_at",
                     "expires_at", "settled_at", "answerable"],
        "properties": {
            "id": {"type": "integer"}, "tool": {"type": "string"}, "arguments": {"type": "object"},
            "action": {"type": "string", "description": "The exact action, as the person was asked."},
            "warnings": {"type": "array", "items": {"type": "string"}},
            "status": {"type": "string", "description": "pending, done, declined, expired or failed."},
            "outcome": {"type": "string"}, "created_at": {"type": "number"}, "expires_at": {"type": "number"},
            "settled_at": _NUMBER_OR_NULL,
            "answerable": {"type": "boolean", "description": "os1 is waiting for the person's answer."},
        },
    },
    "Reminder": {
        "type": "object",
        "required": ["id", "kind", "text", "when", "due_at", "repeats", "held"],
        "properties": {
            "id": {"type": "integer"}, "kind": {"type": "string", "enum": ["reminder", "check_in"]},
            "text": {"type": "string"}, "when": {"type": "string", "description": "When, in words."},
            "due_at": _NUMBER_OR_NULL, "repeats": {"type": "boolean"}, "held": _STRING_OR_NULL,
        },
    },
    "ReminderChange": {
        "type": "object",
        "minProperties": 1,
        "properties": {
            "text": {"type": "string", "minLength": 1, "maxLength": 200},
            "when": {"type": "string", "minLength": 1,
                     "description": 'When, in words: "tomorrow at 7pm", "every Monday at 9".'},
        },
    },
    "ReachOut": {
        "type": "object",
        "required": ["id", "at", "decision", "reason", "text", "delivered", "answered", "dismissed"],
        "properties": {
            "id": {"type": "integer"}, "at": {"type": "number"},
            "decision": {"type": "string", "description": "sent, held or dropped."},
            "reason": {"type": "string"}, "text": _STRING_OR_NULL, "delivered": {"type": "boolean"},
            "answered": {"type": "boolean"}, "dismissed": {"type": "boolean"},
        },
    },
    "MailSync": {
        "type": "object",
        "required": ["running", "at", "error", "progress"],
        "properties": {
            "running": {"type": "boolean"},
            "at": {**_NUMBER_OR_NULL, "description": "When the last sync ended (Unix seconds)."},
            "error": _STRING_OR_NULL,
            "progress": {"oneOf": [{"type": "null"}, {
                "type": "object", "required": ["folder", "done", "total"],
                "properties": {"folder": {"type": "string"}, "done": {"type": "integer"},
                               "total": {"type": "integer"}}}]},
        },
    },
    "Inbox": {
        "type": "object",
        "required": ["accounts", "mails", "sync"],
        "properties": {
            "accounts": {"type": "array", "items": {"type": "string"}},
            "mails": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "subject", "sender", "sender_name", "date", "label", "reason", "seen",
                             "attachments", "thread_size"],
                "properties": {
                    "id": {"type": "integer"}, "subject": {"type": "string"}, "sender": {"type": "string"},
                    "sender_name": {"type": "string"}, "date": _NUMBER_OR_NULL, "label": _STRING_OR_NULL,
                    "reason": _STRING_OR_NULL, "seen": {"type": "boolean"},
                    "attachments": {"type": "array", "items": {"type": "string"}},
                    "thread_size": {"type": "integer", "minimum": 1}}}},
            "sync": {"$ref": "#/components/schemas/MailSync"},
        },
    },
    "MailThread": {
        "type": "object",
        "required": ["id", "thread"],
        "properties": {
            "id": {"type": "integer"},
            "thread": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "subject", "sender_label", "date", "text", "attachments", "label",
                             "reason", "seen"],
                "properties": {
                    "id": {"type": "integer"}, "subject": {"type": "string"},
                    "sender_label": {"type": "string"}, "date": _NUMBER_OR_NULL,
                    "text": {"type": "string", "description": "Plain text."},
                    "attachments": {"type": "array", "items": {
                        "type": "object", "required": ["name", "content_type", "size"],
                        "properties": {"name": {"type": "string"}, "content_type": {"type": "string"},
                                       "size": {"type": "integer"}}}},
                    "label": _STRING_OR_NULL, "reason": _STRING_OR_NULL, "seen": {"type": "boolean"}}}},
        },
    },
    "ModelList": {
        "type": "object",
        "required": ["object", "data"],
        "properties": {
            "object": {"const": "list"},
            "data": {"type": "array", "items": {
                "type": "object", "required": ["id", "object", "created", "owned_by"],
                "properties": {"id": {"type": "string"}, "object": {"const": "model"},
                               "created": {"type": "integer"}, "owned_by": {"type": "string"}}}},
        },
    },
    "ChatMessage": {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"type": "string",
                     "enum": ["system", "developer", "user", "assistant", "tool", "function"]},
            "content": {"oneOf": [
                {"type": "string"}, {"type": "null"},
                {"type": "array", "items": {"type": "object", "required": ["type"], "properties": {
                    "type": {"type": "string"}, "text": {"type": "string"}}}}]},
            "name": {"type": "string"},
            "tool_call_id": {"type": "string"},
            "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}},
        },
    },
    "ToolCall": {
        "type": "object",
        "required": ["id", "type", "function"],
        "properties": {
            "id": {"type": "string"}, "type": {"const": "function"},
            "function": {"type": "object", "required": ["name", "arguments"], "properties": {
                "name": {"type": "string"},
                "arguments": {"type": "string", "description": "A JSON object, as text."}}},
        },
    },
    "ChatCompletionRequest": {
        "type": "object",
        "description": "Without `tools`, a turn of os1's own conversation: it reads the last user "
                       "message (the earlier ones are already in its thread). With `tools`, the client's "
                       "own tool loop.",
        "required": ["messages"],
        "properties": {
            "model": {"type": "string",
                      "description": "Accepted and ignored: os1 answers with what it runs."},
            "messages": {"type": "array", "minItems": 1,
                         "items": {"$ref": "#/components/schemas/ChatMessage"}},
            "stream": {"type": "boolean"},
            "tools": {"type": "array", "items": {
                "type": "object", "required": ["type", "function"],
                "properties": {"type": {"const": "function"}, "function": {
                    "type": "object", "required": ["name"],
                    "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                                   "description": {"type": "string"},
                                   "parameters": {"type": "object"}}}}}},
            "tool_choice": {"oneOf": [
                {"type": "string", "enum": ["none", "auto", "required"]},
                {"type": "object", "required": ["type", "function"], "properties": {
                    "type": {"const": "function"},
                    "function": {"type": "object", "required": ["name"],
                                 "properties": {"name": {"type": "string"}}}}}]},
        },
    },
    "ChatCompletion": {
        "type": "object",
        "required": ["id", "object", "created", "model", "choices", "usage"],
        "properties": {
            "id": {"type": "string"}, "object": {"const": "chat.completion"}, "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": {"type": "array", "items": {
                "type": "object", "required": ["index", "message", "finish_reason"],
                "properties": {
                    "index": {"type": "integer"},
                    "message": {"type": "object", "required": ["role", "content"], "properties": {
                        "role": {"const": "assistant"}, "content": _STRING_OR_NULL,
                        "tool_calls": {"type": "array", "items": {"$ref": "#/components/schemas/ToolCall"}}}},
                    "finish_reason": {"type": "string", "enum": ["stop", "tool_calls"]}}}},
            "usage": {"type": "object", "required": ["prompt_tokens", "completion_tokens", "total_tokens"],
                      "properties": {k: {"type": "integer"} for k in (
                          "prompt_tokens", "completion_tokens", "total_tokens")}},
        },
    },
    "ChatCompletionChunk": {
        "type": "object",
        "required": ["id", "object", "created", "model", "choices"],
        "properties": {
            "id": {"type": "string"}, "object": {"const": "chat.completion.chunk"},
            "created": {"type": "integer"}, "model": {"type": "string"},
            "choices": {"type": "array", "items": {
                "type": "object", "required": ["index", "delta", "finish_reason"],
                "properties": {
                    "index": {"type": "integer"},
                    "delta": {"type": "object", "properties": {
                        "role": {"const": "assistant"}, "content": {"type": "string"},
                        "tool_calls": {"type": "array", "items": {
                            "type": "object", "required": ["index"],
                            "properties": {"index": {"type": "integer"}}}}}},
                    "finish_reason": {"type": ["string", "null"], "enum": ["stop", "tool_calls", None]}}}},
        },
    },
    "ChatCompletionEvent": {
        "type": "object",
        "description": "One server-sent event of a streamed reply: a chunk; an error in-band (a failure once "
                       "the answer has begun); at the end, `[DONE]`.",
        "required": ["data"],
        "properties": {"data": {"anyOf": [
            {"const": "[DONE]"},
            {"type": "string", "contentMediaType": "application/json", "contentSchema": {"anyOf": [
                {"$ref": "#/components/schemas/ChatCompletionChunk"},
                {"$ref": "#/components/schemas/Error"}]}}]}},
    },
    "TranscriptionRequest": {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "contentMediaType": "application/octet-stream",
                     "description": "The recording: WAV, or any format PyAV reads (mp3, ogg, webm, m4a...); "
                                    "25 MB at most."},
            "model": {"type": "string", "description": "Accepted and ignored."},
            "prompt": {"type": "string"},
            "response_format": {"type": "string", "enum": ["json", "text", "verbose_json"]},
            "language": {"type": "string", "description": "Accepted and ignored."},
        },
    },
    "Transcription": {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string"}, "task": {"const": "transcribe"}, "language": {"type": "string"},
            "duration": {"type": "number"},
        },
    },
    "SpeechRequest": {
        "type": "object",
        "required": ["input"],
        "properties": {
            "input": {"type": "string", "minLength": 1, "maxLength": 4096},
            "model": {"type": "string", "description": "Accepted and ignored: os1 speaks with its voice."},
            "voice": {"type": "string", "description": "Accepted and ignored."},
            "response_format": {"type": "string", "enum": ["wav", "pcm", "mp3", "opus", "aac", "flac"]},
            "speed": {"type": "number", "description": "Accepted and ignored: the settings' speed is used."},
        },
    },
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Schema:
    return _json(_ref("Error"), description)


def _redirect(description: str) -> Schema:
    return {"description": description, "headers": {"Location": {"schema": {"type": "string"}}}}


def _html(description: str) -> Schema:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


#: The guard's answers (web/app.py ``_Guard``), possible on every route it guards.
GUARDED = {
    "401": _error("No valid access token, API token or login."),
    "403": _error("A change from another web page; a Host that is not a loopback name (one person, no "
                  "token); or, with accounts, a page's change without its CSRF token."),
}
BAD_REQUEST = _error("The request is not one os1 can act on (the message says why).")
NOT_FOUND = _error("There is no such item (for this person).")
NOT_READY = _error("os1 cannot answer now: its model could not be loaded, or is still starting.")
MAIL_SERVER = _error("A mail server refused or could not be reached.")
DISK_FULL = _error("The disk os1 keeps its data on is full: nothing was changed.")

#: Who may call (the guard): one person on loopback needs nothing; otherwise an
#: access token (``--token``) or a person's API token as Bearer, the access
#: token's cookie (set by ``/?token=``), or a login's session cookie. The empty
#: requirement is the loopback case.
READ_SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"tokenCookie": []}, {"session": []}]
#: A login's change must also carry its CSRF token.
CHANGE_SECURITY: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"tokenCookie": []},
                                               {"session": [], "csrf": []}]


def _op(summary: str, responses: dict[str, Schema], *, tag: str, method: str = "get",
        parameters: list[Schema] | None = None, body: Schema | None = None, public: bool = False,
        description: str | None = None) -> Schema:
    """One operation, with the guard's answers added unless it is public."""
    op: Schema = {"summary": summary, "tags": [tag], "operationId": _operation_id(method, summary),
                  "responses": {**responses, **({} if public else GUARDED)}}
    if description:
        op["description"] = description
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = body
    if public:
        op["security"] = []
        if method != "get":  # the origin check applies to public changes too
            op["responses"]["403"] = GUARDED["403"]
    elif method != "get":
        op["security"] = CHANGE_SECURITY
    if method != "get":  # what changes something writes it down first
        op["responses"].setdefault("507", DISK_FULL)
    return op


def _operation_id(method: str, summary: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in summary.lower()).split()
    return "_".join([method, *words[:6]])


def _json_body(schema: Schema, example: object) -> Schema:
    return {"required": True, "content": {"application/json": {"schema": schema, "example": example}}}


def _path(name: str, schema: Schema, description: str, example: object) -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description,
            "example": example}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


LIMIT = _query("limit", {"type": "integer"}, "How many, newest first (1 to 500, or the nearer of the two; "
               "default 50).")
#: An id: the databases' 64-bit integers (one beyond is a boundary case worth fuzzing: it is refused).
ID: Schema = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
REMINDER_ID = _path("id", ID, "The reminder's id (GET /api/reminders).", 1)
MAIL_ID = _path("id", ID, "The message's id (GET /api/mail).", 1)


def _paths() -> dict[str, Schema]:
    page, api, v1 = "page", "api", "openai"
    return {
        "/": {"get": _op("The page", {
            "200": _html("The page: call button, chat, memory, settings."),
            "303": _redirect("Opened with ?token=: the token is kept in a cookie and the page opened without "
                             "it; with accounts and no login: to /login."),
            "400": _error("A ?token= that no cookie can hold (not printable ASCII)."),
        }, tag=page, parameters=[_query("token", {"type": "string"}, "The access token, as printed.")])},
        "/login": {
            "get": _op("The login form", {
                "200": _html("The login form (with accounts)."),
                "303": _redirect("No accounts: there is no one to log in, to the page."),
            }, tag=page, public=True),
            "post": _op("Log in", {
                "200": _json({"type": "object", "required": ["user"],
                              "properties": {"user": {"type": "string"}}},
                             "Logged in (JSON): the session and CSRF cookies are set."),
                "303": _redirect("A form: to the page when logged in, to /login?failed=1 when not; without "
                                 "accounts, to the page."),
                "400": BAD_REQUEST, "401": _error("The name and password do not match."),
                "429": _error("Too many failed logins from this name or address: wait 15 minutes."),
            }, tag=page, method="post", public=True, body={"required": True, "content": {
                ct: {"schema": {"type": "object", "required": ["name", "password"], "properties": {
                    "name": {"type": "string"}, "password": {"type": "string"}}}}
                for ct in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")}}),
        },
        "/logout": {"post": _op("Log out", {"204": {"description": "Logged out: the cookies are cleared."}},
                                tag=page, method="post")},
        "/openapi.json": {"get": _op("This description", {
            "200": _json({"type": "object"}, "The OpenAPI 3.1 document of os1 serve's HTTP API.")}, tag=api)},
        "/api/status": {"get": _op("Status", {"200": _json(_ref("Status"), "Whether os1 is ready, and who.")},
                                   tag=api)},
        "/api/history": {"get": _op("The thread", {
            "200": _json({"type": "object", "required": ["messages"], "properties": {
                "messages": {"type": "array", "items": _ref("ThreadMessage")}}}, "The last 100 messages."),
            "400": BAD_REQUEST, "503": NOT_READY}, tag=api)},
        "/api/memory": {"get": _op("What os1 remembers", {
            "200": _json(_ref("Memory"), "Profile, facts, notes; the latest messages, or what matches ?q=."),
            "400": BAD_REQUEST, "503": NOT_READY,
        }, tag=api, parameters=[_query("q", {"type": "string"}, "Search facts, notes and past messages.")])},
        "/api/memory/export": {"get": _op("Export the memory", {
            "200": {**_json(_ref("MemoryExport"), "Everything remembered, as a file to keep."),
                    "headers": {"Content-Disposition": {"schema": {"type": "string"}}}},
            "400": BAD_REQUEST, "503": NOT_READY}, tag=api)},
        "/api/memory/import": {"post": _op("Import a memory export", {
            "200": _json({"type": "object", "required": ["imported"], "properties": {"imported": {
                "type": "object", "additionalProperties": {"type": "integer"}}}},
                "How many items of each kind were added (what was there already is skipped)."),
            "400": _error("Not an os1 memory export, or a damaged one."), "503": NOT_READY,
        }, tag=api, method="post", body=_json_body(_ref("MemoryExport"), {
            "format": "os1-memory", "version": 3, "profile": {"name": "Ana"},
            "sessions": [{"id": 1, "channel": "text", "started_at": "2026-01-01T09:00:00+0000"}],
            "messages": [{"id": "m1", "session": 1, "role": "user", "content": "I live in Lisbon.",
                          "created_at": "2026-01-01T09:00:00+0000"}],
            "facts": [{"id": "f1", "text": "Ana lives in Lisbon.", "kind": "place", "source": "m1",
                       "created_at": "2026-01-01T09:00:05+0000"}]}))},
        "/api/memory/{ref}": {
            "parameters": [_path("ref", {"type": "string"},
                                 'A ref: "f3" (fact), "s2" (summary), "j4" (journal), "r5" (moment or open '
                                 'loop), "d1" (self-description), "m12" (message; forget only).', "f1")],
            "patch": _op("Correct a memory", {
                "200": _json({"type": "object", "required": ["edited"], "properties": {
                    "edited": {"type": "string"}}}, "Corrected (a fact keeps its old words in its history)."),
                "400": BAD_REQUEST, "404": NOT_FOUND, "503": NOT_READY,
            }, tag=api, method="patch", body=_json_body({
                "type": "object", "required": ["text"],
                "properties": {"text": {"type": "string", "minLength": 1}}},
                {"text": "Ana has a cat called Miso, who is fourteen."})),
            "delete": _op("Forget a memory", {
                "200": _json({"type": "object", "required": ["forgotten"], "properties": {
                    "forgotten": {"type": "string"}}},
                    "Forgotten (a message: with its reply and all that was drawn from them)."),
                "400": BAD_REQUEST, "404": NOT_FOUND, "503": NOT_READY}, tag=api, method="delete"),
        },
        "/api/settings": {
            "get": _op("Settings", {"200": _json(_ref("Settings"), "The page's settings.")}, tag=api),
            "put": _op("Change settings", {
                "200": _json(_ref("Settings"), "Saved to the config file, and applied where they can be."),
                "400": BAD_REQUEST}, tag=api, method="put",
                body=_json_body(_ref("SettingsChange"), {"speed": 1.1, "quiet_hours": "22:00-08:00"})),
        },
        "/api/actions": {"get": _op("The action log", {
            "200": _json({"type": "object", "required": ["actions"], "properties": {
                "actions": {"type": "array", "items": _ref("Action")}}},
                "What os1 asked consent for, newest first, and what came of it."),
            "400": BAD_REQUEST, "503": NOT_READY}, tag=api, parameters=[LIMIT])},
        "/api/reminders": {"get": _op("Reminders", {
            "200": _json({"type": "object", "required": ["reminders"], "properties": {
                "reminders": {"type": "array", "items": _ref("Reminder")}}}, "Reminders and check-ins."),
            "400": BAD_REQUEST, "503": NOT_READY}, tag=api)},
        "/api/reminders/{id}": {
            "parameters": [REMINDER_ID],
            "patch": _op("Change a reminder", {
                "200": _json(_ref("Reminder"), "Changed."), "400": BAD_REQUEST, "404": NOT_FOUND,
                "503": NOT_READY}, tag=api, method="patch",
                body=_json_body(_ref("ReminderChange"), {"when": "tomorrow at 7pm"})),
            "delete": _op("Cancel a reminder", {
                "204": {"description": "Cancelled."}, "400": BAD_REQUEST, "404": NOT_FOUND, "503": NOT_READY},
                tag=api, method="delete"),
        },
        "/api/reach-outs": {"get": _op("Reach-outs", {
            "200": _json({"type": "object", "required": ["log"], "properties": {
                "log": {"type": "array", "items": _ref("ReachOut")}}},
                "What os1 sent on its own, held back or dropped, and why; newest first."),
            "400": BAD_REQUEST, "503": NOT_READY}, tag=api, parameters=[LIMIT])},
        "/api/reach-outs/{id}/dismiss": {"post": _op("Dismiss a reach-out", {
            "204": {"description": "Dismissed."}, "400": BAD_REQUEST, "404": NOT_FOUND, "503": NOT_READY,
        }, tag=api, method="post", parameters=[_path("id", ID, "The log entry's id.", 1)])},
        "/api/mail": {"get": _op("The inbox", {
            "200": _json(_ref("Inbox"), "Newest first, each with its label and why (no account: empty)."),
            "400": BAD_REQUEST, "502": MAIL_SERVER, "503": NOT_READY,
        }, tag=api, parameters=[LIMIT, _query("label", {"type": "string", "enum": [
            "urgent", "needs reply", "FYI", "newsletter", "spam"]}, "Only mail with this label.")])},
        "/api/mail/sync": {
            "get": _op("The mail sync's progress", {
                "200": _json(_ref("MailSync"), "The sync under way, or the last one."),
                "400": BAD_REQUEST, "502": MAIL_SERVER, "503": NOT_READY}, tag=api),
            "post": _op("Sync mail now", {
                "200": _json({"type": "object", "required": ["new", "skipped"], "properties": {
                    "new": {"type": "integer"}, "skipped": {"type": "array", "items": {"type": "string"}}}},
                    "New mail read from every account's server."),
                "400": _error("No email account is set up."), "502": MAIL_SERVER, "503": NOT_READY,
            }, tag=api, method="post"),
        },
        "/api/mail/{id}": {"get": _op("A message's thread", {
            "200": _json(_ref("MailThread"), "Its thread, oldest first."), "400": BAD_REQUEST,
            "404": NOT_FOUND, "502": MAIL_SERVER, "503": NOT_READY}, tag=api, parameters=[MAIL_ID])},
        "/api/mail/{id}/file": {"post": _op("File a message", {
            "200": _json({"type": "object", "required": ["id", "done", "folder"], "properties": {
                "id": {"type": "integer"}, "done": {"type": "string"}, "folder": _STRING_OR_NULL}},
                "Done on the server and here."),
            "400": BAD_REQUEST, "404": NOT_FOUND, "502": MAIL_SERVER, "503": NOT_READY,
        }, tag=api, method="post", parameters=[MAIL_ID], body=_json_body({
            "type": "object", "required": ["how"], "properties": {
                "how": {"type": "string", "enum": ["archive", "delete", "mark read", "mark unread"]}}},
            {"how": "mark read"}))},
        "/v1/models": {"get": _op("Models", {"200": _json(_ref("ModelList"), "What os1 answers as.")},
                                  tag=v1)},
        "/v1/chat/completions": {"post": _op("Chat", {
            "200": {"description": "The reply; with `stream`, as server-sent events (chat.completion.chunk, "
                                   "then `data: [DONE]`).",
                    "content": {"application/json": {"schema": _ref("ChatCompletion")},
                                "text/event-stream": {"schema": _ref("ChatCompletionEvent")}}},
            "400": BAD_REQUEST, "503": NOT_READY,
        }, tag=v1, method="post", body=_json_body(_ref("ChatCompletionRequest"), {
            "model": "os1", "messages": [{"role": "user", "content": "Hi! I'm Theo."}]}))},
        "/v1/audio/transcriptions": {"post": _op("Transcribe", {
            "200": {"description": "What was said: JSON, or plain text (response_format=text).",
                    "content": {"application/json": {"schema": _ref("Transcription")},
                                "text/plain": {"schema": {"type": "string"}}}},
            "400": _error("Not a form with a readable recording in 'file'."),
            "413": _error("The recording is larger than 25 MB."),
            "503": _error("os1's ears could not be loaded."),
        }, tag=v1, method="post", body={"required": True, "content": {"multipart/form-data": {
            "schema": _ref("TranscriptionRequest"),
            "example": {"file": _silence(), "response_format": "json"}}}})},
        "/v1/audio/speech": {"post": _op("Speak", {
            "200": {"description": "The speech, in the format asked for (mp3 by default; pcm: s16le at "
                                   "24 kHz).",
                    "content": {t: {"schema": {"type": "string", "contentMediaType": t}} for t in (
                        "audio/mpeg", "audio/wav", "audio/pcm", "audio/ogg", "audio/aac", "audio/flac")}},
            "400": BAD_REQUEST, "503": _error("os1's voice could not be loaded."),
        }, tag=v1, method="post",
            body=_json_body(_ref("SpeechRequest"), {"input": "Hello, Theo.", "response_format": "wav"}))},
    }


def _silence() -> str:
    """A tenth of a second of silence as a WAV file (8-bit, 8 kHz) whose bytes
    are all ASCII, so that a JSON example can hold it: a recording to send."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(1)
        wav.setframerate(8000)
        wav.writeframes(bytes([127]) * 800)  # 128 is 8-bit silence; 127 is as quiet, and ASCII
    return buffer.getvalue().decode("ascii")


def document() -> dict[str, Any]:
    """The whole document (a copy of its own each time: callers may change theirs)."""
    return copy.deepcopy({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "os1 serve",
            "version": _version(),
            "description": "The HTTP API of os1, an AI companion: the page's API (/api/...), logging in, and "
                           "an OpenAI-compatible API (/v1/...). Errors are JSON: "
                           '{"error": {"message", "type", "code"}}. The page\'s realtime WebSocket, /ws, is '
                           "described in docs/protocol.md; the page's files are under /static/.",
            "license": {"name": "GPL-3.0-or-later", "identifier": "GPL-3.0-or-later"},
        },
        "tags": [{"name": "page", "description": "The page and logging in."},
                 {"name": "api", "description": "The page's API: status, memory, settings, reminders, mail."},
                 {"name": "openai", "description": "OpenAI-compatible: existing clients talk to os1."}],
        "security": READ_SECURITY,
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "The access token (os1 serve --token) or a person's API token "
                                          "(os1 user token NAME)."},
                "tokenCookie": {"type": "apiKey", "in": "cookie", "name": "os1_token",
                                "description": "The access token, kept by the page opened with ?token=."},
                "session": {"type": "apiKey", "in": "cookie", "name": "os1_session",
                            "description": "A login's session (POST /login)."},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token",
                         "description": "The login's CSRF token (the os1_csrf cookie), on every change."},
            },
        },
    })


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("os1")
    except PackageNotFoundError:  # run from a source tree
        return "0.0.0"

"""OpenAI-compatible HTTP API over the same engine, so existing clients work.

``/v1/chat/completions`` is a turn of the one shared conversation: os1 keeps
its own history and memory, so it reads the request's last user message (the
client's earlier messages are already in os1's thread) and the exchange goes
into memory like a typed one. Model names in requests are accepted and ignored:
os1 answers with what it runs.

A request with ``tools`` (the client's functions, OpenAI's format) is the
client's own tool loop: the client runs the calls and sends their results back
as ``tool`` messages, so the request's messages are that exchange. os1 answers
it as itself (its system prompt: persona and what it knows of the person) over
those messages, offering the model the client's tools only, and returns a call
as OpenAI does (``tool_calls``, finish reason ``tool_calls``). os1's own tools
(memory search, notes) stay internal: never offered to clients, never returned.
The person's message and os1's worded answer join the thread and memory; the
calls and their results, the client's business, do not.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from os1.errors import AudioError, ModelError, Os1Error, StorageFull
from os1.events import ErrorEvent, Notice, ReplyDelta, ReplyDone
from os1.mind.companion import Companion
from os1.mind.llm import GenerateOptions, Message, ToolCall, ToolSpec
from os1.web import bodies
from os1.web.hub import Hub

MAX_SPEECH_CHARS = 4096  # as OpenAI's speech API
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # as OpenAI's transcription API
CHUNK_S = 25.0  # Whisper hears 30 s at most: long recordings go in pieces
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # as OpenAI's API requires


def api_error(status: int, message: str, code: str = "invalid_request") -> JSONResponse:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": code}}, status)


def routes() -> list[Route]:
    return [
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/audio/transcriptions", transcriptions, methods=["POST"]),
        Route("/v1/audio/speech", speech, methods=["POST"]),
    ]


def _hub(request: Request) -> Hub:
    """The hub of the person the guard let in (web/app.py)."""
    return request.app.state.hubs.get(request.scope["state"]["person"])


async def models(request: Request) -> JSONResponse:
    hub = _hub(request)
    created = int(time.time())
    ids = ["os1", hub.settings.llm.model, "whisper-1", "tts-1"]
    return JSONResponse({"object": "list", "data": [
        {"id": i, "object": "model", "created": created, "owned_by": "os1"} for i in ids]})


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        return await bodies.json_object(request)
    except bodies.BadBody as exc:
        return api_error(400, str(exc))


def _last_user_text(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
                return "\n".join(p["text"] for p in content if isinstance(p, dict)
                                 and p.get("type") == "text" and isinstance(p.get("text"), str))
    return None


async def chat_completions(request: Request) -> Response:
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    if body.get("tools") or _uses_tools(body.get("messages")):
        return await _tool_completion(request, body)
    text = _last_user_text(body.get("messages"))
    if not text or not text.strip():
        return api_error(400, "messages must include a user message with text.")
    hub = _hub(request)
    model = str(body.get("model") or "os1")
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    try:
        await hub.ready()
    except Os1Error as exc:
        return api_error(503, str(exc), "not_ready")

    if body.get("stream"):
        return StreamingResponse(
            _stream(hub, text, completion_id, created, model), media_type="text/event-stream",
            headers={"Cache-Control": "no-cache"})

    reply, error = [], None
    async for event in hub.chat(text, channel="api"):
        if isinstance(event, ReplyDelta):
            reply.append(event.text)
        elif isinstance(event, ErrorEvent):
            error = event.text
    if error and not reply:
        return api_error(503, error, "model_unavailable")
    content = "".join(reply).strip()
    tokens = hub.companion.llm.count_tokens  # type: ignore[union-attr]
    prompt_tokens, completion_tokens = tokens(text), tokens(content)
    return JSONResponse({
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })


async def _stream(hub: Hub, text: str, completion_id: str, created: int, model: str,
                  ) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return "data: " + json.dumps({
            "id": completion_id, "object": "chat.completion.chunk", "created": created,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }, ensure_ascii=False) + "\n\n"

    def error(text: str, code: str) -> str:  # mid-stream, an error can only travel in-band
        return "data: " + json.dumps({"error": {"message": text, "type": "server_error", "code": code}}) + "\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in hub.chat(text, channel="api"):
            if isinstance(event, ReplyDelta):
                yield chunk({"content": event.text})
            elif isinstance(event, ErrorEvent | Notice):
                yield error(event.text, "model_unavailable" if isinstance(event, ErrorEvent) else "notice")
            elif isinstance(event, ReplyDone):
                yield chunk({}, "stop")
    except Os1Error as exc:  # e.g. the disk filled: what they said could not be kept
        yield error(str(exc), "disk_full" if isinstance(exc, StorageFull) else "unavailable")
    yield "data: [DONE]\n\n"


async def transcriptions(request: Request) -> Response:
    from os1.audio.format import SAMPLE_RATE, decode_audio

    try:
        form = await request.form(max_files=1, max_part_size=MAX_UPLOAD_BYTES)
    except Exception as exc:  # noqa: BLE001 - multipart parsing errors vary
        return api_error(400, f"Send the audio as multipart/form-data with a 'file' ({exc}).")
    upload = form.get("file")
    if upload is None or isinstance(upload, str):
        return api_error(400, "The form needs a 'file' with the audio.")
    data = await upload.read()
    if len(data) > MAX_UPLOAD_BYTES:
        return api_error(413, "The audio file is larger than 25 MB.", "too_large")
    fmt = str(form.get("response_format") or "json")
    if fmt not in ("json", "text", "verbose_json"):
        return api_error(400, "response_format must be json, text or verbose_json.")
    try:
        audio = decode_audio(data, upload.filename or "the file")
        ears = (await _hub(request).voice()).ears
        prompt = str(form.get("prompt") or "")
        pieces: list[str] = []
        for start in range(0, max(audio.size, 1), int(CHUNK_S * SAMPLE_RATE)):
            piece = audio[start : start + int(CHUNK_S * SAMPLE_RATE)]
            if piece.size >= SAMPLE_RATE // 10:
                said = await ears.transcribe(piece, prompt=" ".join([prompt, *pieces])[-600:].strip())
                if said:
                    pieces.append(said)
    except AudioError as exc:
        return api_error(400, str(exc), "bad_audio")
    except Os1Error as exc:
        return api_error(503, str(exc), "voice_unavailable")
    text = " ".join(pieces).strip()
    if fmt == "text":
        return PlainTextResponse(text + "\n")
    if fmt == "verbose_json":
        return JSONResponse({"task": "transcribe", "language": "english",
                             "duration": round(audio.size / SAMPLE_RATE, 2), "text": text})
    return JSONResponse({"text": text})


async def speech(request: Request) -> Response:
    from os1.audio.format import AUDIO_FORMATS, encode_audio

    body = await _json_body(request)
    if isinstance(body, Response):
        return body
    text = body.get("input")
    if not isinstance(text, str) or not text.strip():
        return api_error(400, "'input' must be the text to speak.")
    if len(text) > MAX_SPEECH_CHARS:
        return api_error(400, f"'input' is limited to {MAX_SPEECH_CHARS} characters.", "too_large")
    fmt = str(body.get("response_format") or "mp3")
    if fmt not in AUDIO_FORMATS:
        return api_error(400, f"response_format must be one of {', '.join(AUDIO_FORMATS)}.")
    try:
        voice = (await _hub(request).voice()).voice
        chunks = [a async for a in voice.synthesize(text)]
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        data, media_type = encode_audio(audio, voice.sample_rate, fmt)
    except AudioError as exc:
        return api_error(400, str(exc), "bad_request")
    except Os1Error as exc:
        return api_error(503, str(exc), "voice_unavailable")
    return Response(data, media_type=media_type)


# -- the client's tools ------------------------------------------------------------------------


class BadRequest(ValueError):
    """The request's tools or messages do not fit OpenAI's format (a 400)."""


def _uses_tools(messages: Any) -> bool:
    """Do the messages carry a tool loop (calls, or their results)?"""
    return isinstance(messages, list) and any(
        isinstance(m, dict) and (m.get("role") in ("tool", "function") or m.get("tool_calls"))
        for m in messages)


def client_tools(tools: Any, choice: Any = None) -> tuple[ToolSpec, ...]:
    """The request's ``tools`` as the model sees tools, narrowed by
    ``tool_choice``: "none" offers none, a named function only that one
    ("required" is taken as "auto": a model cannot be made to call one)."""
    if tools is None:
        tools = []
    if not isinstance(tools, list):
        raise BadRequest("tools must be a list of functions.")
    specs: list[ToolSpec] = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if (not isinstance(tool, dict) or tool.get("type", "function") != "function"
                or not isinstance(function, dict) or not isinstance(name, str) or not _TOOL_NAME.match(name)):
            raise BadRequest(f'tools[{i}] must be {{"type": "function", "function": {{"name": ...}}}}, '
                             "the name made of letters, digits, _ and - (at most 64).")
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        description = function.get("description", "")
        if not isinstance(parameters, dict) or not isinstance(description, str):
            raise BadRequest(f"tools[{i}]: parameters must be a JSON schema object and description text.")
        if any(s.name == name for s in specs):
            raise BadRequest(f"Two tools are called {name}.")
        specs.append(ToolSpec(name, description, parameters))
    if choice == "none":
        return ()
    if isinstance(choice, dict):
        function = choice.get("function")
        wanted = function.get("name") if isinstance(function, dict) else None
        chosen = [s for s in specs if s.name == wanted]
        if not chosen:
            raise BadRequest(f"tool_choice names {wanted!r}, which is not one of the tools.")
        return tuple(chosen)
    if choice not in (None, "auto", "required"):
        raise BadRequest('tool_choice must be "none", "auto", "required" or a function.')
    return tuple(specs)


def _content(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # [{"type": "text", "text": ...}, ...]
        return "\n".join(p.get("text", "") for p in value
                         if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("text"), str))
    raise BadRequest("A message's content must be text or a list of text parts.")


def _call(value: Any) -> ToolCall:
    """An assistant message's tool call, in OpenAI's format, as os1's."""
    function = value.get("function") if isinstance(value, dict) else None
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise BadRequest('A tool call must be {"id", "type": "function", "function": {"name", "arguments"}}.')
    arguments = function.get("arguments") or "{}"
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError as exc:
            raise BadRequest(f"The arguments of the call to {function['name']} are not valid JSON.") from exc
    if not isinstance(arguments, dict):
        raise BadRequest(f"The arguments of the call to {function['name']} must be a JSON object.")
    return ToolCall(function["name"], arguments, str(value.get("id") or "call_0"))


def conversation(messages: Any) -> list[Message]:
    """The request's messages as os1's. The client's system (and developer)
    messages are left out: os1 answers as itself, as in every other turn."""
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list.")
    out: list[Message] = []
    for i, m in enumerate(messages):
        role = m.get("role") if isinstance(m, dict) else None
        if role in ("system", "developer"):
            continue
        if role == "user":
            out.append(Message("user", _content(m.get("content"))))
        elif role == "assistant":
            calls = m.get("tool_calls") or []
            if not isinstance(calls, list):
                raise BadRequest(f"messages[{i}].tool_calls must be a list.")
            out.append(Message("assistant", _content(m.get("content")), tuple(_call(c) for c in calls)))
        elif role in ("tool", "function"):  # "function": the older form of a result
            call_id = m.get("tool_call_id") or m.get("name") or ""
            out.append(Message("tool", _content(m.get("content")), tool_call_id=str(call_id)))
        else:
            raise BadRequest(f"messages[{i}] needs a role: system, user, assistant or tool.")
    if not out or out[-1].role == "assistant":
        raise BadRequest("messages must end with a user message or a tool result.")
    return out


def _fit(companion: Companion, messages: list[Message]) -> list[Message]:
    """The system prompt and as many of the latest messages as fit the
    window (the last one, cut to fit if it must)."""
    cost = companion.llm.count_tokens
    system = companion.system_message
    room = companion.budget.window - cost(system.content)
    kept: list[Message] = []
    for m in reversed(messages):
        need = cost(m.content) + 8 + sum(cost(json.dumps(c.arguments)) + 8 for c in m.tool_calls)
        if need > room:
            if not kept:  # the latest message alone is too long: its beginning
                keep = max(0, int(len(m.content) * room / need * 0.9))
                kept.append(Message(m.role, m.content[:keep], m.tool_calls, m.tool_call_id))
            break
        room -= need
        kept.append(m)
    kept.reverse()
    while len(kept) > 1 and kept[0].role == "tool":  # a result without its call reads as nonsense
        kept.pop(0)
    return [system, *kept]


@dataclass
class _Exchange:
    """One request of a client's tool loop: its prompt and what to remember of it."""

    hub: Hub
    companion: Companion
    prompt: list[Message]
    options: GenerateOptions
    asked: str | None  # the person's message, if this request brings a new one

    @property
    def names(self) -> set[str]:
        return {t.name for t in self.options.tools}

    async def stream(self) -> AsyncIterator[str | ToolCall]:
        """The model's text pieces, then the calls it made of the client's tools."""
        pieces = self.companion.llm.stream(self.prompt, self.options)
        try:
            async for piece in pieces:
                if isinstance(piece, str):
                    yield piece
                elif isinstance(piece, ToolCall) and piece.name in self.names:
                    yield piece
                # A call of anything else (or one that cannot be read) is no
                # call of the client's: nothing is returned for it.
        finally:
            closer = getattr(pieces, "aclose", None)
            if closer is not None:  # the client went away: the engine stops writing
                with contextlib.suppress(RuntimeError):
                    await closer()

    def remember_asked(self) -> None:
        """The person's new message joins the thread (before anything can fail)."""
        if self.asked is not None and self.asked.strip():
            self.hub.remember("user", self.asked, channel="api")

    def remember_reply(self, reply: str, calls: Sequence[ToolCall]) -> None:
        """os1's answer in words joins the thread (a call is the client's business)."""
        if reply.strip() and not calls:
            self.hub.remember("assistant", reply.strip(), channel="api")

    def usage(self, reply: str, calls: Sequence[ToolCall]) -> dict[str, int]:
        cost = self.companion.llm.count_tokens
        prompt = sum(cost(m.content) for m in self.prompt)
        completion = cost(reply) + sum(cost(json.dumps(c.arguments)) for c in calls)
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}


def _openai_calls(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """os1's calls as OpenAI returns them: each a fresh id, the arguments a JSON string."""
    return [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
             "function": {"name": c.name, "arguments": json.dumps(c.arguments, ensure_ascii=False)}}
            for c in calls]


async def _tool_completion(request: Request, body: dict[str, Any]) -> Response:
    hub = _hub(request)
    try:
        specs = client_tools(body.get("tools"), body.get("tool_choice"))
        messages = conversation(body.get("messages"))
    except BadRequest as exc:
        return api_error(400, str(exc))
    try:
        companion = await hub.ready()
    except Os1Error as exc:
        return api_error(503, str(exc), "not_ready")
    settings = hub.settings.llm
    exchange = _Exchange(
        hub, companion, _fit(companion, messages),
        GenerateOptions(max_tokens=settings.max_reply_tokens, temperature=settings.temperature,
                        tools=specs),
        asked=messages[-1].content if messages[-1].role == "user" else None)
    model = str(body.get("model") or "os1")
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    exchange.remember_asked()
    if body.get("stream"):
        return StreamingResponse(_tool_stream(exchange, completion_id, created, model),
                                 media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    pieces: list[str] = []
    calls: list[ToolCall] = []
    try:
        async for piece in exchange.stream():
            if isinstance(piece, ToolCall):
                calls.append(piece)
            else:
                pieces.append(piece)
    except ModelError as exc:
        return api_error(503, str(exc), "model_unavailable")
    reply = "".join(pieces).strip()
    exchange.remember_reply(reply, calls)
    message: dict[str, Any] = {"role": "assistant", "content": reply or None}
    if calls:
        message["tool_calls"] = _openai_calls(calls)
    elif not reply:
        message["content"] = ""
    return JSONResponse({
        "id": completion_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}],
        "usage": exchange.usage(reply, calls),
    })


async def _tool_stream(exchange: _Exchange, completion_id: str, created: int, model: str,
                       ) -> AsyncIterator[str]:
    def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
        return "data: " + json.dumps({
            "id": completion_id, "object": "chat.completion.chunk", "created": created,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }, ensure_ascii=False) + "\n\n"

    yield chunk({"role": "assistant", "content": ""})
    pieces: list[str] = []
    calls: list[ToolCall] = []
    try:
        async for piece in exchange.stream():
            if isinstance(piece, ToolCall):
                calls.append(piece)
            else:
                pieces.append(piece)
                yield chunk({"content": piece})
    except ModelError as exc:
        # Mid-stream, an error can only travel in-band.
        yield "data: " + json.dumps({"error": {"message": str(exc), "type": "server_error",
                                               "code": "model_unavailable"}}) + "\n\n"
    exchange.remember_reply("".join(pieces), calls)
    for index, call in enumerate(_openai_calls(calls)):
        yield chunk({"tool_calls": [{"index": index, **call}]})
    yield chunk({}, "tool_calls" if calls else "stop")
    yield "data: [DONE]\n\n"

"""OpenAI-compatible HTTP API over the same engine, so existing clients work.

``/v1/chat/completions`` is a turn of the one shared conversation: os1 keeps
its own history and memory, so it reads the request's last user message (the
client's earlier messages are already in os1's thread) and the exchange goes
into memory like a typed one. Model names in requests are accepted and ignored:
os1 answers with what it runs.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from os1.errors import AudioError, Os1Error
from os1.events import ErrorEvent, Notice, ReplyDelta, ReplyDone
from os1.web.hub import Hub

MAX_SPEECH_CHARS = 4096  # as OpenAI's speech API
MAX_UPLOAD_BYTES = 25 * 1024 * 1024  # as OpenAI's transcription API
CHUNK_S = 25.0  # Whisper hears 30 s at most: long recordings go in pieces


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
    return request.app.state.hub


async def models(request: Request) -> JSONResponse:
    hub = _hub(request)
    created = int(time.time())
    ids = ["os1", hub.settings.llm.model, "whisper-1", "tts-1"]
    return JSONResponse({"object": "list", "data": [
        {"id": i, "object": "model", "created": created, "owned_by": "os1"} for i in ids]})


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        body = await request.json()
    except ValueError:
        return api_error(400, "The request body is not valid JSON.")
    if not isinstance(body, dict):
        return api_error(400, "The request body must be a JSON object.")
    return body


def _last_user_text(messages: Any) -> str | None:
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):  # [{"type": "text", "text": ...}, ...]
                return "\n".join(p.get("text", "") for p in content
                                 if isinstance(p, dict) and p.get("type") == "text")
    return None


async def chat_completions(request: Request) -> Response:
    body = await _json_body(request)
    if isinstance(body, Response):
        return body
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

    yield chunk({"role": "assistant", "content": ""})
    async for event in hub.chat(text, channel="api"):
        if isinstance(event, ReplyDelta):
            yield chunk({"content": event.text})
        elif isinstance(event, ErrorEvent | Notice):
            # Mid-stream, an error can only travel in-band.
            yield "data: " + json.dumps({"error": {"message": event.text, "type": "server_error"}}) + "\n\n"
        elif isinstance(event, ReplyDone):
            yield chunk({}, "stop")
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

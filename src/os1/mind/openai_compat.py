"""An OpenAI-compatible chat server as the mind: Ollama, llama.cpp server, vLLM,
LM Studio, OpenAI. Streams with server-sent events over httpx."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx

from os1.config import LLMSettings
from os1.errors import ModelError, ModelUnavailable
from os1.mind.llm import BadToolCall, GenerateOptions, Message, ToolCall, ToolSpec, estimate_tokens


class OpenAICompatLLM:
    """Chat completions from ``{base_url}/chat/completions``."""

    def __init__(self, settings: LLMSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = settings.model.rstrip("/")
        self.model = settings.server_model or "default"
        self.name = f"{self.model} @ {self.base_url}"
        self.context_length = settings.context_length
        #: The server takes a schema only as ``{"type": "json_object", "schema": …}``
        #: (llama-cpp-python's server), not as OpenAI's ``json_schema``: learnt from its refusal.
        self._json_object = False
        headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(settings.timeout, connect=min(10.0, settings.timeout)),
            transport=transport,
        )

    def count_tokens(self, text: str) -> int:
        return estimate_tokens(text)

    async def warm(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> None:
        """Nothing to do: the server manages its own cache."""

    async def stream(
        self, messages: Sequence[Message], options: GenerateOptions
    ) -> AsyncIterator[str | ToolCall | BadToolCall]:
        try:
            async for piece in self._stream(messages, options):
                yield piece
        except _SchemaRefused:
            self._json_object = True
            async for piece in self._stream(messages, options):
                yield piece

    async def _stream(
        self, messages: Sequence[Message], options: GenerateOptions
    ) -> AsyncIterator[str | ToolCall | BadToolCall]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [wire_message(m) for m in messages],
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
        }
        if options.json_schema is not None:
            body["response_format"] = {"type": "json_object", "schema": options.json_schema} \
                if self._json_object else {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": options.json_schema},
            }
        if options.tools:  # the server's own tool calling
            body["tools"] = [{"type": "function", "function": {
                "name": t.name, "description": t.description, "parameters": t.parameters}}
                for t in options.tools]
            body["tool_choice"] = options.tool_choice
        calls: dict[int, dict[str, str]] = {}  # by index, as their pieces arrive
        ended = False  # [DONE] or a finish_reason came: a stream that stops without either was cut off
        said = False
        try:
            async with self._client.stream("POST", "/chat/completions", json=body) as response:
                if response.status_code >= 400:
                    detail = (await response.aread()).decode("utf-8", "replace")[:300]
                    if options.json_schema is not None and not self._json_object and "json_schema" in detail:
                        raise _SchemaRefused()
                    raise ModelUnavailable(
                        f"The model server at {self.base_url} answered HTTP "
                        f"{response.status_code}: {detail.strip() or response.reason_phrase}"
                    )
                async for line in response.aiter_lines():
                    piece = _parse_sse(line, calls)
                    if piece is _DONE:
                        ended = True
                        break
                    if piece is _FINISHED:
                        ended = True
                    elif piece:
                        said = True
                        yield piece
        except httpx.TimeoutException as exc:
            raise ModelUnavailable(
                f"The model server at {self.base_url} did not answer in time."
            ) from exc
        except httpx.TransportError as exc:
            if said:
                raise ModelUnavailable(self._cut_off) from exc
            raise ModelUnavailable(
                f"Cannot reach the model server at {self.base_url} ({exc.__class__.__name__}). "
                "Is it running? Check OS1_LLM / llm.model."
            ) from exc
        if not ended:
            raise ModelUnavailable(self._cut_off)
        for index in sorted(calls):
            yield _tool_call(calls[index], index)

    @property
    def _cut_off(self) -> str:
        return f"The model server at {self.base_url} stopped in the middle of its reply."

    async def aclose(self) -> None:
        await self._client.aclose()


_DONE = object()
_FINISHED = object()  # a chunk that ends the reply (finish_reason), with nothing to say


class _SchemaRefused(Exception):
    """The server does not know OpenAI's ``json_schema`` response format."""


def wire_message(m: Message) -> dict[str, Any]:
    """A message as the OpenAI chat API has it."""
    out: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.name, "arguments": json.dumps(c.arguments)}} for c in m.tool_calls]
    if m.role == "tool":
        out["tool_call_id"] = m.tool_call_id or "call_0"
    return out


def _tool_call(parts: dict[str, str], index: int) -> ToolCall | BadToolCall:
    try:
        arguments = json.loads(parts.get("arguments") or "{}")
    except json.JSONDecodeError:
        arguments = None
    if not parts.get("name") or not isinstance(arguments, dict):
        return BadToolCall(json.dumps(parts))
    return ToolCall(parts["name"], arguments, parts.get("id") or f"call_{index}")


def _parse_sse(line: str, calls: dict[int, dict[str, str]]) -> Any:
    """One SSE line -> a text piece, ``_DONE``, or None for anything else;
    pieces of tool calls are gathered into ``calls``."""
    if not line.startswith("data:"):
        return None
    data = line[5:].strip()
    if data == "[DONE]":
        return _DONE
    try:
        payload = json.loads(data)
    except json.JSONDecodeError as exc:
        raise ModelError(f"The model server sent something that is not JSON: {data[:120]!r}") from exc
    if "error" in payload:
        raise ModelUnavailable(f"The model server reported an error: {payload['error']}")
    choices = payload.get("choices") or [{}]
    delta = choices[0].get("delta") or {}
    finished = bool(choices[0].get("finish_reason"))
    for piece in delta.get("tool_calls") or ():
        call = calls.setdefault(int(piece.get("index", len(calls))), {})
        if piece.get("id"):
            call["id"] = piece["id"]
        function = piece.get("function") or {}
        if function.get("name"):
            call["name"] = call.get("name", "") + function["name"]
        call["arguments"] = call.get("arguments", "") + (function.get("arguments") or "")
    if finished and not delta.get("content"):
        return _FINISHED
    return delta.get("content")

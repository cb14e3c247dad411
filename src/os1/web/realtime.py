"""The realtime protocol: one WebSocket per page, JSON events and binary PCM.

Documented in docs/protocol.md (version 2). In short: the client sends
``session.start``, then ``message`` (typed text), ``call.start`` /
``call.end``, ``reply.cancel``, ``consent.answer`` (the person's yes or no to
an action os1 proposed) and binary frames of its microphone (PCM s16le mono,
16 kHz unless ``session.start`` said otherwise). The server sends the
conversation's events as JSON; each piece of os1's voice is an ``audio.out``
event followed by exactly one binary message with its samples.

A bad message gets an ``error`` event and the connection stays open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from os1.errors import Os1Error
from os1.events import (
    ConsentRequest, ConsentResolved, ErrorEvent, Event, Initiated, Interrupted, Notice, ReplyAudio,
    ReplyDelta, ReplyDone, ReplyStarted, Retracted, Shown, SpeechStarted, SpeechStopped, Status, ToolActivity,
    Transcript, TurnTimes, UserTurn,
)
from os1.web.hub import Hub

log = logging.getLogger(__name__)

PROTOCOL = 2
#: Versions a client may ask for: 2 only adds messages to 1, which a version 1
#: client ignores (an action it is never asked about just expires, undone).
PROTOCOLS = (1, 2)
MAX_TEXT_BYTES = 64 * 1024  # one JSON message
MAX_AUDIO_BYTES = 256 * 1024  # one binary message: 8 s at 16 kHz
MAX_MESSAGE_CHARS = 20_000  # one typed message
INPUT_RATES = range(8000, 48001)


def encode(event: Event) -> dict[str, Any] | None:
    """An os1 event as a protocol message (None: not sent to clients)."""
    match event:
        case UserTurn(message_id=i, text=text, channel=channel):
            return {"type": "user.message", "id": f"m{i}", "text": text, "channel": channel}
        case ReplyStarted():
            return {"type": "reply.started"}
        case ReplyDelta(text=text):
            return {"type": "reply.delta", "text": text}
        case ReplyDone(text=text, interrupted=interrupted, message_id=i):
            return {"type": "reply.done", "text": text, "interrupted": interrupted,
                    "id": f"m{i}" if i is not None else None}
        case Notice(text=text):
            return {"type": "notice", "text": text}
        case ErrorEvent(text=text):
            return {"type": "error", "code": "turn_failed", "message": text}
        case Status(state=state):
            return {"type": "status", "state": state}
        case SpeechStarted(t=t):
            return {"type": "speech.started", "t": round(t, 3)}
        case SpeechStopped(t=t):
            return {"type": "speech.stopped", "t": round(t, 3)}
        case Transcript(text=text, final=final):
            return {"type": "transcript", "text": text, "final": final}
        case ReplyAudio(text=text):
            return {"type": "reply.spoken", "text": text}
        case Interrupted(heard=heard):
            return {"type": "interrupted", "heard": heard}
        case Retracted(message_id=i):
            return {"type": "turn.retracted", "id": f"m{i}"}
        case TurnTimes():
            return {"type": "turn.times", "transcript_ms": event.transcript_ms,
                    "first_token_ms": event.first_token_ms, "first_audio_ms": event.first_audio_ms}
        case ToolActivity(name=name, arguments=arguments, state=state, detail=detail):
            return {"type": "tool.activity", "name": name, "arguments": arguments, "state": state,
                    "detail": detail}
        case ConsentRequest(proposal_id=i, tool=tool, action=action, warnings=warnings,
                            expires_at=expires_at):
            return {"type": "consent.request", "id": i, "tool": tool, "action": action,
                    "warnings": list(warnings), "expires_at": expires_at}
        case ConsentResolved(proposal_id=i, outcome=outcome, text=text):
            return {"type": "consent.resolved", "id": i, "outcome": outcome, "text": text}
        case Initiated(reason=reason):
            return {"type": "initiated", "reason": reason}
        case Shown(kind=kind, data=data):
            return {"type": "view", "kind": kind, "data": data}
    return None


class Connection:
    """One page: its outgoing queue (a single writer keeps ``audio.out`` and
    its binary message together), its typed turns and its call."""

    def __init__(self, ws: WebSocket, hub: Hub):
        self.ws = ws
        self.hub = hub
        self._out: asyncio.Queue[dict[str, Any] | bytes | None] = asyncio.Queue()
        self.call: Call | None = None
        self.input_rate = 16000
        self._turns: set[asyncio.Task[None]] = set()
        self._started = False

    def send(self, message: dict[str, Any] | bytes) -> None:
        self._out.put_nowait(message)

    def error(self, code: str, message: str) -> None:
        self.send({"type": "error", "code": code, "message": message})

    async def run(self) -> None:
        writer = asyncio.ensure_future(self._write())
        # The thread's news once the session is open: before session.start a
        # client hears nothing but the answers to what it sent.
        unsubscribe = self.hub.subscribe(self._thread_news)
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                if message.get("bytes") is not None:
                    self._audio(message["bytes"])
                elif message.get("text") is not None:
                    await self._handle(message["text"])
        except WebSocketDisconnect:
            pass
        finally:
            unsubscribe()
            if self.call is not None:
                await self.call.end()  # what was heard of a reply is kept, nothing more
            # Typed turns keep running in the hub: their replies are finished and stored.
            self._out.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer

    def _thread_news(self, item: dict[str, Any]) -> None:
        if self._started:
            self.send({"type": "thread.message", **item})

    async def _write(self) -> None:
        while (message := await self._out.get()) is not None:
            try:
                if isinstance(message, bytes):
                    await self.ws.send_bytes(message)
                else:
                    await self.ws.send_text(json.dumps(message, ensure_ascii=False))
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # the page went away; the reader notices too

    # -- client messages ----------------------------------------------------------------

    async def _handle(self, raw: str) -> None:
        if len(raw.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
            return self.error("too_large", f"Messages are limited to {MAX_TEXT_BYTES // 1024} KiB.")
        try:
            message = json.loads(raw)
        except ValueError:
            return self.error("bad_json", "That message is not valid JSON.")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return self.error("bad_message", 'A message is a JSON object with a "type".')
        kind = message["type"]
        if kind == "session.start":
            return await self._session_start(message)
        if not self._started:
            return self.error("no_session", 'Send {"type": "session.start"} first.')
        if kind == "message":
            text = message.get("text")
            if not isinstance(text, str) or not text.strip():
                return self.error("bad_message", 'A "message" needs a non-empty "text".')
            if len(text) > MAX_MESSAGE_CHARS:
                return self.error("too_large", f"A message is limited to {MAX_MESSAGE_CHARS:,} characters.")
            self._start(self._turn(self.hub.chat(text, channel="text"), text))
        elif kind == "consent.answer":
            proposal_id = message.get("id")
            if not isinstance(proposal_id, int) or isinstance(proposal_id, bool):
                return self.error("bad_message", 'A "consent.answer" needs the "id" of the consent.request.')
            approve = message.get("approve") is True  # anything but an explicit yes is a no
            self._start(self._answer(proposal_id, approve))
        elif kind == "call.start":
            if self._set_input_rate(message):
                await self._call_start()
        elif kind == "call.end":
            if self.call is not None:
                call, self.call = self.call, None
                await call.end()
            self.send({"type": "call.ended"})
        elif kind == "reply.cancel":
            if self.hub.companion is not None:
                self.hub.companion.interrupt()
            if self.call is not None:
                await self.call.interrupt()
        elif kind == "ping":
            self.send({"type": "pong"})
        else:
            self.error("unknown_type", f"Unknown message type {kind!r}.")

    def _set_input_rate(self, message: dict[str, Any]) -> bool:
        rate = message.get("sample_rate", self.input_rate)
        if not isinstance(rate, int) or rate not in INPUT_RATES:
            self.error("bad_message", "sample_rate must be an integer from 8000 to 48000.")
            return False
        self.input_rate = rate
        return True

    def _start(self, turn: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(turn)
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _session_start(self, message: dict[str, Any]) -> None:
        version = message.get("protocol", PROTOCOL)
        if version not in PROTOCOLS or isinstance(version, bool):
            return self.error("bad_protocol",
                              f"This server speaks protocol {PROTOCOL} (or 1), not {version!r}.")
        if not self._set_input_rate(message):
            return None
        self._started = True
        self.send({"type": "session.started", "protocol": PROTOCOL, "input": {
            "format": "pcm_s16le", "sample_rate": self.input_rate, "channels": 1},
            "companion": self.hub.settings.persona.name, "user": self.hub.settings.user})
        try:
            await self.hub.ready()
        except Os1Error as exc:
            return self.error("not_ready", str(exc))
        self.send({"type": "history", "messages": self.hub.history(limit=60)})

    async def _turn(self, events: AsyncIterator[Event], text: str | None = None) -> None:
        """Run a typed turn (or the answer to a proposal) in the hub, and
        stream its events to this page. If what they typed (``text``) could
        not be kept (a full disk), the error gives it back to them."""
        kept = False
        try:
            async for event in events:
                kept = kept or isinstance(event, UserTurn)
                if isinstance(event, UserTurn | ReplyDone):
                    continue  # every page hears these as thread.message
                if (encoded := encode(event)) is not None:
                    self.send(encoded)
        except Os1Error as exc:
            error = {"type": "error", "code": "turn_failed", "message": str(exc)}
            self.send(error if kept or text is None else {**error, "unsent": text})

    async def _answer(self, proposal_id: int, approve: bool) -> None:
        """The person's answer to a proposal: carried out in the call if one is
        on (os1 says what came of it), else like a typed turn."""
        try:
            companion = self.call.session.companion if self.call is not None else await self.hub.ready()
        except Os1Error as exc:
            return self.error("not_ready", str(exc))
        if not any(p.id == proposal_id for p in companion.pending):
            # Answered already (another page, a spoken yes), expired, or from before a restart.
            resolved = self.hub.unanswerable(proposal_id)
            if resolved is None:
                return self.error("unknown_proposal", f"There is no proposal {proposal_id}.")
            self.send({"type": "consent.resolved", "id": resolved.proposal_id,
                       "outcome": resolved.outcome, "text": resolved.text})
        elif self.call is not None:
            await self.call.answer(proposal_id, approve)
        else:
            await self._turn(self.hub.answer(proposal_id, approve, channel="text"))

    async def _call_start(self) -> None:
        if self.call is not None:
            return self.send({"type": "call.started", "output": self.call.output_format})
        self.send({"type": "status", "state": "connecting"})
        try:
            companion = await self.hub.ready()
            parts = await self.hub.voice()
        except Os1Error as exc:
            return self.error("voice_unavailable", str(exc))
        self.call = Call(self, companion, parts)
        self.send({"type": "call.started", "output": self.call.output_format})

    def _audio(self, data: bytes) -> None:
        if len(data) > MAX_AUDIO_BYTES:
            return self.error("too_large", f"Audio messages are limited to {MAX_AUDIO_BYTES // 1024} KiB.")
        if len(data) % 2:
            return self.error("bad_audio", "Audio is 16-bit PCM: an even number of bytes.")
        if self.call is None:
            return  # a late frame after call.end: nothing to do with it
        self.call.audio(np.frombuffer(data, "<i2").astype(np.float32) / 32768.0)


class Call:
    """A voice call on a connection: the page's microphone feeds a
    :class:`VoiceSession`; os1's voice goes back over the socket."""

    def __init__(self, conn: Connection, companion: Any, parts: Any):
        from os1.talk import VoiceSession

        self.conn = conn
        self.rate = parts.voice.sample_rate
        self.output_format = {"format": "pcm_s16le", "sample_rate": self.rate, "channels": 1}
        self._frames: asyncio.Queue[np.ndarray | None] = asyncio.Queue()
        self._pending = np.zeros(0, np.float32)
        self._written: ReplyDone | None = None
        self._spoken: int | None = None  # the message being said (it may have joined the thread)
        self._answering = 0  # answers from the page being carried out outside a spoken reply
        self.session = VoiceSession(companion, parts, _SocketOutput(conn), self._on_event, barge_in=True)
        self._task = asyncio.ensure_future(self.session.run(self._mic()))
        conn.hub.calls.add(self)

    def _on_event(self, event: Event) -> None:
        hub = self.conn.hub
        if isinstance(event, UserTurn):
            hub.publish_event(event, "voice")
        elif isinstance(event, ReplyDone) and self._answering:
            # What came of an answer given on the page while os1 was speaking:
            # shown, not spoken, so it joins the thread at once.
            self._publish_written()
            hub.publish_event(event, "voice")
        elif isinstance(event, ReplyDone):
            self._written = event  # it joins the thread once it has been heard
            self._spoken = event.message_id
        elif isinstance(event, Retracted):
            self._written = self._spoken = None
            if (message := encode(event)) is not None:  # this page drops the reply it was showing
                self.conn.send(message)
            hub.publish({"role": "forgotten", "id": f"m{event.message_id}"})
        else:
            if isinstance(event, Interrupted):
                written, self._written = self._written, None
                spoken, self._spoken = self._spoken, None
                message_id = (written.message_id if written else spoken if spoken is not None
                              else self.session.companion.last_reply_id)
                if event.heard and message_id is not None:
                    hub.publish_event(ReplyDone(event.heard, True, message_id), "voice")
            elif isinstance(event, Status) and event.state == "listening":
                self._publish_written()
                self._spoken = None
            elif isinstance(event, ConsentResolved) and self._answering:
                # The reply that asked has been written in full: it closes before the answer's.
                self._publish_written()
            if (encoded := encode(event)) is not None:
                self.conn.send(encoded)

    def _publish_written(self) -> None:
        if self._written is not None:
            self.conn.hub.publish_event(self._written, "voice")
            self._written = None

    async def answer(self, proposal_id: int, approve: bool) -> None:
        """The person answered a proposal on the page during the call."""
        self._answering += 1
        try:
            await self.session.answer(proposal_id, approve)
        finally:
            self._answering -= 1

    def audio(self, samples: np.ndarray) -> None:
        from os1.audio.format import FRAME, SAMPLE_RATE, resample

        if self.conn.input_rate != SAMPLE_RATE:
            samples = resample(samples, self.conn.input_rate, SAMPLE_RATE)
        pending = np.concatenate([self._pending, samples])
        whole = pending.size - pending.size % FRAME
        for i in range(0, whole, FRAME):
            self._frames.put_nowait(pending[i : i + FRAME])
        self._pending = pending[whole:]

    async def _mic(self) -> AsyncIterator[np.ndarray]:
        while (frame := await self._frames.get()) is not None:
            yield frame

    async def interrupt(self) -> None:
        """The page's stop button: like talking over the reply."""
        self.session.stop_reply()

    def speak_first(self, text: str, message_id: int) -> bool:
        """A reach-out, spoken if the line is quiet (it is in the thread anyway)."""
        spoken = self.session.speak_first(text, message_id)
        if spoken:
            self._spoken = message_id
        return spoken

    async def end(self) -> None:
        self.conn.hub.calls.discard(self)
        await self.session.hang_up()
        self._frames.put_nowait(None)
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class _SocketOutput:
    """os1's voice to the page. The page plays pieces back to back as they
    arrive; ``play`` lasts as long as the piece sounds, so cancelling it (a
    barge-in) knows how much was heard, and the page is told to stop."""

    def __init__(self, conn: Connection):
        self.conn = conn

    async def play(self, audio: np.ndarray, rate: int) -> None:
        from os1.audio.format import to_pcm16

        pcm = to_pcm16(audio)
        self.conn.send({"type": "audio.out", "sample_rate": rate, "samples": audio.size})
        self.conn.send(pcm)
        try:
            await asyncio.sleep(audio.size / rate)
        except asyncio.CancelledError:
            self.conn.send({"type": "audio.stop"})
            raise

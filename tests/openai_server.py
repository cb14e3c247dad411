"""A tiny real OpenAI-compatible chat server (stdlib HTTP, SSE) for tests.

It replies "I hear you: <last line of the user's message>" word by word, or
``{"facts": []}`` for JSON requests, and records every request body. It also
speaks (``/audio/speech``: a tenth of a second of silence, as 24 kHz PCM) and
hears (``/audio/transcriptions``: "I heard you"), for tests of os1's voice API
that need no voice models.

``cut_after``: the server dies that many words into each reply (the
connection drops, no end of stream); :meth:`down` and :meth:`up` take it away
(connections refused) and bring it back on the same address.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class OpenAIServer:
    def __init__(self, *, status: int = 200, tool_call: tuple[str, str] | None = None,
                 json_object_only: bool = False, numbered_hearings: bool = False,
                 reflection_seconds: float = 0.0):
        """``tool_call``: (name, arguments JSON) to call when a request offers tools;
        ``json_object_only``: refuse OpenAI's ``json_schema`` response format, as
        llama-cpp-python's server does (it takes ``json_object`` with a schema);
        ``numbered_hearings``: each transcription is told apart ("I heard you 7");
        ``reflection_seconds``: how long writing a reflection takes (a real model's take seconds)."""
        self.requests: list[dict[str, Any]] = []
        self.json_object_only = json_object_only
        self.status = status
        self.tool_call = tool_call
        self.cut_after: int | None = None
        self.hearings = 0
        self.reflection_seconds = reflection_seconds
        counting = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                if self.path.endswith(("/audio/speech", "/audio/transcriptions")):
                    self._audio()
                    return
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                kind = (body.get("response_format") or {}).get("type")
                if server.json_object_only and kind == "json_schema":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b'{"error": {"message": "response_format.type: Input should be '
                                     b'\'text\' or \'json_object\'", "input": "json_schema"}}')
                    return
                if server.status != 200:
                    self.send_response(server.status)
                    self.end_headers()
                    self.wfile.write(b'{"error": "overloaded"}')
                    return
                form = body.get("response_format") or {}
                schema = form.get("json_schema", {}).get("schema", {}) if kind == "json_schema" else \
                    form.get("schema", {})
                if "summary" in schema.get("properties", {}):  # reflection
                    time.sleep(server.reflection_seconds)
                    pieces = [json.dumps({"summary": "We said hello.", "journal": "A quiet start.",
                                          "self_description": "I listen.", "moments": [],
                                          "facts": []})]
                elif body.get("response_format"):
                    pieces = ['{"facts": []}']
                else:
                    # The last line said (a client's tool loop may end on an empty result).
                    last = (str(body["messages"][-1].get("content") or "").strip().splitlines() or [""])[-1]
                    words = f"I hear you: {last}".split(" ")
                    pieces = [w if i == 0 else " " + w for i, w in enumerate(words)]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                if server.tool_call and body.get("tools") and body.get("tool_choice") != "none":
                    name, arguments = server.tool_call
                    half = len(arguments) // 2  # the arguments arrive in pieces, as OpenAI sends them
                    deltas = [{"index": 0, "id": "call_abc", "type": "function",
                               "function": {"name": name, "arguments": arguments[:half]}},
                              {"index": 0, "function": {"arguments": arguments[half:]}}]
                    pieces = []
                    for delta in deltas:
                        chunk = {"choices": [{"index": 0, "delta": {"tool_calls": [delta]}}]}
                        self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                for n, piece in enumerate(pieces):
                    if n == server.cut_after and not body.get("response_format"):
                        self.connection.shutdown(socket.SHUT_RDWR)  # killed mid-reply
                        self.close_connection = True
                        return
                    chunk = {"choices": [{"index": 0, "delta": {"content": piece}}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

            def _audio(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                speech = self.path.endswith("/audio/speech")
                with counting:
                    server.hearings += not speech
                    heard = f"I heard you {server.hearings}" if numbered_hearings else "I heard you"
                data = bytes(2 * 2400) if speech else json.dumps({"text": heard}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "audio/pcm" if speech else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._handler = Handler
        self._httpd: ThreadingHTTPServer | None = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> OpenAIServer:
        assert self._httpd is not None
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.down()

    def down(self) -> None:
        """Gone: connections to it are refused."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def up(self) -> None:
        """Back, at the same address."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler)
        self.__enter__()

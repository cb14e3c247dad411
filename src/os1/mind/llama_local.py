"""The embedded mind: a GGUF model run in-process by llama.cpp.

Two contexts share the memory-mapped weights: the foreground context serves
conversation turns and keeps its KV cache from turn to turn (the prompt starts
with the same persona and history, so each turn only prefills the new text);
the background context serves fact extraction and reflection, so that work
never evicts the conversation's cache. Only one of them computes at a time:
background work pauses between small prompt batches and between tokens
whenever a foreground turn is waiting, so it never slows a reply.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from os1.config import LLMSettings
from os1.errors import ModelError, ModelNotInstalled
from os1.mind.llm import GenerateOptions, Message

_END = object()


class _Failure:
    def __init__(self, exc: BaseException):
        self.exc = exc


def default_threads() -> int:
    """One thread per core we may run on; llama.cpp gains nothing from SMT."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


class LlamaLocalLLM:
    """An embedded llama.cpp model. Load with :meth:`load` (blocking, ~1 s)."""

    def __init__(self, settings: LLMSettings, model_path: Path):
        self.name = settings.model
        self.context_length = settings.context_length
        self._settings = settings
        self._path = model_path
        self._threads = settings.threads or default_threads()
        self._fg: Any = None
        self._bg: Any = None
        self._run = threading.Lock()  # held by whichever context computes
        self._bg_lock = threading.Lock()
        self._cond = threading.Condition()
        self._fg_waiting = 0

    # -- loading -----------------------------------------------------------------

    def load(self) -> None:
        if self._fg is None:
            self._fg = self._new_context(n_batch=512, pausable=False)

    def _ensure_background_context(self) -> None:
        with self._bg_lock:
            if self._bg is None:
                # Small batches so background prefill can step aside every ~64 tokens;
                # a small window because it only ever sees one message at a time.
                self._bg = self._new_context(n_batch=64, pausable=True, n_ctx=2048)

    def _new_context(self, *, n_batch: int, pausable: bool, n_ctx: int | None = None) -> Any:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelNotInstalled(
                "The embedded model runtime is not installed. Install it with: "
                "pip install 'os1[local]'  (or point OS1_LLM at an OpenAI-compatible server)."
            ) from exc
        cls = _pausable_class(llama_cpp.Llama, self._yield_to_foreground) if pausable else llama_cpp.Llama
        try:
            return cls(
                model_path=str(self._path),
                n_ctx=n_ctx or self.context_length,
                n_batch=n_batch,
                n_threads=self._threads,
                n_threads_batch=self._threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Could not load the model {self._path}: {exc}") from exc

    # -- scheduling ------------------------------------------------------------------

    def _yield_to_foreground(self) -> None:
        """Called by background work at safe points: step aside while a turn waits."""
        with self._cond:
            if not self._fg_waiting:
                return
            self._run.release()
            self._cond.wait_for(lambda: self._fg_waiting == 0)
        self._run.acquire()

    # -- tokens ------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        self.load()
        return len(self._fg.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    def stream(self, messages: Sequence[Message], options: GenerateOptions) -> AsyncIterator[str]:
        return self._stream(messages, options)

    async def _stream(
        self, messages: Sequence[Message], options: GenerateOptions
    ) -> AsyncIterator[str]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone; nobody is listening
                cancel.set()

        def work() -> None:
            try:
                for piece in self._generate(messages, options, cancel):
                    put(piece)
                put(_END)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                put(_Failure(exc))

        threading.Thread(target=work, name=f"llm-{options.priority}", daemon=True).start()
        try:
            while True:
                item = await queue.get()
                if item is _END:
                    return
                if isinstance(item, _Failure):
                    if isinstance(item.exc, ModelError):
                        raise item.exc
                    raise ModelError(f"The model failed: {item.exc}") from item.exc
                yield item
        finally:
            cancel.set()  # the worker stops at its next token

    def _generate(
        self, messages: Sequence[Message], options: GenerateOptions, cancel: threading.Event
    ) -> Iterator[str]:
        background = options.priority == "background"
        if background:
            self._ensure_background_context()  # outside the run lock: loading is mostly mmap
            self._run.acquire()
        else:
            with self._cond:
                self._fg_waiting += 1
            self._run.acquire()
        try:
            self.load()
            llama = self._bg if background else self._fg
            kwargs: dict[str, Any] = {
                "messages": [{"role": m.role, "content": m.content} for m in messages],
                "stream": True,
                "max_tokens": options.max_tokens,
                "temperature": options.temperature,
                "top_p": 0.9,
                "repeat_penalty": 1.1,
            }
            if options.json_schema is not None:
                kwargs["response_format"] = {"type": "json_object", "schema": options.json_schema}
            chunks = llama.create_chat_completion(**kwargs)
            try:
                for chunk in chunks:
                    if cancel.is_set():
                        break
                    delta = chunk["choices"][0]["delta"].get("content")
                    if delta:
                        yield delta
                    if background:
                        self._yield_to_foreground()
            finally:
                chunks.close()
        finally:
            self._run.release()
            if not background:
                with self._cond:
                    self._fg_waiting -= 1
                    self._cond.notify_all()

    async def aclose(self) -> None:
        # Wait for any generation in flight to notice its cancellation.
        await asyncio.to_thread(self._run.acquire)
        try:
            for llama in (self._fg, self._bg):
                if llama is not None:
                    llama.close()
            self._fg = self._bg = None
        finally:
            self._run.release()


def _pausable_class(base: type, checkpoint: Any) -> type:
    """A Llama whose prompt evaluation calls ``checkpoint`` between batches."""

    class PausableLlama(base):  # type: ignore[misc, valid-type]
        def eval(self, tokens: Sequence[int]) -> None:
            for start in range(0, len(tokens), self.n_batch):
                checkpoint()
                super().eval(tokens[start : start + self.n_batch])

    return PausableLlama

"""The embedded mind: a GGUF model run in-process by llama.cpp.

Two contexts share the memory-mapped weights: the foreground context serves
conversation turns and keeps its KV cache from turn to turn (the prompt starts
with the same persona and history, so each turn only prefills the new text);
the background context serves fact extraction and reflection, so that work
never evicts the conversation's cache.

All llama.cpp work runs on the CPU lane (os1.compute), with the other
engines: a turn is FOREGROUND work, memory work BACKGROUND. Both step aside at
checkpoints (between prompt batches and between tokens) for work that outranks
them, e.g. speech synthesis of the sentence just written, so a turn never waits
more than one small batch for background work.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from os1.compute import BACKGROUND, FOREGROUND, lane
from os1.config import LLMSettings
from os1.errors import ModelError, ModelNotInstalled
from os1.mind.llm import BACKGROUND_CONTEXT, GenerateOptions, Message

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
        self._path = model_path
        self._threads = settings.threads or default_threads()
        self._fg: Any = None
        self._bg: Any = None
        self._lane = lane()

    # -- loading -----------------------------------------------------------------

    def load(self) -> None:
        """Load the foreground context (blocks until ready)."""
        if self._fg is not None:
            return
        self._lane.submit(self._load_foreground, FOREGROUND).result()

    def _load_foreground(self) -> None:
        if self._fg is None:
            # Batches of 32 tokens: a prompt is read in steps of ~0.45 s (1.5B,
            # 2 cores), between which urgent voice work (the user's last words)
            # can run, and a prefill nobody needs any more can stop. Batches of
            # 128 read ~15% faster but hold the CPU for ~1.5 s.
            self._fg = self._new_context(n_batch=32)

    def _new_context(self, *, n_batch: int, n_ctx: int | None = None) -> Any:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelNotInstalled(
                "The embedded model runtime is not installed. Install it with: "
                "pip install 'os1[local]'  (or point OS1_LLM at an OpenAI-compatible server)."
            ) from exc
        cls = _pausable_class(llama_cpp.Llama, self._lane.checkpoint)
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

    # -- the LLM protocol ---------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        # Tokenizing only reads the vocabulary: safe beside the compute thread.
        self.load()
        return len(self._fg.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    async def warm(self, messages: Sequence[Message]) -> None:
        """Prefill ``messages`` into the foreground KV cache (one token sampled)."""
        async for _ in self.stream(messages, GenerateOptions(max_tokens=1, temperature=0.0)):
            pass

    async def stream(
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

        def job() -> None:
            try:
                self._generate(messages, options, cancel, put)
                put(_END)
            except _Abandoned:
                put(_END)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer
                put(_Failure(exc))

        self._lane.submit(job, BACKGROUND if options.priority == "background" else FOREGROUND)
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
            cancel.set()  # the job stops at its next token (or never starts)

    def _generate(
        self, messages: Sequence[Message], options: GenerateOptions,
        cancel: threading.Event, put: Callable[[Any], None],
    ) -> None:
        if cancel.is_set():
            return
        background = options.priority == "background"
        self._load_foreground()
        if background and self._bg is None:
            # Small batches so background prefill reaches a checkpoint every ~32
            # tokens (~0.3 s); a window for one message, or one conversation's
            # transcript when reflecting on it.
            self._bg = self._new_context(
                n_batch=32, n_ctx=min(BACKGROUND_CONTEXT, self.context_length))
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
        llama.cancel = cancel
        # A warm-up (reading what the user has said so far) is speculative:
        # shorter steps (~0.25 s) so their next words are heard without delay.
        llama.step = WARM_STEP if options.max_tokens == 1 else None
        chunks = llama.create_chat_completion(**kwargs)
        try:
            for chunk in chunks:
                if cancel.is_set():
                    break
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    put(delta)
                self._lane.checkpoint()
        finally:
            chunks.close()

    async def aclose(self) -> None:
        def close() -> None:
            for llama in (self._fg, self._bg):
                if llama is not None:
                    llama.close()
            self._fg = self._bg = None

        await self._lane.run(close, BACKGROUND)


WARM_STEP = 16


class _Abandoned(Exception):
    """Raised inside llama.cpp's prompt loop to stop a job that was cancelled."""


def _pausable_class(base: type, checkpoint: Callable[[], None]) -> type:
    """A Llama whose prompt evaluation calls ``checkpoint`` between batches."""

    class PausableLlama(base):  # type: ignore[misc, valid-type]
        cancel: threading.Event | None = None  # the running job's
        step: int | None = None  # tokens between checkpoints (default: n_batch)

        def eval(self, tokens: Sequence[int]) -> None:
            step = self.step or self.n_batch
            for start in range(0, len(tokens), step):
                checkpoint()
                if self.cancel is not None and self.cancel.is_set():
                    # A prefill nobody waits for any more (the user said more,
                    # or the reply started): stop between batches. What was
                    # read so far stays in the KV cache for the next prompt.
                    raise _Abandoned
                super().eval(tokens[start : start + step])

    return PausableLlama

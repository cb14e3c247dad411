"""The embedded mind: a GGUF model run in-process by llama.cpp.

Two contexts share the memory-mapped weights: the foreground context serves
conversation turns and keeps its KV cache from turn to turn (the prompt starts
with the same persona and history, so each turn only prefills the new text);
the background context serves fact extraction and reflection, so that work
never evicts the conversation's cache.

All llama.cpp work runs on the CPU lane (os1.compute), with the other
engines: a turn is FOREGROUND work, memory work BACKGROUND. Both step aside at
checkpoints (between prompt batches and between tokens) for work that outranks
them, e.g. speech synthesis of the sentence just written. Work that can be
redone goes further: a speculative prefill (what the user has said so far) or
memory work stops in the middle of a batch when anything outranks it or it is
cancelled, so the user's last words are heard, and a turn starts, at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import dataclasses
import logging
import os
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from os1.compute import BACKGROUND, FOREGROUND, OtherPrograms, lane
from os1.config import LLMSettings
from os1.errors import ModelError, ModelNotInstalled
from os1.mind.llm import BACKGROUND_CONTEXT, BadToolCall, GenerateOptions, Message, ToolCall, ToolSpec
from os1.mind.toolcalls import calls_in_text, render, tool_block

_END = object()
#: Of a core, what other programs' use counts as taking it from llama.cpp.
BUSY_CORE = 0.65


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
    """An embedded llama.cpp model. Load with :meth:`load` (blocking, ~3 s)."""

    def __init__(self, settings: LLMSettings, model_path: Path, *, call_threshold: float = 0.05,
                 tools_first: bool = False):
        self.name = settings.model
        self.call_threshold = call_threshold
        self.tools_first = tools_first
        self.context_length = settings.context_length
        self._path = model_path
        self._threads = settings.threads or default_threads()
        self._fg: Any = None
        self._bg: Any = None
        self._lane = lane()
        self._others = OtherPrograms()
        self._formatter: Any = None  # the chat template, for ends_here
        self._enders: list[int] = []
        self._callers: list[int] | None = None  # tokens that begin a tool call
        #: How likely the last reply offered tools was to begin with a call.
        self.call_probability: float | None = None

    # -- loading -----------------------------------------------------------------

    def load(self) -> None:
        """Load both contexts (blocks until ready, ~3 s for the 1.5B model)."""
        if self._bg is not None:
            return
        self._lane.submit(self._load, FOREGROUND).result()

    def _load(self) -> None:
        if self._fg is None:
            # Batches of 32 tokens (~0.45 s with the 1.5B model on 2 cores):
            # a reply's prefill is not interrupted, so urgent voice work waits
            # at most this long. Batches of 128 read ~15% faster but would
            # hold the CPU for ~1.5 s.
            self._fg = self._new_context(n_batch=32)
        if self._bg is None:
            # Created now, not at the first memory job: a context takes ~2 s
            # to set up, which would otherwise land in the middle of a
            # conversation. Its window holds one message, or one conversation's
            # transcript when reflecting on it.
            self._bg = self._new_context(
                n_batch=32, n_ctx=min(BACKGROUND_CONTEXT, self.context_length))

    def _new_context(self, *, n_batch: int, n_ctx: int | None = None) -> Any:
        try:
            import llama_cpp
        except ImportError as exc:
            raise ModelNotInstalled(
                "The embedded model runtime is not installed. Install it with: "
                "pip install 'os1[local]'  (or point OS1_LLM at an OpenAI-compatible server)."
            ) from exc
        cls = _pausable_class(llama_cpp, self._lane.checkpoint, self._threads_now)
        try:
            llama = cls(
                model_path=str(self._path),
                n_ctx=n_ctx or self.context_length,
                n_batch=n_batch,
                n_threads=self._threads,
                n_threads_batch=self._threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError(f"Could not load the model {self._path}: {exc}") from exc
        # llama.cpp reports an interrupted batch as an error ("removing memory
        # module entries"); it is routine here, and real failures raise.
        logging.getLogger("llama-cpp-python").setLevel(logging.CRITICAL)
        return llama

    def _threads_now(self) -> int:
        """Threads for the next step: one fewer for each core other programs
        keep busy. Measured here (0.5B, 48 tokens after a 400-token prompt),
        two threads against one with a program busy 25/50/75/100% of a core
        beside: 1.8/2.0/2.3/3.5 s against 2.1 s every time; so one fewer from 0.65."""
        return max(1, self._threads - int(self._others.now() + 1 - BUSY_CORE))

    # -- the LLM protocol ---------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        # Tokenizing only reads the vocabulary: safe beside the compute thread.
        if self._fg is None:
            self.load()
        return len(self._fg.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    async def warm(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> None:
        """Prefill ``messages`` into the foreground KV cache, up to the end of
        the last one's words: not the turn's closing tokens, which the next
        words would replace (a call reads the person's words every ~0.6 s
        while they talk; ~6 closing tokens each time cost 180-245 ms here).
        Speculative: it gives way mid-batch to anything more urgent."""
        cancel = _Cancel()
        try:
            await self._lane.run(lambda: self._warm(messages, tools, cancel), FOREGROUND)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ModelError(f"The model could not read the words: {exc}") from exc
        finally:
            cancel.set()  # cancelled: the job stops at its next batch (or never starts)

    def _warm(self, messages: Sequence[Message], tools: Sequence[ToolSpec], cancel: _Cancel) -> None:
        if cancel.is_set():
            return
        self._load()
        llama = self._fg
        tokens = self._prompt_to(llama, messages, tools, messages[-1].content.rstrip())
        if tokens is None:  # no chat template to read: prefill the whole prompt
            options = GenerateOptions(max_tokens=1, temperature=0.0, tools=tuple(tools))
            self._generate(messages, options, cancel, lambda _: None, True)
            return
        llama.cancel = cancel
        cancel.interrupt = llama.interrupt
        with self._lane.interruptible(llama.interrupt.set), contextlib.suppress(_Abandoned):
            try:
                self._read(llama, tokens, keep_last=False)  # if abandoned, what was read stays
            finally:
                cancel.finished()

    def stream(self, messages: Sequence[Message],
               options: GenerateOptions) -> AsyncIterator[str | ToolCall | BadToolCall]:
        pieces = self._stream(messages, options, speculative=options.priority == "background")
        # The tools are read from the prompt and called in the reply's text.
        return calls_in_text(pieces) if options.tools and options.tool_choice == "auto" else pieces

    async def _stream(
        self, messages: Sequence[Message], options: GenerateOptions, *, speculative: bool
    ) -> AsyncGenerator[str, None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = _Cancel()

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone; nobody is listening
                cancel.set()

        def job() -> None:
            try:
                self._generate(messages, options, cancel, put, speculative)
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
        cancel: _Cancel, put: Callable[[Any], None], speculative: bool,
    ) -> None:
        if cancel.is_set():
            return
        background = options.priority == "background"
        self._load()
        llama = self._bg if background else self._fg
        kwargs: dict[str, Any] = {
            "messages": render(messages, tool_block(options.tools) if options.tools else "",
                               block_first=self.tools_first),
            "stream": True,
            "max_tokens": options.max_tokens,
            "temperature": options.temperature,
            "top_p": 0.9,
            "repeat_penalty": 1.1,
        }
        if options.json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": options.json_schema}
        gate = None
        processors: list[Callable[[Any, Any], Any]] = []
        if options.tools:
            gate = _CallGate(self._call_tokens(llama),
                             self.call_threshold if options.tool_choice == "auto" else None)
            processors.append(gate)
        if options.not_opening_with:
            processors.append(_NotOpening(opening_tokens(llama, options.not_opening_with)))
        if processors:
            import llama_cpp

            kwargs["logits_processor"] = llama_cpp.LogitsProcessorList(processors)
        llama.cancel = cancel
        cancel.interrupt = llama.interrupt  # cancelled: stop mid-batch
        if cancel.is_set():
            return
        with contextlib.ExitStack() as stack:
            # Work that can be redone stops mid-batch for anything more urgent;
            # a reply only mid-token (~70 ms lost at most), so that its
            # sentence just written is voiced at once, not after the next token.
            stop = llama.interrupt.set if speculative else llama.interrupt_token
            stack.enter_context(self._lane.interruptible(stop))
            stack.callback(cancel.finished)
            chunks = stack.enter_context(contextlib.closing(llama.create_chat_completion(**kwargs)))
            for chunk in chunks:
                if gate is not None and gate.probability is not None:
                    self.call_probability, gate.probability = gate.probability, None
                if cancel.is_set():
                    break
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    put(delta)
                self._lane.checkpoint()

    def _call_tokens(self, llama: Any) -> list[int]:
        if self._callers is None:
            found = set()
            for start in ('{"', "{", "{\n", ' {"', "```", "<tool_call>"):
                ids = llama.tokenize(start.encode(), add_bos=False, special=True)
                if ids:
                    found.add(ids[0])
            self._callers = sorted(found)
        return self._callers

    async def ends_here(self, messages: Sequence[Message], tools: Sequence[ToolSpec] = ()) -> float | None:
        """How likely the last message (the person's words so far) is complete:
        the model's probability that the next token after it closes a sentence
        or the message. Reads only what the KV cache does not hold already
        (the words were prefilled while they spoke): a few tokens, ~50 ms."""
        try:
            return await self._lane.run(lambda: self._ends_here(messages, tools), FOREGROUND)
        except (RuntimeError, ValueError, IndexError) as exc:
            raise ModelError(f"The model could not read the words: {exc}") from exc

    def _ends_here(self, messages: Sequence[Message], tools: Sequence[ToolSpec]) -> float | None:
        self._load()
        llama = self._fg
        tokens = self._prompt_to(llama, messages, tools, messages[-1].content.rstrip().rstrip(".!?…").rstrip())
        if tokens is None:
            return None
        llama.cancel = None  # not the last reply's: this job runs to its end (a few tokens)
        self._read(llama, tokens, keep_last=True)
        # The logits of the last token read (llama.cpp keeps only those).
        logits = np.ctypeslib.as_array(llama._ctx.get_logits(), shape=(llama.n_vocab(),)).astype(np.float64)
        probs = np.exp(logits - logits.max())
        probs /= probs.sum()
        return float(probs[self._enders].sum())

    def _prompt_to(self, llama: Any, messages: Sequence[Message], tools: Sequence[ToolSpec],
                   text: str) -> list[int] | None:
        """The tokens of the prompt ``messages`` make, with ``text`` for the last
        one's words, up to their end (None: no chat template, or no words)."""
        if not text:
            return None
        if self._formatter is None:
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            template = llama.metadata.get("tokenizer.chat_template")
            if not template:
                return None
            vocab = llama._model
            self._formatter = Jinja2ChatFormatter(
                template, eos_token=vocab.token_get_text(vocab.token_eos()),
                bos_token=vocab.token_get_text(vocab.token_bos()) if vocab.token_bos() >= 0 else "")
            self._enders = _ender_tokens(llama)
        chat = render([*messages[:-1], dataclasses.replace(messages[-1], content=text)],
                      tool_block(tools) if tools else "", block_first=self.tools_first)
        rendered = self._formatter(messages=chat).prompt
        last = chat[-1]["content"]  # as rendered: a system prompt ends with the tools
        prompt = rendered[: rendered.rfind(last) + len(last)]
        return list(llama.tokenize(prompt.encode(), add_bos=False, special=True))

    @staticmethod
    def _read(llama: Any, tokens: list[int], *, keep_last: bool) -> None:
        """Read into the KV cache what it does not hold of ``tokens`` (with
        ``keep_last``, at least the last, whose logits are wanted)."""
        same = 0
        for a, b in zip(llama._input_ids, tokens):
            if a != b:
                break
            same += 1
        same = min(same, llama.n_tokens, len(tokens) - 1 if keep_last else len(tokens))
        llama.n_tokens = same
        if same < len(tokens):
            llama.eval(tokens[same:])

    async def aclose(self) -> None:
        def close() -> None:
            for llama in (self._fg, self._bg):
                if llama is not None:
                    llama.close()
            self._fg = self._bg = None

        await self._lane.run(close, BACKGROUND)


class _CallGate:
    """A logits processor for a reply's first token: a call when the model
    leans that way enough (the tokens that begin one then are all it may
    write), otherwise as the model chose; never a call with no ``threshold``.
    Costs one softmax. Torn between a call and words, the 1.5B model wrote
    "Oh, it's 14:30." (a made-up time) to "do you know what time it is?" with
    a call at 0.31, and chatted on at 0.10-0.17 to "note this: ...", "search
    your memory for ...": each model's threshold is measured (assets.MODELS)."""

    def __init__(self, callers: list[int], threshold: float | None):
        self.callers = callers
        self.threshold = threshold
        self.probability: float | None = None
        self._first = True

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.threshold is None:  # no call anywhere in the reply
            scores[self.callers] = -np.inf
            return scores
        if not self._first:
            return scores
        self._first = False
        logits = scores.astype(np.float64)
        probs = np.exp(logits - logits.max())
        probability = float(probs[self.callers].sum() / probs.sum())
        self.probability = probability
        if probability < self.threshold or probability >= 0.999:
            return scores
        forced = np.full_like(scores, -np.inf)
        forced[self.callers] = scores[self.callers]
        return forced


def opening_tokens(llama: Any, word: str) -> list[int]:
    """The tokens a reply opening with ``word`` may begin with, in its usual forms."""
    forms = {word, word.lower(), word.capitalize()}
    found = {ids[0] for form in forms | {f" {f}" for f in forms}
             if (ids := llama.tokenize(form.encode(), add_bos=False, special=False))}
    return sorted(found)


class _NotOpening:
    """A logits processor that bans the reply's first token from ``tokens``
    (the last reply's opening word): in os1 bench call the 1.5B answered two
    questions in a row with "To split a big project..." and "To add 3 halves...".
    Later tokens are the model's own."""

    def __init__(self, tokens: list[int]):
        self.tokens = tokens
        self._first = True

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._first:
            self._first = False
            scores[self.tokens] = -np.inf
        return scores


class _Abandoned(Exception):
    """Raised inside llama.cpp's prompt loop to stop a job that was cancelled."""


class _Interrupt:
    """Stops llama.cpp in the middle of a batch.

    llama.cpp asks an abort callback between the nodes of its compute graph. A
    Python callback would take the GIL there thousands of times a token, so
    the callback is libc's ``strlen`` reading a two-byte flag: non-zero (stop)
    once the first byte is set. An aborted batch is rolled back by llama.cpp
    (its positions leave the KV cache), so it can simply be run again.
    """

    def __init__(self) -> None:
        self._flag = ctypes.create_string_buffer(2)
        self._callback: Any = None  # kept alive as long as the context

    def install(self, llama_cpp: ModuleType, ctx: Any) -> None:
        try:
            strlen = ctypes.CDLL(None).strlen
        except (OSError, AttributeError, TypeError):  # no C library to borrow: batches finish
            return
        self._callback = ctypes.cast(strlen, llama_cpp.ggml_abort_callback)
        llama_cpp.llama_set_abort_callback(ctx, self._callback, ctypes.cast(self._flag, ctypes.c_void_p))

    def set(self) -> None:
        self._flag[0] = b"\x01"

    def clear(self) -> None:
        self._flag[0] = b"\x00"

    def is_set(self) -> bool:
        return self._flag[0] != b"\x00"


class _Cancel:
    """A job's cancellation: seen between tokens, and mid-batch when the job
    is interruptible."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.interrupt: _Interrupt | None = None

    def set(self) -> None:
        self._event.set()
        if self.interrupt is not None:
            self.interrupt.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def finished(self) -> None:
        """The job ran out: a cancel after it must not stop the next job's batch."""
        self.interrupt = None


def _pausable_class(llama_cpp: ModuleType, checkpoint: Callable[[], None],
                    threads: Callable[[], int]) -> type:
    """A Llama whose prompt evaluation calls ``checkpoint`` between batches,
    and that can be interrupted in the middle of one; each batch runs on
    ``threads()`` threads."""

    class PausableLlama(llama_cpp.Llama):  # type: ignore[misc, name-defined]
        cancel: _Cancel | None = None  # the running job's
        _step_tokens = 0  # tokens in the batch being evaluated (llama_cpp has _batch)
        _running_on = 0  # threads the context was last set to

        def interrupt_token(self) -> None:
            """Interrupt a one-token step, not a prompt batch."""
            if self._step_tokens == 1:
                self.interrupt.set()

        def __init__(self, *args: Any, **kwargs: Any):
            super().__init__(*args, **kwargs)
            self.interrupt = _Interrupt()
            self.interrupt.install(llama_cpp, self._ctx.ctx)

        def eval(self, tokens: Sequence[int]) -> None:
            for start in range(0, len(tokens), self.n_batch):
                batch = tokens[start : start + self.n_batch]
                while True:
                    self._step_tokens = len(batch)
                    self.interrupt.clear()  # before the checkpoint: a later arrival still stops us
                    checkpoint()
                    if self.cancel is not None and self.cancel.is_set():
                        # A prefill nobody waits for any more (the user said more,
                        # or the reply started). What was read so far stays in
                        # the KV cache for the next prompt.
                        raise _Abandoned
                    if (n := threads()) != self._running_on:
                        self._ctx.set_n_threads(n, n)
                        self._running_on = n
                    try:
                        super().eval(batch)
                        break
                    except RuntimeError:
                        if not self.interrupt.is_set():
                            raise
                        # Stopped half-way for something more urgent (or
                        # cancelled): run that at the checkpoint, then redo the batch.
                    finally:
                        self._step_tokens = 0

    return PausableLlama


def _ender_tokens(llama: Any) -> list[int]:
    """Tokens that close a sentence or a message: end of turn, ".", "?", "!"."""
    found = {llama._model.token_eos()}
    for piece in (".", "?", "!", "...", ".\n", "?\n", "!\n", "<|im_end|>", "<|eot_id|>", "<|end|>"):
        ids = llama.tokenize(piece.encode(), add_bos=False, special=True)
        if len(ids) == 1:
            found.add(ids[0])
    return sorted(found)

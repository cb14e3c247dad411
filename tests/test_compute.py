import threading
import time

from os1.compute import BACKGROUND, FOREGROUND, URGENT, Lane


def test_jobs_run_by_priority_on_one_thread():
    lane = Lane("test-lane")
    order, threads = [], set()
    gate, running = threading.Event(), threading.Event()
    first = lane.submit(lambda: (running.set(), gate.wait()), BACKGROUND)  # occupies the lane
    running.wait(5)
    jobs = [lane.submit(lambda p=p: (order.append(p), threads.add(threading.current_thread().name)), p)
            for p in (BACKGROUND, FOREGROUND, URGENT)]
    gate.set()
    first.result(5)
    for j in jobs:
        j.result(5)
    assert order == [URGENT, FOREGROUND, BACKGROUND]
    assert threads == {"test-lane"}


def test_a_long_job_lets_urgent_work_through_at_checkpoints():
    lane = Lane("test-lane")
    log = []
    started = threading.Event()

    def long_job():
        started.set()
        for i in range(20):
            time.sleep(0.01)
            log.append(f"token{i}")
            lane.checkpoint()

    long = lane.submit(long_job, FOREGROUND)
    started.wait(5)
    urgent = lane.submit(lambda: log.append("urgent"), URGENT)
    background = lane.submit(lambda: log.append("background"), BACKGROUND)
    urgent.result(5)
    long.result(5)
    background.result(5)
    assert 0 < log.index("urgent") < 20  # ran between tokens, not after the job
    assert log[-1] == "background"  # did not outrank the foreground job


def test_nested_submissions_run_inline():
    lane = Lane("test-lane")
    assert lane.submit(lambda: lane.submit(lambda: 42, URGENT).result(1), BACKGROUND).result(5) == 42


def test_an_interruptible_job_is_stopped_by_work_that_outranks_it():
    lane = Lane("test-lane")
    stopped = threading.Event()
    log = []

    def speculative():
        with lane.interruptible(stopped.set):
            log.append("start")
            stopped.wait(5)  # a long batch, cut short
            log.append("stopped" if stopped.is_set() else "timed out")
            lane.checkpoint()
            # Equal or lower priority does not interrupt it.
            lane.submit(lambda: None, FOREGROUND)
            lane.submit(lambda: None, BACKGROUND)

    job = lane.submit(speculative, FOREGROUND)
    while not log:
        time.sleep(0.001)
    began = time.monotonic()
    lane.submit(lambda: log.append("urgent"), URGENT).result(5)
    job.result(5)
    assert time.monotonic() - began < 1
    assert log == ["start", "stopped", "urgent"]


def test_a_job_run_at_an_interruptible_jobs_checkpoint_is_not_interruptible():
    lane = Lane("test-lane")
    calls = []
    entered, queued = threading.Event(), threading.Event()
    inner_running, urgent_sent = threading.Event(), threading.Event()

    def inner():  # e.g. a reply, run while memory work waits at its checkpoint
        inner_running.set()
        urgent_sent.wait(5)

    def outer():
        with lane.interruptible(lambda: calls.append("outer stopped")):
            entered.set()
            queued.wait(5)
            lane.checkpoint()  # runs inner, then the urgent job

    job = lane.submit(outer, BACKGROUND)
    entered.wait(5)
    lane.submit(inner, FOREGROUND)
    queued.set()
    inner_running.wait(5)
    assert calls == ["outer stopped"]  # the foreground job outranked it
    calls.clear()
    urgent = lane.submit(lambda: calls.append("urgent"), URGENT)
    urgent_sent.set()
    urgent.result(5)
    job.result(5)
    assert calls == ["urgent"]  # the running job (inner) was not interruptible

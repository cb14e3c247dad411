import threading
import time
from pathlib import Path

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


def test_a_gentle_job_waits_for_an_interruptible_jobs_checkpoint_instead_of_stopping_it():
    # A provisional transcript: nobody waits for it, and a prefill batch
    # stopped half-way is read again from its start.
    lane = Lane("test-lane")
    stopped = threading.Event()
    log = []

    def speculative():
        with lane.interruptible(stopped.set):
            log.append("batch")
            time.sleep(0.3)  # a batch, not cut short
            log.append("stopped" if stopped.is_set() else "batch done")
            lane.checkpoint()
            log.append("next batch")

    job = lane.submit(speculative, FOREGROUND)
    while not log:
        time.sleep(0.001)
    lane.submit(lambda: log.append("provisional"), URGENT, gentle=True).result(5)
    job.result(5)
    assert log == ["batch", "batch done", "provisional", "next batch"]


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


def test_two_narrow_jobs_share_the_cores():
    lane = Lane("test-lane")
    a_running, b_running = threading.Event(), threading.Event()

    def a():
        a_running.set()
        return b_running.wait(5)  # only true if b runs at the same time

    def b():
        b_running.set()
        return a_running.wait(5)

    first = lane.submit(a, URGENT, narrow=True)
    a_running.wait(5)
    second = lane.submit(b, URGENT, narrow=True)
    assert first.result(5) and second.result(5)


def test_a_job_using_both_cores_never_runs_beside_another():
    lane = Lane("test-lane")
    running: set[str] = set()
    overlaps = []
    gate = threading.Event()

    def work(name, wait=False):
        running.add(name)
        overlaps.append(sorted(running))
        if wait:
            gate.wait(5)
        time.sleep(0.02)
        running.discard(name)

    first = lane.submit(lambda: work("narrow1", wait=True), URGENT, narrow=True)
    while "narrow1" not in running:
        time.sleep(0.001)
    jobs = [lane.submit(lambda: work("narrow2", wait=True), URGENT, narrow=True),
            lane.submit(lambda: work("wide"), URGENT),
            lane.submit(lambda: work("narrow3"), BACKGROUND, narrow=True)]
    time.sleep(0.05)
    assert "wide" not in running
    gate.set()
    for job in [first, *jobs]:
        job.result(5)
    assert ["narrow1", "narrow2"] in overlaps  # side by side
    assert all(names == ["wide"] for names in overlaps if "wide" in names)


def test_a_narrow_job_waits_for_a_job_using_both_cores():
    lane = Lane("test-lane")
    order = []
    gate, running = threading.Event(), threading.Event()
    wide = lane.submit(lambda: (running.set(), gate.wait(5), order.append("wide")), FOREGROUND)
    running.wait(5)
    narrow = lane.submit(lambda: order.append("narrow"), URGENT, narrow=True)  # no checkpoint
    time.sleep(0.05)
    assert order == []
    gate.set()
    wide.result(5)
    narrow.result(5)
    assert order == ["wide", "narrow"]


def test_a_long_job_resumes_only_when_the_side_thread_is_idle():
    lane = Lane("test-lane")
    log = []
    started, side_may_end = threading.Event(), threading.Event()

    def long_job():
        started.set()
        for i in range(30):
            time.sleep(0.005)
            lane.checkpoint()
            log.append("token")

    def slow_side():
        side_may_end.wait(5)
        time.sleep(0.02)
        log.append("side done")

    long = lane.submit(long_job, FOREGROUND)
    started.wait(5)
    with lane._wake:  # both queued at once, as ASR and the turn model are at a pause
        inline = lane.submit(lambda: log.append("inline"), URGENT, narrow=True)
        side = lane.submit(slow_side, URGENT, narrow=True)
    inline.result(5)
    side_may_end.set()
    long.result(5)
    side.result(5)
    i = log.index("inline")
    assert log[i + 1] == "side done"  # the long job waited for the side thread


def test_after_a_narrow_job_at_a_checkpoint_the_long_job_has_the_cores_again():
    lane = Lane("test-lane")
    started, resumed, release = threading.Event(), threading.Event(), threading.Event()

    def long_job():
        started.set()
        while not resumed.is_set():
            time.sleep(0.005)
            lane.checkpoint()
        release.wait(5)

    long = lane.submit(long_job, FOREGROUND)
    started.wait(5)
    lane.submit(lambda: None, URGENT, narrow=True).result(5)  # run inline at a checkpoint
    resumed.set()
    time.sleep(0.05)  # the long (two-core) job runs again: nothing may join it
    ran = threading.Event()
    lane.submit(ran.set, URGENT, narrow=True)
    assert not ran.wait(0.2)
    release.set()
    long.result(5)
    assert ran.wait(5)


def _proc(tmp_path, cpus, own):
    """/proc/stat with per-core ticks (user, system, idle) and /proc/self/stat with ``own`` ticks."""
    lines = ["cpu  0 0 0 0 0 0 0 0 0 0"]
    lines += [f"cpu{i} {u} 0 {s} {idle} 0 0 0 0 0 0" for i, (u, s, idle) in enumerate(cpus)]
    (tmp_path / "stat").write_text("\n".join(lines) + "\nintr 1 2 3\n")
    fields = ["S"] + ["0"] * 10 + [str(own), "0"] + ["0"] * 30  # utime is field 14 (after the name)
    (tmp_path / "self").write_text("4242 (os1 (a name) x) " + " ".join(fields) + "\n")


def test_the_cores_other_programs_keep_busy_are_read_from_proc_less_our_own(tmp_path):
    from os1.compute import OtherPrograms

    _proc(tmp_path, [(100, 0, 100), (100, 0, 100), (0, 0, 0)], own=50)
    others = OtherPrograms(0.0, stat=str(tmp_path / "stat"), own=str(tmp_path / "self"), cores={0, 1})
    assert others.now() == 0.0  # one reading: nothing to compare yet
    # Over 200 ticks of our two cores: 150 busy, 50 of them ours -> 100 of 200: one core.
    # (cpu2 is not ours: whatever runs there does not slow us.)
    _proc(tmp_path, [(175, 0, 125), (175, 0, 125), (500, 0, 0)], own=100)
    assert others.now() == 1.0
    _proc(tmp_path, [(180, 0, 220), (180, 0, 220), (500, 0, 0)], own=110)
    assert others.now() == 0.0
    assert OtherPrograms(stat=str(tmp_path / "missing")).now() == 0.0  # not Linux: no one else


def test_the_embedded_model_gives_up_a_thread_while_another_program_keeps_a_core_busy():
    from os1.config import LLMSettings
    from os1.mind.llama_local import LlamaLocalLLM

    llm = LlamaLocalLLM(LLMSettings(threads=2), Path("unused.gguf"))  # not loaded
    for busy, threads in ((0.0, 2), (0.5, 2), (0.7, 1), (1.0, 1), (1.9, 1)):
        llm._others.now = lambda busy=busy: busy
        assert llm._threads_now() == threads
    llm = LlamaLocalLLM(LLMSettings(threads=4), Path("unused.gguf"))
    llm._others.now = lambda: 1.7
    assert llm._threads_now() == 2

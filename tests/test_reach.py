"""Reaching out: reminders read from the person's words, a durable schedule,
and the judgement of when to speak, on a fake clock. Real SQLite; a fake model
where a turn is needed."""

from __future__ import annotations

import asyncio
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from os1.errors import StorageError
from os1.events import ReplyDone, ToolActivity
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion
from os1.reach.policy import Judgement, Moment, Send, judge
from os1.reach.runner import Reacher, facing, fallback, fit, key_words, reach_out, reminder_words
from os1.reach.schedule import Cancel, Listing, Remind, Schedule, asked, at
from os1.reach.store import ReachStore
from os1.runtime import open_tools

from fakes import FakeLLM

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 3, 2, 9, 12, tzinfo=BERLIN)  # Monday 2 March 2026


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


class Clock:
    def __init__(self, start: datetime):
        self.t = start.timestamp()

    def __call__(self) -> float:
        return self.t

    def set(self, moment: datetime) -> None:
        self.t = moment.timestamp()


@pytest.fixture
def clock():
    return Clock(MONDAY)


@pytest.fixture
def where(backend, tmp_path, request):
    """Where os1 keeps the schedule: the SQLite file, or a PostgreSQL database."""
    return tmp_path / "os1.sqlite3" if backend == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture
def store(where):
    s = ReachStore(where, "sam")
    yield s
    s.close()


def reacher_for(store, clock, memory=None, **judgement):
    r = Reacher(store, memory, tz=BERLIN, judgement=Judgement(**judgement), clock=clock)
    r.connected = 1
    return r


# -- words -> schedules -------------------------------------------------------------------------


@pytest.mark.parametrize("said, what, first, words", [
    ("Can you remind me to call my sister Ana at 6pm tomorrow? It's her birthday.",
     "call your sister Ana", local(2026, 3, 3, 18), "tomorrow (Tuesday 3 March) at 6 pm"),
    ("Remind me every Monday at 8:30 to water the plants.",
     "water the plants", local(2026, 3, 9, 8, 30), "every Monday at 8:30 am"),
    ("Also my dentist appointment is on the 12th at 10am, please remind me the day before.",
     "your dentist appointment is on the 12th at 10am", local(2026, 3, 11, 10), "on Wednesday 11 March at 10 am"),
    ("remind me in two hours to take the bread out",
     "take the bread out", local(2026, 3, 2, 11, 12), "today at 11:12 am"),
    ("remind me to take my pills every day at 8am and 8pm until Sunday",
     "take your pills", local(2026, 3, 2, 20), "every day at 8 am and 8 pm until Sunday 8 March"),
    ("don't let me forget to email Tom tonight", "email Tom", local(2026, 3, 2, 20), "today at 8 pm"),
    ("remind me at 3 to pick up Leo", "pick up Leo", local(2026, 3, 2, 15), "today at 3 pm"),
    ("Remind me an hour before my 4pm meeting on Friday", "your meeting",
     local(2026, 3, 6, 15), "on Friday 6 March at 3 pm"),
    ("Please remind me on March 20 to renew my passport", "renew your passport",
     local(2026, 3, 20, 9), "on Friday 20 March at 9 am"),
])
def test_a_reminder_is_read_from_their_words_in_their_time_zone(said, what, first, words):
    request = asked(said, MONDAY)
    assert isinstance(request, Remind) and request.kind == "reminder"
    assert request.what == what
    assert request.schedule.first == first
    assert request.schedule.words(MONDAY) == words


@pytest.mark.parametrize("said", [
    "Can you remind me what my sister's name is?",  # a question about memory
    "I watched a great documentary about octopuses last night.",
    "They want a second interview on Friday the 13th at 11.",  # a date, but no request
    "remind me to call Ana",  # no time: not guessed
])
def test_words_that_ask_for_no_reminder_or_name_no_time_schedule_nothing(said):
    assert asked(said, MONDAY) is None


def test_stopping_reminders_check_ins_and_asking_for_the_list_are_read_too():
    assert asked("What reminders do I have?", MONDAY) == Listing()
    assert asked("which reminders are set?", MONDAY) == Listing()
    assert asked("You can stop the plant reminders, I moved them to the balcony.", MONDAY) == Cancel("plant")
    assert asked("stop reminding me to drink water", MONDAY) == Cancel("drink water")
    assert asked("you can stop checking in", MONDAY) == Cancel("", "check_in")
    check_in = asked("check in with me every evening at 9", MONDAY)
    assert isinstance(check_in, Remind) and check_in.kind == "check_in"
    assert check_in.schedule.first == local(2026, 3, 2, 21)


def test_a_repeating_schedule_runs_until_its_last_day():
    s = at("every day at 8am and 8pm until Wednesday", MONDAY)
    assert s is not None
    times, moment = [], MONDAY
    while (moment := s.after(moment)) is not None:
        times.append(moment)
    assert times == [local(2026, 3, 2, 20), local(2026, 3, 3, 8), local(2026, 3, 3, 20),
                     local(2026, 3, 4, 8), local(2026, 3, 4, 20)]
    assert Schedule.from_json(s.to_json()) == s


# -- the judgement --------------------------------------------------------------------------------


def test_a_reminder_is_sent_at_its_time_and_not_before(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me to call my sister at 6pm tomorrow", MONDAY))
    clock.set(local(2026, 3, 3, 17, 55))
    assert r.decide() == []
    clock.set(local(2026, 3, 3, 18, 0))
    [send] = r.decide()
    assert [i.text for i in send.items] == ["call your sister"]
    assert "they asked to be reminded today at 18:00" in send.reason
    r.sent(send, "It's six: time to call your sister!")
    clock.set(local(2026, 3, 3, 18, 5))
    assert r.decide() == [] and store.items() == []  # once, then done


def test_one_set_in_quiet_hours_waits_for_the_morning_and_says_why(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me at 11pm to take the laundry out", MONDAY))
    for minute in range(23 * 60, 24 * 60 + 8 * 60, 5):  # 23:00 to 07:55, every five minutes
        clock.set(local(2026, 3, 2) + timedelta(minutes=minute))
        assert r.decide() == []
    held = [e for e in store.entries() if e.decision == "held"]
    assert len(held) == 1 and held[0].reason == "quiet hours: waits until 8 am"  # logged once
    clock.set(local(2026, 3, 3, 8, 0))
    [send] = r.decide()
    assert send.items[0].text == "take the laundry out"


def test_a_restart_across_a_due_time_delivers_once_with_the_reason(where, clock):
    before = ReachStore(where, "sam")
    r = reacher_for(before, clock)
    r.remind(asked("remind me to call my sister at 6pm tomorrow", MONDAY))
    clock.set(local(2026, 3, 3, 17, 50))
    assert r.decide() == []
    before.close()  # os1 stops at 17:50 ...

    clock.set(local(2026, 3, 3, 18, 40))  # ... and starts again at 18:40
    after = ReachStore(where, "sam")
    r = reacher_for(after, clock)
    [send] = r.decide()
    assert "os1 was not running then; 40 min late, still useful" in send.reason
    r.sent(send, "Sorry, a little late: call your sister!")
    assert r.decide() == []
    [entry] = [e for e in after.entries() if e.decision == "sent"]
    assert entry.reason == send.reason
    after.close()


def test_of_two_os1_processes_that_see_a_reminder_due_one_says_it(where, clock):
    server, terminal = ReachStore(where, "sam"), ReachStore(where, "sam")
    a, b = reacher_for(server, clock), reacher_for(terminal, clock)
    a.remind(asked("remind me at 10 to stretch", MONDAY))
    clock.set(local(2026, 3, 2, 10))
    due = server.due(clock())
    assert len(due) == 1 and len(terminal.due(clock())) == 1  # both see it ...
    assert len(a.decide()) == 1 and b.decide() == []  # ... one claims it
    server.close()
    terminal.close()


def test_a_reminder_whose_process_died_while_saying_it_is_said_by_the_next_late_and_once(where, clock):
    before = ReachStore(where, "sam")
    r = reacher_for(before, clock)
    r.remind(asked("remind me to call my sister at 6pm tomorrow", MONDAY))
    clock.set(local(2026, 3, 3, 18, 0))
    [send] = r.decide()  # claimed ... and os1 is killed before it is said
    before.close()

    after = ReachStore(where, "sam")
    r = reacher_for(after, clock)
    clock.set(local(2026, 3, 3, 18, 1))
    assert r.decide() == []  # it may still be on its way
    assert [i.held for i in after.items()] == ["sending"]
    clock.set(local(2026, 3, 3, 18, 3))  # no: that process died with it
    [again] = r.decide()
    assert [i.text for i in again.items] == ["call your sister"]
    r.sent(again, "A little late: call your sister!")
    assert r.decide() == [] and after.items() == []  # said once, then done
    assert [e.text for e in after.entries() if e.decision == "sent"] == ["A little late: call your sister!"]
    after.close()


def test_said_is_logged_and_moved_on_together_or_not_at_all(store, clock, monkeypatch):
    r = reacher_for(store, clock)
    r.remind(asked("remind me to call my sister at 6pm tomorrow", MONDAY))
    clock.set(local(2026, 3, 3, 18, 0))
    [send] = r.decide()

    def killed(*args, **kwargs):
        raise StorageError("killed between logging it and moving it on")

    monkeypatch.setattr(store, "advance", killed)
    with pytest.raises(StorageError):
        r.sent(send, "Time to call your sister!")
    assert store.entries() == []  # not logged as said: it is said again, and logged once
    assert [i.held for i in store.items()] == ["sending"]


async def test_the_runner_wakes_when_a_reminder_comes_due_not_a_tick_later(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me to call my sister at 9:30", MONDAY))
    clock.t += 10  # ticks at 9:12:10, 9:12:40, ... 9:29:40, 9:30:10
    waits: list[float] = []
    said: list[str] = []

    async def deliver(send):
        said.append(send.items[0].text)
        r.sent(send, "Time to call your sister!")

    async def sleep(seconds):
        waits.append(seconds)
        clock.t += seconds
        if len(waits) == 40:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await r.run(deliver, sleep=sleep, tick=30.0)
    assert said == ["call your sister"]
    assert sorted(set(waits)) == [20.0, 30.0]  # at 9:29:40 it sleeps until 9:30:00, not 9:30:10
    assert store.entries()[0].at == local(2026, 3, 2, 9, 30).timestamp()


async def test_one_held_while_they_speak_is_said_in_the_next_pause_not_a_tick_later(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me to call my sister at 9:30", MONDAY))
    clock.set(local(2026, 3, 2, 9, 30))
    r.busy = lambda: clock() < local(2026, 3, 2, 9, 30, 4).timestamp()  # talking until 9:30:04
    said: list[float] = []

    async def deliver(send):
        said.append(clock())
        r.sent(send, "Time to call your sister!")

    async def sleep(seconds):
        clock.t += seconds
        if said:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await r.run(deliver, sleep=sleep, tick=30.0)
    assert said == [local(2026, 3, 2, 9, 30, 5).timestamp()]  # looked again after 5 s


def test_a_repeating_reminder_moves_on_only_once_said(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me every day at 9am to stretch", MONDAY))
    clock.set(local(2026, 3, 3, 9, 0))
    [send] = r.decide()
    assert store.items()[0].due_at == local(2026, 3, 3, 9).timestamp()  # claimed, still due today
    r.sent(send, "Time to stretch!")
    assert store.items()[0].due_at == local(2026, 3, 4, 9).timestamp() and store.items()[0].held is None


def test_on_postgresql_a_persons_schedule_is_theirs_alone_even_to_a_statement_without_a_filter(pg_url, clock):
    sam, ana = ReachStore(pg_url, "sam"), ReachStore(pg_url, "ana")
    reacher_for(sam, clock).remind(asked("remind me at 10 to stretch", MONDAY))
    sam.log([1], "held", "quiet hours", at=clock())
    sam.alive(clock())
    # Row-level security answers, not the statement's own filter.
    assert ana._exec("SELECT count(*) FROM reach_items").fetchone()[0] == 0
    assert ana._exec("SELECT count(*) FROM reach_log").fetchone()[0] == 0
    assert ana.alive_at() is None and ana.items() == [] and ana.forget_everything() == 0
    assert len(sam.items()) == 1 and sam.forget_everything() == 3
    assert sam.items() == [] and sam.entries() == [] and sam.alive_at() is None
    sam.close()
    ana.close()


def test_after_days_away_what_came_due_is_one_message_and_stale_ones_are_dropped(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me every day at 9am to stretch", MONDAY))
    r.remind(asked("remind me to buy bread on Thursday at 10am", MONDAY))
    r.remind(asked("remind me to call the bank on Thursday at 10:30am", MONDAY))
    clock.set(local(2026, 3, 5, 10, 45))  # os1 was off from Monday to Thursday morning
    sends = r.decide()
    assert len(sends) == 1  # never a burst
    assert sorted(i.text for i in sends[0].items) == ["buy bread", "call the bank"]
    assert sends[0].reason.startswith("2 due together, in one message")
    dropped = [e for e in store.entries() if e.decision == "dropped"]
    assert len(dropped) == 1 and dropped[0].reason.startswith("stale: due Tue 3 Mar at 09:00")
    stretch = [i for i in store.items() if i.text == "stretch"][0]
    assert stretch.due_at == local(2026, 3, 6, 9).timestamp()  # the next one, not the missed ones


def test_never_while_they_are_speaking(store, clock):
    r = reacher_for(store, clock)
    r.remind(asked("remind me at 10 to stretch", MONDAY))
    clock.set(local(2026, 3, 2, 10))
    r.busy = lambda: True
    assert r.decide() == []
    r.busy = lambda: False
    assert len(r.decide()) == 1


def follow_up(store, text, due: datetime, latest: datetime | None = None):
    return store.add("follow_up", text, Schedule(due), latest_at=(latest or due + timedelta(days=1)).timestamp(),
                     now=MONDAY.timestamp())


def test_follow_ups_keep_to_a_daily_budget_and_wait_for_a_moment_they_are_around(store, clock):
    r = reacher_for(store, clock, daily_budget=1)
    for n in range(3):
        follow_up(store, f"thing {n}", local(2026, 3, 2, 15))
    clock.set(local(2026, 3, 2, 15, 5))
    assert r.decide() == []  # not around: waits up to three hours
    r.heard("hi!")  # here now
    [send] = r.decide()
    assert len(send.items) == 2  # two things at most in one message
    assert "one thing at a time" in store.entries()[-1].reason
    r.sent(send, "How did thing 0 and thing 1 go?")
    clock.set(local(2026, 3, 2, 16, 5))
    assert r.decide() == []
    assert "today's budget of 1 unasked-for messages is spent" in store.entries()[-1].reason


def test_after_two_unanswered_reach_outs_os1_waits_for_them(store, clock):
    r = reacher_for(store, clock)
    for day in (2, 3):
        follow_up(store, f"thing {day}", local(2026, 3, day, 12))
        clock.set(local(2026, 3, day, 15, 5))  # they were not around: sent after three hours anyway
        [send] = r.decide()
        r.sent(send, f"How did thing {day} go?")
    follow_up(store, "the exam", local(2026, 3, 4, 12))
    clock.set(local(2026, 3, 4, 16))
    assert r.decide() == []
    assert "the last 2 reach-outs went unanswered" in store.entries()[-1].reason
    r.heard("sorry, busy days")
    clock.set(local(2026, 3, 4, 16, 5))
    assert len(r.decide()) == 1


def test_the_policy_is_pure_and_explains_each_decision(store):
    item = follow_up(store, "the interview", local(2026, 3, 5, 16))
    j = Judgement()
    assert judge([item], Moment(local(2026, 3, 5, 23)), j)[0].reason == "quiet hours: waits until 8 am"
    assert judge([item], Moment(local(2026, 3, 5, 17), around=True, unsolicited_today=2), j)[0].reason \
        .startswith("today's budget of 2")
    [send] = judge([item], Moment(local(2026, 3, 5, 17), around=True), j)
    assert isinstance(send, Send) and send.reason.startswith("follow-up: the interview")
    assert j.quiet_at(local(2026, 3, 5, 7, 59)) and not j.quiet_at(local(2026, 3, 5, 8))
    assert Judgement(quiet=(time(13), time(14))).quiet_at(local(2026, 3, 5, 13, 30))


# -- follow-ups from memory ---------------------------------------------------------------------------


@pytest.fixture
def memory(tmp_path):
    m = SQLiteMemory(tmp_path / "memory.sqlite3", "sam", embedder=None)
    yield m
    m.close()


def loop(memory, text: str, due: datetime) -> None:
    from os1.memory.store import Moment as Noted, Reflection

    session = memory.start_session("text", started_at=MONDAY.timestamp())
    message = memory.add_message(session, "user", text, created_at=MONDAY.timestamp())
    memory.save_reflection(Reflection(session, (message,), "summary", "journal", "",
                                      (Noted("open_loop", text, due.timestamp()),)))


def test_an_open_loop_becomes_one_follow_up_after_it_unless_they_told(store, clock, memory):
    r = reacher_for(store, clock, memory)
    loop(memory, "Sam's job interview at Lumen Studio on Thursday at 2pm", local(2026, 3, 5))
    [item] = r.follow_ups()
    assert item.schedule.first == local(2026, 3, 5, 16)  # two hours after it
    assert r.follow_ups() == []  # once per loop
    clock.set(local(2026, 3, 5, 17))
    r.heard("The interview went great!")  # told before os1 asked
    assert store.items(kinds=("follow_up",)) == []
    assert "they told already" in store.entries()[-1].reason


def test_a_loop_on_a_day_they_never_named_gets_no_follow_up(store, clock, memory):
    r = reacher_for(store, clock, memory)
    # "The interview went okay, they'll tell me next week": reflection dated a loop on its own.
    loop(memory, "The interview went okay, they'll tell me next week", local(2026, 3, 8))
    assert r.follow_ups() == []
    assert store.entries()[-1].reason == "they never said it is on Sunday 8 March: nothing to ask about then"


def test_a_loop_a_reminder_covers_gets_no_follow_up(store, clock, memory):
    r = reacher_for(store, clock, memory)
    r.remind(asked("my dentist appointment is on the 12th at 10am, remind me the day before", MONDAY))
    loop(memory, "Sam's dentist appointment on the 12th", local(2026, 3, 12))
    assert r.follow_ups() == []
    assert "covers it already" in store.entries()[-1].reason


def test_key_words_leave_out_names_and_time_words():
    assert key_words("Sam's job interview at Lumen on Thursday", not_these={"sam"}) == {"job", "interview", "lumen"}


def test_a_reminder_is_said_in_fixed_words_and_a_follow_up_must_be_a_question_about_it(store):
    plants = store.add("reminder", "water the plants", Schedule(local(2026, 3, 9, 8, 30)))
    dentist = store.add("reminder", "your dentist appointment is on the 12th at 10am",
                        Schedule(local(2026, 3, 11, 10)))
    assert reminder_words([plants], local(2026, 3, 9, 8, 30)) == \
        "It's 8:30 am: time to water the plants."
    assert reminder_words([dentist], local(2026, 3, 11, 10, 40)) == (
        "It's 10:40 am: a reminder: your dentist appointment is on the 12th at 10am "
        "(you asked for it at 10 am; sorry it's late).")
    interview = follow_up(store, "the job interview at Lumen", local(2026, 3, 5, 16))
    send = Send((interview,), "")
    assert fit("Hey! How did your interview at Lumen go?", send)
    assert not fit("Hey, Lumen Studio! It's Thursday.", send)  # no question
    assert not fit("How was your day?", send)  # not about it
    assert not fit("Oh no! I'm so scared about the interview at Lumen. What do you think?", send)  # as them
    assert not fit("Did they say anything about the interview?", send)  # about them, not to them
    assert fit('Sure, here is how I would say it: "So, how did your interview go?"', send)
    assert fallback(send) == "Hey, I've been thinking of you: how did the job interview at Lumen go?"


@pytest.mark.parametrize("note, said", [
    ("Job interview at Lumen Studio on Thursday at 2pm", "your job interview at Lumen Studio"),
    ("The user's job interview at Lumen Studio", "your job interview at Lumen Studio"),
    ("Sam's exam", "your exam"),
    ("Lumen interview", "your Lumen interview"),
    ("Sam has a driving test on Friday", "your driving test"),
    ("Dinner with Ana tonight", "your dinner with Ana"),
])
def test_a_note_is_turned_to_face_them(note, said):
    assert facing(note, {"Lumen", "Studio"}) == said


# -- through a conversation -------------------------------------------------------------------------


async def test_a_request_in_their_words_is_scheduled_and_confirmed_by_the_reply(settings, store, clock, memory):
    r = reacher_for(store, clock, memory)
    llm = FakeLLM(["Done, I'll remind you tomorrow at 6 pm."])
    c = Companion(settings, llm, memory, clock=clock, reach=r, tools=open_tools(settings, memory))
    c.start()
    events = [e async for e in c.send("remind me to call my sister at 6pm tomorrow")]
    [activity] = [e for e in events if isinstance(e, ToolActivity)]
    assert activity.name == "set_reminder" and activity.state == "done"
    assert activity.arguments == {"what": "call your sister", "when": "tomorrow (Tuesday 3 March) at 6 pm"}
    note = llm.prompts[-1][-1]
    assert note.role == "user" and "you have set the reminder they asked for: tomorrow (Tuesday 3 March) " \
        "at 6 pm, call your sister" in note.content
    assert llm.options[-1].tool_choice == "none"  # done already: now words, no call
    assert [e for e in events if isinstance(e, ReplyDone)][0].text == "Done, I'll remind you tomorrow at 6 pm."
    [item] = store.items()
    assert item.due_at == local(2026, 3, 3, 18).timestamp()
    [action] = memory.actions()
    assert action.status == "done" and action.tool == "set_reminder"

    events = [e async for e in c.send("What reminders do I have?")]
    assert "their reminders are: call your sister, tomorrow (Tuesday 3 March) at 6 pm" in llm.prompts[-1][-1].content
    assert "set_reminder" not in str([t.name for t in c.tools.specs])  # not a tool: the turn does it
    events = [e async for e in c.send("actually you can stop the sister reminder")]
    assert store.items() == []
    await c.close(remember=False)


async def test_a_reply_that_talks_past_the_reminder_is_followed_by_its_confirmation(
        settings, store, clock, memory):
    r = reacher_for(store, clock, memory)
    c = Companion(settings, FakeLLM(["Oh, a birthday! What will you get her?"]), memory, clock=clock, reach=r)
    c.start()
    events = [e async for e in c.send("Can you remind me to call my sister Ana at 6pm tomorrow? "
                                      "It's her birthday.")]
    assert [e for e in events if isinstance(e, ReplyDone)][0].text == (
        "Oh, a birthday! What will you get her? "
        "I'll remind you tomorrow (Tuesday 3 March) at 6 pm: call your sister Ana.")
    await c.close(remember=False)


async def test_os1_starts_the_turn_and_the_conversation_goes_on_from_it(settings, store, clock, memory):
    r = reacher_for(store, clock, memory)
    r.remind(asked("remind me at 10 to stretch", MONDAY))
    llm = FakeLLM(["Glad you did."])
    c = Companion(settings, llm, memory, clock=clock, reach=r)
    c.start()
    clock.set(local(2026, 3, 2, 10))
    [send] = r.decide()
    reached = await reach_out(c, send)
    said = reached.text
    assert said == "It's 10 am: time to stretch."  # a reminder: its own words, no model
    assert llm.prompts == []
    assert [m.content for m in memory.messages()] == [said]  # only os1's words: it started
    events = [e async for e in c.send("done, thanks")]
    assert [e for e in events if isinstance(e, ReplyDone)][0].text == "Glad you did."
    assert [m.content for m in llm.prompts[-1][-2:]] == [said, "done, thanks"]  # the answer follows from it
    assert store.entries()[-1].answered_at is not None
    await c.close(remember=False)


@pytest.mark.parametrize("written, said", [
    ("Hey! How did your interview at Lumen go?", "Hey! How did your interview at Lumen go?"),
    ("Hey, Lumen Studio! It's Thursday.", "Hey, I've been thinking of you: how did the interview at Lumen go?"),
])
async def test_a_follow_up_is_the_models_question_or_plain_words(settings, store, clock, memory, written, said):
    r = reacher_for(store, clock, memory)
    follow_up(store, "the interview at Lumen", local(2026, 3, 5, 16))
    llm = FakeLLM([written])
    c = Companion(settings, llm, memory, clock=clock, reach=r)
    c.start()
    clock.set(local(2026, 3, 5, 19, 5))
    [send] = r.decide()
    assert (await reach_out(c, send)).text == said
    assert "message them first: ask how the interview at Lumen went" in llm.prompts[-1][-1].content
    assert [m.content for m in memory.messages()] == [said]
    assert store.entries()[-1].text == said
    await c.close(remember=False)


async def test_a_reminder_and_a_follow_up_due_together_are_one_message(settings, store, clock, memory):
    r = reacher_for(store, clock, memory)
    r.remind(asked("remind me at 6pm to call Ana", MONDAY))
    follow_up(store, "the job interview", local(2026, 3, 2, 15))
    llm = FakeLLM([])
    c = Companion(settings, llm, memory, clock=clock, reach=r)
    c.start()
    clock.set(local(2026, 3, 2, 18))
    r.heard("back home")
    [send] = r.decide()
    reached = await reach_out(c, send)
    assert reached.text == ("It's 6 pm: time to call Ana. "
                            "Hey, I've been thinking of you: how did the job interview go?")
    assert llm.prompts == [] and store.items(kinds=("follow_up",)) == []
    await c.close(remember=False)

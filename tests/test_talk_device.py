"""`os1 talk` on a sound device (#20: the microphone gone mid-call), with a
fake PortAudio binding: this machine has no sound card. The fake behaves as
sounddevice does when a USB microphone is pulled out: its stream stops calling
back, and opening one fails until it is plugged in again (PortAudio lists
devices once, so it must be re-initialised to see it)."""

from __future__ import annotations

import asyncio
import threading
import time

import numpy as np
import pytest

from os1.audio.format import FRAME
from os1.cli.talk import DeviceAudio
from os1.events import ReplyDone, Transcript
from os1.memory.sqlite import SQLiteMemory
from os1.mind.companion import Companion
from os1.talk import VoiceParts, VoiceSession

from fakes import CountingEars, FakeLLM, LoudnessVAD, ScriptedTurnModel, SlowVoice, silence, speech


class PortAudioError(Exception):
    pass


class Room:
    """What the microphone picks up: ``before`` until it is pulled out, then
    nothing until it is plugged in again, then ``after``."""

    def __init__(self, before: np.ndarray, after: np.ndarray):
        self.audio, self.after = before, after
        self.at = 0
        self.plugged = True
        self.unplugged = threading.Event()

    def take(self, n: int) -> np.ndarray | None:
        """The next ``n`` samples heard, or None: the microphone is gone."""
        if self.at >= self.audio.size and not self.unplugged.is_set():
            self.plugged = False
            self.unplugged.set()
            self.audio, self.at = self.after, 0
        if not self.plugged:
            return None
        block = self.audio[self.at : self.at + n]
        self.at += n
        return np.pad(block, (0, n - block.size))


class _Stream(threading.Thread):
    latency = 0.02

    def __init__(self, sd: FakeSoundDevice, samplerate: int, blocksize: int, callback):
        super().__init__(daemon=True)
        self.sd, self.samplerate, self.blocksize, self.callback = sd, samplerate, blocksize, callback
        self.closed = False
        sd.streams.append(self)

    def run(self) -> None:
        start, n = time.monotonic(), 0
        while not self.closed and self.block():
            n += 1
            time.sleep(max(0.0, start + n * self.blocksize / self.samplerate - time.monotonic()))

    def close(self) -> None:
        self.closed = True


class _Input(_Stream):
    def start(self) -> None:
        if not self.sd.room.plugged or self.sd.stale:
            raise PortAudioError("Error opening InputStream: Invalid device [PaErrorCode -9996]")
        super().start()

    def block(self) -> bool:
        heard = self.sd.room.take(self.blocksize)
        if heard is None:
            return False  # unplugged: PortAudio just stops calling back
        self.callback(heard[:, None], self.blocksize, None, None)
        return True


class _Output(_Stream):
    def block(self) -> bool:
        out = np.zeros((self.blocksize, 1), np.float32)
        self.callback(out, self.blocksize, None, None)
        return True


class FakeSoundDevice:
    """The parts of the sounddevice module that os1 uses."""

    PortAudioError = PortAudioError

    def __init__(self, room: Room):
        self.room = room
        self.streams: list[_Stream] = []
        self.stale = False  # the device list was read while it was unplugged
        self.rescans = 0

    def InputStream(self, *, samplerate, channels, dtype, blocksize, callback):  # noqa: N802
        return _Input(self, samplerate, blocksize, callback)

    def OutputStream(self, *, samplerate, channels, dtype, callback):  # noqa: N802
        return _Output(self, samplerate, 256, callback)

    def _terminate(self) -> None:
        for stream in self.streams:
            stream.close()
        self.stale = not self.room.plugged

    def _initialize(self) -> None:
        self.rescans += 1
        self.stale = not self.room.plugged


@pytest.fixture
def memory(settings):
    m = SQLiteMemory(settings.database, settings.user)
    yield m
    m.close()


async def test_a_microphone_pulled_out_mid_sentence_is_told_and_the_call_goes_on_when_it_is_back(
        settings, memory):
    # They start to speak, the microphone goes mid-sentence; back, they speak again.
    room = Room(np.concatenate([silence(0.3), speech(0.8)]),
                np.concatenate([silence(0.6), speech(1.0), silence(8.0)]))
    sd = FakeSoundDevice(room)
    told: list[str] = []
    events: list = []
    llm = FakeLLM(["Hi.", "Yes."])
    parts = VoiceParts(vad=LoudnessVAD(), ears=CountingEars(), voice=SlowVoice(),
                       turn_model=ScriptedTurnModel([]))
    async with Companion(settings, llm, memory, channel="voice") as companion:
        device = DeviceAudio(sd, tell=told.append)
        session = VoiceSession(companion, parts, device, events.append, barge_in=True)
        call = asyncio.ensure_future(session.run(device.frames()))
        try:
            await asyncio.to_thread(room.unplugged.wait, 10)
            deadline = time.monotonic() + 20  # gone a while: told, and what they had said is answered
            while not told or not any(isinstance(e, ReplyDone) for e in events):
                assert time.monotonic() < deadline, f"nothing while the microphone was gone: {told}"
                await asyncio.sleep(0.1)
            assert "microphone stopped" in told[0]
            assert [e.text for e in events if isinstance(e, ReplyDone)] == ["Hi."]
            room.plugged = True
            deadline = time.monotonic() + 20
            while len([e for e in events if isinstance(e, ReplyDone)]) < 2:
                assert time.monotonic() < deadline, f"no answer after the microphone came back: {told}"
                await asyncio.sleep(0.1)
        finally:
            call.cancel()
            await asyncio.gather(call, return_exceptions=True)
            device.close()
    heard = [e.text for e in events if isinstance(e, Transcript) and e.final]
    assert len(heard) == 2  # the words before it went, and after it came back
    assert told == [told[0], "The microphone is back."]
    assert sd.rescans >= 1  # it looked for devices again to find it
    assert [m.role for m in memory.messages()] == ["user", "assistant", "user", "assistant"]


async def test_a_call_ended_just_as_a_frame_arrives_ends():
    # The cancellation and a frame come in the same turn of the loop: the frame
    # must not win (asyncio.wait_for let it, and the call never ended).
    device = DeviceAudio(FakeSoundDevice(Room(np.zeros(0, np.float32), np.zeros(0, np.float32))))

    async def listen() -> None:
        async for _ in device.frames():
            pass

    listening = asyncio.ensure_future(listen())
    await asyncio.sleep(0.05)  # waiting for a frame
    device._captured(np.zeros((FRAME, 1), np.float32), FRAME, None, None)
    await asyncio.sleep(0)  # the frame is in: the listener wakes at the next turn
    listening.cancel()
    done, _ = await asyncio.wait([listening], timeout=2)
    device.close()
    assert done, "the call went on after it was ended"

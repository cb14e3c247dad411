"""``os1 talk``: a spoken conversation, through the microphone or through files."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import logging
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import numpy as np

from os1.audio.echo import Heard
from os1.cli.ui import is_tty, progress_bar, style
from os1.config import Settings
from os1.errors import AudioError
from os1.events import (
    ErrorEvent, Event, Interrupted, ReplyDelta, ReplyDone, Status, Transcript, TurnTimes,
)

log = logging.getLogger(__name__)


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "talk", parents=[common], help="talk with os1 by voice",
        description="A spoken conversation. With a microphone and speakers: just talk; os1 "
        "listens for when you finish, answers aloud, and stops when you talk over it. On open "
        "speakers, echo cancellation (WebRTC's) keeps os1 from hearing itself; with a headset "
        "there is no echo to cancel (--headset). With --input, a WAV file plays the part "
        "of the microphone, in real time, and --output records what os1 said.",
    )
    p.add_argument("--input", type=Path, metavar="WAV", help="use this recording as the microphone")
    p.add_argument("--output", type=Path, metavar="WAV",
                   help="write os1's voice here (with --input); a transcript goes beside it (.txt)")
    p.add_argument("--tail", type=float, default=3.0, metavar="SECONDS",
                   help="silence fed after --input ends (default 3)")
    p.add_argument("--headset", action="store_true",
                   help="the voice goes to headphones: no echo to cancel")
    p.add_argument("--no-echo-cancel", action="store_true",
                   help="on open speakers, mute the microphone while os1 speaks instead "
                   "(you cannot interrupt it then)")
    p.add_argument("--push-to-talk", action="store_true",
                   help="press Enter to start speaking and Enter again when done")
    p.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    p.set_defaults(run=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.list_devices:
        print(_sounddevice().query_devices())
        return 0
    if args.output and not args.input:
        raise AudioError("--output goes with --input (file mode).")
    return asyncio.run(_talk(settings, args))


async def _talk(settings: Settings, args: argparse.Namespace) -> int:
    from os1.audio.format import load_audio
    from os1.runtime import companion_session, open_voice_parts
    from os1.talk import TimelineOutput, VoiceSession, paced_frames

    audio = load_audio(args.input) if args.input else None  # a bad file fails before models load
    print(style(f"{settings.persona.name} is waking up...", "2"), file=sys.stderr)
    parts = open_voice_parts(settings)
    captions = Captions(settings.persona.name)
    async with companion_session(
        settings, channel="voice", progress=progress_bar(f"Preparing the {settings.llm.model} model (once)")
    ) as companion:
        await companion.ready()  # the persona read into the model: the first answer is as quick as any
        if audio is not None:
            output = TimelineOutput()
            session = VoiceSession(companion, parts, output, captions.show, barge_in=True)
            await session.run(paced_frames(audio, tail_silence=args.tail))
            if args.output:
                rate = parts.voice.sample_rate
                from os1.audio.format import write_wav

                write_wav(args.output, output.render(rate, session.t), rate)
                args.output.with_suffix(".txt").write_text("\n".join(captions.lines) + "\n")
                print(f"Wrote {args.output} and {args.output.with_suffix('.txt')}.", file=sys.stderr)
            return 0
        device = DeviceAudio(_sounddevice(), cancel_echo=_cancel_echo(args),
                             tell=lambda text: print(style(f"\n{text}", "2"), file=sys.stderr))
        session = VoiceSession(companion, parts, device, captions.show,
                               barge_in=args.headset or device.echo is not None, echo=device.echo)
        frames = device.frames()
        if args.push_to_talk:
            frames = _push_to_talk(frames, session)
            print("Press Enter to talk, Enter again when you are done. Ctrl-C leaves.", file=sys.stderr)
        else:
            print("Listening. Just talk. Ctrl-C leaves.", file=sys.stderr)
        try:
            await session.run(frames)
        finally:
            device.close()
    return 0


def _cancel_echo(args: argparse.Namespace) -> bool:
    if args.headset or args.no_echo_cancel:
        return False
    if importlib.util.find_spec("livekit") is None:
        print(style("No echo cancellation (pip install 'os1[voice]'): on open speakers os1 mutes "
                    "the microphone while it speaks; use --headset to be able to interrupt it.", "2"),
              file=sys.stderr)
        return False
    return True


class Captions:
    """The live line: what os1 is doing, and both sides' words."""

    def __init__(self, name: str):
        self.name = name
        self.lines: list[str] = []
        self._tty = is_tty(sys.stdout)
        self._reply: list[str] = []

    def show(self, event: Event) -> None:
        if isinstance(event, Status) and self._tty:
            print(f"\r\x1b[2K{style('(' + event.state + ')', '2')}", end="", flush=True)
        elif isinstance(event, Transcript) and event.final:
            self._say(f"you: {event.text}")
        elif isinstance(event, ReplyDelta):
            self._reply.append(event.text)
        elif isinstance(event, ReplyDone):
            self._say(f"{self.name}: {''.join(self._reply).strip()}")
            self._reply = []
        elif isinstance(event, Interrupted):
            self._say(f"  (interrupted; you heard: {event.heard!r})")
        elif isinstance(event, TurnTimes):
            self._say(style(f"  (first audio {event.first_audio_ms:.0f} ms after you stopped)", "2"))
        elif isinstance(event, ErrorEvent):
            print(f"\nos1: {event.text}", file=sys.stderr)

    def _say(self, line: str) -> None:
        self.lines.append(line)
        print(("\r\x1b[2K" if self._tty else "") + line, flush=True)


def _sounddevice() -> Any:
    try:
        import sounddevice
    except ImportError as exc:
        raise AudioError("Audio devices need: pip install 'os1[voice]'") from exc
    except OSError as exc:  # the PortAudio library itself is missing
        raise AudioError(
            "PortAudio is not installed, so os1 cannot use a microphone "
            "(Debian/Ubuntu: sudo apt install libportaudio2). You can still try "
            "os1 talk --input speech.wav --output reply.wav"
        ) from exc
    try:
        sounddevice.query_devices(kind="input")
        sounddevice.query_devices(kind="output")
    except Exception as exc:
        raise AudioError(
            f"No usable microphone and speakers were found ({exc}). Connect a headset, "
            "or try: os1 talk --input speech.wav --output reply.wav"
        ) from exc
    return sounddevice


#: No frame for this long: the microphone is gone (unplugged, or taken by
#: another program); PortAudio then simply stops calling back.
MIC_GONE_S = 1.0
#: How often a gone microphone is looked for again.
MIC_RETRY_S = 1.0


class DeviceAudio:
    """Microphone frames in, os1's voice out, through PortAudio. With
    ``cancel_echo``, each frame is cleaned of os1's voice in the audio thread
    that captured it, with what the output thread handed to the speakers as
    the reference: both on the device's own clock.

    A microphone that goes away mid-call is told (``tell``), heard as silence
    meanwhile (a turn in progress ends; the reply goes on) and opened again
    as soon as there is one."""

    def __init__(self, sd: Any, *, cancel_echo: bool = False,
                 tell: Callable[[str], None] = lambda text: None):
        from os1.audio.echo import EchoCanceller

        self._sd = sd
        self._tell = tell
        self._loop = asyncio.get_running_loop()
        self._frames: asyncio.Queue[np.ndarray | Heard] = asyncio.Queue()
        self.echo = EchoCanceller() if cancel_echo else None
        self._input = self._open_input()
        self._output: Any = None
        self._pending = np.zeros(0, np.float32)
        self._reference = np.zeros(0, np.float32)  # the piece playing, at 16 kHz, for the canceller
        self._total = 0  # samples in the piece playing
        self._handed = 0  # of which handed to the speakers
        self._done: asyncio.Event | None = None
        self._playing = False

    def _open_input(self) -> Any:
        from os1.audio.format import FRAME, SAMPLE_RATE

        return self._sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32",
                                    blocksize=FRAME, callback=self._captured)

    async def frames(self) -> AsyncIterator[np.ndarray | Heard]:
        from os1.audio.format import FRAME, SAMPLE_RATE

        self._input.start()
        gone_since: float | None = None
        tried = 0.0
        while True:
            try:
                # Not asyncio.wait_for: on 3.11 it drops a cancellation that comes
                # as a frame arrives (the frame wins), and with frames 50 times a
                # second a Ctrl-C or the end of a call then hung for good.
                async with asyncio.timeout(MIC_GONE_S if gone_since is None else FRAME / SAMPLE_RATE):
                    frame = await self._frames.get()
            except TimeoutError:
                now = self._loop.time()
                if gone_since is None:
                    gone_since = now
                    self._tell("The microphone stopped (unplugged?). I'll listen again as soon as "
                               "it's back; Ctrl-C leaves.")
                    for _ in range(round(MIC_GONE_S * SAMPLE_RATE / FRAME)):
                        yield np.zeros(FRAME, np.float32)  # the time it was gone, heard as silence
                else:
                    yield np.zeros(FRAME, np.float32)
                if now - tried >= MIC_RETRY_S:
                    tried = now
                    self._reopen()
                continue
            if gone_since is not None:
                gone_since = None
                self._tell("The microphone is back.")
            yield frame

    def _reopen(self) -> None:
        """Open the microphone again, if there is one now."""
        with contextlib.suppress(Exception):
            self._input.close()
        if not self._playing:
            # Nothing playing: PortAudio may look for devices again (it lists
            # them once, at start; re-reading closes every stream).
            with contextlib.suppress(Exception):
                self._sd._terminate()
                self._sd._initialize()
                self._output = None
        try:
            self._input = self._open_input()
            self._input.start()
        except self._sd.PortAudioError as exc:
            log.info("no microphone yet: %s", exc)

    async def play(self, audio: np.ndarray, rate: int) -> None:
        from os1.audio.format import resample

        if self._output is None or self._output.samplerate != rate:
            if self._output is not None:
                self._output.close()
            self._output = self._sd.OutputStream(samplerate=rate, channels=1, dtype="float32",
                                                 callback=self._fill)
            self._output.start()
            if self.echo is not None:
                self.echo.set_delay(1000 * (self._input.latency + self._output.latency))
        self._done = asyncio.Event()
        if self.echo is not None:
            self._reference = resample(audio, rate)
        self._total, self._handed = audio.size, 0
        self._pending = audio.astype(np.float32)  # last: the output thread starts on it
        self._playing = True
        try:
            await self._done.wait()
        finally:
            self._playing = False
            self._pending = np.zeros(0, np.float32)  # cancelled: silence at the next block

    def _captured(self, data: np.ndarray, frames: int, t: Any, status: Any) -> None:
        frame: np.ndarray | Heard = data[:, 0].copy()
        if self.echo is not None and self.echo.working:
            try:
                frame = self.echo.clean(data[:, 0].copy())
            except AudioError as exc:  # the session mutes the microphone while os1 speaks now
                log.warning("%s", exc)
        self._loop.call_soon_threadsafe(self._frames.put_nowait, frame)

    def _fill(self, out: np.ndarray, frames: int, t: Any, status: Any) -> None:
        chunk, self._pending = self._pending[:frames], self._pending[frames:]
        out[: chunk.size, 0] = chunk
        out[chunk.size :, 0] = 0
        if self.echo is not None and chunk.size:  # the same stretch of the reference
            scale = self._reference.size / max(1, self._total)
            start = round(self._handed * scale)
            self._handed += chunk.size
            self.echo.played(self._reference[start : round(self._handed * scale)])
        if chunk.size < frames and self._done is not None:
            self._loop.call_soon_threadsafe(self._done.set)

    def close(self) -> None:
        for stream in (self._input, self._output):
            if stream is not None:
                stream.close()


async def _push_to_talk(frames: AsyncIterator[np.ndarray | Heard], session: Any) -> AsyncIterator[np.ndarray]:
    talking = asyncio.Event()

    async def keys() -> None:
        while True:
            await asyncio.to_thread(sys.stdin.readline)
            if talking.is_set():
                talking.clear()
                session.mic_closed()
                print(style("(sent)", "2"), file=sys.stderr)
            else:
                talking.set()
                print(style("(talking... Enter when done)", "2"), file=sys.stderr)

    task = asyncio.ensure_future(keys())
    try:
        async for frame in frames:
            audio = frame.audio if isinstance(frame, Heard) else frame  # push to talk: no barge-in
            yield audio if talking.is_set() else np.zeros_like(audio)
    finally:
        task.cancel()

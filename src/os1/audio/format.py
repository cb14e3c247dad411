"""Audio formats. Inside os1 audio is mono float32 in [-1, 1]; the pipeline
runs at 16 kHz (what VAD, Whisper and smart-turn expect)."""

from __future__ import annotations

import io
import wave
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from os1.errors import AudioError

SAMPLE_RATE = 16_000
FRAME = 512  # samples per VAD frame: 32 ms at 16 kHz


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32)


#: The sample rates (Hz) of a WAV os1 reads. Below, a small file claims hours of
#: sound, each piece of it a transcription (a 1 Hz file of 2 kB: 33 minutes); 0
#: is no rate at all; far above, resampling would make gigabytes of it.
WAV_RATES = (8_000, 768_000)


def read_wav(path: Path | BinaryIO, rate: int = SAMPLE_RATE, *, name: str | None = None) -> np.ndarray:
    """Any PCM WAV (8/16/24/32-bit, any rate, any channels) -> mono float32 at
    ``rate``; ``name`` is how messages call it (default: the path)."""
    name = name or str(path)
    try:
        with wave.open(cast(BinaryIO, path) if hasattr(path, "read") else str(path), "rb") as wav:
            channels, width, source_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise AudioError(f"No such audio file: {name}") from exc
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"{name} is not a readable PCM WAV file ({exc}).") from exc
    if not WAV_RATES[0] <= source_rate <= WAV_RATES[1]:
        raise AudioError(f"{name} says its sample rate is {source_rate} Hz; os1 takes "
                         f"{WAV_RATES[0]} to {WAV_RATES[1]} Hz.")
    if width == 1:
        data = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128) / 128
    elif width == 2:
        data = np.frombuffer(raw, "<i2").astype(np.float32) / 32768
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        data = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / 8388608
    elif width == 4:
        data = np.frombuffer(raw, "<i4").astype(np.float32) / 2147483648
    else:
        raise AudioError(f"{name}: unsupported sample width of {width} bytes.")
    usable = data.size - data.size % channels
    if usable == 0:
        raise AudioError(f"{name} holds no audio.")
    mono = data[:usable].reshape(-1, channels).mean(axis=1)
    try:
        return resample(mono, source_rate, rate)
    except (ValueError, ArithmeticError, MemoryError) as exc:
        raise AudioError(f"{name} is not a recording os1 can read ({exc}).") from exc


def decode_audio(data: bytes, name: str = "audio", rate: int = SAMPLE_RATE) -> np.ndarray:
    """An uploaded recording -> mono float32 at ``rate``, whatever its name
    says it is: WAV always; other formats (mp3, ogg, webm, m4a...) through
    PyAV when faster-whisper brought it."""
    if data[:4] == b"RIFF":
        return read_wav(io.BytesIO(data), rate, name=name)
    try:
        from faster_whisper.audio import decode_audio as av_decode
    except ImportError as exc:
        raise AudioError(f"{name} is not a WAV file, and other formats need os1[voice].") from exc
    try:
        audio = av_decode(io.BytesIO(data), sampling_rate=rate).astype(np.float32)
    except Exception as exc:  # noqa: BLE001 - PyAV raises many kinds for undecodable input
        raise AudioError(f"{name} is not an audio file os1 can read ({type(exc).__name__}).") from exc
    if audio.size == 0:
        raise AudioError(f"{name} holds no audio.")
    return audio


def load_audio(path: Path, rate: int = SAMPLE_RATE) -> np.ndarray:
    """A recording on disk, in any format :func:`decode_audio` reads."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise AudioError(f"No such audio file: {path}") from exc
    except OSError as exc:
        raise AudioError(f"Cannot read {path}: {exc.strerror}.") from exc
    return decode_audio(data, str(path), rate)


def wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    write_wav(buffer, samples, rate)
    return buffer.getvalue()


def write_wav(path: Path | BinaryIO, samples: np.ndarray, rate: int) -> None:
    try:
        with wave.open(cast(BinaryIO, path) if hasattr(path, "write") else str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(to_pcm16(samples))
    except OSError as exc:
        raise AudioError(f"Cannot write {path}: {exc.strerror}.") from exc


def to_pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()


def from_pcm16(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2").astype(np.float32) / 32768


#: Compressed formats for the speech API: (container, codec, media type).
_ENCODED = {
    "mp3": ("mp3", "libmp3lame", "audio/mpeg"),
    "opus": ("ogg", "libopus", "audio/ogg"),
    "aac": ("adts", "aac", "audio/aac"),
    "flac": ("flac", "flac", "audio/flac"),
}
AUDIO_FORMATS = ("wav", "pcm", *_ENCODED)


def encode_audio(samples: np.ndarray, rate: int, fmt: str) -> tuple[bytes, str]:
    """Speech as a file in ``fmt`` (one of AUDIO_FORMATS) and its media type.
    ``pcm`` is raw s16le at 24 kHz, as OpenAI's speech API returns it."""
    if fmt == "wav":
        return wav_bytes(samples, rate), "audio/wav"
    if fmt == "pcm":
        return to_pcm16(resample(samples, rate, 24_000)), "audio/pcm"
    if fmt not in _ENCODED:
        raise AudioError(f"Unknown audio format {fmt!r}; use one of {', '.join(AUDIO_FORMATS)}.")
    try:
        import av
    except ImportError as exc:
        raise AudioError(f"{fmt} needs PyAV (os1[voice]); wav and pcm always work.") from exc
    container, codec, media_type = _ENCODED[fmt]
    if codec == "libopus":  # Opus runs at 48 kHz only
        samples, rate = resample(samples, rate, 48_000), 48_000
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream: Any = out.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(
            np.frombuffer(to_pcm16(samples), "<i2")[None, :], format="s16", layout="mono")
        frame.sample_rate = rate
        for packet in (*stream.encode(frame), *stream.encode(None)):
            out.mux(packet)
    return buffer.getvalue(), media_type

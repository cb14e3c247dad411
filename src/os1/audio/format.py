"""Audio formats. Inside os1 audio is mono float32 in [-1, 1]; the pipeline
runs at 16 kHz (what VAD, Whisper and smart-turn expect)."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from os1.errors import AudioError

SAMPLE_RATE = 16_000
FRAME = 512  # samples per VAD frame: 32 ms at 16 kHz


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target or samples.size == 0:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32)


def read_wav(path: Path, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Any PCM WAV (8/16/24/32-bit, any rate, any channels) -> mono float32 at ``rate``."""
    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, source_rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            raw = wav.readframes(wav.getnframes())
    except FileNotFoundError as exc:
        raise AudioError(f"No such audio file: {path}") from exc
    except (wave.Error, EOFError, OSError) as exc:
        raise AudioError(f"{path} is not a readable PCM WAV file ({exc}).") from exc
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
        raise AudioError(f"{path}: unsupported sample width of {width} bytes.")
    usable = data.size - data.size % channels
    mono = data[:usable].reshape(-1, channels).mean(axis=1)
    return resample(mono, source_rate, rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    try:
        with wave.open(str(path), "wb") as wav:
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

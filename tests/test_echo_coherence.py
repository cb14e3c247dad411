"""How coherent the microphone is with os1's voice: high for its echo through a
room (delayed, filtered, a little distorted), low where someone else speaks;
the delay is found by itself. Synthetic signals, no models."""

from __future__ import annotations

import numpy as np

from os1.audio.echo import EchoCoherence
from os1.audio.format import FRAME, SAMPLE_RATE


def voice(rng: np.random.Generator, seconds: float) -> np.ndarray:
    """Speech-like: noise in syllable-long bursts, with short gaps."""
    n = int(seconds * SAMPLE_RATE)
    envelope = np.repeat(rng.uniform(0.2, 1.0, n // 3200 + 1), 3200)[:n]
    return (rng.standard_normal(n) * 0.1 * envelope).astype(np.float32)


def room(x: np.ndarray, rng: np.random.Generator, delay_s: float = 0.07) -> np.ndarray:
    """A delay, a short reverberant tail, a small speaker's distortion."""
    tail = rng.standard_normal(3200) * np.exp(-np.arange(3200) / 800) * 0.03  # 4 dB under the direct sound
    h = np.concatenate([np.zeros(int(delay_s * SAMPLE_RATE)), [1.0], tail])
    return np.convolve(np.tanh(1.2 * x) / 1.2, h)[: x.size].astype(np.float32) * 0.5


def run(far: np.ndarray, mic: np.ndarray, echo: EchoCoherence) -> list[float | None]:
    return [echo.push(far[i : i + FRAME], mic[i : i + FRAME]) for i in range(0, far.size - FRAME + 1, FRAME)]


def test_os1s_echo_is_coherent_with_its_voice_and_someone_else_is_not():
    rng = np.random.default_rng(0)
    far = voice(rng, 6.0)
    echo = EchoCoherence()
    alone = run(far, room(far, rng), echo)
    assert all(c is not None for c in alone[5:])
    assert min(c for c in alone[10:] if c is not None) > 0.7
    assert abs(echo.delay_s - 0.07) <= 0.008  # found by itself
    other = voice(np.random.default_rng(1), 6.0) * 2
    over = run(far, room(far, rng) + other, EchoCoherence())
    assert np.median([c for c in over[10:] if c is not None]) < 0.5


def test_while_os1_is_silent_there_is_nothing_to_compare_with():
    rng = np.random.default_rng(2)
    silence = np.zeros(SAMPLE_RATE * 2, np.float32)
    assert set(run(silence, voice(rng, 2.0), EchoCoherence())) == {None}


def test_os1s_voice_coming_back_after_someone_talked_over_it_is_coherent_with_its_echo_at_once():
    # os1 speaks, falls silent while someone says "mhm" (0.5 s), and goes on:
    # what the microphone heard in between must not make its own voice look
    # like someone else's (the voice would fall silent again).
    rng = np.random.default_rng(3)
    sr = SAMPLE_RATE
    far = np.concatenate([voice(rng, 3.0), np.zeros(int(0.7 * sr), np.float32), voice(rng, 2.0)])
    mic = room(far, rng)
    mhm = voice(np.random.default_rng(4), 0.5) * 2
    mic[int(2.9 * sr) : int(2.9 * sr) + mhm.size] += mhm
    coherence = run(far, mic, EchoCoherence())
    back = int(3.7 * sr) // FRAME
    after = [c for c in coherence[back:] if c is not None]
    assert len(after) > 40
    assert min(after) > 0.5  # ECHO_COHERENCE: above it, os1's own voice

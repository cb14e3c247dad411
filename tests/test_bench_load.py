"""`os1 bench load`, short: llama.cpp's server with the real 0.5B model behind
an `os1 serve` process with accounts; simulated people log in and talk over
the page's WebSocket, then idle page connections are held."""

from __future__ import annotations

import asyncio
import os

import pytest

from os1.bench.load import run_load_bench
from os1.config import load_settings

pytestmark = [pytest.mark.model, pytest.mark.timeout(600)]


def test_people_talking_at_once_get_every_reply_and_idle_pages_cost_little_memory(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS1_")}
    settings = load_settings(env={**env, "OS1_HOME": str(tmp_path / "home")})
    report = asyncio.run(run_load_bench(settings, users=3, duration=20, idle=1000, model="qwen2.5-0.5b"))
    assert report["errors"] == 0, report["error_samples"]
    assert report["turns"] >= 3 and report["latency_ms"]["p50"] > 0
    assert report["queue_wait_ms"]["p50"] is not None and report["busy_refusals"] == 0
    assert report["idle_connections"] == 1000
    assert report["rss_kb_per_idle_connection"] < 50  # the bound

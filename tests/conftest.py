from __future__ import annotations

import os
from pathlib import Path

import pytest

from os1.config import Settings, load_settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(env={"OS1_HOME": str(tmp_path / "home"), "HOME": str(tmp_path)})

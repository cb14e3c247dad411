import hashlib
import sys

import pytest

from os1.errors import ModelNotInstalled
from os1 import assets as modelfiles
from os1.assets import ModelSpec, ensure_model


@pytest.fixture
def parts(tmp_path, monkeypatch):
    """Three installed 'part packages' on sys.path, like the PyPI slices."""
    site = tmp_path / "site"
    blobs = [bytes([i]) * (1000 + i) for i in range(1, 4)]
    for i, blob in enumerate(blobs, start=1):
        pkg = site / f"fakemodel_part{i}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(site))
    whole = b"".join(blobs)
    spec = ModelSpec(name="fake", stem="fakemodel_part", parts=3, size=len(whole),
                     sha256=hashlib.sha256(whole).hexdigest(), extra="model-fake")
    yield spec, whole
    for i in range(1, 4):
        sys.modules.pop(f"fakemodel_part{i}", None)


def test_joins_once_with_progress(tmp_path, parts):
    spec, whole = parts
    seen = []
    path = ensure_model(spec, tmp_path / "cache", lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == whole
    assert seen[-1] == (len(whole), len(whole))
    seen.clear()
    assert ensure_model(spec, tmp_path / "cache", lambda *a: seen.append(a)) == path
    assert seen == []  # already there: no work


def test_checksum_mismatch_leaves_nothing_behind(tmp_path, parts):
    spec, _ = parts
    bad = ModelSpec(name=spec.name, stem=spec.stem, parts=spec.parts, size=spec.size,
                    sha256="0" * 64, extra=spec.extra)
    with pytest.raises(ModelNotInstalled, match="corrupt"):
        ensure_model(bad, tmp_path / "cache")
    leftovers = [p.name for p in (tmp_path / "cache" / "models").iterdir() if not p.name.endswith(".lock")]
    assert leftovers == []


def test_interrupted_join_is_redone(tmp_path, parts, monkeypatch):
    spec, whole = parts

    def boom(done, total):
        if done > 1500:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ensure_model(spec, tmp_path / "cache", boom)
    target = tmp_path / "cache" / "models" / spec.filename
    assert not target.exists()
    assert not target.with_name(target.name + ".partial").exists()
    assert ensure_model(spec, tmp_path / "cache").read_bytes() == whole


def test_missing_part_says_how_to_install(tmp_path, parts):
    spec, _ = parts
    more = ModelSpec(name=spec.name, stem=spec.stem, parts=4, size=spec.size,
                     sha256=spec.sha256, extra=spec.extra)
    with pytest.raises(ModelNotInstalled, match=r"fakemodel_part4 is missing.*pip install 'os1\[model-fake\]'"):
        ensure_model(more, tmp_path / "cache")


def test_the_real_models_are_declared():
    assert set(modelfiles.MODELS) == {"qwen2.5-1.5b", "qwen2.5-0.5b"}

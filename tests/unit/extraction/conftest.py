from __future__ import annotations

import pytest

from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import RegistrySnapshot
from tests.unit.extraction.lakeford import SNAPSHOT


@pytest.fixture
def registry() -> RegistrySnapshot:
    return SNAPSHOT


@pytest.fixture(scope="module")
def extractor() -> PipelineExtractor:
    """The rules pipeline for the Lakeford registry, built once per test module."""
    return PipelineExtractor(SNAPSHOT)

"""The learned claim model: a logistic regression over `features.py`, stored as a small JSON file.

A model answers one question about each reading the pipeline makes: is this (actor, topic,
label) a claim a coder would code from this article? A reading is kept when its probability
passes the model's threshold, and the probability becomes the observation's `confidence`. Two
thresholds: one for a reading a stance cue decided (what the rules engine codes), one for a
reading that names the topic without a cue (which the rules drop).

The file is plain JSON (no pickle: a model file is data, safe to load from anywhere), written
canonically so that one training run gives one byte string; `sha` is its SHA-256, recorded in
every observation's `extractor_version`. Scaling is folded into the weights, so using a model
needs no scikit-learn: only `training.py` does.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import orjson

FORMAT = "stanceline-claim-model/1"
DEFAULT_MODEL_PATH = Path(__file__).with_name("models") / "claims-default.json"


class ModelFormatError(ValueError):
    """A model file that is not a claim model of this format."""


@dataclass(frozen=True, eq=False)
class ClaimModel:
    weights: Mapping[str, float]
    intercept: float
    keep_read: float  # threshold for a reading a stance cue decided
    keep_other: float  # for a reading without a cue
    local: bool = False  # trained with a deployment's own actor and topic features
    trained: Mapping[str, Any] = field(default_factory=dict)  # provenance and held-out figures

    def probability(self, features: Mapping[str, float]) -> float:
        weights = self.weights
        z = self.intercept + sum(value * weights.get(name, 0.0) for name, value in features.items())
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))

    def keeps(self, probability: float, *, as_read: bool) -> bool:
        return probability >= (self.keep_read if as_read else self.keep_other)

    def to_bytes(self) -> bytes:
        payload = {
            "format": FORMAT,
            "intercept": round(self.intercept, 6),
            "keep_read": round(self.keep_read, 4),
            "keep_other": round(self.keep_other, 4),
            "local": self.local,
            "trained": dict(self.trained),
            "weights": {name: round(value, 6) for name, value in self.weights.items() if round(value, 6)},
        }
        return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS | orjson.OPT_INDENT_2) + b"\n"

    @cached_property
    def sha(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()

    @property
    def short(self) -> str:
        """The first 12 hex digits of `sha`: what `extractor_version` records."""
        return self.sha[:12]

    @classmethod
    def from_bytes(cls, data: bytes) -> ClaimModel:
        try:
            payload = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise ModelFormatError(f"not JSON: {error}") from error
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ModelFormatError(f"not a claim model: expected format {FORMAT!r}")
        try:
            return cls(
                weights={str(k): float(v) for k, v in payload["weights"].items()},
                intercept=float(payload["intercept"]),
                keep_read=float(payload["keep_read"]),
                keep_other=float(payload["keep_other"]),
                local=bool(payload.get("local", False)),
                trained=dict(payload.get("trained") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelFormatError(f"claim model field missing or malformed: {error}") from error

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ClaimModel) and other.sha == self.sha

    def __hash__(self) -> int:
        return hash(self.sha)


def rules_equivalent() -> ClaimModel:
    """A model that decides as the rules do: every reading as read, nothing else."""
    return ClaimModel(weights={}, intercept=0.0, keep_read=0.0, keep_other=1.01)


@lru_cache(maxsize=1)
def default_model() -> ClaimModel:
    """The model shipped with the package, trained on the development corpora
    (`stanceline train-default`)."""
    return ClaimModel.from_bytes(DEFAULT_MODEL_PATH.read_bytes())

"""The `learned` engine: the staged pipeline whose claim decisions a trained model makes.

The pipeline reads every (actor, topic) clause as usual, and also keeps the readings that name
the topic without a stance cue, which the rules drop. Each reading is described
(`features.py`) and scored by the claim model (`claim_model.py`): the registry snapshot's own
model when the deployment trained one (`stanceline train`), else the shipped default. Readings
the model keeps are merged as the rules engine merges them; the model's probability is the
observation's confidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.extraction.actors import ActorGazetteer
from app.extraction.claim_model import ClaimModel, default_model
from app.extraction.document import Document
from app.extraction.features import Features, article_features, local_features
from app.extraction.merge import Candidate, merge, to_observation
from app.extraction.pipeline import VERSION as PIPELINE_VERSION
from app.extraction.pipeline import PipelineExtractor
from app.extraction.types import ArticleText, ExtractedObservation, RegistrySnapshot

if TYPE_CHECKING:
    from app.extraction.explain import ExtractionTrace

VERSION = "learned-1.1.0"
UNCUED = "uncued"


@dataclass(frozen=True)
class Option:
    """One reading of the article as the model sees it."""

    candidate: Candidate
    features: Features
    as_read: bool  # a stance cue decided it: what the rules engine would code


class LearnedExtractor(PipelineExtractor):
    method = "model"
    collect_features = True
    keep_uncued = True

    def __init__(self, registry: RegistrySnapshot, model: ClaimModel | None = None) -> None:
        super().__init__(registry)
        self.model = model or registry.claim_model or default_model()
        self.version = f"{VERSION}+{PIPELINE_VERSION}+{self.model.short}"

    def extract(
        self, article: ArticleText, trace: ExtractionTrace | None = None
    ) -> list[ExtractedObservation]:
        doc, candidates = self.claims(article, trace)
        found = self.options(doc, candidates, local=self.model.local)
        kept = choose(found, [self.model.probability(o.features) for o in found], self.model)
        return [_stamped(to_observation(c), self.model) for c in merge(kept, trace)]

    def options(self, doc: Document, candidates: Sequence[Candidate], *, local: bool) -> list[Option]:
        """Every reading as the model sees it (local features only when asked: a local model, training)."""
        return options(doc, candidates, self.gazetteer, local=local)


def choose(found: Sequence[Option], probabilities: Sequence[float], model: ClaimModel) -> list[Candidate]:
    """The readings the model keeps (each kind has its threshold), their probability as confidence."""
    return [
        replace(option.candidate, confidence=round(max(0.01, min(0.99, probability)), 3))
        for option, probability in zip(found, probabilities, strict=True)
        if model.keeps(probability, as_read=option.as_read)
    ]


def options(
    doc: Document, candidates: Sequence[Candidate], gazetteer: ActorGazetteer, *, local: bool
) -> list[Option]:
    out: list[Option] = []
    for candidate, features in zip(candidates, describe(doc, candidates, gazetteer), strict=True):
        described = dict(features)
        if local:
            described.update(
                local_features(
                    candidate.actor, candidate.topic, candidate.label, candidate.basis, candidate.features
                )
            )
        out.append(Option(candidate, described, as_read=candidate.basis != UNCUED))
    return out


def describe(doc: Document, candidates: Sequence[Candidate], gazetteer: ActorGazetteer) -> list[Features]:
    """The features of every reading of one article, with what the article's other readings of
    the same (actor, topic) add (`features.article_features`)."""
    by_pair: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_pair[(candidate.actor, candidate.topic)].append(candidate)
    mentions: dict[str, int] = defaultdict(int)
    for found in doc.mentions:
        for mention in found:
            mentions[mention.slug] += 1
    title = doc.article.title or ""
    in_title = {m.slug for m in gazetteer.find(title, doc.published)} if title else set()
    return [
        article_features(
            candidate.features,
            [c.features for c in by_pair[(candidate.actor, candidate.topic)]],
            actor_mentions=mentions[candidate.actor],
            in_title=candidate.actor in in_title,
        )
        for candidate in candidates
    ]


def _stamped(observation: ExtractedObservation, model: ClaimModel) -> ExtractedObservation:
    return replace(observation, extras={**observation.extras, "model": model.short})

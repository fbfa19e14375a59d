"""Training this deployment's claim model from its reviewers' decisions (`stanceline train`).

What reviewers decided is the training data: in every article where a person verified, corrected
or rejected an automatic observation, or coded one by hand, the learned engine's readings are
labelled. A reading whose (actor, topic, label) a reviewer verified, corrected to, or coded by
hand is a claim; one a reviewer rejected is not; a reading nobody decided on is left out (a
reviewer who verified one observation of an article has not said the others are wrong). The
shipped training data (the development corpora's readings) is added, so a few reviews adjust the
default rather than replace it; the deployment's own readings weigh `LOCAL_WEIGHT` times more,
and the model sees local features (this deployment's actors and topics: `features.local_features`).

Before switching, both models are scored on the reviewed articles, k-fold over articles: the
model in use as it is, and the new one trained without each fold. The new model is stored and
made active only when it is better (or when forced). Activating it bumps the registry revision:
every process rebuilds its extractor, and articles extracted before count as stale (re-extract
them with `stanceline reextract` or a re-extraction job to apply the model to stored articles).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, aliased

from app.extraction import training
from app.extraction.claim_model import ClaimModel, default_model, rules_equivalent
from app.extraction.learned import LearnedExtractor
from app.ingest.articles import article_text
from app.models import Actor, Article, Observation, Topic
from app.registry.context import load_registry_context
from app.store import extractor_models, unit_of_work

LOCAL_WEIGHT = 3.0
DECIDED = ("verified", "corrected")
MIN_ARTICLES = 3


class NothingToLearn(ValueError):
    """Too few reviewed articles, or reviews of one kind only."""


@dataclass(frozen=True)
class TrainingReport:
    articles: int  # reviewed articles
    examples: int  # readings a reviewer decided on
    claims: int  # coded claims in those articles
    folds: int
    before: dict[str, Any]  # strict figures of the model in use on the reviewed articles
    after: dict[str, Any]  # of the new model, each fold trained without it
    switched: bool  # the new model is better (or forced): it should replace the one in use
    verdict: str  # "better", or why it is not taken
    model_sha: str  # the new model
    previous: str  # the model in use before: its sha, or "default"

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def reviewed_claims(session: Session) -> dict[int, tuple[set[training.Claim], set[training.Claim]]]:
    """Per article a person decided on: the (actor, topic, label) claims coded (verified,
    corrected or manual) and those rejected."""
    actor, topic = aliased(Actor), aliased(Topic)
    rows = session.execute(
        select(
            Observation.article_id,
            actor.slug,
            topic.slug,
            Observation.label,
            Observation.status,
            Observation.method,
        )
        .join(actor, actor.id == Observation.actor_id)
        .join(topic, topic.id == Observation.topic_id)
        .where(
            Observation.article_id.is_not(None),
            or_(Observation.status.in_((*DECIDED, "rejected")), Observation.method == "manual"),
        )
        .order_by(Observation.article_id, Observation.id)
    )
    out: dict[int, tuple[set[training.Claim], set[training.Claim]]] = defaultdict(lambda: (set(), set()))
    for article_id, actor_slug, topic_slug, label, status, method in rows:
        coded, rejected = out[int(article_id or 0)]
        claim = (str(actor_slug), str(topic_slug), str(label))
        if status == "rejected":
            rejected.add(claim)
        elif status in DECIDED or method == "manual":
            coded.add(claim)
    return dict(out)


def deployment_examples(session: Session) -> tuple[training.TrainingSet, ClaimModel]:
    """The learned engine's readings of every reviewed article, labelled by the reviews, and the
    model the deployment uses now."""
    context = load_registry_context(session)
    extractor = LearnedExtractor(context.snapshot, rules_equivalent())
    claims = reviewed_claims(session)
    data = training.TrainingSet()
    if claims:
        articles = session.scalars(select(Article).where(Article.id.in_(sorted(claims))).order_by(Article.id))
        for article in articles:
            coded, rejected = claims[article.id]
            data.extend(
                training.article_examples(
                    extractor,
                    article_text(article),
                    article=f"article/{article.id}",
                    group=f"article/{article.id}",
                    coded=coded,
                    rejected=rejected,
                    weight=LOCAL_WEIGHT,
                )
            )
    return data, context.snapshot.claim_model or default_model()


def train_deployment(
    session: Session, *, folds: int = 5, force: bool = False, seed: int = 0
) -> tuple[TrainingReport, ClaimModel]:
    """Train and compare (reads only; see the module): the report, and the new model, which
    `report.switched` says should replace the one in use (`activate`)."""
    local, current = deployment_examples(session)
    decided = [e for e in local.examples if e.truth is not None]
    articles = sorted(local.coded)
    if len(articles) < MIN_ARTICLES or len({e.truth for e in decided}) < 2:
        raise NothingToLearn(
            f"nothing to learn from yet: {len(articles)} reviewed articles with {len(decided)} decided "
            f"readings (needs {MIN_ARTICLES} articles, and readings both confirmed and rejected)"
        )
    retrained = training.retrain(training.read_examples(), local, current, folds=folds, seed=seed)
    model = retrained.model
    report = TrainingReport(
        articles=len(articles),
        examples=len(decided),
        claims=sum(len(c) for c in local.coded.values()),
        folds=retrained.folds,
        before=retrained.before,
        after=retrained.after,
        switched=force or retrained.better,
        verdict=retrained.verdict,
        model_sha=model.sha,
        previous=current.sha if current != default_model() else "default",
    )
    return report, model


def activate(session: Session, model: ClaimModel, report: TrainingReport) -> None:
    """Store `model` as the one the learned engine uses, in the caller's transaction."""
    unit_of_work.lock_registry(session)
    extractor_models.add_model(
        session,
        sha=model.sha,
        body=model.to_bytes().decode(),
        figures={k: v for k, v in report.as_dict().items() if k not in ("switched", "verdict", "model_sha")},
        active=True,
    )
    unit_of_work.bump_registry_revision(session)

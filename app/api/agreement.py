from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Query

from app.db import SessionDep
from app.extraction.evaluation import agreement
from app.schemas import Agreement, AgreementFigures, Slug
from app.series import require_topic
from app.store import observations as observation_store

router = APIRouter(prefix="/agreement", tags=["stances"])


@router.get("", response_model=Agreement, responses={422: {}})
def get_agreement(
    session: SessionDep,
    topic: Annotated[Slug | None, Query(description="Topic slug; all topics when absent")] = None,
) -> Agreement:
    """How well automatic coding agrees with manual coding of the same articles, per topic.

    Each manual observation of an article is paired with the extractor's observation of the same
    article, actor and topic (label `none` when the extractor coded nothing, `rejected` when a
    reviewer rejected it). Cohen's kappa and Krippendorff's alpha (nominal) over the labels.
    """
    topic_id = require_topic(session, topic).id if topic is not None else None
    pairs = observation_store.coding_pairs(session, topic_id=topic_id)
    by_topic: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for slug, automatic, manual in pairs:
        by_topic[slug].append((automatic, manual))
    overall = [(automatic, manual) for _, automatic, manual in pairs]
    return Agreement(
        overall=AgreementFigures(**agreement(overall)),
        by_topic={slug: AgreementFigures(**agreement(items)) for slug, items in sorted(by_topic.items())},
    )

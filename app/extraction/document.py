"""The document the stages share: one article, its sentences, and what each stage found in them.

Stages fill it in order: sentences and dates, actor mentions, topic hits and the article's
focus, parses of the sentences worth parsing, then claims. Offsets are characters into the
article text; token indices are into the sentence's own parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from app.extraction.actors import Mention
from app.extraction.dates import DatePhrase
from app.extraction.relevance import TopicHit
from app.extraction.sentences import Sentence
from app.extraction.types import ArticleText

if TYPE_CHECKING:
    from app.extraction.explain import ExtractionTrace


@dataclass
class Document:
    article: ArticleText
    published: date
    sentences: list[Sentence]
    dates: list[list[DatePhrase]] = field(default_factory=list)
    mentions: list[list[Mention]] = field(default_factory=list)
    topic_hits: list[list[TopicHit]] = field(default_factory=list)
    title_hits: list[TopicHit] = field(default_factory=list)
    focus: dict[str, float] = field(default_factory=dict)
    # topics semantically close to each sentence (embeddings engine), with their similarity
    semantic: list[dict[str, float]] = field(default_factory=list)
    parses: dict[int, Any] = field(default_factory=dict)  # sentence index -> spaCy Doc of that sentence
    parse_offsets: dict[int, int] = field(default_factory=dict)  # where the parsed text starts
    lead_day: date | None = None
    trace: ExtractionTrace | None = None  # what the stages report, for an explanation (explain.py)

    @property
    def text(self) -> str:
        return self.article.text

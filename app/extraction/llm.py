"""The `llm` engine: an OpenAI-compatible chat endpoint codes each candidate article.

Only a candidate article is sent: one that names a registry actor (an alias or name, by the same
gazetteer as the rules engine) and a topic (a keyword, or its name). The prompt carries the coding
rules (topic-neutral), the registry's topics, the actors the article names (with the blocs and
states they belong to), the publication date and the text; the answer is one JSON object,
`{"observations": [{actor, topic, label, score, observed_at, evidence, speaker, shift}]}`.

Every item is checked against the registry and the text before it becomes an observation; what
fails a rule is dropped and counted (`extras["dropped"]`, the log, the `stanceline_llm_items`
metric), what can be mended is mended and counted too:

* `actor`: a registry slug, or exactly (case aside) one actor's name or alias, mapped to its slug
  (an alias several actors share goes to the one in office on the day); else `unknown_actor`;
* `topic`: a registry slug, or exactly a topic's name; else `unknown_topic`;
* `label`: support, oppose, neutral or mixed (case aside); else `bad_label`;
* `score`: a number in [-1, 1]; else `bad_score` (not clamped: a score off the scale is a model
  off the rules, and clamping would make it a firm stance);
* label and score sign: a `support` with a score <= 0 or an `oppose` with a score >= 0 keeps its
  label, and the score takes the label's sign (a 0 becomes +-0.5); `extras["fixed"]` says
  `label_score`;
* `observed_at`: an ISO date neither after the publication date + 1 day nor more than 10 years
  before it; else the publication date, and `extras["fixed"]` says `observed_at`;
* `evidence`: found in the text exactly, else after folding whitespace runs, curly quotes and
  dashes (and without quotes wrapped around it), and mapped back to the text's own characters and
  offsets; else `evidence_not_found`;
* `speaker`: a non-empty string or null; `shift`: true or false (anything else: false);
* one observation per (actor, topic, observed_at): later ones are `duplicate`;
* an item that is not a JSON object: `not_an_object`.

An answer that is not that JSON object (or whose `observations` is not a list) is malformed: it is
asked again within the retry bound (app.extraction.llm_client), then `LLMMalformed` is raised, so
that the extraction queue retries the article and, past its attempts, marks it `failed` with the
error. Answers are cached on disk by (text, title and publication date; registry; model; prompt
version), so that re-extracting an unchanged article asks nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import tempfile
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson
from prometheus_client import Counter as MetricCounter

from app.extraction import minilm
from app.extraction.actors import ActorGazetteer
from app.extraction.llm_client import ChatClient, MalformedAnswer, parse_json_object
from app.extraction.relevance import TopicIndex
from app.extraction.types import (
    LABELS,
    ArticleText,
    ExtractedObservation,
    RegistrySnapshot,
)

if TYPE_CHECKING:
    from app.config import Settings

logger = logging.getLogger(__name__)

ENGINE_VERSION = "1.0.0"
PROMPT_VERSION = "1"  # part of the cache key: a new prompt asks again
DEFAULT_CONFIDENCE = 0.7
MAX_AGE_DAYS = 3653  # an observed_at more than ten years before publication is a misreading
VERSION_MAX = 100  # observation.extractor_version's length

Mode = Literal["observations", "suggestions"]

ITEMS = MetricCounter(
    "stanceline_llm_items",
    "Items of LLM answers, by outcome: kept, or the rule that dropped them (unknown_actor, "
    "unknown_topic, bad_label, bad_score, evidence_not_found, duplicate, not_an_object)",
    ["outcome"],
)
ARTICLES = MetricCounter(
    "stanceline_llm_articles",
    "Articles seen by the llm engine, by outcome: skipped (names no registry actor or no topic: "
    "no request), cached, answered, failed",
    ["outcome"],
)


# --- configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LLMConfig:
    """Where the `llm` engine asks, and within which bounds (hashable: extractors are cached by it)."""

    url: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = 60.0
    concurrency: int = 2
    max_retries: int = 2
    mode: Mode = "observations"
    cache_dir: Path | None = None  # None: no answer cache
    backoff_seconds: float = 0.5


def default_cache_dir() -> Path:
    """`$STANCELINE_MODEL_CACHE/llm` (default `~/.cache/stanceline/llm`), beside the embeddings
    engine's graph."""
    return minilm.cache_dir() / "llm"


def config_from(settings: Settings) -> LLMConfig | None:
    """The engine's configuration from the settings; None while no endpoint (url and model) is set."""
    if not settings.llm_url or not settings.llm_model:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else None
    return LLMConfig(
        url=settings.llm_url,
        model=settings.llm_model,
        api_key=key or None,
        timeout_seconds=settings.llm_timeout_seconds,
        concurrency=settings.llm_concurrency,
        max_retries=settings.llm_max_retries,
        mode=settings.llm_mode,
        cache_dir=settings.llm_cache_dir or default_cache_dir(),
    )


# --- cache ---------------------------------------------------------------------------------------


def registry_hash(registry: RegistrySnapshot) -> str:
    """A stable hash of everything in the registry (actors and topics in slug order)."""
    data = {
        "actors": [asdict(a) for a in sorted(registry.actors, key=lambda a: a.slug)],
        "topics": [asdict(t) for t in sorted(registry.topics, key=lambda t: t.slug)],
    }
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def publication_day(article: ArticleText) -> date:
    published = article.published_at
    return (published.astimezone(UTC) if published.tzinfo is not None else published).date()


def text_hash(article: ArticleText) -> str:
    payload = [article.text, article.title, publication_day(article).isoformat()]
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


def cache_key(article: ArticleText, registry_digest: str, model: str) -> str:
    payload = [PROMPT_VERSION, text_hash(article), registry_digest, model]
    return hashlib.sha256(orjson.dumps(payload)).hexdigest()


class AnswerCache:
    """Answers as JSON files, `<dir>/<key[:2]>/<key>.json`, written atomically (a temporary file
    renamed), so that concurrent workers never read half a file. Never pruned: delete the folder."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> str | None:
        try:
            data = orjson.loads(self._path(key).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, orjson.JSONDecodeError):
            logger.warning("extraction.llm_cache_unreadable key=%s", key, exc_info=True)
            return None
        content = data.get("content") if isinstance(data, dict) else None
        return content if isinstance(content, str) else None

    def put(self, key: str, *, model: str, content: str) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("wb", dir=path.parent, suffix=".tmp", delete=False) as handle:
                handle.write(orjson.dumps({"model": model, "content": content}))
            os.replace(handle.name, path)
        except OSError:  # a cache that cannot be written costs a request next time, nothing more
            logger.warning("extraction.llm_cache_unwritable path=%s", path, exc_info=True)


# --- prompt --------------------------------------------------------------------------------------

SYSTEM_PROMPT = """\
You code stances in news articles for a stance-tracking database. A stance is a claim: an actor's
public position-taking (a statement, a decision or a deliberate act) on one of the listed topics.

Rules:
1. Code a claim only when the text attributes a position on a listed topic to an identifiable
   listed actor. Do not code: mere mentions; hosting or attending a meeting; lists of what a
   meeting discussed; predictions of what someone will say or do; one actor's belief about another
   actor's view (that is the first actor's position); positions on subjects outside the listed
   topics; sources that are not actors ("analysts say", "critics say").
2. Actor: the most specific listed actor (a person rather than the state or body they lead).
   Someone who is not listed but speaks for a listed institution is coded as that institution.
   When someone relays another actor's words or decision, code the actor whose position it is and
   give the relayer as speaker. A collective or metonymic sentence that only sums up a statement
   the article then attributes to a named listed person is not coded separately.
3. Topic: the most specific listed topic (a child topic instead of, never as well as, its parent).
   One sentence may hold claims on several topics.
4. Score in [-1, 1] and label:
   +1 support: proposes, pledges, commits, decides, approves;
   +0.5 support: conditional or tentative ("open to", "could consider", "prepared to ... if");
   0 neutral: deferral or review without a lean ("will decide at the appropriate time");
   -0.5 oppose: hesitation or conditional refusal ("premature", a pause pending a review);
   -1 oppose: firm rejection ("unacceptable", "out of the question", "will not");
   mixed: the sentence holds both support and opposition by the same actor, scored as the mean of
   the parts; a group reported as divided is mixed with score 0.
   A support label has a score above 0, an oppose label a score below 0.
5. One claim per actor, topic and date in an article: when several sentences show the same
   stance, keep the most telling one.
6. observed_at (YYYY-MM-DD) is when the stance was held, resolved against the publication date:
   explicit dates; a weekday is the latest such day on or before publication (unless the text
   speaks of the future); relative phrases ("a day earlier"); "last month" is the first day of the
   previous month, "this month" the first day of the current one; standing positions in the
   present or present perfect and undated past statements take the publication date.
7. evidence is the single most telling sentence, copied character for character from the
   article text (not from the title), with its dateline when the sentence starts with one.
8. speaker is who the sentence attributes the words to (a name, or a description such as
   "unnamed officials"); null when the sentence narrates an action or a fact.
9. shift is true only when the evidence sentence itself reports that this actor's position
   changed (reversed, stepped back, paused, resumed, a first time); a contrast between two actors
   is not a shift.

Answer with one JSON object and nothing else:
{"observations": [{"actor": "<actor slug>", "topic": "<topic slug>", "label": "support|oppose|neutral|mixed",
  "score": <number>, "observed_at": "YYYY-MM-DD", "evidence": "<exact sentence>",
  "speaker": "<who>" or null, "shift": true|false}]}
Use only the slugs listed. When the article holds no claim to code, answer {"observations": []}.
"""


def _actor_line(registry_actor: Any) -> str:
    parts = [f"- {registry_actor.slug}: {registry_actor.name} ({registry_actor.kind})"]
    aliases = [a for a in registry_actor.aliases if a != registry_actor.name]
    if aliases:
        parts.append("; also called " + ", ".join(f'"{a}"' for a in aliases))
    if registry_actor.memberships:
        members = []
        for m in registry_actor.memberships:
            span = ""
            if m.valid_from or m.valid_to:
                span = f" {m.valid_from or '...'} to {m.valid_to or 'now'}"
            members.append(f"{m.parent}{' as ' + m.role if m.role else ''}{span}")
        parts.append("; member of " + ", ".join(members))
    return "".join(parts)


def _topic_line(topic: Any) -> str:
    line = f"- {topic.slug}: {topic.name}."
    if topic.parent:
        line += f" (Child of {topic.parent}.)"
    if topic.description:
        line += f" {topic.description}"
    if topic.keywords:
        line += " Keywords: " + ", ".join(topic.keywords) + "."
    return line


# --- answers -------------------------------------------------------------------------------------


def parse_answer(content: str) -> list[Any]:
    """The items of an answer: `{"observations": [...]}` (MalformedAnswer for anything else)."""
    data = parse_json_object(content)
    items = data.get("observations")
    if not isinstance(items, list):
        raise MalformedAnswer('expected {"observations": [...]}')
    return items


# curly and typographic quotes, and dashes, as the plain ASCII ones
_FOLD = str.maketrans(
    dict.fromkeys("\u2018\u2019\u201a\u201b\u2032`\u00b4", "'")
    | dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"')
    | dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-")
)


def _folded(text: str) -> tuple[str, list[int]]:
    """`text` with whitespace runs as one space and quotes and dashes folded, and for each of its
    characters the offset of the original character it comes from."""
    out: list[str] = []
    where: list[int] = []
    in_space = False
    for i, char in enumerate(text):
        if char.isspace():
            if not in_space:
                out.append(" ")
                where.append(i)
            in_space = True
            continue
        in_space = False
        out.append(char.translate(_FOLD))
        where.append(i)
    return "".join(out), where


def find_evidence(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` is in `text` (start, end): exactly, else after folding whitespace, quotes and
    dashes (the span then covers the text's own characters); None when it is not there."""
    quote = quote.strip()
    if not quote:
        return None
    at = text.find(quote)
    if at != -1:
        return at, at + len(quote)
    folded_text, where = _folded(text)
    folded, _ = _folded(quote)
    candidates = [folded, folded.strip("\"' ")]
    for candidate in candidates:
        if len(candidate) < 2:
            continue
        at = folded_text.find(candidate)
        if at != -1:
            return where[at], where[at + len(candidate) - 1] + 1
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


@dataclass
class Checked:
    """What became of one answer's items."""

    observations: list[ExtractedObservation] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)
    fixed: Counter[str] = field(default_factory=Counter)


class AnswerChecker:
    """Checks answer items against the registry and the article (the rules in the module doc)."""

    def __init__(self, registry: RegistrySnapshot) -> None:
        self._actors = {a.slug: a for a in registry.actors}
        self._topics = {t.slug for t in registry.topics}
        self._actor_names: dict[str, list[str]] = {}
        for actor in registry.actors:
            for name in dict.fromkeys((actor.name, *actor.aliases)):
                owners = self._actor_names.setdefault(name.strip().lower(), [])
                if actor.slug not in owners:
                    owners.append(actor.slug)
        self._topic_names = {t.name.strip().lower(): t.slug for t in registry.topics}

    def actor(self, value: Any, day: date) -> str | None:
        if not isinstance(value, str):
            return None
        name = value.strip()
        if name in self._actors:
            return name
        owners = self._actor_names.get(name.lower(), [])
        if len(owners) > 1:  # a shared office alias: the holder on the day (first membership)
            owners = [
                slug
                for slug in owners
                if self._actors[slug].memberships and self._actors[slug].memberships[0].valid_on(day)
            ]
        return owners[0] if len(owners) == 1 else None

    def topic(self, value: Any) -> str | None:
        if not isinstance(value, str):
            return None
        name = value.strip()
        if name in self._topics:
            return name
        return self._topic_names.get(name.lower())

    @staticmethod
    def observed_at(value: Any, published: date) -> date | None:
        if not isinstance(value, str):
            return None
        try:
            day = date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
        if day > published + timedelta(days=1) or day < published - timedelta(days=MAX_AGE_DAYS):
            return None
        return day

    def check(self, items: Sequence[Any], article: ArticleText, *, extras: Mapping[str, Any]) -> Checked:
        out = Checked()
        published = publication_day(article)
        seen: set[tuple[str, str, date]] = set()
        for item in items:
            reason = self._one(item, article, published, seen, out)
            if reason is not None:
                out.dropped[reason] += 1
        details: dict[str, Any] = dict(extras)
        if out.dropped:
            details["dropped"] = dict(sorted(out.dropped.items()))
        out.observations = [replace(o, extras={**details, **o.extras}) for o in out.observations]
        return out

    def _one(
        self,
        item: Any,
        article: ArticleText,
        published: date,
        seen: set[tuple[str, str, date]],
        out: Checked,
    ) -> str | None:
        """Adds the item's observation to `out`, or returns why it is dropped."""
        if not isinstance(item, dict):
            return "not_an_object"
        observed_day = self.observed_at(item.get("observed_at"), published)
        actor = self.actor(item.get("actor"), observed_day or published)
        if actor is None:
            return "unknown_actor"
        topic = self.topic(item.get("topic"))
        if topic is None:
            return "unknown_topic"
        label = item.get("label")
        label = label.strip().lower() if isinstance(label, str) else None
        if label not in LABELS:
            return "bad_label"
        score = _number(item.get("score"))
        if score is None or not -1.0 <= score <= 1.0:
            return "bad_score"
        evidence = item.get("evidence")
        span = find_evidence(article.text, evidence) if isinstance(evidence, str) else None
        if span is None:
            return "evidence_not_found"
        fixes: list[str] = []
        if (label == "support" and score <= 0) or (label == "oppose" and score >= 0):
            score = (abs(score) or 0.5) * (1 if label == "support" else -1)
            fixes.append("label_score")
        if observed_day is None:
            observed_day = published
            fixes.append("observed_at")
        key = (actor, topic, observed_day)
        if key in seen:
            return "duplicate"
        seen.add(key)
        out.fixed.update(fixes)
        speaker = item.get("speaker")
        if not isinstance(speaker, str) or not speaker.strip():
            speaker = None
        start, end = span
        out.observations.append(
            ExtractedObservation(
                actor=actor,
                topic=topic,
                score=score,
                label=label,
                confidence=DEFAULT_CONFIDENCE,
                observed_at=observed_day,
                evidence=article.text[start:end],
                evidence_start=start,
                evidence_end=end,
                speaker=speaker.strip() if speaker else None,
                shift=item.get("shift") is True,
                extras={"fixed": fixes} if fixes else {},
            )
        )
        return None


# --- the engine ----------------------------------------------------------------------------------


class LLMExtractor:
    """Extractor protocol over an OpenAI-compatible endpoint; one per (registry, configuration)."""

    method = "llm"

    def __init__(
        self, registry: RegistrySnapshot, config: LLMConfig, *, client: ChatClient | None = None
    ) -> None:
        self.config = config
        self.version = f"llm-{ENGINE_VERSION}+{config.model}"[:VERSION_MAX]
        self.suggests = config.mode == "suggestions"  # stored as `suggested`, for a reviewer
        self.concurrency = config.concurrency  # texts a batch may extract at once
        self._registry = registry
        self._registry_hash = registry_hash(registry)
        self._gazetteer = ActorGazetteer(registry)
        self._topics = TopicIndex(registry)
        self._topic_names = [t.name.lower() for t in registry.topics if t.name]
        self._checker = AnswerChecker(registry)
        self._cache = AnswerCache(config.cache_dir) if config.cache_dir is not None else None
        self._client = client or ChatClient(
            url=config.url,
            model=config.model,
            api_key=config.api_key,
            timeout_seconds=config.timeout_seconds,
            max_retries=config.max_retries,
            concurrency=config.concurrency,
            backoff_seconds=config.backoff_seconds,
        )

    def close(self) -> None:
        """Close the client's connections (the extractor is not used afterwards)."""
        self._client.close()

    def named_actors(self, article: ArticleText) -> list[str]:
        """Registry actors the title or text names (slugs, in order of first mention)."""
        day = publication_day(article)
        found: dict[str, None] = {}
        for part in (article.title or "", article.text):
            for mention in self._gazetteer.find(part, day):
                found.update(dict.fromkeys(mention.slugs))
        return list(found)

    def names_a_topic(self, article: ArticleText) -> bool:
        whole = f"{article.title or ''}\n{article.text}"
        if self._topics.hits(whole):
            return True
        lowered = whole.lower()
        return any(name in lowered for name in self._topic_names)

    def messages(self, article: ArticleText, named: Sequence[str]) -> list[dict[str, str]]:
        day = publication_day(article)
        wanted = dict.fromkeys(named)
        for slug in named:  # the blocs and states they belong to: claims may be coded to those
            wanted.update(dict.fromkeys(sorted(self._gazetteer.ancestors(slug, day))))
        actors = [a for a in self._registry.actors if a.slug in wanted]
        lines = [
            "Topics:",
            *(_topic_line(t) for t in self._registry.topics),
            "",
            "Actors:",
            *(_actor_line(a) for a in actors),
            "",
            f"Publication date: {day.isoformat()} ({day.strftime('%A')})",
            f"Title: {article.title or '(none)'}",
            "Article text:",
            article.text,
        ]
        return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": "\n".join(lines)}]

    def extract(self, article: ArticleText) -> list[ExtractedObservation]:
        named = self.named_actors(article)
        if not named or not self.names_a_topic(article):
            ARTICLES.labels(outcome="skipped").inc()
            return []
        key = cache_key(article, self._registry_hash, self.config.model)
        stored = self._cached(key)
        cached = stored is not None
        if stored is not None:
            items = stored
        else:
            try:
                content, items = self._client.complete(self.messages(article, named), parse=parse_answer)
            except Exception:
                ARTICLES.labels(outcome="failed").inc()
                raise
            if self._cache is not None:
                self._cache.put(key, model=self.config.model, content=content)
        ARTICLES.labels(outcome="cached" if cached else "answered").inc()
        checked = self._checker.check(items, article, extras={"engine": "llm", "model": self.config.model})
        ITEMS.labels(outcome="kept").inc(len(checked.observations))
        for reason, count in checked.dropped.items():
            ITEMS.labels(outcome=reason).inc(count)
        log = logger.warning if checked.dropped else logger.info
        log(
            "extraction.llm model=%s cached=%s items=%d kept=%d dropped=%s fixed=%s",
            self.config.model,
            cached,
            len(items),
            len(checked.observations),
            dict(checked.dropped) or "none",
            dict(checked.fixed) or "none",
        )
        return checked.observations

    def _cached(self, key: str) -> list[Any] | None:
        if self._cache is None:
            return None
        content = self._cache.get(key)
        if content is None:
            return None
        try:
            return parse_answer(content)
        except MalformedAnswer:  # only good answers are stored; a damaged file is asked again
            return None

"""Development sets: finding and loading them, scoring an engine on each, and the naive floor.

This is the evaluation harness around extraction, not extraction: it knows where the project's
own development corpora live and what they are called.

A development set is a folder holding `articles.jsonl` (records with `gold` tuples and optional
`do_not_extract` pairs, the format of `shared/corpus/README.md`) and `registry.json`. Pure
functions: no web, no database. `evaluate_sets` extracts with
`app.extraction.corpus.extract_corpus` and scores with `evaluation.score_predictions`.

Naive floor: for every article with gold, each of its gold actors is predicted `support`
(score 1.0, dated the article's `published_at`) on the article's main topic, which is the topic
that most of its gold tuples are about once a child topic is counted as its parent (ties: the
first one in the record); distractors get nothing. The figure reported is the strict F1 of these
predictions. It is the floor of `shared/corpora/*/NOTES.md` ("every gold actor of an article
marked support on the storyline's main topic, dated published_at"): trade 0.477, defence 0.497.
It knows who speaks and what the article is about, and nothing of what they say.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from app.extraction import corpus as corpus_module
from app.extraction import evaluation, training
from app.extraction.claim_model import rules_equivalent
from app.extraction.learned import LearnedExtractor
from app.extraction.types import RegistrySnapshot

ARTICLES_FILE = "articles.jsonl"
REGISTRY_FILE = "registry.json"
# `shared/corpus` holds one set, the Ukraine storylines (`shared/corpora/README.md` calls it so);
# each folder of `shared/corpora` is a set named after the folder.
SHARED_CORPUS_NAME = "ukraine"


@dataclass(frozen=True)
class DevSet:
    """Where a development set lives."""

    name: str
    articles_path: Path
    registry_path: Path

    @classmethod
    def from_folder(cls, folder: Path, name: str | None = None) -> DevSet:
        return cls(name or folder.name, folder / ARTICLES_FILE, folder / REGISTRY_FILE)

    def load(self) -> LoadedSet:
        """Read both files; OSError or ValueError (with the path) when one is missing or malformed."""
        articles = corpus_module.read_jsonl(self.articles_path)
        try:
            registry = orjson.loads(self.registry_path.read_bytes())
        except orjson.JSONDecodeError as error:
            raise ValueError(f"{self.registry_path}: not valid JSON: {error}") from error
        if not isinstance(registry, dict):
            raise ValueError(f"{self.registry_path}: expected a JSON object")
        return LoadedSet(self, articles, registry)


@dataclass(frozen=True)
class LoadedSet:
    source: DevSet
    articles: list[dict[str, Any]]
    registry: dict[str, Any]

    @property
    def name(self) -> str:
        return self.source.name


def is_set(folder: Path) -> bool:
    return (folder / ARTICLES_FILE).is_file() and (folder / REGISTRY_FILE).is_file()


def sets_in(folder: Path) -> list[DevSet]:
    """The sets in `folder`: each subfolder holding both files (by name), or `folder` itself if it is one."""
    if is_set(folder):
        return [DevSet.from_folder(folder)]
    if not folder.is_dir():
        return []
    return [DevSet.from_folder(sub) for sub in sorted(folder.iterdir()) if sub.is_dir() and is_set(sub)]


def parse_named_set(text: str) -> DevSet:
    """A `NAME=PATH` option: PATH is a set's folder. ValueError when malformed or not a set."""
    name, sep, path = text.partition("=")
    if not sep or not name.strip() or not path.strip():
        raise ValueError(f"expected NAME=PATH, got {text!r}")
    folder = Path(path.strip()).expanduser()
    if not is_set(folder):
        raise ValueError(f"{folder} does not hold {ARTICLES_FILE} and {REGISTRY_FILE}")
    return DevSet.from_folder(folder, name.strip())


def shared_sets(roots: Sequence[Path]) -> tuple[list[DevSet], Path | None]:
    """The sets at `../shared/corpus` and `../shared/corpora/*` relative to the first root that has
    any, and that root (None when no root has any)."""
    for root in roots:
        shared = (root / ".." / "shared").resolve()
        found = []
        if is_set(shared / "corpus"):
            found.append(DevSet.from_folder(shared / "corpus", SHARED_CORPUS_NAME))
        found += sets_in(shared / "corpora")
        if found:
            return found, root
    return [], None


def _root_topic(topic: str, parents: Mapping[str, str | None]) -> str:
    seen = {topic}
    while (parent := parents.get(topic)) and parent not in seen:
        seen.add(parent)
        topic = parent
    return topic


def naive_floor_predictions(
    articles: Iterable[Mapping[str, Any]], registry: Mapping[str, Any]
) -> Iterator[dict[str, Any]]:
    """Prediction rows of the naive floor (see the module docstring)."""
    parents = {str(t["slug"]): t.get("parent") for t in registry.get("topics") or ()}
    for article in articles:
        gold = article.get("gold") or []
        if not gold:
            continue
        # Counter keeps first-seen order, and most_common is stable: ties go to the earliest topic
        topics = Counter(_root_topic(str(item["topic"]), parents) for item in gold)
        main_topic = topics.most_common(1)[0][0]
        for actor in dict.fromkeys(item["actor"] for item in gold):
            yield {
                "article_id": str(article["id"]),
                "actor": actor,
                "topic": main_topic,
                "label": "support",
                "score": 1.0,
                "observed_at": article.get("published_at"),
            }


def naive_floor(articles: Sequence[Mapping[str, Any]], registry: Mapping[str, Any]) -> dict[str, Any]:
    """Every figure of the naive floor's predictions (`["strict"]["f1"]` is the floor)."""
    return evaluation.score_predictions(articles, naive_floor_predictions(articles, registry), registry)


def score_set(
    loaded: LoadedSet, predictions: Sequence[Mapping[str, Any]], *, with_errors: bool = False
) -> dict[str, Any]:
    """The scorer's figures on one set, with `naive_floor` (its figures) and `topics`: the same
    figures restricted to each topic, each with its own `naive_floor`. `with_errors`: see
    `evaluation.score_predictions`."""
    floor_rows = list(naive_floor_predictions(loaded.articles, loaded.registry))
    figures = evaluation.score_predictions(
        loaded.articles, predictions, loaded.registry, with_errors=with_errors
    )
    figures["naive_floor"] = evaluation.score_predictions(loaded.articles, floor_rows, loaded.registry)
    topics = evaluation.score_by_topic(loaded.articles, predictions, loaded.registry)
    floors = evaluation.score_by_topic(loaded.articles, floor_rows, loaded.registry, topics=list(topics))
    for topic, topic_figures in topics.items():
        topic_figures["naive_floor"] = floors[topic]
    figures["topics"] = topics
    return figures


def evaluate_sets(
    sets: Sequence[DevSet], engine: str, *, with_errors: bool = False
) -> dict[str, dict[str, Any]]:
    """Extract every set with `engine` (each with its own registry) and score it: set name ->
    {"articles_path", "registry_path", "observations", **score_set(...)}, in the order given."""
    out: dict[str, dict[str, Any]] = {}
    for devset in sets:
        loaded = devset.load()
        snapshot = RegistrySnapshot.from_dict(loaded.registry)
        predictions = list(corpus_module.extract_corpus(loaded.articles, snapshot, engine))
        out[devset.name] = {
            "articles_path": str(devset.articles_path),
            "registry_path": str(devset.registry_path),
            "observations": len(predictions),
            **score_set(loaded, predictions, with_errors=with_errors),
        }
    return out


def training_set(loaded: LoadedSet) -> training.TrainingSet:
    """The learned engine's readings of every article of one set, labelled by its gold (every
    reading not coded is false: the sets are fully coded), without local features (the shipped
    model and data know no deployment's actors and topics). Groups, which folds hold out
    together: the record's storyline, else the whole set."""
    extractor = LearnedExtractor(RegistrySnapshot.from_dict(loaded.registry), rules_equivalent())
    data = training.TrainingSet()
    for number, article in enumerate(loaded.articles, 1):
        key, text = corpus_module.parse_article(article, number)
        coded = {(str(g["actor"]), str(g["topic"]), str(g["label"])) for g in article.get("gold") or ()}
        data.extend(
            training.article_examples(
                extractor,
                text,
                article=f"{loaded.name}/{key}",
                group=f"{loaded.name}/{article.get('storyline') or 'all'}",
                coded=coded,
            )
        )
    return training.without_local(data)

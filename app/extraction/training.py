"""Training the claim model: examples from coded articles, a fit, and held-out figures.

An example is one reading the learned engine makes of a coded article (`describe`), labelled by
what the coder said: true when the coder coded that (actor, topic, label) in that article. With
the development corpora the coder is the gold; in a deployment it is its reviewers (a verified,
corrected or hand-coded observation is a claim, a rejected one is not, and a reading nobody
decided on is left out: see `app.model_training`).

The fit is scikit-learn's logistic regression on max-abs-scaled features (deterministic: lbfgs,
examples in a fixed order). Its two thresholds are chosen on probabilities the training data
did not see (group k-fold inside the training set), for the best strict F1, preferring to leave
the rules' decisions alone on a tie. Scores here are strict F1 over the examples' articles:
a kept reading whose (actor, topic, label) was coded is found, a kept one the coder decided
against is false, a coded claim no kept reading matches is missed.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from app.extraction import evaluation
from app.extraction.claim_model import ClaimModel
from app.extraction.features import LOCAL
from app.extraction.learned import LearnedExtractor
from app.extraction.types import ArticleText

Claim = tuple[str, str, str]  # (actor, topic, label)
DEFAULT_EXAMPLES_PATH = Path(__file__).with_name("models") / "claims-default-examples.jsonl.gz"
REGULARISATION = 0.1  # scikit-learn's C, from a sweep with each storyline held out (python -m bench.learned)
INNER_FOLDS = 5
# held-out strict F1 the model's thresholds must gain over the rules' decisions to be used, and a
# retrained model over the one in use
MARGIN = 0.02
TRUSTED_ARTICLES = 20  # reviewed articles a retrained model needs before it replaces the one in use
_KEEP_READ = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)
_KEEP_OTHER = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.01)  # 1.01: keep none


@dataclass(frozen=True)
class Example:
    article: str  # the article's key
    group: str  # what a fold holds out together (a storyline, an article)
    actor: str
    topic: str
    label: str
    as_read: bool  # the label a stance cue gave (see `learned.Option`)
    features: Mapping[str, float]
    truth: bool | None  # None: no coder decided on it (left out of training and scores)
    weight: float = 1.0

    @property
    def claim(self) -> Claim:
        return (self.actor, self.topic, self.label)


@dataclass
class TrainingSet:
    examples: list[Example] = field(default_factory=list)
    coded: dict[str, set[Claim]] = field(default_factory=dict)  # article -> claims the coder coded

    def extend(self, other: TrainingSet) -> None:
        self.examples.extend(other.examples)
        for article, claims in other.coded.items():
            self.coded.setdefault(article, set()).update(claims)

    def only(self, keep: Callable[[Example], bool]) -> TrainingSet:
        examples = [e for e in self.examples if keep(e)]
        articles = {e.article for e in examples}
        return TrainingSet(examples, {a: c for a, c in self.coded.items() if a in articles})


def article_examples(
    extractor: LearnedExtractor,
    text: ArticleText,
    *,
    article: str,
    group: str,
    coded: set[Claim],
    rejected: set[Claim] | None = None,
    weight: float = 1.0,
) -> TrainingSet:
    """The learned engine's readings of one article, labelled by the coder. `rejected`, when
    given, is what the coder ruled out; a reading in neither set is then left undecided (None).
    Without it (a fully coded article: the corpora), every reading not coded is false."""
    doc, candidates = extractor.claims(text)
    examples = []
    for option in extractor.options(doc, candidates, local=True):
        candidate = option.candidate
        claim = (candidate.actor, candidate.topic, candidate.label)
        truth: bool | None = claim in coded
        if rejected is not None and not truth and claim not in rejected:
            truth = None
        examples.append(
            Example(
                article=article,
                group=group,
                actor=candidate.actor,
                topic=candidate.topic,
                label=candidate.label,
                as_read=option.as_read,
                features=option.features,
                truth=truth,
                weight=weight,
            )
        )
    return TrainingSet(examples, {article: set(coded)})


# --- fitting -------------------------------------------------------------------------------------


def fit(
    data: TrainingSet,
    *,
    local: bool = False,
    seed: int = 0,
    regularisation: float = REGULARISATION,
    tune_on: Callable[[Example], bool] | None = None,
) -> ClaimModel:
    """A claim model fitted on `data` (its decided examples), thresholds chosen held out on the
    examples `tune_on` accepts (all by default: a deployment tunes them on its own articles)."""
    decided = _decided(data)
    if not decided or len({e.truth for e in decided}) < 2:
        raise ValueError("training needs coded readings of both kinds: some claims and some non-claims")
    fitted = _fit_probabilities(decided, local=local, seed=seed, regularisation=regularisation)
    inner = out_of_fold(data, local=local, seed=seed, regularisation=regularisation)
    if tune_on is not None:
        inner = {i: p for i, p in inner.items() if tune_on(data.examples[i])}
    keep_read, keep_other = choose_thresholds(data, inner)
    return replace(
        fitted,
        keep_read=keep_read,
        keep_other=keep_other,
        trained={
            "examples": len(decided),
            "claims": sum(1 for e in decided if e.truth),
            "articles": len({e.article for e in decided}),
            "groups": len({e.group for e in decided}),
            "seed": seed,
            "regularisation": regularisation,
        },
    )


def out_of_fold(
    data: TrainingSet, *, local: bool, seed: int = 0, regularisation: float = REGULARISATION
) -> dict[int, float]:
    """Each decided example's probability from a model fitted without its group (index in
    `data.examples` -> probability); group k-fold with at most `INNER_FOLDS` folds."""
    groups = sorted({e.group for e in _decided(data)})
    folds = [groups[i :: min(INNER_FOLDS, len(groups))] for i in range(min(INNER_FOLDS, len(groups)))]
    out: dict[int, float] = {}
    for held in folds:
        held_set = set(held)
        train = [e for e in _decided(data) if e.group not in held_set]
        if len({e.truth for e in train}) < 2:
            continue
        fitted = _fit_probabilities(train, local=local, seed=seed, regularisation=regularisation)
        for index, example in enumerate(data.examples):
            if example.group in held_set:
                out[index] = fitted.probability(_visible(example.features, local))
    return out


def choose_thresholds(data: TrainingSet, probabilities: Mapping[int, float]) -> tuple[float, float]:
    """The (keep_read, keep_other) pair with the best strict F1 on held-out probabilities; the
    rules' own decisions (every reading as read, nothing else) unless that gains `MARGIN`. Of
    several equally good `keep_read`s, the middle one: what falls between the probabilities of
    the held-out readings is as far from both as the grid allows."""
    scored = set(probabilities)

    def score(keep_read: float, keep_other: float) -> float:
        return float(strict_f1(data, kept(data, probabilities, keep_read, keep_other), scored=scored)["f1"])

    rules = score(_KEEP_READ[0], _KEEP_OTHER[-1])
    grid = {(r, o): score(r, o) for o in _KEEP_OTHER for r in _KEEP_READ}
    best = max(grid.values())
    if best < rules + MARGIN:
        return _KEEP_READ[0], _KEEP_OTHER[-1]
    keep_other = max(o for (_, o), value in grid.items() if value >= best - 1e-9)
    tied = [r for (r, o), value in grid.items() if o == keep_other and value >= best - 1e-9]
    return sorted(tied)[len(tied) // 2], keep_other


def kept(
    data: TrainingSet, probabilities: Mapping[int, float], keep_read: float, keep_other: float
) -> list[int]:
    """The examples (indices) whose probability passes their kind's threshold (`learned.choose`)."""
    return sorted(
        i
        for i, probability in probabilities.items()
        if probability >= (keep_read if data.examples[i].as_read else keep_other)
    )


def strict_f1(data: TrainingSet, kept: Iterable[int], *, scored: set[int] | None = None) -> dict[str, Any]:
    """Strict precision, recall and F1 of keeping the examples at `kept` (indices), over the
    articles of the examples at `scored` (all by default)."""
    articles = set(data.coded) if scored is None else {data.examples[i].article for i in scored}
    predicted: set[tuple[str, str, str, str]] = set()
    wrong: set[tuple[str, str, str, str]] = set()
    for i in kept:
        example = data.examples[i]
        key = (example.article, *example.claim)
        if example.truth:
            predicted.add(key)
        elif example.truth is False:
            wrong.add(key)
    coded = {(a, *c) for a in articles for c in data.coded.get(a, ())}
    found = len(predicted & coded)
    return evaluation.prf(found, found + len(wrong - coded), len(coded))


def model_f1(data: TrainingSet, model: ClaimModel) -> dict[str, Any]:
    """Strict figures of `model`'s decisions on `data` (its own probabilities, no refit)."""
    probabilities = _probabilities(data, model)
    return strict_f1(data, kept(data, probabilities, model.keep_read, model.keep_other))


def rules_f1(data: TrainingSet) -> dict[str, Any]:
    """Strict figures of the rules' own decisions on `data`: every reading as read, nothing else."""
    return strict_f1(data, [i for i, e in enumerate(data.examples) if e.as_read])


def _probabilities(data: TrainingSet, model: ClaimModel) -> dict[int, float]:
    return {i: model.probability(_visible(e.features, model.local)) for i, e in enumerate(data.examples)}


def _fit_probabilities(
    examples: Sequence[Example], *, local: bool, seed: int, regularisation: float
) -> ClaimModel:
    """The fitted weights, as a model with no thresholds yet (`fit` chooses them)."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MaxAbsScaler

    ordered = sorted(examples, key=_order)
    vectorizer = DictVectorizer(sparse=True, sort=True)
    matrix = vectorizer.fit_transform([_visible(e.features, local) for e in ordered])
    scaler = MaxAbsScaler().fit(matrix)
    labels = [bool(e.truth) for e in ordered]
    regression = LogisticRegression(C=regularisation, max_iter=5000, random_state=seed)
    regression.fit(scaler.transform(matrix), labels, sample_weight=[e.weight for e in ordered])
    scales = [float(s) if s else 1.0 for s in scaler.scale_]
    weights = {
        name: float(coefficient) / scale
        for name, coefficient, scale in zip(
            vectorizer.get_feature_names_out(), regression.coef_[0], scales, strict=True
        )
    }
    return ClaimModel(weights, float(regression.intercept_[0]), keep_read=0.0, keep_other=0.0, local=local)


def _visible(features: Mapping[str, float], local: bool) -> dict[str, float]:
    """What a model sees: the general features (no words), plus the local ones for a local model."""
    return {
        name: value
        for name, value in features.items()
        if (local and name.startswith(LOCAL)) or ("=" not in name and not name.startswith(LOCAL))
    }


def _decided(data: TrainingSet) -> list[Example]:
    return [e for e in data.examples if e.truth is not None]


def _order(example: Example) -> tuple[str, ...]:
    # a stable sort: an article's readings keep their order in the text
    return (example.group, example.article)


# --- the shipped training data -------------------------------------------------------------------


def write_examples(data: TrainingSet, path: Path) -> None:
    """`data` as gzipped JSON lines with what a model sees of shipped readings: the general
    features, no words and no local ones (mtime 0: the same data, the same bytes)."""
    lines = [
        orjson.dumps(
            {
                "coded": sorted(data.coded.get(article, ())),
                "article": article,
            },
            option=orjson.OPT_SORT_KEYS,
        )
        for article in sorted(data.coded)
    ]
    lines += [
        orjson.dumps(
            {
                **{k: v for k, v in e.__dict__.items() if k != "features"},
                "features": {k: round(v, 6) for k, v in sorted(_visible(e.features, local=False).items())},
            },
            option=orjson.OPT_SORT_KEYS,
        )
        for e in sorted(data.examples, key=_order)
    ]
    with path.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as out:
        out.write(b"\n".join(lines) + b"\n")


def read_examples(path: Path = DEFAULT_EXAMPLES_PATH) -> TrainingSet:
    data = TrainingSet()
    with gzip.open(path, "rb") as lines:
        for line in lines:
            row = orjson.loads(line)
            if "coded" in row:
                data.coded[row["article"]] = {(str(a), str(t), str(label)) for a, t, label in row["coded"]}
            else:
                data.examples.append(Example(**row))
    return data


@dataclass(frozen=True)
class Retrained:
    """A model retrained with a deployment's reviews, and both models' figures on the reviewed
    articles: the model in use as it is, the new one k-fold over articles (each fold's model
    trained without that fold's articles)."""

    model: ClaimModel
    before: dict[str, Any]
    after: dict[str, Any]
    folds: int
    local: TrainingSet

    @property
    def better(self) -> bool:
        """Better by `MARGIN` at least, on `TRUSTED_ARTICLES` reviewed articles at least: on fewer,
        the k-fold figure said "better" for models that scored worse on the articles nobody had
        reviewed (`python -m bench.learned`, defence at 5 and 10 reviewed articles)."""
        return self.verdict == "better"

    @property
    def verdict(self) -> str:
        if len(self.local.coded) < TRUSTED_ARTICLES:
            return f"too few reviewed articles to trust the comparison ({len(self.local.coded)} < {TRUSTED_ARTICLES})"
        if self.after["f1"] < self.before["f1"] + MARGIN:
            return f"not better by {MARGIN} strict F1 on the reviewed articles"
        return "better"


def retrain(
    shipped: TrainingSet, local: TrainingSet, current: ClaimModel, *, folds: int = 5, seed: int = 0
) -> Retrained:
    """Train a local model on `shipped` plus `local` (a deployment's reviewed articles) and
    compare it with `current` on the reviewed articles."""
    articles = sorted(local.coded)
    reviewed = set(articles)

    def theirs(example: Example) -> bool:  # thresholds are tuned on the deployment's own articles
        return example.article in reviewed

    folds = max(2, min(folds, len(articles)))
    chosen: list[int] = []
    for k in range(folds):
        held = set(articles[k::folds])
        train = TrainingSet()
        train.extend(shipped)
        train.extend(local.only(lambda e, held=held: e.article not in held))  # type: ignore[misc]
        model = fit(train, local=True, seed=seed, tune_on=theirs)
        probabilities = {
            i: model.probability(e.features) for i, e in enumerate(local.examples) if e.article in held
        }
        chosen += kept(local, probabilities, model.keep_read, model.keep_other)
    everything = TrainingSet()
    everything.extend(shipped)
    everything.extend(local)
    return Retrained(
        model=fit(everything, local=True, seed=seed, tune_on=theirs),
        before=model_f1(local, current),
        after=strict_f1(local, chosen),
        folds=folds,
        local=local,
    )


def without_local(data: TrainingSet) -> TrainingSet:
    """`data` without local features: what the shipped training data holds."""
    examples = [
        replace(e, features={k: v for k, v in e.features.items() if not k.startswith(LOCAL)})
        for e in data.examples
    ]
    return TrainingSet(examples, dict(data.coded))

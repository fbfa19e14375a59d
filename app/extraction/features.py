"""What the learned model sees of a claim: general features of how the pipeline read it.

Every feature describes the reading, not the words of any topic: how the claimant is attached
(subject, object of a preposition, possessor), how the topic was found (a keyword, a reference,
the article's focus), the stance cue (explicit, tentative, mixed, negated), attribution (speech
verb, quotation, a speaker), and where the sentence sits in the article. So a model trained on
one set of topics carries to a user's own. Values are floats; an absent feature is 0.

`claim_features` describes one reading of one sentence (a pipeline `Candidate`); `pair_features`
adds what the article says about the same (actor, topic) elsewhere, for the claim that merging
kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from app.extraction.lexicon import NEGATORS, PREDICTION, SPEECH, TENTATIVE

if TYPE_CHECKING:
    from app.extraction.claimants import Claimant
    from app.extraction.document import Document

Features = dict[str, float]

_BASES = ("path", "clause", "focus", "uncued")
_KINDS = ("person", "state", "bloc", "organization", "group")
_CLAIMANT_ROLES = {
    "nsubj": "subject",
    "nsubjpass": "subject",
    "csubj": "subject",
    "poss": "possessor",
    "pobj": "object",
    "dobj": "object",
    "compound": "compound",
    "appos": "compound",
    "conj": "subject",
}
_QUOTES = ('"', "\u201c", "\u201d")
_CONTENT = frozenset(("NOUN", "VERB", "ADJ", "ADV"))


def claim_features(
    doc: Document,
    index: int,
    parsed: Any,
    claimant: Claimant,
    topic: str,
    *,
    kind: str,
    basis: str,
    score: float,
    rules_confidence: float,
    strong: bool,
    explicit: bool,
    mixed: bool,
    shift: bool,
    anchors: Sequence[int],
) -> Features:
    """The features of one reading: `claimant` taking `score` on `topic` in sentence `index`."""
    sentence = doc.sentences[index]
    predicate = parsed[claimant.predicate]
    actor = parsed[claimant.actor_token]
    role = _CLAIMANT_ROLES.get(str(actor.dep_), "other")
    lemma = str(predicate.lemma_).lower()
    children = list(predicate.children)
    words = {str(t.lower_) for t in parsed}
    lemmas = {str(t.lemma_).lower() for t in parsed}
    distance = min((abs(a - claimant.predicate) for a in anchors), default=len(parsed))
    focus = doc.focus.get(topic, 0.0)
    top_focus = max(doc.focus.values(), default=0.0)
    others = {m.slug for m in doc.mentions[index]} - {claimant.slug}
    features: Features = {
        "bias": 1.0,
        "rules_confidence": rules_confidence,
        "abs_score": abs(score),
        "positive": float(score > 0),
        "negative": float(score < 0),
        "firm": float(abs(score) >= 1),
        "mixed": float(mixed),
        "explicit": float(explicit),
        "shift": float(shift),
        "keyword_anchor": float(strong),
        "direct": float(claimant.direct),
        "via_spokes": float(claimant.via_spokes),
        "speaker": float(claimant.speaker is not None),
        f"basis_{basis if basis in _BASES else 'path'}": 1.0,
        f"kind_{kind if kind in _KINDS else 'group'}": 1.0,
        f"claimant_{role}": 1.0,
        "claimant_pronoun": float(actor.pos_ == "PRON"),
        "speech_verb": float(lemma in SPEECH),
        "predicate_root": float(predicate.dep_ == "ROOT"),
        "predicate_past": float(predicate.tag_ in ("VBD", "VBN")),
        "predicate_negated": float(any(c.dep_ == "neg" for c in children)),
        "predicate_modal": float(any(c.tag_ == "MD" for c in children)),
        "sentence_negation": float(bool(words & NEGATORS)),
        "sentence_tentative": float(bool(lemmas & TENTATIVE)),
        "sentence_prediction": float(bool(lemmas & PREDICTION)),
        "question": float(sentence.text.rstrip().endswith("?")),
        "quoted": float(any(q in sentence.text for q in _QUOTES)),
        "anchor_distance": math.log1p(distance),
        "sentence_tokens": math.log1p(len(parsed)),
        "first_sentence": float(index == 0),
        "position": index / max(1, len(doc.sentences) - 1),
        "other_actors": math.log1p(len(others)),
        "topics_in_sentence": math.log1p(len({h.topic for h in doc.topic_hits[index]})),
        "topic_focus": focus,
        "topic_is_main": float(focus > 0 and focus >= top_focus),
        "topic_in_title": float(any(h.topic == topic for h in doc.title_hits)),
        "semantic": doc.semantic[index].get(topic, 0.0) if doc.semantic else 0.0,
    }
    features.update(_words(predicate, parsed, anchors))
    return features


def _words(predicate: Any, parsed: Any, anchors: Sequence[int]) -> Features:
    """The general-English words that decide a reading: the predicate, its particles and
    adverbs, and the words between it and the topic (prefixed, so a model keeps them apart)."""
    out: Features = {f"verb={str(predicate.lemma_).lower()}": 1.0}
    for token in parsed:
        if token.pos_ in _CONTENT and not token.is_stop:
            out[f"word={str(token.lemma_).lower()}"] = 1.0
    for child in predicate.children:
        if child.dep_ in ("neg", "prt", "advmod", "aux", "acomp", "xcomp", "ccomp", "dobj"):
            out[f"verb_{child.dep_}={str(child.lemma_).lower()}"] = 1.0
    for anchor in anchors:
        token = parsed[anchor]
        steps = 0
        while token.i != predicate.i and token.head.i != token.i and steps < 6:
            token = token.head
            steps += 1
            if token.i != predicate.i and token.pos_ in ("VERB", "NOUN", "ADJ", "ADP"):
                out[f"path={str(token.lemma_).lower()}"] = 1.0
    return out


def article_features(
    reading: Mapping[str, float],
    same_pair: Sequence[Mapping[str, float]],
    *,
    actor_mentions: int,
    in_title: bool,
) -> Features:
    """One reading with what the article's other readings of the same (actor, topic) add: how
    many there are, whether they agree, how prominent the actor is in the article."""
    signs = {(r.get("positive", 0.0), r.get("negative", 0.0)) for r in same_pair}
    features = dict(reading)
    features.update(
        {
            "reports": math.log1p(len(same_pair)),
            "reports_disagree": float(len(signs) > 1),
            "best_rules_confidence": max((r.get("rules_confidence", 0.0) for r in same_pair), default=0.0),
            "any_keyword_anchor": max((r.get("keyword_anchor", 0.0) for r in same_pair), default=0.0),
            "any_direct": max((r.get("direct", 0.0) for r in same_pair), default=0.0),
            "actor_mentions": math.log1p(actor_mentions),
            "actor_in_title": float(in_title),
        }
    )
    return features


LOCAL = "local:"


def local_features(actor: str, topic: str, label: str, basis: str, reading: Mapping[str, float]) -> Features:
    """What only a deployment's own reviews can teach: how its coders read this actor and this
    topic (an actor that is also a place, a topic whose keyword is often mentioned in passing).
    Prefixed `local:`; the shipped default model is trained without them."""
    out: Features = {
        f"{LOCAL}actor={actor}": 1.0,
        f"{LOCAL}topic={topic}": 1.0,
        f"{LOCAL}pair={actor}|{topic}": 1.0,
        f"{LOCAL}actor_label={actor}|{label}": 1.0,
        f"{LOCAL}pair_label={actor}|{topic}|{label}": 1.0,
        f"{LOCAL}topic_label={topic}|{label}": 1.0,
        f"{LOCAL}topic_basis={topic}|{basis}": 1.0,
    }
    for name, value in reading.items():
        if name.startswith(("claimant_", "verb=", "kind_")) and value:
            out[f"{LOCAL}actor_{name}|{actor}"] = value
        if name.startswith(("verb=", "path=")) and value:
            out[f"{LOCAL}topic_{name}|{topic}"] = value
            out[f"{LOCAL}topic_label_{name}|{topic}|{label}"] = value
        if name.startswith("word=") and value:
            out[f"{LOCAL}{name}"] = value
            out[f"{LOCAL}{name}|{label}"] = value
    return out

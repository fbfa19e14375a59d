"""Topic lexicon supplements: what the registry keywords alone do not say.

The registry gives each topic a handful of keywords. This table adds, per topic
slug, the extra surface forms a wire report uses, the keywords that are too
generic to decide a topic on their own ("weak"), forms that only count once the
article has used a strong keyword of the topic ("gated", e.g. "the missiles"
after "Tomahawk"), and word senses that are not about the topic at all
("National Guard troops", "rally its troops"). Topics absent from the table work
from their registry keywords alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TopicSupplement:
    extra: tuple[str, ...] = ()
    weak: frozenset[str] = frozenset()
    gated: tuple[str, ...] = ()
    # Regexes: a keyword hit overlapping a match of one of these is discarded.
    not_senses: tuple[str, ...] = ()
    # Holders belonging to the first group only count when the sentence names the second.
    holder_needs_mention: tuple[tuple[str, str], ...] = ()
    drop: frozenset[str] = field(default_factory=frozenset)


_OWN_FORCES = (
    r"\b(?:Ukrainian|Ukraine's|Russian|Russia's|armed|Air)\s+"
    r"(?:armed\s+)?(?:forces?|troops|soldiers|army)\b"
)

SUPPLEMENTS: dict[str, TopicSupplement] = {
    "ground-troops-ukraine": TopicSupplement(
        extra=(
            "force",
            "peacekeeping",
            "peacekeeping force",
            "reassurance force",
            "people on the ground",
            "on the ground",
            "military presence",
            "military contingents",
            "foreign intervention",
            "military involvement",
            "stationing troops",
            "station troops",
            "peacekeeper",
            "deployment of troops",
            "military force",
        ),
        weak=frozenset({"security guarantees", "forces", "force", "deploy", "deployment", "on the ground"}),
        not_senses=(
            _OWN_FORCES,
            r"\bNational Guard\b[^.]{0,20}",
            r"\brally (?:its|their|the|his|her) troops\b",
            r"\btroops in line\b",
            r"\bAir Force One\b",
            r"\bsituation on the ground\b",
            r"\bforces? (?:the|a|an|him|her|them|it)\b",
        ),
        drop=frozenset({"coalition of the willing"}),
    ),
    "training-ukrainian-forces": TopicSupplement(
        extra=("trained", "train Ukraine's", "training mission", "future army"),
        weak=frozenset({"recruits", "regenerate"}),
    ),
    "ceasefire-monitoring": TopicSupplement(
        extra=("monitored", "verified", "observer mission", "monitoring mission"),
        weak=frozenset(
            {"mission", "violations", "ceasefire line", "line of contact", "verify", "verification"}
        ),
    ),
    "us-military-aid-ukraine": TopicSupplement(
        extra=(
            "military assistance",
            "military support",
            "military equipment",
            "weapons supplies",
            "equipment",
            "air defence systems",
            "air defense systems",
            "arm Kyiv",
            "arm Ukraine",
            "aid",
        ),
        weak=frozenset({"pause", "resume", "weapons", "equipment", "aid", "deliveries", "shipments"}),
        holder_needs_mention=(("europe", "united-states"),),
    ),
    "tomahawk-missiles-ukraine": TopicSupplement(
        extra=("long-range weapons",),
        gated=("the missiles", "the missile", "such missiles", "long-range weapons"),
    ),
}

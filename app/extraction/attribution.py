"""Who holds the position in a sentence: claimants, their clauses and the speaker.

A claimant is a registry actor in subject position: named (or referred to by
"he"/"she"/"the minister") right before a verb, possibly after an appositive
("Starmer, who ..., said"). A capital or building ("Moscow", "the Kremlin") only
counts when it acts, never after a preposition ("in Moscow"). An actor named
inside what another claimant says ("Starmer said Britain would ...") is content,
not a claimant; an actor relayed by a non-registry source ("a Kremlin aide said
Putin had told ...") is a claimant, with that source as speaker.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from app.extraction.actors import ActorGazetteer, Mention

REPORTING = frozenset(
    {
        "said", "says", "say", "told", "tells", "telling", "warned", "warns", "warning", "insisted",
        "insists", "insisting", "argued", "argues", "added", "adding", "acknowledged", "stressed",
        "repeated", "announced", "stated", "wrote", "noted", "claimed", "declared", "spoke", "called",
        "described", "explained", "suggested", "signalled", "signaled", "indicated", "confirmed",
        "urged", "asked", "replied", "responded", "cautioned", "believed", "believes", "saying",
        "made clear", "accused", "conceded", "admitted", "recognised", "recognized", "reiterated",
    }
)  # fmt: skip
AUXILIARIES = frozenset(
    {"has", "have", "had", "is", "was", "were", "are", "will", "would", "could", "can", "may", "might",
     "must", "should", "did", "does", "do", "won't", "didn't", "doesn't", "hasn't", "wouldn't"}
)  # fmt: skip
VERB_STEMS = frozenset(
    {"say", "tell", "warn", "insist", "argue", "reject", "call", "want", "need", "plan", "back", "support",
     "oppose", "see", "urge", "offer", "propose", "pledge", "remain", "hold", "refuse", "welcome", "seek",
     "favour", "favor", "rule", "stand", "think", "believe", "expect", "hope", "agree", "commit"}
)  # fmt: skip
NOT_VERBS = frozenset(
    {"during", "including", "according", "following", "regarding", "concerning", "something", "nothing",
     "red", "bed", "need", "shed", "speed", "hundred", "led"}
)  # fmt: skip
PREPOSITIONS = frozenset(
    {"in", "to", "from", "at", "on", "of", "for", "by", "against", "into", "toward", "towards", "between",
     "among", "over", "than", "about", "under", "through", "across", "leaving", "visiting", "beside",
     "alongside", "without", "within", "near", "around", "during", "via", "onto", "upon", "accused",
     "persuade", "invited", "urged", "pressed", "deter", "hosted", "hosting", "met", "meet", "called"}
)  # fmt: skip
ADVERBS = (
    r"also|repeatedly|previously|initially|quickly|meanwhile|however|now|since|later|then|still|already|"
    r"instead|again|first|reportedly|both|all|too|formally|explicitly|immediately|publicly|privately|only|"
    r"swiftly|earlier|himself|herself|itself|itself|once|long|recently|separately|jointly|personally"
)
_MONTHS = r"(?:Jan|Feb|March|Mar|April|Apr|May|June|Jun|July|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\w*\.?"
_SKIPS = [
    re.compile(r"""^(?:"|\)|'(?=\s))"""),
    re.compile(r"^'s\s+\w+"),
    re.compile(r"^\s*,\s*(?:meanwhile|however|too|also|in turn|for (?:its|his|her|their) part)\s*,", re.I),
    re.compile(rf"^\s+(?:{ADVERBS})\b"),
    re.compile(r"^\s+[a-z]+ly\b(?=\s+[a-z])"),  # "categorically rejected", "swiftly dismissed"
    re.compile(rf"^\s+(?:late\s+)?on\s+(?:\w+day|{_MONTHS}\s+\d+)\b"),
    re.compile(r"^\s+(?:this|last)\s+(?:week|month)\b"),
]
_APPOSITIVE = re.compile(
    r"^\s*,\s*(?:who|whose|which|standing|speaking|also|a|an|the|his|her|its|in|after|writing|asked|"
    r"hosting|meeting|addressing|appearing|co-chair\w*)\b[^,;]{0,170},"
)
_WORD = re.compile(r"^\s+([A-Za-z]+(?:'t)?)")
_PRONOUN = re.compile(r"(?<![\w-])(he|she|He|She|they|They)(?![\w-])|^(It)(?=\s)")
# A collective named in the plural ("European leaders", "the Baltic states") is what a later
# "they" refers to; a singular collective ("the coalition") or a state is not.
_PLURAL_HEAD = re.compile(r"(?<!s)s$|\bpeople$", re.IGNORECASE)
_COLLECTIVE_KINDS = frozenset({"bloc", "group", "organization"})
PLURAL_REACH = 2  # sentences: "they" refers to a plural collective subject this recent
_NOMINAL = re.compile(
    r"(?<![\w-])(?:the|The) (?:minister|president|chancellor|prime minister|premier|envoy|spokesman|"
    r"spokeswoman|secretary)(?![\w-])"
)
_GROUP_PART_OF = re.compile(r"\b(?:countries|members|nations|states|governments)\s+(?:in|of)\s+$", re.I)
_SOURCE = re.compile(
    r"(?:^|,\s+|\.\s+)((?:[A-Z][\w.'-]*\s+){1,5}|(?:an?|the|one|another|senior|unnamed|[a-z]+)\s+"
    r"(?:[\w-]+\s+){0,4}(?:officials?|diplomats?|sources?|spokes\w+|aides?))\s*(?:said|told|says)\b"
)
# "White House deputy press secretary Anna Kelly said", "Kremlin aide Yuri Ushakov said": someone
# outside the registry speaking for an institution; the institution is the claimant.
_ROLE_AFTER = re.compile(
    r"^\s+(?:[a-z-]+\s+){0,3}(?:spokes(?:man|woman|person)|press secretary|official|aide|adviser|advisor|"
    r"diplomat|envoy|ambassador|source|minister)s?(?:\s+[A-Z][\w.'-]+){0,3}\s+"
    r"(said|says|told|added|warned|stated|confirmed|announced)\b"
)
# Words that open a clause in which an actor is not making a claim ("If the US stopped ...").
CONDITIONALS = frozenset({"if", "unless", "whether"})
# Temporal subordinators: "before Trump reversed course" is a clause of its own.
SUBORDINATORS = frozenset({"after", "before", "when", "while", "since", "once", "until"})
# Words before "that" which make it a complementizer ("said that", "the notion that"), not a relative pronoun.
_THAT_VERBS = frozenset(
    {"clear", "sure", "certain", "confident", "believe", "hope", "think", "agree", "insist", "say", "warn",
     "fear", "argue", "know", "convinced", "adding", "saying", "noting", "arguing", "insisting", "stressing",
     "warning", "signalling", "signaling", "suggesting", "explaining", "so", "now", "also", "notion", "idea",
     "fact", "claim", "view", "belief", "concern", "suggestion", "assurance", "news",
     "report", "reports", "sign", "signal", "possibility", "prospect", "condition", "demand", "insistence",
     "hopes", "fears", "assurances", "message", "argument", "position", "impression", "expectation"}
)  # fmt: skip
# The decision or division a member reports for its group ("the coalition was not unanimous").
_GROUP_DECISION = re.compile(
    r"\b(?:pledged|committed|agreed|decided|resolved|voted|failed to agree|not unanimous|unanimous|divided|"
    r"split)\b",
    re.IGNORECASE,
)
_CONTENT_END = re.compile(r",?\s+(?:and|but)\s+that\b|,\s+but\b|\s+but\s+|;")
_TRAILING_SOURCE = re.compile(
    r",[\"\u201d']?\s+((?:an?\s+|the\s+|one\s+|US\s+|senior\s+)?(?:[\w-]+\s+){0,4}(?:officials?|diplomats?|sources?"
    r"|spokes\w+|aides?)(?:\s+[\w-]+){0,4})\s+(?:said|told|say)\b"
)


@dataclass
class Discourse:
    """What earlier sentences make available for short-range coreference."""

    last_person: str | None = None
    last_subject_person: str | None = None
    last_subject_other: str | None = None
    last_plural_subject: str | None = None
    plural_age: int = 0  # sentences since `last_plural_subject` was the subject


@dataclass(frozen=True)
class Holder:
    slug: str
    start: int
    end: int
    verb_end: int
    reporting: bool
    direct: bool  # named in the sentence rather than resolved from a pronoun
    speaker: str | None
    span: tuple[int, int] = (0, 0)
    trailing: bool = False
    coordinated_with: tuple[str, ...] = field(default_factory=tuple)
    via_official: bool = False  # an unnamed or non-registry official speaking for the institution
    relayed: bool = False  # a group whose decision a member reports ("Macron said the coalition ...")
    relative: bool = False  # the subject of a relative clause ("the pause that Trump had ordered")
    # Parts of the span that report what a third party thinks ("Trump said Europeans were willing").
    excluded: tuple[tuple[int, int], ...] = ()


def _agent_verb(tail: str, *, strict: bool) -> tuple[int, bool] | None:
    """If `tail` starts (after skips) with a verb: (offset after the verb group, is reporting)."""
    position = 0
    for _ in range(6):
        progressed = False
        for skip in _SKIPS:
            match = skip.match(tail[position:])
            if match and match.end() > 0:
                position += match.end()
                progressed = True
        if not strict:
            match = _APPOSITIVE.match(tail[position:])
            if match:
                position += match.end()
                progressed = True
        if not progressed:
            break
    match = _WORD.match(tail[position:])
    if not match:
        return None
    word = match.group(1)
    lower = word.lower()
    is_verb = (
        lower in REPORTING
        or lower in AUXILIARIES
        or (lower.endswith("ed") and len(lower) > 4 and lower not in NOT_VERBS)
        or (lower.endswith("s") and lower[:-1] in VERB_STEMS)
        or (lower.endswith("ing") and not strict and lower not in NOT_VERBS and len(lower) > 5)
        or lower in VERB_STEMS
    )
    if not is_verb or word[0].isupper():
        return None
    end = position + match.end()
    # Look a few words on for the reporting verb of "has repeatedly said".
    following = tail[position : position + 45].lower()
    words = re.findall(r"[a-z]+", following)[:4]
    reporting = any(w in REPORTING for w in words) or "made clear" in following
    return end, reporting


def _previous_word(text: str, start: int) -> str:
    match = re.search(r"([A-Za-z'-]+)\W*$", text[:start])
    return match.group(1).lower() if match else ""


def _that_is_relative(text: str, start: int) -> bool:
    """True for "<noun> that <holder>" (a relative clause), false for "said that <holder>"."""
    match = re.search(r"([A-Za-z'-]+)\s+that\s+$", text[:start])
    if match is None:
        return False
    word = match.group(1).lower()
    if word in REPORTING or word in _THAT_VERBS or word in AUXILIARIES:
        return False
    return not (word.endswith(("ed", "ing")) or (word.endswith("s") and word[:-1] in VERB_STEMS))


def _source_before(text: str, start: int) -> str | None:
    """A non-registry source whose report relays the claimant ("Kremlin aide Yuri Ushakov said")."""
    clause = re.split(r"[;]", text[:start])[-1]
    matches = list(_SOURCE.finditer(clause))
    return matches[-1].group(1).strip(" ,") if matches else None


def find_holders(
    text: str,
    mentions: list[Mention],
    discourse: Discourse,
    gazetteer: ActorGazetteer,
    on: date,
) -> list[Holder]:
    """Claimants of one sentence, in order, each with the clause span its cues are read from."""
    raw: list[Holder] = []
    for mention in mentions:
        if mention.possessive and not mention.speaks_for:
            continue
        previous = _previous_word(text, mention.start)
        if previous in CONDITIONALS:
            continue
        if previous in PREPOSITIONS and not (
            mention.kind in ("group", "bloc") and _GROUP_PART_OF.search(text[: mention.start])
        ):
            continue
        tail = text[mention.end :]
        role = _ROLE_AFTER.match(tail)
        if role is not None and mention.kind != "person":
            words = tail[: role.start(1)].strip()
            raw.append(
                Holder(
                    mention.slug,
                    mention.start,
                    mention.end,
                    mention.end + role.end(),
                    True,
                    True,
                    f"{mention.text} {words}",
                    via_official=True,
                )
            )
            continue
        skip = 0
        if tail.startswith(",") and re.search(r",\s*$", text[: mention.start]):
            skip = 1  # the closing comma of an appositive: "his envoy, Steve Witkoff, has ..."
        found = _agent_verb(tail[skip:], strict=mention.metonym)
        if found is None:
            continue
        verb_end, reporting = found
        verb_end += skip
        speaker: str | None = None
        if mention.speaks_for:
            noun = re.match(r"'s\s+(\w+)", tail)
            actor = gazetteer.actor(mention.slug)
            speaker = f"{actor.name if actor else mention.text}'s {noun.group(1) if noun else 'office'}"
        elif reporting:
            actor = gazetteer.actor(mention.slug)
            speaker = actor.name if actor else mention.text
        relative = _that_is_relative(text, mention.start)
        raw.append(
            Holder(
                mention.slug,
                mention.start,
                mention.end,
                mention.end + verb_end,
                reporting,
                True,
                speaker,
                relative=relative,
            )
        )
    for match in [*_PRONOUN.finditer(text), *_NOMINAL.finditer(text)]:
        start, end = match.span()
        if any(m.start <= start < m.end for m in mentions):
            continue
        word = match.group(0)
        if word == "It":
            slug = discourse.last_subject_other
        elif word.lower() == "they":
            slug = discourse.last_plural_subject if discourse.plural_age <= PLURAL_REACH else None
        else:
            earlier = [m for m in mentions if m.end <= start and m.kind == "person" and not m.possessive]
            slug = earlier[-1].slug if earlier else (discourse.last_subject_person or discourse.last_person)
        if slug is None or _previous_word(text, start) in PREPOSITIONS:
            continue
        found = _agent_verb(text[end:], strict=False)
        if found is None:
            continue
        verb_end, reporting = found
        actor = gazetteer.actor(slug)
        speaker = (actor.name if actor else slug) if reporting else None
        raw.append(Holder(slug, start, end, end + verb_end, reporting, False, speaker))
    raw.sort(key=lambda h: h.start)

    # Actors inside what an earlier claimant reports are content, not claimants, unless the report
    # relays their own words (an aide relaying the president) or a member reports its group's decision.
    holders: list[Holder] = []
    contents: dict[int, list[int]] = {}
    for candidate in raw:
        host = next((h for h in holders if _embedded(text, h, candidate)), None)
        if host is not None:
            kind = _kind(gazetteer, candidate.slug)
            if host.via_official and kind == "person" and candidate.reporting:
                holders[holders.index(host)] = replace(candidate, speaker=host.speaker)
            elif (
                kind in ("group", "bloc")
                and host.reporting
                and candidate.slug in gazetteer.ancestors(host.slug, on)
                and _GROUP_DECISION.search(text, candidate.end)
            ):
                speaker_actor = gazetteer.actor(host.slug)
                holders.append(
                    replace(
                        candidate,
                        speaker=speaker_actor.name if speaker_actor else host.speaker,
                        relayed=True,
                    )
                )
            elif not _related(gazetteer, host.slug, candidate.slug, on):
                contents.setdefault(id(host), []).append(candidate.start)
            continue
        source = _source_before(text, candidate.start) if not holders else None
        if source and candidate.direct:
            candidate = replace(candidate, speaker=source)
        elif candidate.speaker is None:
            trailing = _TRAILING_SOURCE.search(text, candidate.verb_end)
            if trailing:
                candidate = replace(candidate, speaker=trailing.group(1).strip())
        holders.append(candidate)

    holders = [
        replace(h, excluded=_content_ranges(text, contents[id(h)])) if id(h) in contents else h
        for h in holders
    ]
    # An official speaking for an institution whose own member makes the claim adds nothing.
    holders = [
        h
        for h in holders
        if not (
            h.via_official and any(h.slug in gazetteer.ancestors(o.slug, on) for o in holders if o is not h)
        )
    ]
    # Keep one claimant per actor, and drop states whose own person speaks in the sentence.
    unique: dict[str, Holder] = {}
    for holder in holders:
        unique.setdefault(holder.slug, holder)
    kept = list(unique.values())
    ancestors = {slug: gazetteer.ancestors(slug, on) for slug in unique}
    kept = [
        h
        for h in kept
        if not any(
            h.slug in ancestors[o.slug]
            and gazetteer.actor(h.slug) is not None
            and (gazetteer.actor(h.slug).kind == "state")  # type: ignore[union-attr]
            for o in kept
            if o is not h
        )
    ]
    return _with_spans(text, kept, mentions)


def _related(gazetteer: ActorGazetteer, first: str, second: str, on: date) -> bool:
    """Same actor, or one belongs to the other (Macron and Europe; Trump and the United States)."""
    return (
        first == second
        or second in gazetteer.ancestors(first, on)
        or first in gazetteer.ancestors(second, on)
    )


def _content_ranges(text: str, starts: list[int]) -> tuple[tuple[int, int], ...]:
    """From each third party's name to the end of what is said about it."""
    ranges: list[tuple[int, int]] = []
    for index, start in enumerate(starts):
        limit = starts[index + 1] if index + 1 < len(starts) else len(text)
        end = _CONTENT_END.search(text, start, limit)
        ranges.append((start, end.start() if end else limit))
    return tuple(ranges)


def _kind(gazetteer: ActorGazetteer, slug: str) -> str | None:
    actor = gazetteer.actor(slug)
    return actor.kind if actor is not None else None


def _embedded(text: str, earlier: Holder, holder: Holder) -> bool:
    """True when `holder` sits inside what `earlier` says ("Starmer said Britain would ...")."""
    if earlier.slug == holder.slug or earlier.verb_end > holder.start:
        return False
    if holder.relative:
        return False
    if earlier.reporting and ";" not in text[earlier.verb_end : holder.start]:
        return True
    return bool(re.search(r"\bthat\s+$", text[: holder.start]))


_RELATIVE_HEAD = re.compile(
    r"\b(?:the|a|an|its|his|her|their|this|that|any)\s+(?:[\w'-]+\s+){0,6}that\s+$", re.I
)
_PARENTHETICAL = re.compile(r"(?:^|,)\s*(?:which|who|whose)\b[^,]*$", re.IGNORECASE)


def _clause_end(text: str, position: int) -> int:
    match = re.search(r",|;", text[position:])
    return position + match.start() if match else len(text)


def _with_spans(text: str, holders: list[Holder], mentions: list[Mention]) -> list[Holder]:
    if not holders:
        return []
    spans: list[Holder] = []
    for index, holder in enumerate(holders):
        start = 0 if index == 0 else holder.start
        end = holders[index + 1].start if index + 1 < len(holders) else len(text)
        trailing = (
            index == len(holders) - 1
            and holder.reporting
            and holder.start > 20
            and text[: holder.start].rstrip().endswith((",", '"', "'"))
        )
        if trailing:
            start = 0
        previous = _previous_word(text, holder.start)
        if holder.relative:
            # "the pause on security assistance that Trump had ordered on March 3,": the antecedent
            # noun phrase and the relative clause.
            head = _RELATIVE_HEAD.search(text[: holder.start])
            start = head.start() if head else holder.start
            end = min(end, _clause_end(text, holder.verb_end))
        elif previous in SUBORDINATORS or (
            index == 0 and holder.start > 0 and _PARENTHETICAL.search(text[: holder.start])
        ):
            # "before Trump reversed course on July 7", ", which came a day after Macron hosted ...,":
            # a subordinate clause of its own.
            start = holder.start
            end = min(end, _clause_end(text, holder.verb_end))
        spans.append(replace(holder, span=(start, end), trailing=trailing))
    # "X and Y had both suggested": a subject coordinated with a claimant shares its clause.
    coordinated: list[Holder] = []
    holder_starts = {h.start for h in spans}
    for mention in mentions:
        if mention.start in holder_starts or mention.possessive:
            continue
        for holder in spans:
            gap = text[mention.end : holder.start]
            if holder.start > mention.end and re.fullmatch(r",?\s+and\s+", gap):
                coordinated.append(
                    replace(holder, slug=mention.slug, start=mention.start, end=mention.end, speaker=None)
                )
    out = spans + [c for c in coordinated if c.slug not in {h.slug for h in spans}]
    return out


def update_discourse(discourse: Discourse, mentions: list[Mention], holders: list[Holder]) -> None:
    """Remember the last person named and the last subjects, for the next sentence."""
    persons = [m for m in mentions if m.kind == "person" and not m.possessive]
    if persons:
        discourse.last_person = persons[-1].slug
    subject_persons = [h for h in holders if h.direct and _is_person(mentions, h)]
    if subject_persons:
        discourse.last_subject_person = subject_persons[0].slug
    others = [h for h in holders if h.direct and not _is_person(mentions, h)]
    discourse.last_subject_other = others[0].slug if others else None
    plurals = [
        m.slug
        for h in others
        for m in mentions
        if m.start == h.start and m.kind in _COLLECTIVE_KINDS and _PLURAL_HEAD.search(m.text)
    ]
    if plurals:
        discourse.last_plural_subject, discourse.plural_age = plurals[0], 1
    else:
        discourse.plural_age += 1


def _is_person(mentions: list[Mention], holder: Holder) -> bool:
    return any(m.start == holder.start and m.kind == "person" for m in mentions)

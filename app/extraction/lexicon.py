"""General English machinery for political position-taking: no topic, no storyline.

Every entry is a lemma (as spaCy's lemmatizer gives it) with a polarity: +1 for words
that favour what they govern (support, back, approve, benefit), -1 for words that go
against it (oppose, reject, block, delay, harm). Polarity multiplies along the path
from a claimant's predicate down to the topic, so "rejected calls to delay the ban"
(-1 x -1) supports the ban. Words without an entry pass polarity through unchanged.
"""

from __future__ import annotations

# Verbs, nouns and adjectives that take a side on what they govern.
POLARITY: dict[str, float] = {
    # support
    **dict.fromkeys(
        (
            "support", "back", "endorse", "favour", "favor", "welcome", "approve", "ratify", "sign",
            "adopt", "propose", "champion", "defend", "advocate", "pledge", "commit", "embrace",
            "hail", "praise", "applaud", "demand", "urge", "seek", "pursue", "promote", "lobby",
            "campaign", "uphold", "reaffirm", "enforce", "implement", "impose", "introduce", "launch",
            "levy", "conclude", "finalise", "finalize", "clinch", "secure", "deliver", "want",
            "need", "insist", "push", "press", "call", "agree", "accept", "vote", "join",
            "contribute", "offer", "send", "deploy", "provide", "supply", "fund", "finance",
            "resume", "restore", "extend", "expand", "strengthen", "boost", "raise", "increase",
            "benefit", "help", "protect", "ensure", "achieve", "meet", "reach", "hit", "complete",
            "unveil", "announce", "plan", "intend", "aim", "prepare", "move", "vow", "promise",
            "threaten", "consider", "explore", "revive", "approval", "support", "backing",
            "endorsement", "supporter", "backer", "proponent", "advocate", "champion", "ally",
            "commitment", "pledge", "proposal", "demand", "call", "ready", "willing", "prepared",
            "eager", "keen", "determined", "committed", "open", "favourable", "favorable",
            "positive", "good", "right", "necessary", "essential", "vital", "important", "brave",
            "welcome", "fair", "justified", "reasonable", "great", "excellent", "historic", "wonderful",
            "fantastic", "crucial", "success", "successful", "win", "breakthrough", "useful", "helpful",
            "in_favour", "in_favor", "for",
        ),
        1.0,
    ),
    # against
    **dict.fromkeys(
        (
            "oppose", "reject", "refuse", "decline", "remove", "abolish", "eliminate", "dismantle",
            "ditch", "axe", "rethink", "reconsider", "baulk", "balk", "hesitate", "fail", "escalation", "escalate", "provocation", "aggression", "wane", "fade", "erode", "dwindle", "diminish", "cool", "complaint", "concern", "attack", "retaliation", "countermeasure", "block", "veto", "criticise", "criticize", "condemn",
            "denounce", "slam", "attack", "decry", "dismiss", "resist", "fight", "challenge",
            "contest", "protest", "warn", "caution", "scrap", "drop", "abandon", "withdraw",
            "suspend", "halt", "pause", "freeze", "stop", "end", "cancel", "retaliate", "object",
            "question", "doubt", "deplore", "regret", "boycott", "obstruct", "derail", "torpedo",
            "undermine", "harm", "hurt", "damage", "threaten_to_harm", "disrupt", "distort",
            "delay", "postpone", "stall", "shelve", "slow", "hinder", "prevent", "forbid", "ban",
            "outlaw", "mock", "ridicule", "deny", "resent", "fear", "worry", "accuse", "sue",
            "complain", "lament", "scold", "rebuke", "rebuff", "spurn", "snub", "cut", "reduce",
            "weaken", "violate", "breach", "exclude", "rule_out", "back_away", "step_back",
            "backtrack", "retreat", "renege", "defy", "overturn", "repeal", "revoke", "annul",
            "opposition", "rejection", "objection", "veto", "criticism", "condemnation",
            "opponent", "critic", "foe", "sceptic", "skeptic", "threat", "mistake", "error",
            "danger", "risk", "harm", "damage", "opposed", "against", "unacceptable", "wrong",
            "unfair", "unjust", "illegal", "unlawful", "protectionist", "counterproductive",
            "dangerous", "premature", "sceptical", "skeptical", "wary", "reluctant", "hesitant",
            "critical", "worried", "concerned", "unreasonable", "unrealistic", "absurd",
            "ridiculous", "bad", "harmful", "damaging", "discriminatory", "unnecessary",
            "unwise", "reckless", "terrible", "awful", "disgraceful", "shameful", "disastrous",
            "outrageous", "regrettable", "disaster", "shame", "failure", "catastrophe", "provocative", "hostile", "negative", "unhappy", "wrongheaded",
        ),
        -1.0,
    ),
}
# Nouns for what "lift" removes rather than raises.
RESTRICTIONS = frozenset(
    ("ban", "pause", "sanction", "tariff", "duty", "embargo", "restriction", "freeze", "suspension", "blockade",
     "moratorium", "curb", "cap", "limit", "veto", "hold", "siege", "barrier", "levy", "quota")
)  # fmt: skip
# Nouns that take a side only as what something is said to be ("troops would be targets").
COMPLEMENT_POLARITY: dict[str, float] = {"target": -1.0, "liability": -1.0, "burden": -1.0, "asset": 1.0}
# Verbs with a particle, keyed "lemma_particle" ("ruled out" -> rule_out).
PHRASAL: dict[str, float] = {
    **dict.fromkeys(
        ("sign_up", "set_up", "carry_out", "push_ahead", "press_ahead", "go_ahead", "step_up", "roll_out",
         "speak_up", "stand_by", "stick_to", "follow_through", "back_up"),
        1.0,
    ),
    **dict.fromkeys(
        ("rule_out", "turn_down", "pull_out", "back_down", "back_away", "step_back", "walk_away", "hold_back",
         "hold_off", "hold_out", "shy_away", "back_off", "shift_away", "move_away", "turn_away", "step_away", "stay_out", "water_down", "phase_out", "give_up", "call_off", "pull_back", "opt_out", "strike_down",
         "vote_down", "shoot_down", "wind_down", "scale_back", "cut_off"),
        -1.0,
    ),
}  # fmt: skip
# A claimant's predicate that reports what someone says or thinks; the claim is its content.
SPEECH = frozenset(
    (
        "say", "tell", "state", "add", "announce", "declare", "insist", "argue", "claim", "note",
        "stress", "write", "tweet", "post", "explain", "reiterate", "repeat", "confirm", "signal",
        "indicate", "suggest", "acknowledge", "admit", "concede", "describe", "warn", "caution",
        "believe", "think", "contend", "maintain", "emphasise", "emphasize", "underline",
        "assert", "remark", "reply", "respond", "retort", "counter", "predict", "hope", "feel",
        "make_clear", "recall", "point", "testify", "report",
    )
)
# Speech verbs whose own meaning takes no side ("said", "added"): polarity comes from the content.
NEUTRAL_SPEECH = SPEECH - frozenset(POLARITY)
# Abstaining or deferring: a position with no lean.
NEUTRAL = frozenset(
    ("abstain", "abstention", "defer", "undecided", "neutral", "wait", "review", "study", "assess", "weigh")
)
NEUTRAL_WITH_PREPOSITION = frozenset(("look_at", "decide_on", "think_about", "reflect_on", "wait_for", "consult_on"))
# Words that make a claim tentative or conditional (+-1 becomes +-0.5).
TENTATIVE = frozenset(
    (
        "could", "might", "may", "consider", "open", "possibly", "perhaps", "probably", "tentatively",
        "conditionally", "cautiously", "explore", "if", "unless", "provided", "condition", "only",
        "hesitant", "reluctant", "wary", "sceptical", "skeptical", "concerned", "worried",
        "reconsider", "rethink", "question", "doubt",
    )
)
# Predictions and expectations: the text says what someone is expected to do, not what they hold.
PREDICTION = frozenset(("expect", "likely", "due", "set", "poised", "bound", "anticipate", "predict", "tipped"))
NEGATORS = frozenset(("not", "n't", "never", "no", "neither", "nor", "without", "nothing", "none", "nobody"))
# Words that say a position changed.
SHIFT_WORDS = frozenset(
    (
        "reverse", "reversal", "u-turn", "shift", "softening", "soften", "harden", "backtrack",
        "about-face", "turnaround", "drop", "abandon", "change", "switch", "flip", "retreat",
        "renege", "longer", "now", "initially", "previously", "first", "since", "resume", "pause",
        "halt", "suspend", "rethink", "reconsider", "u-turned",
    )
)
# Markers that need a second marker to report a change ("initially ... now", "no longer").
SHIFT_STRONG = frozenset(
    ("reverse", "reversal", "u-turn", "backtrack", "about-face", "turnaround", "renege", "u-turned", "flip",
     "shift_away", "step_back", "back_away", "move_away", "turn_away", "walk_away", "back_down", "shift",
     "soften", "harden", "rethink", "reconsider", "change_course", "volte-face", "climbdown")
)  # fmt: skip
# Nouns through which an institution speaks ("Meloni's office said", "Commission spokesperson").
SPOKES_NOUNS = frozenset(
    (
        "office", "spokesman", "spokeswoman", "spokesperson", "government", "administration", "team",
        "ministry", "minister", "official", "officials", "aide", "aides", "adviser", "advisor",
        "diplomat", "diplomats", "envoy", "ambassador", "representative", "delegation", "cabinet",
        "department", "source", "sources", "statement", "leader", "leaders", "chief", "head",
        "secretary", "president", "spokespeople", "negotiator", "negotiators", "embassy",
        "authorities", "authority", "camp", "campaign", "party", "coalition",
    )
)
# Plural nouns for the members of a group ("countries in the coalition", "members of the bloc").
MEMBER_NOUNS = frozenset(("country", "member", "nation", "state", "government", "ally", "capital", "partner"))
# Nouns that refer back to whatever the article is about ("the plan", "the move", "the deal").
REFERRING_NOUNS = frozenset(
    (
        "plan", "proposal", "idea", "initiative", "move", "decision", "measure", "step", "deal",
        "agreement", "pact", "accord", "treaty", "policy", "scheme", "project", "case", "bid",
        "demand", "target", "goal", "offer", "push", "effort", "approach", "option", "law", "bill",
        "rule", "rules", "regulation", "ban", "tariff", "tariffs", "duty", "duties", "levy", "tax",
    )
)
# Nouns naming people who voice a view without being an actor ("analysts say").
NON_ACTOR_SOURCES = frozenset(
    ("analyst", "analysts", "expert", "experts", "observer", "observers", "critic", "critics", "economist")
)

"""The llm engine against a fake OpenAI-compatible server on 127.0.0.1: the prompt and request,
every validation rule, malformed and wrong-shaped answers, slow and failing endpoints (bounded in
time, retried, then an error), the answer cache and the concurrency bound."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

import app.extraction as extraction
from app.config import Settings
from app.extraction import llm
from app.extraction.llm import LLMConfig, LLMExtractor, find_evidence
from app.extraction.llm_client import LLMMalformed, LLMRefused, LLMUnavailable, endpoint
from app.extraction.types import ArticleText, ExtractionError, RegistrySnapshot
from tests import port_ellery as pe
from tests.llm_server import FakeLLM, Reply, observations

SNAPSHOT = RegistrySnapshot.from_dict(pe.REGISTRY)
ARTICLE = ArticleText(text=pe.TEXT, published_at=datetime(2025, 3, 4, 10, tzinfo=UTC), title=pe.TITLE)


@pytest.fixture
def server() -> Iterator[FakeLLM]:
    fake = FakeLLM().start()
    yield fake
    fake.stop()


def config(server: FakeLLM, **changes: Any) -> LLMConfig:
    base: dict[str, Any] = {
        "url": server.url,
        "model": "fake-model",
        "timeout_seconds": 5.0,
        "max_retries": 2,
        "backoff_seconds": 0.01,
        "concurrency": 2,
    }
    return LLMConfig(**{**base, **changes})


Build = Callable[..., LLMExtractor]


@pytest.fixture
def engine(server: FakeLLM) -> Iterator[Build]:
    """Extractors on the fake server (`engine(**config changes)`), closed after the test."""
    built: list[LLMExtractor] = []

    def build(registry: RegistrySnapshot = SNAPSHOT, **changes: Any) -> LLMExtractor:
        built.append(LLMExtractor(registry, config(server, **changes)))
        return built[-1]

    yield build
    for extractor in built:
        extractor.close()


def metric(name: str, outcome: str) -> float:
    return REGISTRY.get_sample_value(f"stanceline_llm_{name}_total", {"outcome": outcome}) or 0.0


# --- a well-formed answer ------------------------------------------------------------------------


def test_a_well_formed_answer_becomes_llm_observations(server: FakeLLM, engine: Build) -> None:
    server.script(Reply(observations(pe.MAYOR, pe.AUTHORITY_ITEM)))
    found = engine(api_key="sk-test").extract(ARTICLE)

    assert [(o.actor, o.topic, o.label, o.score) for o in found] == [
        ("harriet-voss", "ferry-subsidy", "support", 1.0),
        ("tidewater-ports-authority", "ferry-subsidy", "oppose", -1.0),
    ]
    mayor = found[0]
    assert pe.TEXT[mayor.evidence_start : mayor.evidence_end] == mayor.evidence == pe.LEAD
    assert mayor.observed_at == date(2025, 3, 3)
    assert mayor.speaker == "Harriet Voss"
    assert found[1].speaker is None
    assert mayor.shift is False
    assert mayor.extras == {"engine": "llm", "model": "fake-model"}
    assert 0 < mayor.confidence <= 1

    (seen,) = server.requests
    assert seen.headers["authorization"] == "Bearer sk-test"
    assert seen.body["model"] == "fake-model"
    assert seen.body["response_format"] == {"type": "json_object"}
    assert seen.body["temperature"] == 0
    prompt = seen.prompt
    assert "- ferry-subsidy: Island ferry subsidy." in prompt
    assert "- seawall-levy:" in prompt
    # the actors the article names, and what they belong to; no others
    for slug in ("harriet-voss", "tidewater-ports-authority", "bram-okafor", "port-ellery"):
        assert f"- {slug}:" in prompt
    assert "- odile-crane:" not in prompt  # the harbour master before 2025
    assert "Publication date: 2025-03-04 (Tuesday)" in prompt
    assert pe.TEXT in prompt


def test_the_engine_names_itself() -> None:
    built = LLMExtractor(SNAPSHOT, LLMConfig(url="http://127.0.0.1:9", model="m" * 200, mode="suggestions"))
    assert built.method == "llm"
    assert built.version.startswith("llm-1.0.0+mmm")
    assert len(built.version) == 100
    assert built.suggests is True
    assert LLMExtractor(SNAPSHOT, LLMConfig(url="http://127.0.0.1:9", model="m")).suggests is False


def test_an_article_naming_no_actor_or_no_topic_costs_no_request(server: FakeLLM, engine: Build) -> None:
    built = engine()
    no_actor = ArticleText(text=pe.UNRELATED + " The ferry fares rose.", published_at=ARTICLE.published_at)
    no_topic = ArticleText(
        text="Mayor Voss opened the new library on Friday.", published_at=ARTICLE.published_at
    )
    skipped = metric("articles", "skipped")
    assert built.extract(no_actor) == []
    assert built.extract(no_topic) == []
    assert server.requests == []
    assert metric("articles", "skipped") == skipped + 2


def test_a_topic_named_by_its_name_alone_makes_a_candidate(server: FakeLLM, engine: Build) -> None:
    text = "Mayor Voss spoke about the Seawall levy on Friday."
    engine().extract(ArticleText(text=text, published_at=ARTICLE.published_at))
    assert len(server.requests) == 1


# --- every validation rule -----------------------------------------------------------------------

CURLY_QUOTE = "\u201cWe will not let  fares double,\u201d Voss told reporters."

# (the item's changes, what is kept as (actor, topic, label, score, observed_at) or the drop reason,
# the fixes recorded)
RULES: list[tuple[str, dict[str, Any], tuple[Any, ...] | str, list[str]]] = [
    ("actor slug unknown", {"actor": "grace-hollis"}, "unknown_actor", []),
    ("actor not a string", {"actor": 7}, "unknown_actor", []),
    ("actor missing", {"actor": None}, "unknown_actor", []),
    (
        "actor by alias",
        {"actor": "Mayor Voss"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-03"),
        [],
    ),
    (
        "actor by name, any case",
        {"actor": "harriet voss"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-03"),
        [],
    ),
    (
        "shared alias: the holder on the day",
        {
            "actor": "the harbour master",
            "topic": "seawall-levy",
            "evidence": pe.HARBOUR,
            "observed_at": "2025-03-04",
        },
        ("bram-okafor", "seawall-levy", "support", 1.0, "2025-03-04"),
        [],
    ),
    ("topic slug unknown", {"topic": "harbour-dredging"}, "unknown_topic", []),
    (
        "topic by name",
        {"topic": "island ferry subsidy"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-03"),
        [],
    ),
    ("label unknown", {"label": "strongly support"}, "bad_label", []),
    ("label missing", {"label": None}, "bad_label", []),
    (
        "label in capitals",
        {"label": "Support"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-03"),
        [],
    ),
    ("score above 1", {"score": 1.5}, "bad_score", []),
    ("score below -1", {"score": -3}, "bad_score", []),
    ("score as a string", {"score": "0.5"}, "bad_score", []),
    ("score a boolean", {"score": True}, "bad_score", []),
    ("score missing", {"score": None}, "bad_score", []),
    ("score an integer", {"score": 1}, ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-03"), []),
    (
        "support with a negative score: the label wins",
        {"score": -0.5},
        ("harriet-voss", "ferry-subsidy", "support", 0.5, "2025-03-03"),
        ["label_score"],
    ),
    (
        "oppose with a zero score",
        {"label": "oppose", "score": 0},
        ("harriet-voss", "ferry-subsidy", "oppose", -0.5, "2025-03-03"),
        ["label_score"],
    ),
    (
        "mixed keeps any score",
        {"label": "mixed", "score": 0.25},
        ("harriet-voss", "ferry-subsidy", "mixed", 0.25, "2025-03-03"),
        [],
    ),
    (
        "neutral keeps any score",
        {"label": "neutral", "score": 0},
        ("harriet-voss", "ferry-subsidy", "neutral", 0.0, "2025-03-03"),
        [],
    ),
    (
        "a day after publication",
        {"observed_at": "2025-03-05"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-05"),
        [],
    ),
    (
        "a date with a time",
        {"observed_at": "2025-02-01T00:00:00Z"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-02-01"),
        [],
    ),
    (
        "date after publication + 1 day",
        {"observed_at": "2025-03-09"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-04"),
        ["observed_at"],
    ),
    (
        "date absurdly old",
        {"observed_at": "1962-05-01"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-04"),
        ["observed_at"],
    ),
    (
        "date not a date",
        {"observed_at": "last Monday"},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-04"),
        ["observed_at"],
    ),
    (
        "date missing",
        {"observed_at": None},
        ("harriet-voss", "ferry-subsidy", "support", 1.0, "2025-03-04"),
        ["observed_at"],
    ),
    (
        "evidence not in the text",
        {"evidence": "Voss said the subsidy would be doubled."},
        "evidence_not_found",
        [],
    ),
    ("evidence from the title only", {"evidence": pe.TITLE}, "evidence_not_found", []),
    ("evidence missing", {"evidence": None}, "evidence_not_found", []),
    ("evidence empty", {"evidence": "  "}, "evidence_not_found", []),
    ("item not an object", "harriet-voss supports the ferry subsidy", "not_an_object", []),
]


@pytest.mark.parametrize(("change", "expected", "fixes"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_each_validation_rule(
    server: FakeLLM, change: Any, expected: tuple[Any, ...] | str, fixes: list[str], engine: Build
) -> None:
    item = {**pe.MAYOR, **change} if isinstance(change, dict) else change
    # a good item alongside: a bad one is dropped alone
    server.script(Reply(observations(item, pe.AUTHORITY_ITEM)))
    before = metric("items", expected) if isinstance(expected, str) else metric("items", "kept")
    found = engine().extract(ARTICLE)

    others = [o for o in found if o.actor != "tidewater-ports-authority"]
    assert [o.actor for o in found if o.actor == "tidewater-ports-authority"] == ["tidewater-ports-authority"]
    if isinstance(expected, str):
        assert others == []
        assert found[0].extras["dropped"] == {expected: 1}  # recorded on what was kept
        assert metric("items", expected) == before + 1
        return
    (kept,) = others
    assert (kept.actor, kept.topic, kept.label, kept.score, kept.observed_at.isoformat()) == expected
    assert kept.extras.get("fixed", []) == fixes
    assert "dropped" not in kept.extras
    assert pe.TEXT[kept.evidence_start : kept.evidence_end] == kept.evidence
    assert metric("items", "kept") == before + 2


@pytest.mark.parametrize(
    "quote",
    [
        '"We will not let fares double," Voss told reporters.',  # straight quotes, one space
        "\u201cWe will not let fares double,\u201d Voss told reporters.",  # one space
        "We will not let  fares double,\u201d Voss told reporters.",  # part of the sentence
        f"  {CURLY_QUOTE}\n",  # spaces around
        f"'{CURLY_QUOTE}'",  # wrapped in quotes
    ],
)
def test_evidence_is_found_after_folding_and_mapped_to_the_texts_own_characters(
    server: FakeLLM, quote: str, engine: Build
) -> None:
    server.script(Reply(observations({**pe.MAYOR, "evidence": quote})))
    (found,) = engine().extract(ARTICLE)
    assert found.evidence == pe.TEXT[found.evidence_start : found.evidence_end]
    assert found.evidence.endswith("Voss told reporters.")
    assert found.evidence in CURLY_QUOTE


def test_find_evidence_exact_first_and_none_when_absent() -> None:
    text = "A said yes.  B said \u201cno\u201d - twice."
    assert find_evidence(text, "B said") == (13, 19)
    start, end = find_evidence(text, 'B said "no" - twice.') or (0, 0)
    assert text[start:end] == "B said \u201cno\u201d - twice."
    assert find_evidence(text, "A said yes. B said") == (0, 19)
    assert find_evidence(text, "C said maybe.") is None
    assert find_evidence(text, "") is None


def test_speaker_and_shift_are_optional(server: FakeLLM, engine: Build) -> None:
    server.script(
        Reply(
            observations(
                {**pe.MAYOR, "speaker": 5, "shift": "yes"},
                {**pe.AUTHORITY_ITEM, "speaker": "  ", "shift": True},
                {key: value for key, value in pe.MAYOR.items() if key not in ("speaker", "shift")}
                | {"topic": "seawall-levy", "evidence": pe.HARBOUR, "actor": "bram-okafor"},
            )
        )
    )
    mayor, authority, harbour = engine().extract(ARTICLE)
    assert (mayor.speaker, mayor.shift) == (None, False)
    assert (authority.speaker, authority.shift) == (None, True)
    assert (harbour.speaker, harbour.shift) == (None, False)


def test_one_observation_per_actor_topic_and_day(server: FakeLLM, engine: Build) -> None:
    server.script(Reply(observations(pe.MAYOR, {**pe.MAYOR, "evidence": CURLY_QUOTE, "score": 0.5})))
    (found,) = engine().extract(ARTICLE)
    assert found.evidence == pe.LEAD
    assert found.extras["dropped"] == {"duplicate": 1}


# --- malformed and wrong-shaped answers ----------------------------------------------------------


@pytest.mark.parametrize(
    "reply",
    [
        Reply("this is not JSON"),
        Reply('{"observations": [{"actor": "harriet-voss"'),  # cut short
        Reply('[{"actor": "harriet-voss"}]'),  # a list, not the object asked for
        Reply('{"stances": []}'),  # another key
        Reply('{"observations": {"actor": "harriet-voss"}}'),  # not a list
        Reply(body=b'{"choices": []}'),  # not a chat completion
        Reply(body=b'{"choices": [{"message": {"content": null}}]}'),
        Reply(body=b"<html>gateway</html>"),
    ],
    ids=["not-json", "cut-short", "list", "other-key", "not-a-list", "no-choices", "null-content", "html"],
)
def test_a_malformed_answer_is_asked_again_then_raises(server: FakeLLM, reply: Reply, engine: Build) -> None:
    server.script(reply, reply, reply)
    malformed = REGISTRY.get_sample_value("stanceline_llm_requests_total", {"outcome": "malformed"}) or 0.0
    failed = metric("articles", "failed")
    with pytest.raises(LLMMalformed, match="after 3 attempt"):
        engine(max_retries=2).extract(ARTICLE)
    assert len(server.requests) == 3
    assert (
        REGISTRY.get_sample_value("stanceline_llm_requests_total", {"outcome": "malformed"}) == malformed + 3
    )
    assert metric("articles", "failed") == failed + 1


def test_a_malformed_answer_then_a_good_one_succeeds(server: FakeLLM, engine: Build) -> None:
    server.script(Reply('{"stances": []}'), Reply(observations(pe.MAYOR)))
    assert [o.actor for o in engine().extract(ARTICLE)] == ["harriet-voss"]
    assert len(server.requests) == 2


def test_an_answer_fenced_as_markdown_is_read(server: FakeLLM, engine: Build) -> None:
    server.script(Reply(f"```json\n{observations(pe.MAYOR)}\n```"))
    assert [o.actor for o in engine().extract(ARTICLE)] == ["harriet-voss"]


def test_llm_errors_are_extraction_errors() -> None:
    assert issubclass(LLMMalformed, ExtractionError)
    assert issubclass(LLMUnavailable, ExtractionError)
    assert issubclass(LLMRefused, ExtractionError)


# --- slow and failing endpoints ------------------------------------------------------------------


def test_a_slow_endpoint_is_bounded_retried_then_raises(server: FakeLLM, engine: Build) -> None:
    server.default = Reply(observations(pe.MAYOR), delay=30)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="timed out"):
        engine(timeout_seconds=0.3, max_retries=1).extract(ARTICLE)
    took = time.monotonic() - started
    assert len(server.requests) == 2
    assert took < 0.3 * 2 + 1.0  # two attempts within their timeout, plus the backoff and slack


def test_a_slow_drip_of_bytes_is_bounded_by_the_wall_clock(server: FakeLLM, engine: Build) -> None:
    # each byte comes well within httpx's read timeout, the whole answer would take minutes
    server.default = Reply(observations(pe.MAYOR), drip=0.05)
    started = time.monotonic()
    with pytest.raises(LLMUnavailable, match="not complete within"):
        engine(timeout_seconds=0.5, max_retries=0).extract(ARTICLE)
    assert time.monotonic() - started < 2.0


def test_a_slow_answer_within_the_timeout_is_used(server: FakeLLM, engine: Build) -> None:
    server.script(Reply(observations(pe.MAYOR), delay=0.2))
    assert len(engine(timeout_seconds=2).extract(ARTICLE)) == 1


def test_failing_answers_then_success(server: FakeLLM, engine: Build) -> None:
    server.script(Reply(status=500), Reply(status=503), Reply(observations(pe.MAYOR)))
    assert [o.actor for o in engine(max_retries=2).extract(ARTICLE)] == ["harriet-voss"]
    assert len(server.requests) == 3


def test_rate_limited_then_success(server: FakeLLM, engine: Build) -> None:
    server.script(Reply(status=429), Reply(observations(pe.MAYOR)))
    assert len(engine(max_retries=1).extract(ARTICLE)) == 1


def test_failing_past_the_retries_raises(server: FakeLLM, engine: Build) -> None:
    server.default = Reply(status=502)
    with pytest.raises(LLMUnavailable, match="HTTP 502"):
        engine(max_retries=2).extract(ARTICLE)
    assert len(server.requests) == 3


def test_a_refusal_is_not_retried(server: FakeLLM, engine: Build) -> None:
    server.default = Reply(status=401)
    with pytest.raises(LLMRefused, match="HTTP 401"):
        engine(max_retries=2).extract(ARTICLE)
    assert len(server.requests) == 1


def test_an_endpoint_that_is_not_there_is_retried_then_raises(server: FakeLLM) -> None:
    url = server.url
    server.stop()
    with pytest.raises(LLMUnavailable):
        LLMExtractor(SNAPSHOT, LLMConfig(url=url, model="m", max_retries=1, backoff_seconds=0.01)).extract(
            ARTICLE
        )


def test_concurrency_is_bounded_per_process(server: FakeLLM, engine: Build) -> None:
    server.default = Reply(observations(pe.MAYOR), delay=0.2)
    built = engine(concurrency=2)
    texts = [ArticleText(text=f"{pe.TEXT} ({n})", published_at=ARTICLE.published_at) for n in range(6)]
    threads = [threading.Thread(target=built.extract, args=(text,)) for text in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(server.requests) == 6
    assert server.most_in_flight == 2


# --- the answer cache ----------------------------------------------------------------------------


def test_answers_are_cached_by_text_registry_and_model(
    server: FakeLLM, tmp_path: Path, engine: Build
) -> None:
    server.default = Reply(observations(pe.MAYOR))
    first = engine(cache_dir=tmp_path).extract(ARTICLE)
    assert len(server.requests) == 1
    # another extractor (another process, say) with the same text, registry and model: no request
    again = engine(cache_dir=tmp_path).extract(ARTICLE)
    assert again == first
    assert len(server.requests) == 1
    assert metric("articles", "cached") >= 1

    engine(cache_dir=tmp_path, model="other-model").extract(ARTICLE)
    assert len(server.requests) == 2
    changed = RegistrySnapshot.from_dict(
        {
            **pe.REGISTRY,
            "topics": [*pe.REGISTRY["topics"], {"slug": "harbour-dredging", "name": "Harbour dredging"}],
        }
    )
    engine(changed, cache_dir=tmp_path).extract(ARTICLE)
    assert len(server.requests) == 3
    edited = ArticleText(text=pe.TEXT + " More later.", published_at=ARTICLE.published_at, title=pe.TITLE)
    engine(cache_dir=tmp_path).extract(edited)
    assert len(server.requests) == 4


def test_failed_or_malformed_answers_are_not_cached(server: FakeLLM, tmp_path: Path, engine: Build) -> None:
    server.script(Reply("nonsense"))
    with pytest.raises(LLMMalformed):
        engine(cache_dir=tmp_path, max_retries=0).extract(ARTICLE)
    server.script(Reply(observations(pe.MAYOR)))
    assert len(engine(cache_dir=tmp_path).extract(ARTICLE)) == 1
    assert len(server.requests) == 2


def test_a_damaged_cache_file_is_asked_again(server: FakeLLM, tmp_path: Path, engine: Build) -> None:
    server.default = Reply(observations(pe.MAYOR))
    engine(cache_dir=tmp_path).extract(ARTICLE)
    (stored,) = tmp_path.rglob("*.json")
    stored.write_text("{")
    assert len(engine(cache_dir=tmp_path).extract(ARTICLE)) == 1
    assert len(server.requests) == 2


def test_the_registry_hash_is_stable_and_order_free() -> None:
    reordered = RegistrySnapshot(
        actors=tuple(reversed(SNAPSHOT.actors)), topics=tuple(reversed(SNAPSHOT.topics))
    )
    assert llm.registry_hash(reordered) == llm.registry_hash(SNAPSHOT)
    assert llm.registry_hash(RegistrySnapshot()) != llm.registry_hash(SNAPSHOT)


# --- configuration and listing -------------------------------------------------------------------


@pytest.fixture
def no_llm() -> Iterator[None]:
    extraction.configure_llm(None)
    yield
    extraction.configure_llm(None)


def test_the_engine_is_listed_only_with_an_endpoint(
    no_llm: None, caplog: pytest.LogCaptureFixture, tmp_path: Path, engine: Build
) -> None:
    assert "llm" in extraction.KNOWN_ENGINES
    assert "llm" not in extraction.available_engines()
    assert extraction.resolve_engine("llm") == "rules"
    assert "extraction.fallback engine=llm" in caplog.text
    with pytest.raises(ValueError, match="needs an endpoint"):
        extraction.build_extractor(SNAPSHOT, "llm")
    assert llm.config_from(Settings(llm_url="http://127.0.0.1:9")) is None  # no model

    settings = Settings(
        llm_url="http://127.0.0.1:9/v1",
        llm_model="m",
        llm_api_key="sk-x",
        llm_mode="suggestions",
        llm_cache_dir=tmp_path,
        llm_timeout_seconds=7,
    )
    extraction.configure(settings)
    assert extraction.resolve_engine("llm") == "llm"
    built = extraction.build_extractor(SNAPSHOT, "llm")
    assert built is extraction.build_extractor(SNAPSHOT, "llm")
    assert isinstance(built, LLMExtractor)
    assert built.config == LLMConfig(
        url="http://127.0.0.1:9/v1",
        model="m",
        api_key="sk-x",
        timeout_seconds=7,
        mode="suggestions",
        cache_dir=tmp_path,
    )
    assert "sk-x" not in repr(built.config)


def test_the_cache_folder_defaults_to_the_model_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STANCELINE_MODEL_CACHE", str(tmp_path))
    config = llm.config_from(Settings(llm_url="http://127.0.0.1:9", llm_model="m"))
    assert config is not None
    assert config.cache_dir == tmp_path / "llm"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/chat/completions"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1/chat/completions"),
        ("http://127.0.0.1:8080/v1", "http://127.0.0.1:8080/v1/chat/completions"),
        ("https://llm.example.org/v1/chat/completions", "https://llm.example.org/v1/chat/completions"),
    ],
)
def test_endpoint_urls(url: str, expected: str) -> None:
    assert endpoint(url) == expected

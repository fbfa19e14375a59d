from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest

from app.timelines.compare import compare
from app.timelines.levels import levels
from app.timelines.network import GRAPHML_NS, congruence, to_graphml
from tests.unit.timelines.buckets import bucket_sums


def _rows(items: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": range(1, len(items) + 1),
            "actor": [a for a, _, _ in items],
            "observed_at": pd.to_datetime([d for _, d, _ in items], utc=True),
            "score": [s for _, _, s in items],
            "confidence": 1.0,
            "shift": False,
        }
    )


def test_compare_aligns_buckets_and_measures_distance() -> None:
    rows = _rows(
        [("a", "2025-03-03", 1.0), ("b", "2025-03-03", -0.5), ("a", "2025-03-10", 0.5), ("b", "2025-03-17", 0.0),
         ("a", "2025-03-17", 0.5), ("c", "2025-03-17", 0.5)]
    )  # fmt: skip
    frame = levels(bucket_sums(rows, "week"), "week")
    result = compare(frame, ["a", "b"])
    assert result.aligned.columns.tolist() == ["bucket", "a", "b"]
    distance = result.distances["distance"].tolist()
    assert distance[0] == pytest.approx(1.5)
    assert pd.isna(distance[1])  # b has no level that week
    assert distance[2] == pytest.approx(0.5)
    assert result.pairs[0].mean_distance == pytest.approx(1.0)
    assert result.pairs[0].buckets == 2
    several = compare(frame, ["a", "b", "c"])
    assert [(p.a, p.b) for p in several.pairs] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert several.pairs[1].mean_distance == pytest.approx(0.0)


def test_congruence_sides_edges_and_window() -> None:
    rows = _rows(
        [("uk", "2025-03-01", 1.0), ("france", "2025-03-02", 0.5), ("italy", "2025-03-03", -1.0),
         ("russia", "2025-03-04", -1.0), ("germany", "2025-03-05", 0.1), ("italy", "2025-09-01", 1.0)]
    )  # fmt: skip
    network = congruence(rows, threshold=0.15, end=pd.Timestamp("2025-04-01", tz="UTC").to_pydatetime())
    sides = {node.actor: node.side for node in network.nodes}
    assert sides == {
        "france": "support",
        "germany": "neutral",
        "italy": "oppose",
        "russia": "oppose",
        "uk": "support",
    }
    pairs = {(e.source, e.target): e.weight for e in network.edges}
    assert pairs == {("italy", "russia"): 1.0, ("france", "uk"): 0.75}

    root = ET.fromstring(to_graphml(network))
    ns = {"g": GRAPHML_NS}
    assert {k.get("attr.name") for k in root.findall("g:key", ns)} >= {
        "mean_score",
        "count",
        "side",
        "weight",
    }
    graph = root.find("g:graph", ns)
    assert graph is not None
    assert graph.get("edgedefault") == "undirected"
    assert sorted(n.get("id") or "" for n in graph.findall("g:node", ns)) == sorted(sides)
    edges = {(e.get("source"), e.get("target")) for e in graph.findall("g:edge", ns)}
    assert edges == {("italy", "russia"), ("france", "uk")}
    italy = graph.find("g:node[@id='italy']", ns)
    assert italy is not None
    assert {d.get("key"): d.text for d in italy.findall("g:data", ns)}["n_side"] == "oppose"

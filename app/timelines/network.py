"""Actor-actor agreement (discourse congruence) network in a time window.

Nodes: every actor (or roll-up `series` when the rows carry one) with observations in the window:
confidence-weighted mean score, count, side = "support" (mean > threshold), "oppose"
(mean < -threshold) or "neutral". Edges join actors on the same non-neutral side, weight
1 - |mean_a - mean_b| / 2 (1 = identical levels), with the count of observations behind each end.
`to_graphml` writes GraphML (undirected) with <key> declarations for every attribute.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import pandas as pd

from app.timelines.frames import require, utc

Side = Literal["support", "oppose", "neutral"]
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"


@dataclass(frozen=True)
class Node:
    actor: str
    mean_score: float
    count: int
    weight: float
    side: Side


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    weight: float
    side: Side
    source_count: int
    target_count: int


@dataclass(frozen=True)
class Network:
    threshold: float
    start: datetime | None
    end: datetime | None
    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)


def _side(mean: float, threshold: float) -> Side:
    if mean > threshold:
        return "support"
    if mean < -threshold:
        return "oppose"
    return "neutral"


def congruence(
    rows: pd.DataFrame,
    threshold: float = 0.15,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Network:
    """The agreement network of the rows observed in [start, end) (either bound optional).

    Nodes sorted by actor; edges by weight (strongest first), then source, target."""
    require(rows, ["actor", "observed_at", "score", "confidence"], "observation rows")
    frame = rows
    observed = utc(rows["observed_at"])
    if start is not None:
        frame = frame[observed >= pd.Timestamp(start)]
        observed = observed[observed >= pd.Timestamp(start)]
    if end is not None:
        frame = frame[observed < pd.Timestamp(end)]
    key = frame["series"] if "series" in frame.columns else frame["actor"]
    weight = frame["confidence"].astype(float).clip(lower=1e-6)
    sums = (
        pd.DataFrame(
            {"actor": key.astype(str), "w": weight, "ws": weight * frame["score"].astype(float), "n": 1}
        )
        .groupby("actor", sort=True)[["w", "ws", "n"]]
        .sum()
    )
    nodes = [
        Node(
            actor=str(actor),
            mean_score=round(float(row.ws / row.w), 6),
            count=int(row.n),
            weight=round(float(row.w), 6),
            side=_side(float(row.ws / row.w), threshold),
        )
        for actor, row in sums.iterrows()
    ]
    edges = [
        Edge(
            source=a.actor,
            target=b.actor,
            weight=round(1.0 - abs(a.mean_score - b.mean_score) / 2.0, 6),
            side=a.side,
            source_count=a.count,
            target_count=b.count,
        )
        for a, b in itertools.combinations(nodes, 2)
        if a.side == b.side and a.side != "neutral"
    ]
    edges.sort(key=lambda e: (-e.weight, e.source, e.target))
    return Network(threshold=threshold, start=start, end=end, nodes=nodes, edges=edges)


def to_graphml(network: Network) -> str:
    """GraphML text: node keys mean_score (double), count (int), weight (double), side (string);
    edge keys weight (double), side (string), source_count, target_count (int)."""
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")
    keys = [
        ("n_mean", "node", "mean_score", "double"),
        ("n_count", "node", "count", "int"),
        ("n_weight", "node", "weight", "double"),
        ("n_side", "node", "side", "string"),
        ("e_weight", "edge", "weight", "double"),
        ("e_side", "edge", "side", "string"),
        ("e_source_count", "edge", "source_count", "int"),
        ("e_target_count", "edge", "target_count", "int"),
    ]
    for key_id, domain, name, kind in keys:
        ET.SubElement(
            root, f"{{{GRAPHML_NS}}}key", {"id": key_id, "for": domain, "attr.name": name, "attr.type": kind}
        )
    graph = ET.SubElement(root, f"{{{GRAPHML_NS}}}graph", {"id": "congruence", "edgedefault": "undirected"})

    def data(parent: ET.Element, key: str, value: object) -> None:
        ET.SubElement(parent, f"{{{GRAPHML_NS}}}data", {"key": key}).text = str(value)

    for node in network.nodes:
        element = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": node.actor})
        data(element, "n_mean", node.mean_score)
        data(element, "n_count", node.count)
        data(element, "n_weight", node.weight)
        data(element, "n_side", node.side)
    for number, edge in enumerate(network.edges):
        element = ET.SubElement(
            graph, f"{{{GRAPHML_NS}}}edge", {"id": f"e{number}", "source": edge.source, "target": edge.target}
        )
        data(element, "e_weight", edge.weight)
        data(element, "e_side", edge.side)
        data(element, "e_source_count", edge.source_count)
        data(element, "e_target_count", edge.target_count)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)

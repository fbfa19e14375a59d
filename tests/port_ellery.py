"""A registry and an article written for the llm engine's tests: the invented harbour town of Port
Ellery, its mayor, its ports authority, two harbour masters in turn, and the subsidy that keeps
the island ferry's fares down."""

from __future__ import annotations

from typing import Any

REGISTRY: dict[str, Any] = {
    "actors": [
        {
            "slug": "port-ellery",
            "name": "Port Ellery",
            "kind": "state",
            "aliases": ["the town council", "Port Ellery council"],
        },
        {
            "slug": "harriet-voss",
            "name": "Harriet Voss",
            "kind": "person",
            "aliases": ["Mayor Harriet Voss", "Mayor Voss", "Voss"],
            "memberships": [{"parent": "port-ellery", "role": "mayor", "from": "2022-06-01", "to": None}],
        },
        {
            "slug": "tidewater-ports-authority",
            "name": "Tidewater Ports Authority",
            "kind": "organization",
            "aliases": ["the ports authority"],
        },
        {
            "slug": "odile-crane",
            "name": "Odile Crane",
            "kind": "person",
            "aliases": ["the harbour master"],
            "memberships": [
                {"parent": "port-ellery", "role": "harbour master", "from": "2015-01-01", "to": "2024-12-31"}
            ],
        },
        {
            "slug": "bram-okafor",
            "name": "Bram Okafor",
            "kind": "person",
            "aliases": ["the harbour master"],
            "memberships": [
                {"parent": "port-ellery", "role": "harbour master", "from": "2025-01-01", "to": None}
            ],
        },
    ],
    "topics": [
        {
            "slug": "ferry-subsidy",
            "name": "Island ferry subsidy",
            "description": "Positions on the town paying part of the island ferry's fares.",
            "keywords": ["ferry subsidy", "ferry fares"],
        },
        {
            "slug": "seawall-levy",
            "name": "Seawall levy",
            "description": "Positions on a levy on harbour users to raise the seawall.",
            "keywords": ["seawall levy"],
        },
    ],
}

LEAD = (
    "PORT ELLERY, March 4 (Coastline Wire) - Mayor Harriet Voss said on Monday that the town "
    "would keep the ferry subsidy for another year."
)
QUOTE = "\u201cWe will not let  fares double,\u201d Voss told reporters."  # curly quotes, two spaces
AUTHORITY = 'The Tidewater Ports Authority called the plan "unaffordable" and urged the council to drop it.'
HARBOUR = "The harbour master said the seawall levy was overdue."
TEXT = f"{LEAD} {QUOTE}\n\n{AUTHORITY} {HARBOUR}"
PUBLISHED = "2025-03-04T10:00:00Z"  # a Tuesday
TITLE = "Port Ellery keeps its ferry subsidy"

ARTICLE: dict[str, Any] = {
    "url": "https://example.org/port-ellery/2025/03/04/ferry-subsidy",
    "title": TITLE,
    "published_at": PUBLISHED,
    "source": "Coastline Wire",
    "text": TEXT,
}

# an article naming no registry actor: the engine sends nothing
UNRELATED = "Fog delayed the first sailing of the season, and the kiosk on the quay ran out of tea."

MAYOR: dict[str, Any] = {
    "actor": "harriet-voss",
    "topic": "ferry-subsidy",
    "label": "support",
    "score": 1.0,
    "observed_at": "2025-03-03",
    "evidence": LEAD,
    "speaker": "Harriet Voss",
    "shift": False,
}
AUTHORITY_ITEM: dict[str, Any] = {
    "actor": "tidewater-ports-authority",
    "topic": "ferry-subsidy",
    "label": "oppose",
    "score": -1.0,
    "observed_at": "2025-03-04",
    "evidence": AUTHORITY,
    "speaker": None,
    "shift": False,
}

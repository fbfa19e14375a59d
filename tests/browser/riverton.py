"""A small invented town for the dashboard tests: a council, its mayor, traders, cyclists.

* "Airport noise" sorts first (by slug and by name) and has one observation;
* "Parking fees downtown" has the most: the council every week but the third (a gap), the
  traders every other week (single points between gaps), and the traders' business forum,
  whose only member they are, with the traders' line exactly (two series that coincide);
* three stored articles argue about bike lanes on Main Street, a topic the registry does not
  have yet: the topic editor test defines it and the re-extraction finds them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.schemas import ArticleCreate, RegistryImport
from tests.browser.server import seed_database

COURIER = "https://example.org/riverton-courier/2025"

REGISTRY: dict[str, Any] = {
    "actors": [
        {
            "slug": "riverton-city-council",
            "name": "Riverton City Council",
            "kind": "organization",
            "description": "The elected council of the town of Riverton.",
            "aliases": ["Riverton City Council", "the city council", "the council"],
        },
        {
            "slug": "dana-whitcombe",
            "name": "Dana Whitcombe",
            "kind": "person",
            "aliases": ["Dana Whitcombe", "Mayor Whitcombe", "Whitcombe"],
            "memberships": [{"parent": "riverton-city-council", "role": "mayor"}],
        },
        {
            "slug": "riverton-cyclists-union",
            "name": "Riverton Cyclists' Union",
            "kind": "group",
            "aliases": ["Riverton Cyclists' Union", "the cyclists' union"],
        },
        {
            "slug": "riverton-business-forum",
            "name": "Riverton Business Forum",
            "kind": "bloc",
            "aliases": ["Riverton Business Forum"],
        },
        {
            "slug": "main-street-traders",
            "name": "Main Street Traders",
            "kind": "group",
            "aliases": ["Main Street Traders", "the traders"],
            "memberships": [{"parent": "riverton-business-forum", "role": "member"}],
        },
    ],
    "topics": [
        {
            "slug": "airport-noise",
            "name": "Airport noise",
            "description": "Night flights and noise at the Riverton airfield.",
            "keywords": ["airport noise", "night flights"],
        },
        {
            "slug": "parking-fees",
            "name": "Parking fees downtown",
            "description": "Raising the fees for parking in the town centre.",
            "keywords": ["parking fees", "parking charges"],
        },
    ],
}


def _article(day: str, slug: str, title: str, text: str) -> dict[str, str]:
    return {
        "url": f"{COURIER}/{day[5:7]}/{day[8:]}/{slug}",
        "title": title,
        "published_at": f"{day}T09:00:00Z",
        "source": "Riverton Courier",
        "text": text,
    }


ARTICLES = [
    _article(
        "2025-01-07",
        "council-parking",
        "Council raises parking fees",
        "The Riverton City Council voted on Tuesday to raise parking fees downtown. "
        "The council said it supports higher parking fees to pay for street repairs.",
    ),
    _article(
        "2025-01-08",
        "traders-parking",
        "Traders against parking fees",
        "Main Street Traders said on Wednesday that they oppose the new parking fees, "
        "warning that shoppers would stay away.",
    ),
    _article(
        "2025-01-09",
        "mayor-airport",
        "Mayor on night flights",
        "Mayor Whitcombe said she opposes night flights at the airfield because of airport noise.",
    ),
    _article(
        "2025-01-14",
        "council-defends",
        "Council defends parking fees",
        "The Riverton City Council defended the parking fees on Tuesday and said it backs the plan.",
    ),
    _article(
        "2025-01-21",
        "traders-again",
        "Traders reject parking fees",
        "Main Street Traders said they reject the parking fees and will campaign against them.",
    ),
    _article(
        "2025-01-28",
        "council-still",
        "Council keeps parking fees",
        "The Riverton City Council said it still supports the parking fees.",
    ),
    _article(
        "2025-02-04",
        "parking-row",
        "Parking fees row goes on",
        "The Riverton City Council said it supports the parking fees. "
        "Main Street Traders said they oppose the parking fees.",
    ),
    # bike lanes: no topic of the registry yet
    _article(
        "2025-01-10",
        "cyclists-main-street",
        "Cyclists welcome Main Street plan",
        "The Riverton Cyclists' Union said it strongly supports the bike lanes planned for Main Street.",
    ),
    _article(
        "2025-01-17",
        "traders-bike-lanes",
        "Traders wary of bike lanes",
        "Main Street Traders said they oppose the bike lanes on Main Street, warning that deliveries would suffer.",
    ),
    _article(
        "2025-01-24",
        "council-bike-lanes",
        "Council approves bike lanes",
        "The Riverton City Council voted to approve the Main Street bike lanes.",
    ),
]

# weeks (Mondays) of the parking-fees observations
COUNCIL_WEEKS = ["2025-01-06", "2025-01-13", "2025-01-27", "2025-02-03"]  # not 2025-01-20
TRADERS_WEEKS = ["2025-01-06", "2025-01-20", "2025-02-03"]

BIKE_LANES = {
    "name": "Bike lanes on Main Street",
    "slug": "bike-lanes-on-main-street",
    "description": "Painting protected bike lanes along Main Street.",
    "keywords": ["bike lanes", "bike lane"],
    "example": "The council said it supports the bike lanes on Main Street.",
}
# pasted into "Try it": not a stored article
TRIAL_TEXT = (
    "The Riverton Cyclists' Union said on Monday that it strongly supports the new bike lanes. "
    "The weather on Main Street was mild."
)


def build_riverton_database(path: Path) -> Path:
    """Registry and articles ingested as the demo database is built (see server.build_demo_database)."""
    articles = [ArticleCreate.model_validate(a) for a in ARTICLES]
    seed_database(path, RegistryImport.model_validate(REGISTRY), articles)
    return path

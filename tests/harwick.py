"""A registry and articles written for the registry re-extraction tests: the city council of the
invented town of Harwick and its plan for protected bike lanes on Dock Street."""

from __future__ import annotations

from typing import Any

TOPIC: dict[str, Any] = {
    "slug": "harwick-bike-lanes",
    "name": "Protected bike lanes in Harwick",
    "description": (
        "Plans for protected bike lanes in Harwick. Building or funding the lanes is support; "
        "scrapping or delaying them is opposition."
    ),
    "keywords": ["bike lane", "cycle lane"],
    "examples": ["The mayor said the bike lanes would make the city safer."],
}

ACTORS: list[dict[str, Any]] = [
    {
        "slug": "harwick-council",
        "name": "Harwick City Council",
        "kind": "organization",
        "aliases": ["Harwick City Council", "the Harwick council"],
    },
    {
        "slug": "tessa-lund",
        "name": "Tessa Lund",
        "kind": "person",
        "aliases": ["Mayor Tessa Lund", "Tessa Lund", "Lund"],
    },
    {
        "slug": "harwick-cyclists",
        "name": "Harwick Cyclists Alliance",
        "kind": "organization",
        "aliases": ["the Harwick Cyclists Alliance"],
    },
    {
        "slug": "dock-street-traders",
        "name": "Dock Street Traders Association",
        "kind": "organization",
        "aliases": ["the Dock Street Traders Association"],
    },
]

# url -> article; the third is about something else (no word of the topic), though it names the mayor
ARTICLES: list[dict[str, Any]] = [
    {
        "url": "https://harwick.example/news/1",
        "title": "Mayor backs Dock Street plan",
        "published_at": "2025-05-06T07:00:00Z",
        "source": "Harwick Herald",
        "text": (
            "HARWICK, May 5 - Mayor Tessa Lund said on Monday that she strongly supports the new bike "
            "lanes on Dock Street.\n\nThe Dock Street Traders Association opposed the bike lane plan, "
            "saying it would remove parking."
        ),
    },
    {
        "url": "https://harwick.example/news/2",
        "title": "Council funds the lanes",
        "published_at": "2025-05-07T07:00:00Z",
        "source": "Harwick Herald",
        "text": (
            "Harwick City Council voted on Tuesday to fund the cycle lanes.\n\n"
            "The Harwick Cyclists Alliance welcomed the decision."
        ),
    },
    {
        "url": "https://harwick.example/news/3",
        "title": "Library reopens",
        "published_at": "2025-05-10T07:00:00Z",
        "source": "Harwick Herald",
        "text": "The Harwick library reopened on Saturday after its roof was repaired. Mayor Tessa Lund cut the ribbon.",
    },
]

# (actor, label) each article's extraction finds once the registry above is defined
EXPECTED = {
    "https://harwick.example/news/1": {("tessa-lund", "support"), ("dock-street-traders", "oppose")},
    "https://harwick.example/news/2": {("harwick-council", "support"), ("harwick-cyclists", "support")},
    "https://harwick.example/news/3": set(),
}

from __future__ import annotations

import pytest

from app.extraction.types import RegistrySnapshot

REGISTRY = {
    "actors": [
        {"slug": "russia", "name": "Russia", "kind": "state",
         "aliases": ["Russia", "Moscow", "the Kremlin", "Russian officials"], "memberships": []},
        {"slug": "united-states", "name": "United States", "kind": "state",
         "aliases": ["United States", "US", "Washington", "the White House"], "memberships": []},
        {"slug": "ukraine", "name": "Ukraine", "kind": "state", "aliases": ["Ukraine", "Kyiv"],
         "memberships": []},
        {"slug": "european-union", "name": "European Union", "kind": "bloc",
         "aliases": ["European Union", "EU", "the EU"], "memberships": []},
        {"slug": "germany", "name": "Germany", "kind": "state", "aliases": ["Germany", "Berlin"],
         "memberships": [{"parent": "europe", "from": None, "to": None}]},
        {"slug": "europe", "name": "Europe", "kind": "bloc", "aliases": ["Europe", "European leaders"],
         "memberships": []},
        {"slug": "olaf-scholz", "name": "Olaf Scholz", "kind": "person",
         "aliases": ["Scholz", "the German chancellor"],
         "memberships": [{"parent": "germany", "role": "chancellor", "from": "2021-12-08", "to": "2025-05-06"}]},
        {"slug": "friedrich-merz", "name": "Friedrich Merz", "kind": "person",
         "aliases": ["Merz", "Friedrich Merz", "the German chancellor"],
         "memberships": [{"parent": "germany", "role": "chancellor", "from": "2025-05-06", "to": None},
                         {"parent": "germany", "role": "party leader", "from": "2022-01-31", "to": None}]},
        {"slug": "sergey-lavrov", "name": "Sergey Lavrov", "kind": "person",
         "aliases": ["Lavrov", "Sergei Lavrov"],
         "memberships": [{"parent": "russia", "role": "foreign minister", "from": "2004-03-09", "to": None}]},
        {"slug": "donald-trump", "name": "Donald Trump", "kind": "person",
         "aliases": ["Trump", "President Donald Trump"],
         "memberships": [{"parent": "united-states", "role": "president", "from": "2025-01-20", "to": None}]},
    ],
    "topics": [
        {"slug": "ground-troops-ukraine", "name": "Foreign troops on the ground in Ukraine",
         "keywords": ["troops", "soldiers", "peacekeepers", "deploy"], "parent": None},
        {"slug": "us-military-aid-ukraine", "name": "US military aid to Ukraine",
         "keywords": ["military aid", "weapons", "pause"], "parent": None},
        {"slug": "tomahawk-missiles-ukraine", "name": "Tomahawk cruise missiles for Ukraine",
         "keywords": ["Tomahawk", "Tomahawks", "cruise missiles"], "parent": "us-military-aid-ukraine"},
        {"slug": "training-ukrainian-forces", "name": "Training Ukraine's armed forces",
         "keywords": ["train", "training", "instructors"], "parent": None},
    ],
}  # fmt: skip


@pytest.fixture
def registry() -> RegistrySnapshot:
    return RegistrySnapshot.from_dict(REGISTRY)

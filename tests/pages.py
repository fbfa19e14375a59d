"""Walk a cursor-paged list endpoint to its end."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient


def all_pages(client: TestClient, path: str, **params: Any) -> tuple[list[dict[str, Any]], int]:
    """Every item of a paged list, and how many pages it took."""
    items: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        page = client.get(path, params={**params, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            return items, pages

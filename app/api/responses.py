"""What the routers answer alike: shared OpenAPI response entries, the 404 of a lookup that found
nothing, and the status of an idempotent create."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Response, status

from app.errors import NotFound

T = TypeVar("T")

INVALID_INPUT: dict[int | str, dict[str, Any]] = {
    422: {"description": "Invalid input; the body names the field"}
}


def or_not_found(row: T | None, resource: str, key: object) -> T:
    """`row`, or the 404 naming `resource` and `key` when the lookup found none."""
    if row is None:
        raise NotFound(resource, key)
    return row


def ok_unless_created(response: Response, created: bool) -> None:
    """A create that finds the same entry stored answers 200 instead of 201, so a client retrying
    a request it saw fail can tell that nothing new was added."""
    if not created:
        response.status_code = status.HTTP_200_OK

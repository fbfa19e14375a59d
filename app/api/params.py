"""Parameter types shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from app.schemas import MAX_ID, QueryText

# ids past a signed 64-bit integer cannot name a row; refused as 422 before they reach the database
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
# a slug in the URL is looked up as given (an unknown or malformed one is a 404), but never with a NUL
SlugPath = Annotated[QueryText, Path()]

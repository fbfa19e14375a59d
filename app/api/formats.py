"""Tabular responses: tidy CSV and NDJSON with ISO-8601 UTC timestamps."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson
import pandas as pd
from fastapi.responses import Response


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def csv_response(frame: pd.DataFrame, filename: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        frame.to_csv(index=False, lineterminator="\n"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **(headers or {})},
    )


def ndjson_response(rows: Iterable[Mapping[Any, Any]], headers: dict[str, str] | None = None) -> Response:
    body = b"".join(orjson.dumps({k: _iso(v) for k, v in row.items()}) + b"\n" for row in rows)
    return Response(body, media_type="application/x-ndjson", headers=headers)


def records_frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{k: _iso(row.get(k)) for k in columns} for row in rows], columns=columns)

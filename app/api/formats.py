"""Tabular responses: tidy CSV, NDJSON and Parquet with ISO-8601 UTC timestamps.

CSV is opened by spreadsheets, which run a cell that starts with `=`, `+`, `-` or `@` (or a tab
or carriage return) as a formula: evidence quoted from an article or a speaker's name could carry
`=HYPERLINK(...)`. As OWASP advises, such a text cell gets a leading `'`, which spreadsheets show
as text. So that the original stays recoverable, a text that already starts with quotes before
one of those characters gets one more: in a CSV, a text value that starts with one or more `'`
followed by one of those six characters had exactly one `'` added; remove it to get the value as
stored. Numbers (a score of -0.5) are not text and stay numbers; JSON, NDJSON and Parquet carry
every value as stored.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
import pandas as pd
from fastapi import Query
from fastapi.responses import Response

Format = Literal["json", "csv", "ndjson"]
ExportFormat = Literal["json", "csv", "ndjson", "parquet"]
FormatParam = Annotated[Format, Query(description="json (default), csv (tidy) or ndjson")]
ExportFormatParam = Annotated[
    ExportFormat, Query(description="json (default), csv (tidy), ndjson or parquet")
]

TABULAR_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}, "application/x-ndjson": {}, "application/vnd.apache.parquet": {}}}
}


def iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


# a text cell a spreadsheet would run as a formula (after any quotes this module added before)
FORMULA_START = r"'*[=+\-@\t\r]"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with a `'` before every text cell that starts like a formula (see the module's doc);
    cells that are not text (numbers, booleans, missing values) are left as they are."""
    out = frame
    for name in frame.columns:
        column = frame[name]
        if not (column.dtype == object or isinstance(column.dtype, pd.StringDtype)):
            continue
        try:
            risky = column.str.match(FORMULA_START, na=False).astype(bool)
        except AttributeError:  # no text in this column at all
            continue
        if risky.any():
            if out is frame:
                out = frame.copy()
            out.loc[risky, name] = "'" + column[risky]
    return out


def csv_response(frame: pd.DataFrame, filename: str, headers: dict[str, str] | None = None) -> Response:
    return Response(
        neutralise_formulas(frame).to_csv(index=False, lineterminator="\n"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{filename}"', **(headers or {})},
    )


def ndjson_response(rows: Iterable[Mapping[Any, Any]], headers: dict[str, str] | None = None) -> Response:
    body = b"".join(orjson.dumps({k: iso(v) for k, v in row.items()}) + b"\n" for row in rows)
    return Response(body, media_type="application/x-ndjson", headers=headers)


def parquet_response(frame: pd.DataFrame, filename: str, headers: dict[str, str] | None = None) -> Response:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, engine="pyarrow")
    return Response(
        buffer.getvalue(),
        media_type="application/vnd.apache.parquet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **(headers or {})},
    )


def tabular_response(
    format: str,
    rows: list[dict[str, Any]],
    columns: list[str],
    name: str,
    headers: dict[str, str] | None = None,
) -> Response:
    """CSV, NDJSON or Parquet of `rows`; datetimes become ISO-8601 UTC text in CSV/NDJSON, timestamps in Parquet."""
    if format == "ndjson":
        return ndjson_response(rows, headers)
    if format == "parquet":
        frame = pd.DataFrame(rows, columns=columns)
        for column in columns:
            if rows and isinstance(rows[0].get(column), datetime):
                frame[column] = pd.to_datetime(frame[column], utc=True)
        return parquet_response(frame, f"{name}.parquet", headers)
    frame = pd.DataFrame([{k: iso(row.get(k)) for k in columns} for row in rows], columns=columns)
    return csv_response(frame, f"{name}.csv", headers)

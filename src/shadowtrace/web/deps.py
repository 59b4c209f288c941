"""Shared request plumbing: the store (one read-only connection, a cursor per request) and
the validated query parameters every list endpoint uses."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
from fastapi import Depends, Query, Request

from shadowtrace.errors import ConfigError, StoreError
from shadowtrace.filters import BBox, utc_naive
from shadowtrace.overview import require_current_schema
from shadowtrace.store import connect
from shadowtrace.vessels import event_types
from shadowtrace.web.errors import ApiError, invalid

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
_NUMBER = r"-?\d{1,3}(\.\d{1,20})?([eE][-+]?\d{1,2})?"  # as JavaScript and Python print floats
BBOX_PATTERN = rf"^{_NUMBER}(,{_NUMBER}){{3}}$"


class Store:
    """The store opened read-only once; DuckDB connections are not thread-safe, so every
    request works on its own cursor (a connection sharing the same database)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.open()  # now, so a missing or old store fails before the server starts

    def open(self) -> None:
        with self._lock:
            if self.con is not None:
                return
            con = connect(self.path, read_only=True)
            try:
                require_current_schema(con, self.path)
            except Exception:
                con.close()
                raise
            self.con = con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self.con is None:
                raise StoreError("the store is closed (the server is shutting down)")
            cur = self.con.cursor()
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def close(self) -> None:
        with self._lock:
            if self.con is not None:
                self.con.close()
                self.con = None


def get_con(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    store: Store = request.app.state.store
    cur = store.cursor()
    try:
        yield cur
    finally:
        cur.close()


Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"page size (at most {MAX_LIMIT})")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="rows to skip")]
Since = Annotated[dt.datetime | None, Query(description="ISO 8601; without a zone it is UTC")]
Until = Annotated[dt.datetime | None, Query(description="ISO 8601; without a zone it is UTC")]
BBoxText = Annotated[str | None, Query(pattern=BBOX_PATTERN, max_length=120,
                                       description="minlon,minlat,maxlon,maxlat in decimal degrees, as a "
                                                   "map gives it: longitudes wrap (minlon > maxlon crosses "
                                                   "the antimeridian), latitudes are clamped to -90..90")]
Mmsi = Annotated[int, Query(ge=1, le=999_999_999)]


def naive_time(value: dt.datetime | None, field: str) -> dt.datetime | None:
    """A query time as the store keeps it (naive UTC)."""
    try:
        return utc_naive(value)
    except ConfigError as exc:
        raise invalid(field, exc.message) from None


def parse_bbox(text: str | None) -> BBox | None:
    if text is None:
        return None
    try:
        return BBox.parse(text)
    except ConfigError as exc:
        raise invalid("bbox", exc.message) from None


def _event_type_enum() -> type[StrEnum]:
    return StrEnum("EventType", [(name, name) for name in event_types()])  # type: ignore[return-value]


# The detector types, as an enumeration in /openapi.json.
EventType = _event_type_enum()


REPEATABLE = frozenset({"type"})


def single_values(request: Request) -> None:
    """A parameter given twice is refused (only `type` repeats): otherwise the last one would
    silently win, and two parts of a system could read different values from one URL."""
    seen: set[str] = set()
    repeated: list[str] = []
    for key, _ in request.query_params.multi_items():
        if key in seen and key not in REPEATABLE and key not in repeated:
            repeated.append(key)
        seen.add(key)
    if repeated:
        raise ApiError(422, f"parameter given more than once: {', '.join(repeated)[:200]}",
                       details=[{"field": f"query.{key}", "message": "given more than once"} for key in repeated])

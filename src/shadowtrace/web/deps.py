"""Shared request plumbing: the store (one read-only connection, a cursor per request) and
the validated query parameters every list endpoint uses."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
from fastapi import Depends, Query, Request

from shadowtrace.errors import ConfigError, StoreError
from shadowtrace.filters import BBox, utc_naive
from shadowtrace.overview import require_current_schema, store_health
from shadowtrace.screen.ais_identity import flag_iso2
from shadowtrace.store import connect
from shadowtrace.vessels import event_types, store_ranking
from shadowtrace.web.errors import ApiError, invalid

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
_NUMBER = r"-?\d{1,3}(\.\d{1,20})?([eE][-+]?\d{1,2})?"  # as JavaScript and Python print floats
BBOX_PATTERN = rf"^{_NUMBER}(,{_NUMBER}){{3}}$"


# The positions of a store are kept in memory, ordered by vessel and time, up to this many rows
# (about 40 bytes a row): a store is written in arrival order, so one vessel's positions are
# spread over the whole file and a track would otherwise read every row group.
CACHE_ROWS_ENV = "SHADOWTRACE_POSITIONS_CACHE_ROWS"
DEFAULT_CACHE_ROWS = 30_000_000
POSITIONS_CACHE = "memory.main.vessel_positions"
RANKING_CACHE = "memory.main.vessel_ranking"
MAX_IDLE_CURSORS = 64  # uvicorn serves at most 64 requests at once (cli_serve)


def cache_rows_limit() -> int:
    text = os.environ.get(CACHE_ROWS_ENV, "").strip()
    if not text:
        return DEFAULT_CACHE_ROWS
    if not text.isdigit():
        raise ConfigError(f"{CACHE_ROWS_ENV} must be a number of rows, not {text[:20]!r}",
                          hint="0 turns the in-memory copy of the positions off")
    return int(text)


class Store:
    """The store opened read-only once; DuckDB connections are not thread-safe, so every
    request works on its own cursor (a connection sharing the same database).

    The store file is attached read-only to an in-memory database, which holds what does not
    change while the server runs (nothing else can write the file while it is open here): the
    counts of /api/health, the vessel ranking with each vessel's latest identity and lists
    (``ranking``, for :func:`shadowtrace.vessels.query_vessels`) and, up to ``cache_rows``
    positions, a copy of the positions' track columns (mmsi, ts, lat, lon, sog) ordered by
    vessel and time, which ``positions`` names for the library's queries (else the store's
    ``positions``)."""

    def __init__(self, path: Path, *, cache_rows: int | None = None):
        self.path = Path(path)
        self.cache_rows = cache_rows_limit() if cache_rows is None else cache_rows
        self._lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.positions = "positions"
        self.ranking = RANKING_CACHE
        self._health: dict | None = None
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self.open()  # now, so a missing or old store fails before the server starts

    def open(self) -> None:
        with self._lock:
            if self.con is not None:
                return
            check = connect(self.path, read_only=True)  # a missing file or another database fails here
            try:
                require_current_schema(check, self.path)
            finally:
                check.close()
            con = duckdb.connect(":memory:")
            try:
                quoted = str(self.path).replace("'", "''")
                con.execute(f"ATTACH '{quoted}' AS store (READ_ONLY)")
                con.execute("USE store; SET TimeZone = 'UTC'")
                self.positions = self._cache_positions(con)
                store_ranking(con, RANKING_CACHE)
                flag_iso2(273_000_000)  # load the flag table now, not under the first requests
                self._health = store_health(con)
            except duckdb.Error as exc:
                con.close()
                raise StoreError(f"cannot open store {self.path}: {exc}") from exc
            except Exception:
                con.close()
                raise
            self.con = con

    def _cache_positions(self, con: duckdb.DuckDBPyConnection) -> str:
        rows = con.execute("SELECT count(*) FROM positions").fetchall()[0][0]
        if rows > self.cache_rows:
            return "positions"
        con.execute(f"""CREATE TABLE {POSITIONS_CACHE} AS
                        SELECT mmsi, ts, lat, lon, sog FROM positions ORDER BY mmsi, ts""")
        return POSITIONS_CACHE

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one request: an idle one from earlier requests, or a new one."""
        with self._lock:
            if self.con is None:
                raise StoreError("the store is closed (the server is shutting down)")
            if self._idle:
                return self._idle.pop()
            cur = self.con.cursor()
        cur.execute("USE store; SET TimeZone = 'UTC'")
        return cur

    def release(self, cur: duckdb.DuckDBPyConnection, *, reuse: bool = True) -> None:
        """Give a cursor back when its request is done (kept for the next one, up to a few)."""
        with self._lock:
            if reuse and self.con is not None and len(self._idle) < MAX_IDLE_CURSORS:
                self._idle.append(cur)
                return
        cur.close()

    def health(self) -> dict:
        """Store counts, read once at opening (the store cannot change while it is open)."""
        with self._lock:
            if self.con is None or self._health is None:
                raise StoreError("the store is closed (the server is shutting down)")
            return dict(self._health)

    def close(self) -> None:
        with self._lock:
            for cur in self._idle:
                cur.close()
            self._idle.clear()
            if self.con is not None:
                self.con.close()
                self.con = None


def get_con(request: Request) -> Iterator[duckdb.DuckDBPyConnection]:
    store: Store = request.app.state.store
    cur = store.cursor()
    try:
        yield cur
    except BaseException:
        store.release(cur, reuse=False)  # whatever went wrong, the next request gets a fresh cursor
        raise
    store.release(cur)


Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]


def get_store(request: Request) -> Store:
    return request.app.state.store  # type: ignore[no-any-return]


StoreDep = Annotated[Store, Depends(get_store)]

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

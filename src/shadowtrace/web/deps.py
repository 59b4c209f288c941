"""Shared request plumbing: the store (one read-only connection, a cursor per request, and what
is computed from the store once) and the validated query parameters every list endpoint uses."""

from __future__ import annotations

import datetime as dt
import gc
import os
import threading
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import duckdb
from fastapi import Depends, Query, Request
from pydantic import TypeAdapter

from shadowtrace.errors import ConfigError, StoreError
from shadowtrace.filters import BBox, utc_naive
from shadowtrace.overview import require_current_schema, store_health
from shadowtrace.screen.ais_identity import flag_iso2
from shadowtrace.store import connect
from shadowtrace.tracks_geo import PositionArrays
from shadowtrace.vessels import VesselRanking, VesselSummaries, event_types, store_ranking
from shadowtrace.web.errors import ApiError, invalid
from shadowtrace.web.models import VesselRow

MAX_LIMIT = 500
MAX_OFFSET = 1_000_000
_NUMBER = r"-?\d{1,3}(\.\d{1,20})?([eE][-+]?\d{1,2})?"  # as JavaScript and Python print floats
BBOX_PATTERN = rf"^{_NUMBER}(,{_NUMBER}){{3}}$"


# The positions of a store are kept in memory, ordered by vessel and time, up to this many rows
# (about 70 bytes a row: a DuckDB table and numpy arrays): a store is written in arrival order,
# so one vessel's positions are spread over the whole file and a track would otherwise read
# every row group.
CACHE_ROWS_ENV = "SHADOWTRACE_POSITIONS_CACHE_ROWS"
DEFAULT_CACHE_ROWS = 30_000_000
CACHE_CATALOG = "memory"  # the in-memory database the caches are written to
POSITIONS_CACHE = f"{CACHE_CATALOG}.main.vessel_positions"
RANKING_CACHE = f"{CACHE_CATALOG}.main.vessel_ranking"
MAX_IDLE_CURSORS = 64  # uvicorn serves at most 64 requests at once (cli_serve)


def cache_rows_limit() -> int:
    text = os.environ.get(CACHE_ROWS_ENV, "").strip()
    if not text:
        return DEFAULT_CACHE_ROWS
    if not text.isdigit():
        raise ConfigError(f"{CACHE_ROWS_ENV} must be a number of rows, not {text[:20]!r}",
                          hint="0 turns the in-memory copy of the positions off")
    return int(text)


_ROW = TypeAdapter(VesselRow)


@dataclass(frozen=True)
class Caches:
    """What a Store computes from the store once (at opening and at each :meth:`Store.refresh`)."""

    health: dict
    ranking: VesselRanking
    vessels: VesselSummaries
    list_rows: list[bytes]  # each ranking row as the vessel list renders it (top 3 reasons), in rank order
    arrays: PositionArrays | None  # the positions copy as arrays, for tracks (None without a copy)

    @property
    def positions_copied(self) -> bool:
        return self.arrays is not None


def build_caches(con: duckdb.DuckDBPyConnection, *, cache_rows: int) -> Caches:
    """Compute everything a Store keeps, over ``con``: a connection (or cursor) on which the
    store's tables are the default names and the in-memory database ``memory`` is writable.

    Writes POSITIONS_CACHE (a copy of the positions' track columns ordered by vessel and time
    when the store has at most ``cache_rows`` positions, else a view of the store's table) and
    RANKING_CACHE, replacing earlier ones; reads the rest into memory. All in one transaction:
    every part comes from the same state of the store, and queries on other cursors see the old
    tables until the new ones are complete."""
    collecting = gc.isenabled()
    gc.disable()  # the caches are a few hundred thousand objects: collections meanwhile cost seconds
    con.execute("BEGIN TRANSACTION")
    try:
        rows = con.execute("SELECT count(*) FROM positions").fetchall()[0][0]
        copied = rows <= cache_rows
        catalog, schema, name = POSITIONS_CACHE.split(".")
        for (kind,) in con.execute("""SELECT table_type FROM information_schema.tables
                                      WHERE table_catalog = ? AND table_schema = ? AND table_name = ?""",
                                   [catalog, schema, name]).fetchall():
            con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} {POSITIONS_CACHE}")
        if copied:
            con.execute(f"""CREATE TABLE {POSITIONS_CACHE} AS
                            SELECT mmsi, ts, lat, lon, sog FROM positions ORDER BY mmsi, ts""")
        else:
            store = con.execute("SELECT current_database()").fetchall()[0][0]
            con.execute(f'CREATE VIEW {POSITIONS_CACHE} AS SELECT * FROM "{store}".main.positions')
        store_ranking(con, RANKING_CACHE, replace=True)
        ranking = VesselRanking(con, RANKING_CACHE)
        vessels = VesselSummaries(con, POSITIONS_CACHE)
        health = store_health(con)
        arrays = PositionArrays(con, POSITIONS_CACHE) if copied else None
        # The list's rows rendered once, exactly as the response model renders them in a page.
        list_rows = [_ROW.dump_json(_ROW.validate_python({**row, "reasons": row["reasons"][:3]}))
                     for row in ranking.rows]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        # The caches live as long as the server: out of the cyclic collector's reach, or every
        # full collection walks them all (over 300 ms on 10k vessels, a pause for every request).
        # Garbage first, so that no cycle is frozen with them (refresh() runs again and again).
        gc.collect()
        gc.freeze()
        if collecting:
            gc.enable()
    return Caches(health, ranking, vessels, list_rows, arrays)


class Store:
    """The store opened once; DuckDB connections are not thread-safe, so every request works on
    its own cursor (a connection sharing the same database).

    The store file is attached (read-only unless ``read_only=False``) to an in-memory
    database, which holds what :func:`build_caches` computes: a copy of the positions' track
    columns ordered by vessel and time (up to ``cache_rows`` positions; ``positions`` names it
    for the library's queries) and the vessel ranking (``ranking``); in Python, the counts of
    /api/health, the ranking with what the vessel list filters on (``vessel_ranking``), every
    vessel's summary (``vessels``), the list's rendered rows and the positions copy as arrays
    for tracks (``caches.arrays``). A server's store cannot change
    while it is open (the file is attached read-only, which locks it against writers); a process
    that writes through the store's connection calls :meth:`refresh` after each change."""

    def __init__(self, path: Path, *, cache_rows: int | None = None, read_only: bool = True):
        self.path = Path(path)
        self.cache_rows = cache_rows_limit() if cache_rows is None else cache_rows
        self.read_only = read_only
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self.con: duckdb.DuckDBPyConnection | None = None
        self.positions = POSITIONS_CACHE
        self.ranking = RANKING_CACHE
        self._caches: Caches | None = None
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
                con.execute(f"ATTACH '{quoted}' AS store{' (READ_ONLY)' if self.read_only else ''}")
                con.execute("USE store; SET TimeZone = 'UTC'")
                flag_iso2(273_000_000)  # load the flag table now, not under the first requests
                caches = self._build(con)
            except duckdb.Error as exc:
                con.close()
                raise StoreError(f"cannot open store {self.path}: {exc}") from exc
            except Exception:
                con.close()
                raise
            self.con, self._caches = con, caches

    def _build(self, con: duckdb.DuckDBPyConnection) -> Caches:
        return build_caches(con, cache_rows=self.cache_rows)

    def refresh(self) -> None:
        """Compute again everything kept since opening (positions copy, ranking, health counts,
        vessel summaries, rendered list rows) from the store as it is now: for a process that
        writes through this store's connection. Requests go on meanwhile on the previous caches
        and see the new ones once they are complete; one refresh runs at a time."""
        with self._refresh_lock:
            cur = self.cursor()
            try:
                caches = self._build(cur)
            except duckdb.Error as exc:
                self.release(cur, reuse=False)
                raise StoreError(f"cannot refresh store {self.path}: {exc}") from exc
            except BaseException:
                self.release(cur, reuse=False)
                raise
            self.release(cur)
            with self._lock:
                if self.con is not None:
                    self._caches = caches

    @property
    def caches(self) -> Caches:
        caches = self._caches
        if self.con is None or caches is None:
            raise StoreError("the store is closed (the server is shutting down)")
        return caches

    @property
    def vessel_ranking(self) -> VesselRanking:
        """The ranking in memory (:class:`shadowtrace.vessels.VesselRanking`)."""
        return self.caches.ranking

    @property
    def vessels(self) -> VesselSummaries:
        """Every vessel's summary (:class:`shadowtrace.vessels.VesselSummaries`)."""
        return self.caches.vessels

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
        """Store counts, as of opening or the last :meth:`refresh`."""
        return dict(self.caches.health)

    def close(self) -> None:
        with self._lock:
            for cur in self._idle:
                cur.close()
            self._idle.clear()
            if self.con is not None:
                self.con.close()
                self.con = None
            self._caches = None


async def get_con(request: Request) -> AsyncIterator[duckdb.DuckDBPyConnection]:
    # Taking an idle cursor and giving it back are quick: done on the event loop, not through
    # the thread pool (the route itself, a plain def, runs on a worker thread).
    store: Store = request.app.state.store
    cur = store.cursor()
    try:
        yield cur
    except BaseException:
        store.release(cur, reuse=False)  # whatever went wrong, the next request gets a fresh cursor
        raise
    store.release(cur)


Con = Annotated[duckdb.DuckDBPyConnection, Depends(get_con)]


async def get_store(request: Request) -> Store:
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


async def single_values(request: Request) -> None:
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

"""A vessel's track as GeoJSON for a map: continuous stretches, thinned to the zoom level."""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import numpy as np

from shadowtrace.errors import ConfigError
from shadowtrace.filters import positions_where, relation
from shadowtrace.geo import EARTH_RADIUS_M

JUMP_SPEED_KN = 60.0        # faster than any merchant ship: the line would draw a jump that did not happen
JUMP_MIN_DISTANCE_M = 1_000.0  # below this it is GNSS noise between near-simultaneous fixes, not a jump
MAX_VERTICES = 20_000
MAX_ZOOM = 22.0


def vertex_budget(zoom: float) -> int:
    """About 250 x 2^(zoom/2) vertices: doubling every two zoom levels, at most 20,000."""
    if not 0 <= zoom <= MAX_ZOOM:
        raise ConfigError(f"zoom {zoom} is outside 0..{MAX_ZOOM:g}")
    return min(MAX_VERTICES, round(250 * 2 ** (zoom / 2)))


# Breaks are found on every position, before thinning, so a jump is never averaged away;
# the first and last position of each stretch survive the thinning. One vessel's window is a few
# thousand rows at most: numpy does the steps (a SQL window query costs several times more).
def _breaks(ts: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """1 where a position starts a new stretch (a jump over 60 kn across more than 1 km, or the
    antimeridian crossed since the previous position), else 0; the first position is 0."""
    brk = np.zeros(len(ts), dtype=np.int64)
    if len(ts) < 2:
        return brk
    p_lat, p_lon = lat[:-1], lon[:-1]
    c_lat, c_lon = lat[1:], lon[1:]
    hav = (np.sin(np.radians(c_lat - p_lat) / 2) ** 2
           + np.cos(np.radians(c_lat)) * np.cos(np.radians(p_lat)) * np.sin(np.radians(c_lon - p_lon) / 2) ** 2)
    dist_m = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(hav))
    seconds = np.maximum(np.diff(ts).astype("timedelta64[us]").astype(np.int64) / 1e6, 1.0)
    jump = (dist_m > JUMP_MIN_DISTANCE_M) & (dist_m / 1852.0 / seconds * 3600 > JUMP_SPEED_KN)
    brk[1:] = (np.abs(c_lon - p_lon) > 180) | jump
    return brk


def _in_order(columns: tuple[np.ndarray, ...]) -> bool:
    """Whether the rows (one array a column) are in ascending order, column by column."""
    if len(columns[0]) < 2:
        return True
    after = np.zeros(len(columns[0]) - 1, dtype=bool)  # a row above the next one
    tied = np.ones(len(columns[0]) - 1, dtype=bool)
    for column in columns:
        after |= tied & (column[:-1] > column[1:])
        tied &= column[:-1] == column[1:]
    return not after.any()


def _order(mmsi: np.ndarray, ts: np.ndarray, rest: tuple[np.ndarray, ...]) -> np.ndarray | None:
    """The permutation that sorts rows by (mmsi, ts, *rest), or None when they are in that order
    already. Rows in (mmsi, ts) order (a copy written so: sorting on more keys would cost the
    copy several times more) only need their runs of equal (mmsi, ts) sorted."""
    if not _in_order((mmsi, ts)):
        return np.lexsort((*rest[::-1], ts, mmsi))
    tied = np.flatnonzero((mmsi[1:] == mmsi[:-1]) & (ts[1:] == ts[:-1]))
    if len(tied) == 0:
        return None
    rows = np.union1d(tied, tied + 1)  # every row of a run of equal (mmsi, ts), in order
    # A row starts a new run unless it follows the previous one and that one is tied to it.
    run = np.cumsum(np.append(1, ~((np.diff(rows) == 1) & np.isin(rows[:-1], tied))))
    if _in_order((run, *(column[rows] for column in rest))):
        return None
    key = np.arange(len(mmsi))
    key[rows] = rows[np.lexsort((*(column[rows] for column in rest[::-1]), run))]
    return key


class PositionArrays:
    """A table of positions held as numpy arrays ordered by vessel, time, latitude, longitude and
    speed, with where each vessel's rows start: one vessel's window is two binary searches, no
    query. About 29 bytes a position. For a reader that serves many tracks of a store that does
    not change meanwhile (the web server builds it from its copy of the positions)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str):
        # A table written in this order (the web server's copy) comes back in it; else it is sorted here.
        data = con.execute(f"SELECT mmsi, ts, lat, lon, sog FROM {relation(table)}").fetchnumpy()
        mmsi = np.asarray(data["mmsi"], dtype=np.int64)
        ts = np.asarray(data["ts"], dtype="datetime64[us]")
        lat, lon = np.asarray(data["lat"], dtype=np.float64), np.asarray(data["lon"], dtype=np.float64)
        sog = np.ma.getdata(data["sog"]).astype(np.float32)
        missing = np.ma.getmaskarray(data["sog"])
        del data
        key = _order(mmsi, ts.view(np.int64), (lat, lon, np.where(missing, np.inf, sog)))
        if key is not None:
            mmsi, ts, lat, lon, sog, missing = mmsi[key], ts[key], lat[key], lon[key], sog[key], missing[key]
        self.ts, self.lat, self.lon, self.sog, self.sog_missing = ts, lat, lon, sog, missing
        self.mmsis, starts = np.unique(mmsi, return_index=True)
        self.starts = starts.astype(np.int64)
        self.ends = np.append(self.starts[1:], len(mmsi)).astype(np.int64)

    def __len__(self) -> int:
        return len(self.ts)

    def knows(self, mmsi: int) -> bool:
        """Whether ``mmsi`` has positions here."""
        at = int(np.searchsorted(self.mmsis, mmsi))
        return at < len(self.mmsis) and int(self.mmsis[at]) == mmsi

    def window(self, mmsi: int, since: dt.datetime | None, until: dt.datetime | None) -> slice:
        """The rows of ``mmsi`` with since <= ts <= until (naive UTC, either open)."""
        at = int(np.searchsorted(self.mmsis, mmsi))
        if at == len(self.mmsis) or self.mmsis[at] != mmsi:
            return slice(0, 0)
        start, end = int(self.starts[at]), int(self.ends[at])
        times = self.ts[start:end]
        low = 0 if since is None else int(np.searchsorted(times, np.datetime64(since, "us"), "left"))
        high = len(times) if until is None else int(np.searchsorted(times, np.datetime64(until, "us"), "right"))
        return slice(start + low, start + max(low, high))


def track_geojson(con: duckdb.DuckDBPyConnection | None, mmsi: int, *, since: dt.datetime | None = None,
                  until: dt.datetime | None = None, zoom: float = 5.0,
                  positions: str = "positions", arrays: PositionArrays | None = None) -> dict[str, Any]:
    """GeoJSON FeatureCollection of the vessel's positions (naive UTC window): one LineString per
    continuous stretch, split at jumps over 60 kn and at the antimeridian, with
    ``properties.times`` (ISO, UTC) and ``properties.sog`` for each vertex. A stretch of one
    position is a LineString of that position twice (so every feature draws and replays alike).
    Raises :class:`shadowtrace.vessels.NotFoundError` for an MMSI the store has never seen.

    ``positions`` names the table to read (mmsi, ts, lat, lon, sog): the store's, or a copy
    ordered by vessel and time (the web server keeps one; see :mod:`shadowtrace.web.deps`);
    ``arrays``, the same positions as :class:`PositionArrays`, are read instead when given (then
    ``con`` is needed only to tell whether a vessel without positions is known)."""
    from shadowtrace.vessels import NotFoundError, vessel_known

    budget = vertex_budget(zoom)
    table = relation(positions)
    if arrays is not None:
        rows_of = arrays.window(mmsi, since, until)
        ts, lat, lon = arrays.ts[rows_of], arrays.lat[rows_of], arrays.lon[rows_of]
        sog_data, sog_mask = arrays.sog[rows_of], arrays.sog_missing[rows_of]
    else:
        condition, args = positions_where(mmsi=mmsi, since=since, until=until)
        data = con.execute(f"SELECT ts, lat, lon, sog FROM {table} WHERE {condition} ORDER BY ts, lat, lon",
                           args).fetchnumpy()
        ts = np.asarray(data["ts"], dtype="datetime64[us]")
        lat, lon = np.asarray(data["lat"], dtype=np.float64), np.asarray(data["lon"], dtype=np.float64)
        sog_data, sog_mask = np.ma.getdata(data["sog"]), np.ma.getmaskarray(data["sog"])
    total = len(ts)
    known = arrays is not None and arrays.knows(mmsi)  # else the store says
    if total == 0 and not known and not vessel_known(con, mmsi, positions=table):
        raise NotFoundError(f"no vessel with MMSI {mmsi} in this store",
                            hint="`shadowtrace vessels --db FILE` lists vessels")
    brk = _breaks(ts, lat, lon)
    seg = np.cumsum(brk)
    next_brk = np.append(brk[1:], 1)
    # Evenly spread: row n (1-based) is kept when floor(n * keep / total) steps up.
    keep = min(budget, total)
    n = np.arange(1, total + 1, dtype=np.int64)
    step = (n - 1) * keep // max(total, 1) != (n - 2) * keep // max(total, 1)
    rows = np.flatnonzero((n == 1) | step | (brk == 1) | (next_brk == 1))
    sog_values = sog_data[rows].astype(np.float64).tolist()
    sog_missing = sog_mask[rows].tolist()
    times = [t + "Z" for t in np.datetime_as_string(ts[rows].astype("datetime64[s]"), unit="s").tolist()]
    coordinates = np.column_stack((lon[rows], lat[rows])).tolist()
    speeds = [None if missing else round(speed, 1) for speed, missing in zip(sog_values, sog_missing)]
    # Stretches are runs of equal `seg` (it never decreases).
    bounds = [0, *(np.flatnonzero(np.diff(seg[rows])) + 1).tolist(), len(rows)] if len(rows) else [0]
    features = []
    for index, (start, end) in enumerate(zip(bounds[:-1], bounds[1:])):
        points, stamps, sog = coordinates[start:end], times[start:end], speeds[start:end]
        if end - start == 1:
            points, stamps, sog = [points[0], list(points[0])], stamps * 2, sog * 2
        features.append({
            "type": "Feature",
            "geometry": {"type": "LineString", "coordinates": points},
            "properties": {"mmsi": mmsi, "stretch": index, "times": stamps, "sog": sog},
        })
    return {"type": "FeatureCollection", "features": features, "mmsi": mmsi,
            "total_positions": int(total), "vertices": len(rows)}

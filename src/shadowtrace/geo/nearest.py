"""Vectorised nearest-port and in-port look-ups, plus DuckDB registration of the geo tables.

Ports are indexed as unit vectors on the sphere in a k-d tree: straight-line (chord) distance
grows monotonically with great-circle distance, so the nearest neighbour in 3-D is the nearest
port on the globe, with no special cases at the date line or the poles.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from scipy.spatial import cKDTree

from shadowtrace.geo import EARTH_RADIUS_M
from shadowtrace.geo.ports import load_ports, sts_areas

if TYPE_CHECKING:
    import duckdb

# Enough neighbours that a containing port is almost never missed where anchorage groups crowd.
_WITHIN_K = 16


def haversine_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres (broadcasts like numpy)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    cl = np.cos(la)
    return np.column_stack([cl * np.cos(lo), cl * np.sin(lo), np.sin(la)])


def _chord(metres: np.ndarray | float) -> np.ndarray:
    return 2.0 * np.sin(np.minimum(np.asarray(metres) / EARTH_RADIUS_M, np.pi) / 2.0)


def _arc_m(chord: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))


@lru_cache(maxsize=1)
def _index() -> tuple[cKDTree, np.ndarray, cKDTree, np.ndarray]:
    ports = load_ports()
    lat, lon = ports["lat"].to_numpy(), ports["lon"].to_numpy()
    radius_chord = _chord(ports["radius_m"].to_numpy())
    term = np.flatnonzero(ports["kind"].to_numpy(zero_copy_only=False) == "terminal")
    xyz = _unit(lat, lon)
    return cKDTree(xyz), radius_chord, cKDTree(xyz[term]), term


def _prepare(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
    # AIS "not available" (91, 181) and NaN fall outside; they get no port.
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    return _unit(lat[ok], lon[ok]), ok


def nearest_port(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distance in metres to the nearest port and its row in :func:`load_ports`.

    Invalid positions (NaN, |lat| > 90, |lon| > 180) give distance NaN and index -1.
    """
    xyz, ok = _prepare(lat, lon)
    tree = _index()[0]
    dist = np.full(ok.shape, np.nan)
    idx = np.full(ok.shape, -1, dtype=np.int64)
    if xyz.size:
        d, i = tree.query(xyz, workers=-1)
        dist[ok], idx[ok] = _arc_m(d), i
    return dist, idx


def within_port(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Row of a port whose ``radius_m`` contains each point, else -1.

    A containing Russian export terminal wins (it decides sanctions relevance); otherwise the
    nearest containing port among the nearest few.
    """
    xyz, ok = _prepare(lat, lon)
    tree, radius_chord, term_tree, term = _index()
    out = np.full(ok.shape, -1, dtype=np.int64)
    if not xyz.size:
        return out
    d, i = tree.query(xyz, k=_WITHIN_K, distance_upper_bound=float(radius_chord.max()), workers=-1)
    found = i < len(radius_chord)  # misses come back as index n, distance inf
    inside = found & (d <= radius_chord[np.where(found, i, 0)])
    first = np.argmax(inside, axis=1)  # neighbours are sorted by distance
    best = np.where(inside.any(axis=1), i[np.arange(len(i)), first], -1)
    td, ti = term_tree.query(xyz, workers=-1)
    in_term = td <= radius_chord[term[ti]]
    best = np.where(in_term, term[ti], best)
    out[ok] = best
    return out


def register_geo_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create temp tables ``geo_ports`` (with ``port_index`` = row of :func:`load_ports`, the
    value :func:`nearest_port` returns) and ``geo_sts_areas`` in ``con`` for SQL joins."""
    ports = load_ports()
    ports = ports.add_column(0, "port_index", pa.array(np.arange(ports.num_rows, dtype=np.int32)))
    for name, table in (("geo_ports", ports), ("geo_sts_areas", sts_areas())):
        view = f"_shadowtrace_{name}_src"
        con.register(view, table)
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
        finally:
            con.unregister(view)

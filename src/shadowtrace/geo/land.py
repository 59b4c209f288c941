"""Land tests on the 1 km (1/120 degree) GLOBE land mask, shipped as run boundaries.

The mask is a 21600 x 43200 grid flattened row by row (row 0 = latitude 90, column 0 =
longitude -180). We keep only the flat positions where its value changes, so a cell's value
is the parity of changes up to it, and "is this stretch of a row all land?" is one
binary search: the stretch starts on land and the next change lies beyond it.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from shadowtrace.geo import EARTH_RADIUS_M, data_path

_CELLS_PER_DEG = 120
_NE_CELLS_PER_DEG = 10
_M_PER_DEG = EARTH_RADIUS_M * np.pi / 180.0


@lru_cache(maxsize=1)
def _mask() -> tuple[np.ndarray, bool, int, int]:
    with np.load(data_path("land_mask_runs.npz")) as z:
        changes = np.cumsum(z["steps"], dtype=np.int64)
        rows, cols = (int(v) for v in z["shape"])
        return changes, bool(z["first_land"]), rows, cols


@lru_cache(maxsize=1)
def _ne_land() -> np.ndarray:
    """Natural Earth 110m land on a 0.1-degree grid (row 0 = 90N): it has the Caspian as water."""
    with np.load(data_path("land_mask_runs.npz")) as z:
        return np.unpackbits(z["ne_land"], axis=1)[:, : 360 * _NE_CELLS_PER_DEG].astype(bool)


def _cells(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column (nearest mask sample) and a validity flag for each position."""
    lat, lon = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    _, _, nrows, ncols = _mask()
    row = np.clip(np.rint((90.0 - np.where(ok, lat, 0)) * _CELLS_PER_DEG), 0, nrows - 1)
    col = np.rint((np.where(ok, lon, 0) + 180.0) * _CELLS_PER_DEG) % ncols  # lon 180 == -180
    return row.astype(np.int64), col.astype(np.int64), ok


def _all_land(start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """True where every flat cell in [start, stop] (inclusive, one row) is land."""
    changes, first, _, _ = _mask()
    k = np.searchsorted(changes, start, side="right")
    land = (k % 2 == 0) == first
    nxt = changes[np.minimum(k, len(changes) - 1)]
    return land & ((k == len(changes)) | (nxt > stop))


def is_on_land(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """True where the position's 1 km mask cell is land; invalid positions are False."""
    row, col, ok = _cells(lat, lon)
    flat = row * _mask()[3] + col
    return np.asarray(_all_land(flat, flat) & ok)


def is_well_inland(
    lat: np.ndarray, lon: np.ndarray, margin_km: float = 5.0, port_buffer_km: float = 25.0
) -> np.ndarray:
    """True where a position is on land, every mask cell whose centre lies within ``margin_km``
    is land too, Natural Earth 110m also calls it land, and no port or anchorage centre lies
    within ``port_buffer_km``.

    Meant for flagging implausible (spoofed or corrupt) positions. The mask is GLOBE's "not
    ocean", so it fills narrow waters (Nieuwe Waterweg, Kola Bay, rivers) and lakes with land;
    a quarter of GFW's anchorage points sit in such cells. Ports and anchorages mark water that
    ships really use, hence the port buffer (0 disables it); the Natural Earth test removes the
    Caspian. Open parts of the Great Lakes and rivers far from any anchorage still count.
    """
    lat_a, lon_a = np.broadcast_arrays(np.asarray(lat, float), np.asarray(lon, float))
    out = np.array(is_on_land(lat_a, lon_a))
    if out.any():
        ne = _ne_land()
        r = np.clip(((90.0 - lat_a[out]) * _NE_CELLS_PER_DEG).astype(np.int64), 0, ne.shape[0] - 1)
        c = ((lon_a[out] + 180.0) * _NE_CELLS_PER_DEG).astype(np.int64) % ne.shape[1]
        out[out] = ne[r, c]
    if port_buffer_km > 0 and out.any():
        from shadowtrace.geo.nearest import nearest_port  # lazy: is_on_land needs no scipy

        dist, _ = nearest_port(lat_a[out], lon_a[out])
        out[out] = dist > port_buffer_km * 1000.0
    cand = np.flatnonzero(out)
    if not cand.size or margin_km <= 0:
        return out
    _, _, nrows, ncols = _mask()
    la, lo = lat_a.ravel()[cand], (lon_a.ravel()[cand] + 180.0) % 360.0 - 180.0  # 180 -> -180
    row, _, _ = _cells(la, lo)
    margin_m = margin_km * 1000.0
    reach = int(np.ceil(margin_m / _M_PER_DEG * _CELLS_PER_DEG)) + 1
    good = np.ones(cand.size, bool)
    for dy in range(-reach, reach + 1):
        r = row + dy
        inside = (r >= 0) & (r < nrows)  # rows past a pole are covered by the full polar rows
        r = np.clip(r, 0, nrows - 1)
        row_lat = 90.0 - r / _CELLS_PER_DEG
        v = np.abs(la - row_lat) * _M_PER_DEG
        half_m = np.sqrt(np.maximum(margin_m**2 - v**2, 0.0))
        cos = np.maximum(np.cos(np.radians(row_lat)), 1e-12)
        half_deg = half_m / (_M_PER_DEG * cos)
        c0 = np.ceil((lo - half_deg + 180.0) * _CELLS_PER_DEG - 1e-9).astype(np.int64)
        c1 = np.floor((lo + half_deg + 180.0) * _CELLS_PER_DEG + 1e-9).astype(np.int64)
        use = inside & (v <= margin_m) & (c1 >= c0)  # some cell centre lies within the margin
        full = (c1 - c0 + 1) >= ncols
        c0, c1 = np.where(full, 0, c0), np.where(full, ncols - 1, c1)
        # Up to two pieces when the span wraps the antimeridian.
        a0, a1 = np.clip(c0, 0, ncols - 1), np.clip(c1, 0, ncols - 1)
        ok = _all_land(r * ncols + a0, r * ncols + a1)
        lo_wrap, hi_wrap = c0 < 0, c1 >= ncols
        b0 = np.where(lo_wrap, c0 + ncols, 0)
        b1 = np.where(lo_wrap, ncols - 1, np.where(hi_wrap, c1 - ncols, 0))
        ok &= ~(lo_wrap | hi_wrap) | _all_land(r * ncols + b0, r * ncols + b1)
        good &= ~use | ok
    flat = out.reshape(-1)  # a view: out is a fresh contiguous array
    flat[cand] = good
    return out

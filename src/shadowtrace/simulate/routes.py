"""Places vessels visit and the sea lanes between them (searoute), cached per process.

Ports come from :func:`shadowtrace.geo.ports.load_ports`, so a simulated stay lands inside the
same port radius the detectors use. Vessels stop at a Global Fishing Watch anchorage near each
hub: those are points where real ships stopped, hence in water.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from shadowtrace.geo import data_path
from shadowtrace.geo.land import is_on_land, is_well_inland
from shadowtrace.geo.nearest import haversine_m, nearest_port, within_port
from shadowtrace.geo.ports import load_ports, sts_areas

M_PER_DEG = 111_195.0
KN = 1852.0 / 3600.0  # metres per second in one knot

# Busy hubs (approximate centres); each is mapped to the nearest anchorage of load_ports().
HUBS: tuple[tuple[str, float, float], ...] = (
    ("Rotterdam", 51.98, 4.05), ("Antwerp", 51.35, 4.25), ("Wilhelmshaven", 53.60, 8.10),
    ("Gdansk", 54.45, 18.70), ("Klaipeda", 55.72, 21.08), ("Muuga", 59.52, 24.95),
    ("Gothenburg", 57.68, 11.80), ("Skagen", 57.75, 10.65), ("Le Havre", 49.48, 0.05),
    ("Immingham", 53.62, -0.10), ("Brofjorden", 58.34, 11.38), ("Porvoo", 60.28, 25.58),
    ("Algeciras", 36.12, -5.40), ("Valencia", 39.42, -0.28), ("Fos", 43.38, 4.90),
    ("Genoa", 44.39, 8.88), ("Trieste", 45.63, 13.72), ("Piraeus", 37.92, 23.58),
    ("Agioi Theodoroi", 37.91, 23.10), ("Augusta", 37.20, 15.24), ("Marsaxlokk", 35.82, 14.56),
    ("Ceyhan", 36.86, 35.92), ("Mersin", 36.76, 34.66), ("Aliaga", 38.80, 26.92),
    ("Istanbul", 40.98, 28.95), ("Port Said", 31.30, 32.30), ("Alexandria", 31.20, 29.82),
    ("Constanta", 44.15, 28.70), ("Burgas", 42.47, 27.52), ("Batumi", 41.66, 41.60),
    ("Samsun", 41.32, 36.36), ("Fujairah", 25.15, 56.40), ("Jebel Ali", 25.02, 55.02),
    ("Ras Tanura", 26.66, 50.20), ("Sohar", 24.52, 56.66), ("Jeddah", 21.45, 39.10),
    ("Yanbu", 24.05, 38.02), ("Ain Sukhna", 29.58, 32.38), ("Djibouti", 11.62, 43.10),
    ("Sikka", 22.48, 69.80), ("Mumbai", 18.92, 72.82), ("Colombo", 6.96, 79.82),
    ("Singapore", 1.24, 103.82), ("Port Klang", 2.98, 101.30), ("Qingdao", 36.02, 120.35),
    ("Ningbo", 29.90, 122.00), ("Busan", 35.05, 129.05), ("Yeosu", 34.72, 127.78),
    ("Ulsan", 35.45, 129.42), ("Lome", 6.10, 1.28), ("Lagos", 6.38, 3.40), ("Dakar", 14.66, -17.40),
)


@dataclass(frozen=True)
class Place:
    """Where a vessel stops: a port-table row's neighbourhood or an STS hub at sea."""

    key: str
    name: str
    lat: float
    lon: float
    port_row: int  # row of load_ports(), -1 at sea
    anchorage: bool
    sanctioned: bool


@dataclass(frozen=True)
class Route:
    """A sea lane as a polyline with cumulative great-circle distance in metres."""

    lat: np.ndarray
    lon: np.ndarray
    cum: np.ndarray
    bearing: np.ndarray  # per segment, degrees true

    @property
    def length(self) -> float:
        return float(self.cum[-1])

    def reversed(self) -> Route:
        return make_route(self.lat[::-1].copy(), self.lon[::-1].copy())

    def at(self, s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Latitude, longitude and course at distances ``s`` along the route."""
        s = np.clip(np.asarray(s, float), 0.0, self.length)
        i = np.clip(np.searchsorted(self.cum, s, side="right") - 1, 0, len(self.cum) - 2)
        seg = self.cum[i + 1] - self.cum[i]
        f = np.where(seg > 0, (s - self.cum[i]) / np.where(seg > 0, seg, 1.0), 0.0)
        lat = self.lat[i] + f * (self.lat[i + 1] - self.lat[i])
        lon = self.lon[i] + f * (self.lon[i + 1] - self.lon[i])
        return lat, lon, self.bearing[i]


def bearing_deg(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2, dl = np.radians(lat1), np.radians(lat2), np.radians(lon2 - lon1)
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.degrees(np.arctan2(y, x)) % 360.0


def offset(lat: float, lon: float, north_m: float, east_m: float) -> tuple[float, float]:
    """A point ``north_m``/``east_m`` metres away (flat-earth, fine below ~50 km)."""
    return (lat + north_m / M_PER_DEG, lon + east_m / (M_PER_DEG * np.cos(np.radians(lat))))


def make_route(lat: np.ndarray, lon: np.ndarray, max_step_m: float = 20_000.0) -> Route:
    """Route through the given vertices, densified so linear interpolation stays on course."""
    keep = np.concatenate([[True], (np.abs(np.diff(lat)) + np.abs(np.diff(lon))) > 1e-7])
    lat, lon = lat[keep], lon[keep]
    seg = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:])
    parts = np.maximum(1, np.ceil(seg / max_step_m)).astype(int)
    base = np.concatenate([np.repeat(np.arange(len(seg)), parts), [len(seg) - 1]])
    first = np.repeat(np.cumsum(parts) - parts, parts)
    frac = np.concatenate([(np.arange(parts.sum()) - first) / np.repeat(parts, parts), [1.0]])
    dlat, dlon = lat[1:] - lat[:-1], lon[1:] - lon[:-1]
    dense_lat = lat[base] + frac * dlat[base]
    dense_lon = lon[base] + frac * dlon[base]
    step = haversine_m(dense_lat[:-1], dense_lon[:-1], dense_lat[1:], dense_lon[1:])
    cum = np.concatenate([[0.0], np.cumsum(step)])
    brg = bearing_deg(dense_lat[:-1], dense_lon[:-1], dense_lat[1:], dense_lon[1:])
    return Route(dense_lat, dense_lon, cum, brg)


def _cache_dir() -> Path | None:
    """Where computed lanes persist between runs (``SHADOWTRACE_CACHE``, else the user cache);
    None when unwritable. Lanes are pure functions of their end points and shipped data."""
    root = os.environ.get("SHADOWTRACE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "shadowtrace")
    path = Path(root) / f"lanes-{_CACHE_VERSION}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return path


_CACHE_VERSION = "2"


@lru_cache(maxsize=1)
def _land_stamp() -> int:
    """Changes when the shipped land mask does (lanes are pulled off land with it)."""
    return data_path("land_mask_runs.npz").stat().st_size


@lru_cache(maxsize=4096)
def _lane(a: tuple[float, float], b: tuple[float, float]) -> Route | None:
    folder = _cache_dir()
    key = hashlib.sha1(repr((a, b, _land_stamp())).encode()).hexdigest()
    file = folder / f"{key}.npy" if folder is not None else None
    if file is not None and file.exists():
        try:
            pts = np.load(file)
        except (OSError, ValueError):
            pts = None
        if pts is not None and pts.shape[0] == 4:
            if not pts.size:
                return None
            return Route(pts[0].copy(), pts[1].copy(), pts[2].copy(), pts[3, :-1].copy())
    route = _search_lane(a, b)
    if file is not None:
        tmp = file.with_suffix(f".{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                np.save(fh, np.vstack([route.lat, route.lon, route.cum, np.append(route.bearing, 0.0)])
                        if route is not None else np.zeros((4, 0)))
            os.replace(tmp, file)
        except OSError:
            pass
    return route


def _search_lane(a: tuple[float, float], b: tuple[float, float]) -> Route | None:
    import searoute

    try:
        feat = searoute.searoute([a[1], a[0]], [b[1], b[0]], restrictions=["northwest"])
    except Exception:  # searoute raises bare exceptions when no path exists
        return None
    coords = np.asarray(feat["geometry"]["coordinates"], float)
    if coords.ndim != 2 or len(coords) < 2 or np.any(np.abs(np.diff(coords[:, 0])) > 180):
        return None  # date-line crossings would need unwrapping; hubs never need them
    lat = np.concatenate([[a[0]], coords[:, 1], [b[0]]])
    lon = np.concatenate([[a[1]], coords[:, 0], [b[1]]])
    # The searoute network cuts corners (the Dardanelles bend, harbour approaches): pull
    # vertices off land, then refuse lanes that still run well inland (e.g. the Suez canal,
    # too narrow for the 1 km land mask), which would read as spoofed positions.
    dense = make_route(lat, lon, max_step_m=2_000.0)
    lat, lon = _to_water(dense.lat, dense.lon)
    route = make_route(lat, lon, max_step_m=2_000.0)
    probe_lat, probe_lon, _ = route.at(np.arange(0.0, route.length, 500.0))
    if is_well_inland(probe_lat, probe_lon).any():
        return None
    return route


def _to_water(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = lat.copy(), lon.copy()
    wet = ~is_on_land(lat, lon)
    wet[[0, -1]] = True  # the end points are chosen stop places
    ang = np.arange(16) * np.pi / 8
    rad = np.arange(500.0, 8001.0, 500.0)
    dn = (rad[:, None] * np.cos(ang)[None, :]).ravel()
    de = (rad[:, None] * np.sin(ang)[None, :]).ravel()
    for i in np.flatnonzero(~wet):
        clat = lat[i] + dn / M_PER_DEG
        clon = lon[i] + de / (M_PER_DEG * np.cos(np.radians(lat[i])))
        ok = np.flatnonzero(~is_on_land(clat, clon))
        if ok.size:
            lat[i], lon[i] = clat[ok[0]], clon[ok[0]]
    return lat, lon


_REVERSED: dict[tuple[tuple[float, float], tuple[float, float]], Route] = {}


def lane(a: Place, b: Place) -> Route | None:
    """Sea route from ``a`` to ``b``; one searoute call per unordered pair per process."""
    ka, kb = (a.lat, a.lon), (b.lat, b.lon)
    if ka <= kb:
        return _lane(ka, kb)
    route = _lane(kb, ka)
    if route is None:
        return None
    if (ka, kb) not in _REVERSED:
        _REVERSED[(ka, kb)] = route.reversed()
    return _REVERSED[(ka, kb)]


def _sea_point(lat: float, lon: float, max_r: float, row: int) -> tuple[float, float] | None:
    """Nearest ring point to (lat, lon) that is water and lies in port row ``row``."""
    cand = [(lat, lon)] + [
        offset(lat, lon, r * np.cos(k * np.pi / 8), r * np.sin(k * np.pi / 8))
        for r in np.arange(250.0, max_r, 250.0) for k in range(16)
    ]
    clat, clon = np.array([c[0] for c in cand]), np.array([c[1] for c in cand])
    ok = ~is_on_land(clat, clon) & (within_port(clat, clon) == row)
    if not ok.any():
        return None
    j = int(np.flatnonzero(ok)[0])
    return float(clat[j]), float(clon[j])


@lru_cache(maxsize=1)
def hubs() -> tuple[Place, ...]:
    """Hub anchorages plus every Russian export terminal, as stop places."""
    ports = load_ports()
    lat, lon = ports["lat"].to_numpy(), ports["lon"].to_numpy()
    kind = ports["kind"].to_numpy(zero_copy_only=False)
    names = ports["name"].to_pylist()
    radius = ports["radius_m"].to_numpy()
    out: list[Place] = []
    anch = np.flatnonzero(kind == "anchorage")
    for name, hlat, hlon in HUBS:
        d = haversine_m(hlat, hlon, lat[anch], lon[anch])
        j = int(np.argmin(d))
        if d[j] > 25_000:
            continue
        row = int(anch[j])
        where = _sea_point(float(lat[row]), float(lon[row]), 0.4 * radius[row], row)
        if where is not None:
            out.append(Place(f"hub:{name}", names[row], *where, row, True, False))
    # Russian export terminals (kind 'terminal'); a terminal wins in within_port().
    for row in np.flatnonzero(kind == "terminal"):
        where = _sea_point(float(lat[row]), float(lon[row]), 0.6 * radius[row], int(row))
        if where is not None:
            out.append(Place(f"term:{row}", names[row], *where, int(row), False, True))
    return tuple(out)


@lru_cache(maxsize=1)
def sts_places(min_port_km: float = 20.0) -> tuple[Place, ...]:
    """STS hubs moved (within their area) to a sea point at least ``min_port_km`` from any
    port or anchorage, so transfers there are encounters under the detectors' definition."""
    areas = sts_areas()
    out: list[Place] = []
    ring = [(r, k) for r in (0.0, 4000.0, 8000.0, 12000.0) for k in range(12 if r else 1)]
    for name, alat, alon in zip(areas["name"].to_pylist(), areas["lat"].to_numpy(), areas["lon"].to_numpy()):
        cand = [offset(float(alat), float(alon), r * np.cos(k * np.pi / 6), r * np.sin(k * np.pi / 6))
                for r, k in ring]
        clat = np.array([c[0] for c in cand])
        clon = np.array([c[1] for c in cand])
        dist, _ = nearest_port(clat, clon)
        ok = (dist >= min_port_km * 1000.0) & ~is_on_land(clat, clon)
        if ok.any():
            j = int(np.flatnonzero(ok)[0])
            out.append(Place(f"sts:{name}", name, float(clat[j]), float(clon[j]), -1, False, False))
    return tuple(out)


def nearest_places(target: Place, pool: tuple[Place, ...], k: int) -> list[Place]:
    return list(_nearest(target, pool, k))


@lru_cache(maxsize=8192)
def _nearest(target: Place, pool: tuple[Place, ...], k: int) -> tuple[Place, ...]:
    others = [p for p in pool if p.key != target.key]
    d = haversine_m(target.lat, target.lon, np.array([p.lat for p in others]), np.array([p.lon for p in others]))
    return tuple(others[i] for i in np.argsort(d, kind="stable")[:k])

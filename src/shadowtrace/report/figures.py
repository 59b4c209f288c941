"""Geometry for the dossier's two inline SVG figures: the track map and the event timeline.

Functions here return numbers and short strings only; the Jinja template writes the SVG
elements, so every label goes through the same autoescaping as the rest of the page.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

import numpy as np

from shadowtrace.geo import data_path
from shadowtrace.geo.ports import russian_terminals, sts_areas

MAP_WIDTH = 960
MAP_MIN_HEIGHT = 320
MAP_MAX_HEIGHT = 600
MIN_MARGIN_DEG = 2.0  # enough sea around a short track to see where it is
MAX_LAT = 85.0
SIMPLIFY_PX = 0.8  # land vertices closer than this to the previous one are dropped

# One fixed colour per event type (Okabe-Ito based, readable by colour-blind readers).
EVENT_COLOURS = {
    "ais_gap": "#e69f00",
    "encounter": "#d55e00",
    "loitering": "#0072b2",
    "port_call": "#009e73",
    "teleport": "#cc79a7",
    "position_on_land": "#8c564b",
    "identity_conflict": "#56b4e9",
    "identity_change": "#6a3d9a",
    "draught_change": "#b8860b",
    "invalid_identity": "#7f7f7f",
}
_SPARE_COLOURS = ("#17becf", "#bcbd22", "#393b79", "#843c39", "#637939")
EVENT_LABELS = {
    "ais_gap": "AIS gap",
    "encounter": "STS encounter",
    "loitering": "Loitering",
    "port_call": "Port call",
    "teleport": "Position jump",
    "position_on_land": "Position on land",
    "identity_conflict": "Identity conflict",
    "identity_change": "Identity change",
    "draught_change": "Draught change",
    "invalid_identity": "Invalid identity",
}


def event_colour(kind: str) -> str:
    if kind in EVENT_COLOURS:
        return EVENT_COLOURS[kind]
    # Unknown (future) detectors still get a stable colour.
    return _SPARE_COLOURS[sum(kind.encode()) % len(_SPARE_COLOURS)]


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, kind.replace("_", " ").capitalize())


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).replace(tzinfo=None)


# --- map -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapView:
    """Equirectangular view with a standard parallel at the view's middle latitude."""

    lon0: float
    lon1: float
    lat0: float
    lat1: float
    kx: float  # cos(middle latitude): keeps shapes right away from the equator
    scale: float  # pixels per projected degree
    width: int
    height: int

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        return (round((lon - self.lon0) * self.kx * self.scale, 1),
                round((self.lat1 - lat) * self.scale, 1))

    def contains(self, lat: float, lon: float) -> bool:
        return self.lat0 <= lat <= self.lat1 and self.lon0 <= lon <= self.lon1


def fit_view(lats: list[float], lons: list[float], *, width: int = MAP_WIDTH) -> MapView:
    """A view around the points with at least MIN_MARGIN_DEG of margin. Tracks that cross the
    antimeridian get the full longitude range rather than a wrapped view."""
    lat_lo, lat_hi = min(lats), max(lats)
    lon_lo, lon_hi = min(lons), max(lons)
    margin = max(MIN_MARGIN_DEG, 0.15 * max(lat_hi - lat_lo, lon_hi - lon_lo))
    lat_lo, lat_hi = max(-MAX_LAT, lat_lo - margin), min(MAX_LAT, lat_hi + margin)
    if lon_hi - lon_lo > 180.0:
        lon_lo, lon_hi = -180.0, 180.0
    else:
        lon_lo, lon_hi = max(-180.0, lon_lo - margin), min(180.0, lon_hi + margin)
    kx = max(0.2, math.cos(math.radians((lat_lo + lat_hi) / 2)))
    w_deg, h_deg = (lon_hi - lon_lo) * kx, lat_hi - lat_lo
    height = int(min(MAP_MAX_HEIGHT, max(MAP_MIN_HEIGHT, width * h_deg / w_deg)))
    # Grow the narrower side so the box fills the figure without distortion.
    if w_deg / h_deg < width / height:
        extra = (h_deg * width / height / kx - (lon_hi - lon_lo)) / 2
        lon_lo, lon_hi = _grow(lon_lo, lon_hi, extra, -180.0, 180.0)
    else:
        extra = (w_deg * height / width - h_deg) / 2
        lat_lo, lat_hi = _grow(lat_lo, lat_hi, extra, -MAX_LAT, MAX_LAT)
    scale = min(width / ((lon_hi - lon_lo) * kx), height / (lat_hi - lat_lo))
    return MapView(lon_lo, lon_hi, lat_lo, lat_hi, kx, scale, width, height)


def _grow(lo: float, hi: float, extra: float, floor: float, ceil: float) -> tuple[float, float]:
    lo, hi = lo - extra, hi + extra
    if lo < floor:
        hi, lo = min(ceil, hi + floor - lo), floor
    if hi > ceil:
        lo, hi = max(floor, lo - (hi - ceil)), ceil
    return lo, hi


@lru_cache(maxsize=1)
def _land_polygons() -> tuple[tuple[tuple[float, float, float, float], tuple[np.ndarray, ...]], ...]:
    """Natural Earth 110m land as (bbox, rings) per polygon; rings are (n, 2) lon/lat arrays."""
    with open(data_path("naturalearth_ne_110m_land.geojson"), encoding="utf-8") as f:
        data = json.load(f)
    out = []
    for feature in data["features"]:
        geom = feature.get("geometry") or {}
        polys = [geom["coordinates"]] if geom.get("type") == "Polygon" else geom.get("coordinates", [])
        for poly in polys:
            rings = tuple(np.asarray(ring, dtype=float)[:, :2] for ring in poly)
            outer = rings[0]
            bbox = (outer[:, 0].min(), outer[:, 1].min(), outer[:, 0].max(), outer[:, 1].max())
            out.append((bbox, rings))
    return tuple(out)


def _clip_ring(ring: np.ndarray, box: tuple[float, float, float, float]) -> list[tuple[float, float]]:
    """Sutherland-Hodgman against an axis-aligned box (lon/lat is linear in this projection)."""
    x0, y0, x1, y1 = box
    pts: list[tuple[float, float]] = [(float(x), float(y)) for x, y in ring]
    edges = ((0, x0, True), (0, x1, False), (1, y0, True), (1, y1, False))
    for axis, bound, keep_above in edges:
        if not pts:
            break
        out: list[tuple[float, float]] = []
        prev = pts[-1]
        prev_in = (prev[axis] >= bound) if keep_above else (prev[axis] <= bound)
        for cur in pts:
            cur_in = (cur[axis] >= bound) if keep_above else (cur[axis] <= bound)
            if cur_in != prev_in:
                t = (bound - prev[axis]) / (cur[axis] - prev[axis])
                out.append((prev[0] + t * (cur[0] - prev[0]), prev[1] + t * (cur[1] - prev[1])))
            if cur_in:
                out.append(cur)
            prev, prev_in = cur, cur_in
        pts = out
    return pts


def land_paths(view: MapView) -> list[str]:
    """SVG path data of the land inside the view: polygons outside are dropped, the rest
    clipped just beyond the frame and thinned to about a pixel, which keeps the file small."""
    pad = 2.0 / view.scale  # a little beyond the frame so clip edges never show
    box = (view.lon0 - pad, view.lat0 - pad, view.lon1 + pad, view.lat1 + pad)
    paths = []
    for (bx0, by0, bx1, by1), rings in _land_polygons():
        if bx1 < box[0] or bx0 > box[2] or by1 < box[1] or by0 > box[3]:
            continue
        parts = []
        for ring in rings:
            clipped = _clip_ring(ring, box)
            if len(clipped) < 3:
                continue
            kept: list[tuple[float, float]] = []
            for lon, lat in clipped:
                x, y = view.xy(lat, lon)
                if kept and abs(x - kept[-1][0]) + abs(y - kept[-1][1]) < SIMPLIFY_PX:
                    continue
                kept.append((x, y))
            if len(kept) >= 3:
                parts.append("M" + " ".join(f"{x:g},{y:g}" for x, y in kept) + "Z")
        if parts:
            paths.append("".join(parts))
    return paths


def _nice_step(span: float, target: int = 6) -> float:
    for step in (0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 45, 60):
        if span / step <= target:
            return float(step)
    return 90.0


def _deg(value: float, pos: str, neg: str) -> str:
    hemi = pos if value > 0 else neg if value < 0 else ""
    return f"{abs(value):g}°{hemi}"


def graticule(view: MapView) -> tuple[list[str], list[dict[str, Any]]]:
    """Meridian / parallel path data and their labels (on the left and bottom edges)."""
    step = _nice_step(max(view.lat1 - view.lat0, (view.lon1 - view.lon0) * view.kx))
    lines, labels = [], []
    lat = math.ceil(view.lat0 / step) * step
    while lat <= view.lat1 + 1e-9:
        _, y = view.xy(lat, view.lon0)
        lines.append(f"M0,{y:g}H{view.width}")
        if 12 < y < view.height - 18:
            labels.append({"x": 4, "y": round(y - 3, 1), "text": _deg(round(lat, 2), "N", "S"), "anchor": "start"})
        lat += step
    lon = math.ceil(view.lon0 / step) * step
    while lon <= view.lon1 + 1e-9:
        x, _ = view.xy(view.lat0, lon)
        lines.append(f"M{x:g},0V{view.height}")
        if 30 < x < view.width - 30:
            labels.append({"x": x, "y": view.height - 5, "text": _deg(round(lon, 2), "E", "W"), "anchor": "middle"})
        lon += step
    return lines, labels


MAX_DRAWN_SPEED_KN = 60.0  # faster hops (spoofing, two hulls on one MMSI) are not joined up


def _jump(a: tuple[datetime | None, float, float], b: tuple[datetime | None, float, float]) -> bool:
    """True where no ship could have sailed from a to b: the line would invent a route."""
    (ta, lat_a, lon_a), (tb, lat_b, lon_b) = a, b
    if abs(lon_b - lon_a) > 180.0:  # crosses the antimeridian
        return True
    km = math.hypot((lat_b - lat_a) * 111.32, (lon_b - lon_a) * 111.32 * math.cos(math.radians(lat_a)))
    if ta is None or tb is None or km < 20.0:
        return False
    hours = max((tb - ta).total_seconds() / 3600.0, 1e-6)
    return km / 1.852 / hours > MAX_DRAWN_SPEED_KN


def _track_segments(view: MapView, lats: list[float], lons: list[float],
                    times: list[datetime | None]) -> list[str]:
    """Polyline point lists. A point joins the latest thread it could have sailed from, so
    a jump (spoofing, two hulls alternating on one MMSI, the antimeridian) starts a new
    thread instead of drawing a line across the map; alternating hulls get one line each."""
    threads: list[list[tuple[datetime | None, float, float]]] = []
    for t, lat, lon in zip(times, lats, lons):
        point = (t, lat, lon)
        for thread in reversed(threads[-8:]):  # the few most recent threads are enough
            if not _jump(thread[-1], point):
                thread.append(point)
                break
        else:
            threads.append([point])
    out = []
    for thread in threads:
        kept: list[tuple[float, float]] = []
        for _, lat, lon in thread:
            x, y = view.xy(lat, lon)
            if kept and abs(x - kept[-1][0]) + abs(y - kept[-1][1]) < 0.5:
                continue
            kept.append((x, y))
        if len(kept) >= 2:
            out.append(" ".join(f"{x:g},{y:g}" for x, y in kept))
    return out


@dataclass
class MapFigure:
    width: int
    height: int
    land: list[str]
    grid: list[str]
    grid_labels: list[dict[str, Any]]
    track: list[str]
    start: tuple[float, float] | None
    end: tuple[float, float] | None
    markers: list[dict[str, Any]] = field(default_factory=list)
    terminals: list[dict[str, Any]] = field(default_factory=list)
    sts: list[dict[str, Any]] = field(default_factory=list)
    bounds: str = ""


def build_map(track: dict[str, Any], events: list[dict[str, Any]]) -> MapFigure | None:
    """The map figure, or None when there is nothing with a position to draw."""
    lats = [float(v) for v in track.get("lat") or []]
    lons = [float(v) for v in track.get("lon") or []]
    times = [_parse(t) if t else None for t in track.get("ts") or []] or [None] * len(lats)
    located = [e for e in events if e.get("lat") is not None and e.get("lon") is not None]
    all_lats = lats + [float(e["lat"]) for e in located]
    all_lons = lons + [float(e["lon"]) for e in located]
    if not all_lats:
        return None
    view = fit_view(all_lats, all_lons)
    grid, grid_labels = graticule(view)
    fig = MapFigure(
        width=view.width, height=view.height, land=land_paths(view), grid=grid, grid_labels=grid_labels,
        track=_track_segments(view, lats, lons, times),
        start=view.xy(lats[0], lons[0]) if lats else None,
        end=view.xy(lats[-1], lons[-1]) if len(lats) > 1 else None,
        bounds=f"{_deg(round(view.lat0, 2), 'N', 'S')} to {_deg(round(view.lat1, 2), 'N', 'S')}, "
               f"{_deg(round(view.lon0, 2), 'E', 'W')} to {_deg(round(view.lon1, 2), 'E', 'W')}",
    )
    for event in located:
        x, y = view.xy(float(event["lat"]), float(event["lon"]))
        # Events at one place (an encounter is also loitering) nest as rings, each one visible.
        under = sum(1 for m in fig.markers if abs(m["x"] - x) + abs(m["y"] - y) < 8)
        fig.markers.append({"x": x, "y": y, "r": max(2.5, 7.5 - 3.0 * under), "colour": event_colour(event["type"]),
                            "id": event["event_id"],
                            "title": f"{event_label(event['type'])}, {event['start'][:16].replace('T', ' ')}"})
    placed: list[tuple[float, float, float, float]] = []
    terminals = russian_terminals()
    for name, lat, lon in zip(terminals["name"].to_pylist(), terminals["lat"].to_pylist(),
                              terminals["lon"].to_pylist()):
        if view.contains(lat, lon):
            x, y = view.xy(lat, lon)
            fig.terminals.append({"x": x, "y": y, "name": name,
                                  "label": _free_label(placed, x + 7, y + 4, name, view.width, x - 7)})
    areas = sts_areas()
    for name, lat, lon, radius in zip(areas["name"].to_pylist(), areas["lat"].to_pylist(),
                                      areas["lon"].to_pylist(), areas["radius_m"].to_pylist()):
        if view.contains(lat, lon):
            x, y = view.xy(lat, lon)
            r = round(max(3.0, radius / 111_320.0 * view.scale), 1)  # metres -> degrees -> px
            fig.sts.append({"x": x, "y": y, "r": r, "name": name,
                            "label": _free_label(placed, x + r + 3, y + 3, name, view.width, x - r - 3)})
    return fig


def _free_label(placed: list[tuple[float, float, float, float]], x: float, y: float, text: str,
                width: int, left_x: float) -> dict[str, Any] | None:
    """Greedy label placement: right of the symbol, else left of it; a label that would
    overlap one already placed is left out (the symbol keeps its tooltip)."""
    w = 6.5 * len(text)  # ~6.5 px per character at 12 px
    for box, anchor, tx in (((x, y - 11, x + w, y + 2), "start", x),
                            ((left_x - w, y - 11, left_x, y + 2), "end", left_x)):
        if box[0] < 0 or box[2] > width:
            continue
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
            continue
        placed.append(box)
        return {"x": round(tx, 1), "y": y, "anchor": anchor}
    return None


# --- timeline ------------------------------------------------------------------------------

TIMELINE_WIDTH = 960
TIMELINE_LABEL_W = 130
TIMELINE_LANE_H = 24
TIMELINE_AXIS_H = 28
_TICK_STEPS_S = (600, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400,
                 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 365 * 86400)


@dataclass
class TimelineFigure:
    width: int
    height: int
    plot_x: int
    plot_w: int
    axis_y: int
    lanes: list[dict[str, Any]]
    bars: list[dict[str, Any]]
    ticks: list[dict[str, Any]]
    caption: str


def build_timeline(events: list[dict[str, Any]], first_seen: str | None,
                   last_seen: str | None) -> TimelineFigure | None:
    """Lanes by event type across first..last seen (stretched to cover every event)."""
    if not events:
        return None
    starts = [_parse(e["start"]) for e in events]
    ends = [_parse(e["end"]) for e in events]
    t0 = min(starts + ([_parse(first_seen)] if first_seen else []))
    t1 = max(ends + ([_parse(last_seen)] if last_seen else []))
    if t1 <= t0:
        t1 = t0 + timedelta(hours=1)
    span = (t1 - t0).total_seconds()
    kinds = sorted({e["type"] for e in events}, key=lambda k: (list(EVENT_COLOURS).index(k)
                                                                if k in EVENT_COLOURS else 99, k))
    plot_x, plot_w = TIMELINE_LABEL_W, TIMELINE_WIDTH - TIMELINE_LABEL_W - 12
    axis_y = 6 + len(kinds) * TIMELINE_LANE_H

    def x_of(t: datetime) -> float:
        return round(plot_x + (t - t0).total_seconds() / span * plot_w, 1)

    lanes = [{"y": 6 + i * TIMELINE_LANE_H, "label": event_label(k), "colour": event_colour(k)}
             for i, k in enumerate(kinds)]
    bars = []
    for event, start, end in zip(events, starts, ends):
        lane = kinds.index(event["type"])
        x0, x1 = x_of(start), x_of(end)
        bars.append({"x": x0, "w": round(max(3.0, x1 - x0), 1), "y": 6 + lane * TIMELINE_LANE_H + 5,
                     "h": TIMELINE_LANE_H - 10, "colour": event_colour(event["type"]), "id": event["event_id"],
                     "title": f"{event_label(event['type'])}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}"})
    step = next((s for s in _TICK_STEPS_S if span / s <= 8), _TICK_STEPS_S[-1])
    epoch = datetime(1970, 1, 1)
    tick = epoch + timedelta(seconds=math.ceil((t0 - epoch).total_seconds() / step) * step)
    fmt = "%d %b" if step >= 86400 else "%H:%M" if t0.date() == t1.date() else "%d %b %H:%M"
    ticks = []
    while tick <= t1:
        ticks.append({"x": x_of(tick), "label": tick.strftime(fmt)})
        tick += timedelta(seconds=step)
    caption = f"UTC, {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M}"
    return TimelineFigure(TIMELINE_WIDTH, axis_y + TIMELINE_AXIS_H, plot_x, plot_w, axis_y, lanes, bars,
                          ticks, caption)

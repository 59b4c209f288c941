"""Tracks: positions split into the hulls and spoofed excursions behind one MMSI.

Most MMSIs are one plausible track; they are left whole (SQL only). An MMSI whose
consecutive positions imply an impossible jump (> max_speed_kn over > min_jump_m) is
segmented the way Global Fishing Watch's gpsdio-segment does it: each position joins the
open segment it can plausibly continue from, or starts a new one. The segments are then
read as:
- a clone (identity_conflict): two segments that both keep reporting over the same time;
- an excursion (teleport): a segment during which the main track is silent, after which
  the main track resumes (its positions are marked `spoofed` and other detectors skip them);
- a glitch: a lone implausible position (marked `spoofed`, no event).

Produces the tables `track_points` (positions with `track_id` and `spoofed`) and
`track_anomalies` (teleport and identity_conflict candidates with their evidence).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from shadowtrace.detect.base import KNOT_M_S, haversine_sql, seconds_sql
from shadowtrace.engine.base import Engine

ANOMALY_SCHEMA = pa.schema([
    ("kind", pa.string()), ("mmsi", pa.int64()), ("start", pa.timestamp("us")),
    ("end", pa.timestamp("us")), ("lat", pa.float64()), ("lon", pa.float64()),
    ("jump_distance_m", pa.float64()), ("implied_speed_kn", pa.float64()),
    ("other_lat", pa.float64()), ("other_lon", pa.float64()), ("positions", pa.int64()),
    ("other_positions", pa.int64()), ("first_ref", pa.string()), ("last_ref", pa.string()),
    ("before_ref", pa.string()), ("after_ref", pa.string()),
])


@dataclass(frozen=True)
class TrackParams:
    # Teleport definition (issue; GFW gpsdio-segment splits at 25 kn, AISdb denoises at 50 kn).
    max_speed_kn: float = 50.0
    min_jump_m: float = 10_000.0
    # An excursion needs this many consistent positions; a lone one is a receiver glitch.
    min_excursion_positions: int = 2
    # Both hulls of a clone must report at least this often while they overlap.
    min_clone_positions: int = 3


def prepare_tracks(engine: Engine, params: TrackParams = TrackParams()) -> None:
    """Build `track_points` and `track_anomalies` from `positions`."""
    dist = haversine_sql("prev_lat", "prev_lon", "lat", "lon")
    engine.materialize(
        "flagged_mmsi",
        f"""
        SELECT DISTINCT mmsi FROM (
            SELECT mmsi, ts, lat, lon,
                   lag(ts) OVER w AS prev_ts, lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon
            FROM positions WINDOW w AS (PARTITION BY mmsi ORDER BY ts, source_line)
        ) WHERE prev_ts IS NOT NULL AND {dist} > {params.min_jump_m}
            AND {dist} > {params.max_speed_kn * KNOT_M_S} * greatest({seconds_sql('ts', 'prev_ts')}, 1)
        """,
    )
    flagged = engine.query_arrow(
        "SELECT p.mmsi, p.ts, p.lat, p.lon, p.ingest_id, p.source_line FROM positions p"
        " JOIN flagged_mmsi f USING (mmsi) ORDER BY p.mmsi, p.ts, p.source_line"
    )
    points, anomalies = _segment_all(flagged, params)
    engine.register_arrow("flagged_tracks", points)
    engine.register_arrow("track_anomalies", anomalies)
    engine.materialize(
        "track_points",
        """
        SELECT p.*, 0 AS track_id, FALSE AS spoofed FROM positions p
        WHERE p.mmsi NOT IN (SELECT mmsi FROM flagged_mmsi)
        UNION ALL
        SELECT p.*, f.track_id, f.spoofed FROM positions p
        JOIN flagged_tracks f ON p.ingest_id = f.ingest_id AND p.source_line = f.source_line
        """,
    )
    engine.drop("flagged_tracks")


def _haversine(lat1: float, lon1: float, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(h, 0, 1)))


def _segment_all(table: pa.Table, params: TrackParams) -> tuple[pa.Table, pa.Table]:
    cols = {name: table.column(name).to_numpy(zero_copy_only=False) for name in table.column_names}
    n = table.num_rows
    track_id = np.zeros(n, dtype=np.int32)
    spoofed = np.zeros(n, dtype=bool)
    anomalies: dict[str, list[object]] = defaultdict(list)
    if n:
        ts = cols["ts"].astype("datetime64[us]").astype(np.int64) / 1e6
        refs = [f"{i}:{s}" for i, s in zip(cols["ingest_id"], cols["source_line"])]
        bounds = np.flatnonzero(np.diff(cols["mmsi"])) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, n]):
            _one_mmsi(lo, hi, cols, ts, refs, params, track_id, spoofed, anomalies)
    points = pa.table({
        "ingest_id": pa.array(cols.get("ingest_id", np.zeros(0)), pa.int32()),
        "source_line": pa.array(cols.get("source_line", np.zeros(0)), pa.int64()),
        "track_id": pa.array(track_id, pa.int32()),
        "spoofed": pa.array(spoofed, pa.bool_()),
    })
    anomaly_table = pa.table(
        {f.name: pa.array(anomalies.get(f.name, []), f.type) for f in ANOMALY_SCHEMA}, schema=ANOMALY_SCHEMA
    )
    return points, anomaly_table


def _one_mmsi(lo: int, hi: int, cols: dict[str, np.ndarray], ts: np.ndarray, refs: list[str],
              params: TrackParams, track_id: np.ndarray, spoofed: np.ndarray,
              anomalies: dict[str, list[object]]) -> None:
    lat, lon = cols["lat"][lo:hi], cols["lon"][lo:hi]
    t = ts[lo:hi]
    seg = np.zeros(hi - lo, dtype=np.int32)
    last: list[int] = []  # index of each segment's latest position
    speed = params.max_speed_kn * KNOT_M_S
    for i in range(hi - lo):
        if last:
            idx = np.array(last)
            d = _haversine(lat[i], lon[i], lat[idx], lon[idx])
            ok = (d <= params.min_jump_m) | (d <= speed * np.maximum(t[i] - t[idx], 1.0))
            if ok.any():
                best = int(np.flatnonzero(ok)[np.argmin(d[ok])])
                seg[i] = best
                last[best] = i
                continue
        seg[i] = len(last)
        last.append(i)
    if len(last) == 1:
        return
    counts = np.bincount(seg)
    main = int(np.argmax(counts))
    main_t = t[seg == main]
    mmsi = int(cols["mmsi"][lo])
    for s in range(len(last)):
        if s == main:
            continue
        members = np.flatnonzero(seg == s)
        t0, t1 = t[members[0]], t[members[-1]]
        inside = int(((main_t > t0) & (main_t < t1)).sum())
        resumes = bool((main_t > t1).any()) and bool((main_t < t0).any())
        if members.size >= params.min_clone_positions and inside >= params.min_clone_positions:
            track_id[lo + members] = s
            # overlap span of the two hulls
            main_inside = np.flatnonzero((seg == main) & (t >= t0) & (t <= t1))
            _add(anomalies, "identity_conflict", mmsi, t0, t1, lat[members[0]], lon[members[0]],
                 float(_haversine(lat[members[0]], lon[members[0]], lat[main_inside[:1]], lon[main_inside[:1]])[0])
                 if main_inside.size else None, None,
                 lat[main_inside[0]] if main_inside.size else None,
                 lon[main_inside[0]] if main_inside.size else None,
                 int(members.size), int(main_inside.size), refs[lo + members[0]], refs[lo + members[-1]],
                 refs[lo + main_inside[0]] if main_inside.size else None, None)
            continue
        spoofed[lo + members] = True
        if members.size >= params.min_excursion_positions and inside == 0 and resumes:
            before = np.flatnonzero((seg == main) & (t < t0))[-1]
            after = np.flatnonzero((seg == main) & (t > t1))[0]
            jump = float(_haversine(lat[before], lon[before], lat[members[:1]], lon[members[:1]])[0])
            implied = jump / max(t[members[0]] - t[before], 1.0) / KNOT_M_S
            _add(anomalies, "teleport", mmsi, t0, t1, lat[members[0]], lon[members[0]], jump, implied,
                 lat[before], lon[before], int(members.size), None, refs[lo + members[0]],
                 refs[lo + members[-1]], refs[lo + before], refs[lo + after])


def _add(anomalies: dict[str, list[object]], kind: str, mmsi: int, t0: float, t1: float,
         lat: float, lon: float, jump: float | None, implied: float | None,
         other_lat: float | None, other_lon: float | None, positions: int,
         other_positions: int | None, first_ref: str, last_ref: str, before_ref: str | None,
         after_ref: str | None) -> None:
    values = (kind, mmsi, int(t0 * 1e6), int(t1 * 1e6), float(lat), float(lon), jump, implied,
              None if other_lat is None else float(other_lat),
              None if other_lon is None else float(other_lon), positions, other_positions,
              first_ref, last_ref, before_ref, after_ref)
    for field, value in zip(ANOMALY_SCHEMA.names, values):
        anomalies[field].append(value)

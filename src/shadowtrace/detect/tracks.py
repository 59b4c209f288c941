"""Tracks: positions split into the hulls and spoofed excursions behind one MMSI.

Most MMSIs are one plausible track and stay whole (track_id 0), in SQL. An MMSI with an
impossible step (> max_speed_kn over > min_jump_m) is cut into runs at each such step; only
each run's ends reach Python. Runs join segments as in GFW's gpsdio-segment: a run continues
the nearest segment it can plausibly follow, or starts one. A segment of fewer than
min_excursion_positions positions (repeats of one fix count once) is a glitch. A "visit" is
a stretch of one segment with no other segment reporting in between. Then:
- the segment with most positions is the main hull (track 0);
- a clone (identity_conflict): a segment that keeps coming back (>= min_clone_visits visits,
  each within clone_window_hours of the last) while another hull reports in between; it is a
  hull of its own, so gaps and other detectors see two clean tracks;
- an excursion (teleport): visits of non-hull segments bracketed by visits of one hull and
  reached by an impossible jump from it: the real position stopped reporting, then came
  back. Its positions keep the hull's track_id and are marked `spoofed` (others skip them);
- a glitch: marked `spoofed`, no event;
- anything else (a jump that never returns) is a track of its own, not hidden.

Produces `track_points` (positions with `track_id`, `spoofed`, the previous position of the
same track as `prev_ts`, `prev_lat`, `prev_lon`, `prev_ingest_id`, `prev_source_line`, and
`prev_real_ts`, the time of the previous unspoofed position for an unspoofed one) and
`track_anomalies` (teleport and identity_conflict episodes with their evidence). The steps are
taken once here, in the ordered pass that finds impossible steps, so detectors that look at
consecutive positions need no ordered pass of their own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from shadowtrace.detect.base import (
    KNOT_M_S,
    haversine_sql,
    position_ref_sql,
    seconds_sql,
)
from shadowtrace.engine.base import Engine
from shadowtrace.geo.nearest import haversine_m

ANOMALY_SCHEMA = pa.schema([
    ("kind", pa.string()), ("mmsi", pa.int64()), ("track_id", pa.int32()),
    ("other_track_id", pa.int32()), ("start", pa.timestamp("us")), ("end", pa.timestamp("us")),
    ("lat", pa.float64()), ("lon", pa.float64()), ("last_lat", pa.float64()), ("last_lon", pa.float64()),
    ("before_ts", pa.timestamp("us")), ("before_lat", pa.float64()), ("before_lon", pa.float64()),
    ("after_ts", pa.timestamp("us")), ("after_lat", pa.float64()), ("after_lon", pa.float64()),
    ("distance_m", pa.float64()), ("implied_speed_kn", pa.float64()), ("return_distance_m", pa.float64()),
    ("positions", pa.int64()), ("other_positions", pa.int64()), ("visits", pa.int64()),
    ("hulls", pa.int64()), ("refs", pa.list_(pa.string())),
])


# The previous position's columns every track point carries (as prev_<column>).
STEP_COLUMNS = ("ts", "lat", "lon", "ingest_id", "source_line")


@dataclass(frozen=True)
class TrackParams:
    # Teleport definition (issue): > 50 kn over > 10 km. GFW gpsdio-segment splits at 25 kn,
    # AISdb denoises at 50 kn; the 10 km floor keeps GNSS noise on close fixes out.
    max_speed_kn: float = 50.0
    min_jump_m: float = 10_000.0
    # Fewer positions than this off the track is a receiver glitch; so are repeats of one
    # fix within repeat_window_s (one message heard by several receivers).
    min_excursion_positions: int = 2
    repeat_window_s: float = 60.0
    # A clone keeps coming back while the other hull reports: three visits (two
    # alternations) within the ais_gap silence (6 h, GFW pipe-gaps) of each other.
    min_clone_visits: int = 3
    clone_window_hours: float = 6.0


def prepare_tracks(engine: Engine, params: TrackParams = TrackParams()) -> None:
    """Build `track_points` and `track_anomalies` from `positions`."""
    speed_m_s = params.max_speed_kn * KNOT_M_S
    order = "PARTITION BY mmsi ORDER BY ts, source_line"

    def jump(lat: str, lon: str, ts: str) -> str:
        d = haversine_sql("prev_lat", "prev_lon", lat, lon)
        return (f"(prev_ts IS NOT NULL AND {d} > {params.min_jump_m}"
                f" AND {d} > {speed_m_s} * greatest({seconds_sql(ts, 'prev_ts')}, 1))")

    # One ordered pass over all positions: each with its previous position (the step every
    # detector looks at), and the MMSIs with an impossible step (few).
    prev = ", ".join(f"lag({c}) OVER w AS prev_{c}" for c in STEP_COLUMNS)
    engine.materialize(
        "tracks_steps",
        f"""
        SELECT mmsi, ts, lat, lon, sog, cog, heading, nav_status, msg_type, ingest_id, source_line,
               {prev}
        FROM positions WINDOW w AS ({order})
        """,
    )
    engine.materialize("tracks_flagged", f"SELECT DISTINCT mmsi FROM tracks_steps WHERE {jump('lat', 'lon', 'ts')}")
    # Their positions in order, with the impossible steps marked.
    engine.materialize(
        "tracks_ordered",
        f"""
        SELECT mmsi, seq, ts, lat, lon, ingest_id, source_line, {position_ref_sql()} AS ref,
               prev_ts, prev_lat, prev_lon, prev_ref, is_last, {jump('lat', 'lon', 'ts')} AS jump
        FROM (
            SELECT mmsi, ts, lat, lon, ingest_id, source_line, row_number() OVER w AS seq,
                   lag(ts) OVER w AS prev_ts, lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon,
                   lag({position_ref_sql()}) OVER w AS prev_ref, lead(ts) OVER w IS NULL AS is_last
            FROM positions WHERE mmsi IN (SELECT mmsi FROM tracks_flagged) WINDOW w AS ({order})
        )
        """,
    )
    # Only the first, last and jumping positions go to Python.
    keys = engine.query_arrow(
        """
        SELECT mmsi, seq, ts, lat, lon, ref, prev_ts, prev_lat, prev_lon, prev_ref, is_last, jump
        FROM tracks_ordered WHERE jump OR seq = 1 OR is_last
        ORDER BY mmsi, seq
        """
    )
    labels, anomalies = _label_all(_runs(keys), params)
    engine.register_arrow("tracks_labels", labels)
    engine.register_arrow("track_anomalies", anomalies)
    # Most MMSIs are one track: their steps stand. The flagged ones' steps are taken again
    # within each track, and within its real (unspoofed) positions for `prev_real_ts`.
    columns = "mmsi, ts, lat, lon, sog, cog, heading, nav_status, msg_type, ingest_id, source_line"
    prev_cols = ", ".join(f"prev_{c}" for c in STEP_COLUMNS)
    track_prev = ", ".join(f"lag({c}) OVER w AS prev_{c}" for c in STEP_COLUMNS)
    engine.materialize(
        "track_points",
        f"""
        SELECT {columns},  -- not raw: evidence points at rows by ingest:line
               0 AS track_id, FALSE AS spoofed, {prev_cols}, prev_ts AS prev_real_ts
        FROM tracks_steps WHERE mmsi NOT IN (SELECT mmsi FROM tracks_flagged)
        UNION ALL
        SELECT {columns}, track_id, spoofed, {track_prev},
               CASE WHEN NOT spoofed THEN lag(ts) OVER (PARTITION BY mmsi, track_id, spoofed ORDER BY ts, source_line)
               END AS prev_real_ts
        FROM (
            SELECT p.*, coalesce(l.track_id, 0) AS track_id, coalesce(l.spoofed, FALSE) AS spoofed
            FROM (SELECT {columns} FROM tracks_steps WHERE mmsi IN (SELECT mmsi FROM tracks_flagged)) p
            LEFT JOIN (
                SELECT t.mmsi, t.ts, t.ingest_id, t.source_line, l.track_id, l.spoofed
                FROM tracks_ordered t JOIN tracks_labels l ON t.mmsi = l.mmsi AND t.seq = l.seq
            ) l ON p.ingest_id = l.ingest_id AND p.source_line = l.source_line AND p.mmsi = l.mmsi AND p.ts = l.ts
        )
        WINDOW w AS (PARTITION BY mmsi, track_id ORDER BY ts, source_line)
        """,
    )
    for name in ("tracks_labels", "tracks_ordered", "tracks_flagged", "tracks_steps"):
        engine.drop(name)


def _runs(keys: pa.Table) -> dict[str, np.ndarray]:
    """Runs (stretches between impossible steps) from each MMSI's first, last and jumping
    positions: a run starts at the first position or a jump and ends just before the next."""
    k = {name: keys.column(name).to_numpy(zero_copy_only=False) for name in keys.column_names}
    for col in ("ts", "prev_ts"):
        k[col] = np.asarray(k[col]).astype("datetime64[us]").astype(np.int64) / 1e6
    s = np.flatnonzero(k["jump"] | (k["seq"] == 1))  # every run's first position
    nxt = np.r_[s[1:], len(k["seq"])]  # the key row after it: the next run's start, or none
    # A run ends on its MMSI's last position (the key row before the next MMSI's first), or
    # on the position before the next jump (that jump's prev_* columns).
    own = np.r_[k["mmsi"][s[1:]] != k["mmsi"][s[:-1]], True] if s.size else np.zeros(0, bool)
    row = np.where(own, nxt - 1, nxt)

    def end(col: str) -> np.ndarray:
        return np.where(own, k[col][row], k[f"prev_{col}"][row])

    seq_end = np.where(own, k["seq"][row], k["seq"][row] - 1)
    return {
        "mmsi": k["mmsi"][s], "s0": k["seq"][s], "s1": seq_end, "n": seq_end - k["seq"][s] + 1,
        "t0": k["ts"][s], "la0": k["lat"][s], "lo0": k["lon"][s], "ref0": k["ref"][s],
        "t1": end("ts"), "la1": end("lat"), "lo1": end("lon"), "ref1": end("ref"),
    }


def _label_all(c: dict[str, np.ndarray], params: TrackParams) -> tuple[pa.Table, pa.Table]:
    """Per run a track_id and spoofed flag; returns them per position (only where not the
    default track 0, unspoofed) as (mmsi, seq, track_id, spoofed), and the anomalies."""
    n = len(c["mmsi"])
    track = np.zeros(n, np.int32)
    spoofed = np.zeros(n, bool)
    rows: list[dict[str, object]] = []
    bounds = np.flatnonzero(np.diff(c["mmsi"])) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, n]):
        if hi > lo + 1:
            one = {k: v[lo:hi] for k, v in c.items()}
            _one_mmsi(one, params, track[lo:hi], spoofed[lo:hi], rows)
    odd = np.flatnonzero((track != 0) | spoofed)
    size = (c["s1"][odd] - c["s0"][odd] + 1).astype(np.int64)
    first = np.repeat(c["s0"][odd] - np.r_[0, np.cumsum(size)[:-1]], size)
    labels = pa.table({
        "mmsi": pa.array(np.repeat(c["mmsi"][odd], size), pa.int64()),
        "seq": pa.array(first + np.arange(size.sum()), pa.int64()),
        "track_id": pa.array(np.repeat(track[odd], size), pa.int32()),
        "spoofed": pa.array(np.repeat(spoofed[odd], size), pa.bool_()),
    })
    return labels, pa.Table.from_pylist(rows, schema=ANOMALY_SCHEMA)


def _sustained(r: dict[str, np.ndarray], runs: np.ndarray, p: TrackParams) -> bool:
    """Enough positions off the track, and not one fix repeated by several receivers."""
    return bool(_sustained_by(r, np.zeros(len(runs), np.int64), runs, p)[0])


def _sustained_by(r: dict[str, np.ndarray], group: np.ndarray, runs: np.ndarray, p: TrackParams) -> np.ndarray:
    """_sustained for every group of runs at once (group: a small int per run in `runs`)."""
    size = group.max() + 1 if group.size else 0
    lo, hi = np.full((3, size), np.inf), np.full((3, size), -np.inf)
    for i, (a, b) in enumerate((("t0", "t1"), ("la0", "la1"), ("lo0", "lo1"))):
        np.minimum.at(lo[i], group, np.minimum(r[a][runs], r[b][runs]))
        np.maximum.at(hi[i], group, np.maximum(r[a][runs], r[b][runs]))
    n = np.bincount(group, weights=r["n"][runs], minlength=size)
    span = hi - lo
    return (n >= p.min_excursion_positions) & ((span[0] >= p.repeat_window_s) | (span[1] > 0) | (span[2] > 0))


def _segments(r: dict[str, np.ndarray], params: TrackParams) -> np.ndarray:
    """Segment of each run: the nearest open segment it can plausibly follow, else a new one."""
    speed = params.max_speed_kn * KNOT_M_S
    seg = np.zeros(len(r["t0"]), np.int64)
    last_t, last_lat, last_lon = (np.empty(len(seg)) for _ in range(3))  # per segment
    count = 0
    for i in range(len(seg)):
        if count:
            d = haversine_m(r["la0"][i], r["lo0"][i], last_lat[:count], last_lon[:count])
            ok = (d <= params.min_jump_m) | (d <= speed * np.maximum(r["t0"][i] - last_t[:count], 1.0))
            best = int(np.argmin(np.where(ok, d, np.inf))) if ok.any() else count
        else:
            best = 0
        count = max(count, best + 1)
        seg[i] = best
        last_t[best], last_lat[best], last_lon[best] = r["t1"][i], r["la1"][i], r["lo1"][i]
    return seg


def _one_mmsi(r: dict[str, np.ndarray], p: TrackParams, track: np.ndarray, spoofed: np.ndarray,
              rows: list[dict[str, object]]) -> None:
    seg = _segments(r, p)
    glitch = ~_sustained_by(r, seg, np.arange(len(seg)), p)[seg]
    if glitch.all():
        return  # lone fixes only: nothing to tell which is right
    kept = np.flatnonzero(~glitch)
    # Visits: (segment, first run, last run) of consecutive kept runs of one segment.
    cut = np.flatnonzero(np.diff(seg[kept]) != 0) + 1
    visits = [(int(seg[kept[a]]), int(kept[a]), int(kept[b - 1]))
              for a, b in zip(np.r_[0, cut], np.r_[cut, kept.size])]
    sizes = np.bincount(seg[kept], weights=r["n"][kept], minlength=seg.max() + 1)
    main = int(np.argmax(sizes))
    hull_id = {main: 0}
    chains = _clone_chains(r, visits, main, p)
    for s, _ in chains:
        hull_id.setdefault(s, len(hull_id))
    _conflicts(r, visits, seg, glitch, chains, hull_id, rows)
    # Excursions: maximal groups of non-hull visits between two hull visits.
    k = 0
    while k < len(visits):
        if visits[k][0] in hull_id:
            track[visits[k][1]:visits[k][2] + 1] = hull_id[visits[k][0]]
            k += 1
            continue
        end = k
        while end + 1 < len(visits) and visits[end + 1][0] not in hull_id:
            end += 1
        _excursion(r, visits, k, end, glitch, hull_id, p, track, spoofed, rows)
        k = end + 1
    # Glitches follow the track before them (or after, at the start) and are skipped.
    g = np.flatnonzero(glitch)
    track[g] = track[kept[np.maximum(np.searchsorted(kept, g) - 1, 0)]]
    spoofed[g] = True


def _clone_chains(r: dict[str, np.ndarray], visits: list[tuple[int, int, int]], main: int,
                  p: TrackParams) -> list[tuple[int, list[int]]]:
    """(segment, visit indexes) of every run of visits that reads as a second hull."""
    by_seg: dict[int, list[int]] = {}
    for v, (s, _, _) in enumerate(visits):
        if s != main:
            by_seg.setdefault(s, []).append(v)
    chains = []
    for s, vs in by_seg.items():
        chain = [vs[0]]
        for v in vs[1:] + [-1]:
            if v >= 0 and r["t0"][visits[v][1]] - r["t1"][visits[chain[-1]][2]] <= p.clone_window_hours * 3600:
                chain.append(v)
                continue
            if len(chain) >= p.min_clone_visits:
                chains.append((s, chain))
            chain = [v]
    return chains


def _conflicts(r: dict[str, np.ndarray], visits: list[tuple[int, int, int]], seg: np.ndarray,
               glitch: np.ndarray, chains: list[tuple[int, list[int]]], hull_id: dict[int, int],
               rows: list[dict[str, object]]) -> None:
    """One identity_conflict per episode: overlapping clone chains of one MMSI are merged."""
    spans = sorted((r["t0"][visits[c[0]][1]], r["t1"][visits[c[-1]][2]], s, c) for s, c in chains)
    merged: list[list[object]] = []
    for t0, t1, s, c in spans:
        if merged and t0 <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], t1)
            merged[-1][3].add(s)
        else:
            merged.append([t0, t1, (s, c), {s}])
    for t0, t1, (s, c), segs in merged:
        first, last = visits[c[0]][1], visits[c[-1]][2]
        other = visits[c[0] - 1][2] if c[0] > 0 else visits[c[0] + 1][1]
        o_lat, o_lon = (r["la1"], r["lo1"]) if c[0] > 0 else (r["la0"], r["lo0"])
        inside = (r["t0"] >= t0) & (r["t1"] <= t1) & ~glitch
        mine = np.isin(seg, list(segs)) & inside
        rows.append({
            "kind": "identity_conflict", "mmsi": int(r["mmsi"][first]), "track_id": hull_id[s],
            "other_track_id": hull_id.get(int(seg[other]), 0), "start": _us(t0), "end": _us(t1),
            "lat": float(r["la0"][first]), "lon": float(r["lo0"][first]),
            "last_lat": float(r["la1"][last]), "last_lon": float(r["lo1"][last]),
            "before_ts": _us(r["t1"][other] if c[0] > 0 else r["t0"][other]),
            "before_lat": float(o_lat[other]), "before_lon": float(o_lon[other]),
            "distance_m": float(haversine_m(r["la0"][first], r["lo0"][first], o_lat[other], o_lon[other])),
            "positions": int(r["n"][mine].sum()), "other_positions": int(r["n"][inside & ~mine].sum()),
            "visits": len(c), "hulls": len(segs) + 1,
            "refs": [str(r["ref1"][other] if c[0] > 0 else r["ref0"][other]), str(r["ref0"][first]),
                     str(r["ref1"][last])],
        })


def _excursion(r: dict[str, np.ndarray], visits: list[tuple[int, int, int]], a: int, b: int,
               glitch: np.ndarray, hull_id: dict[int, int], p: TrackParams, track: np.ndarray,
               spoofed: np.ndarray, rows: list[dict[str, object]]) -> None:
    """Visits a..b belong to no hull: a teleport if one hull reports just before and after."""
    first, last = visits[a][1], visits[b][2]
    home = visits[a - 1][0] if a > 0 else None
    returns = home is not None and b + 1 < len(visits) and visits[b + 1][0] == home
    if returns:
        before, after = visits[a - 1][2], visits[b + 1][1]
        gap = max(r["t0"][first] - r["t1"][before], 1.0)
        jump = float(haversine_m(r["la1"][before], r["lo1"][before], r["la0"][first], r["lo0"][first]))
        speed = jump / gap / KNOT_M_S
        runs = first + np.flatnonzero(~glitch[first:last + 1])
        if jump > p.min_jump_m and speed > p.max_speed_kn:
            track[first:last + 1] = hull_id[home]
            spoofed[first:last + 1] = True
            if _sustained(r, runs, p):
                count = int(r["n"][runs].sum())
                rows.append(_teleport(r, before, first, last, after, jump, speed, count, hull_id[home]))
            return
        track[first:last + 1] = hull_id[home]  # no jump after all: the hull's own fixes
        return
    # Never returns (or returns to another hull): a track of its own per segment.
    for s, v0, v1 in visits[a:b + 1]:
        hull_id.setdefault(s, len(hull_id))
        track[v0:v1 + 1] = hull_id[s]


def _teleport(r: dict[str, np.ndarray], before: int, first: int, last: int, after: int, jump: float,
              speed: float, count: int, track_id: int) -> dict[str, object]:
    return {
        "kind": "teleport", "mmsi": int(r["mmsi"][first]), "track_id": track_id, "other_track_id": None,
        "start": _us(r["t0"][first]), "end": _us(r["t1"][last]),
        "lat": float(r["la0"][first]), "lon": float(r["lo0"][first]),
        "last_lat": float(r["la1"][last]), "last_lon": float(r["lo1"][last]),
        "before_ts": _us(r["t1"][before]), "before_lat": float(r["la1"][before]),
        "before_lon": float(r["lo1"][before]), "after_ts": _us(r["t0"][after]),
        "after_lat": float(r["la0"][after]), "after_lon": float(r["lo0"][after]),
        "distance_m": jump, "implied_speed_kn": speed,
        "return_distance_m": float(haversine_m(r["la1"][last], r["lo1"][last], r["la0"][after], r["lo0"][after])),
        "positions": count, "visits": 1, "hulls": 1,
        "refs": [str(r["ref1"][before]), str(r["ref0"][first]), str(r["ref1"][last]), str(r["ref0"][after])],
    }


def _us(t: float) -> int:
    return int(round(float(t) * 1e6))

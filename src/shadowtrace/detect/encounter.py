"""encounter: two vessels side by side at sea for hours (possible ship-to-ship transfer).

Definition (GFW, GFW_technical_documentation/Encounters.md; Miller et al. 2018): two vessels
within max_distance_m for >= min_duration_hours, both slower than max_speed_kn, at
>= min_port_distance_m from any port or anchorage. As GFW does, each track is averaged into
10-minute bins and interpolated across silences of up to max_gap_hours, so a short dropout
does not split a meeting. Pairs are found per time bin on a 3-D (Earth-centred) grid, which
has no date-line or pole seams: no all-pairs comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import (
    EARTH_RADIUS_M,
    KNOT_M_S,
    haversine_sql,
    position_ref_sql,
    seconds_sql,
)
from shadowtrace.engine.base import Engine


@dataclass(frozen=True)
class Params:
    max_distance_m: float = 500.0  # GFW encounters
    min_duration_hours: float = 2.0  # GFW encounters
    max_speed_kn: float = 2.0  # GFW published encounters (median speed < 2 kn)
    min_port_distance_m: float = 10_000.0  # GFW: >= 10 km from a coastal anchorage
    bin_s: float = 600.0  # GFW resamples tracks to 10-minute steps
    max_gap_hours: float = 1.0  # GFW interpolates across gaps up to 1 h
    grid_cell_m: float = 2_000.0  # search grid (>= max_distance_m); a speed knob only
    # Before pairing, drop bins certainly nearer than min_port_distance_m - port_margin_m
    # to a port (anchorages are crowded); an encounter's mean position must still lie
    # >= min_port_distance_m away. The margin lets a meeting drift a little toward port.
    port_margin_m: float = 5_000.0


def _bins_sql(p: Params) -> str:
    """Per track and time bin: mean position and speed, first and last timestamps."""
    bin_s = p.bin_s
    implied = (
        f"{haversine_sql('lat', 'lon', '{o}_lat', '{o}_lon')} / (abs({{o}}_bin - bin) * {bin_s}) / {KNOT_M_S}"
    )
    # Mean longitude without trigonometry per row: a bin straddling the date line (spread
    # > 180 degrees) is averaged on 0..360 and wrapped back.
    lon = ("CASE WHEN max(lon) - min(lon) > 180 THEN ((avg((lon + 360) % 360) + 180) % 360) - 180"
           " ELSE avg(lon) END")
    return f"""
        SELECT mmsi, track_id, bin, lat, lon, t_first, t_last, next_bin, next_lat, next_lon,
               coalesce(sog, {implied.format(o='next')}, {implied.format(o='prev')}) AS speed_kn,
               coalesce(next_sog, {implied.format(o='next')}) AS next_speed_kn
        FROM (
            SELECT *, lead(bin) OVER w AS next_bin, lead(lat) OVER w AS next_lat, lead(lon) OVER w AS next_lon,
                   lead(sog) OVER w AS next_sog,
                   lag(bin) OVER w AS prev_bin, lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon
            FROM (
                SELECT mmsi, track_id, CAST(floor(epoch(ts) / {bin_s}) AS BIGINT) AS bin,
                       avg(lat) AS lat, {lon} AS lon, avg(sog) AS sog, min(ts) AS t_first, max(ts) AS t_last
                FROM track_points WHERE NOT spoofed
                GROUP BY mmsi, track_id, bin
            )
            WINDOW w AS (PARTITION BY mmsi, track_id ORDER BY bin)
        )
    """


def _slow_sql(p: Params) -> str:
    """Slow bins, real and interpolated (linear, longitude wrapped), with grid cells."""
    max_gap_bins = int(round(p.max_gap_hours * 3600 / p.bin_s))
    steps = ", ".join(f"({k})" for k in range(1, max(max_gap_bins, 2)))
    f = "(CAST(o.k AS DOUBLE) / (next_bin - bin))"
    dlon = "(((next_lon - lon + 540) % 360) - 180)"
    filled = f"""
        SELECT mmsi, track_id, bin, lat, lon, speed_kn, t_first, t_last FROM encounter_bins
        UNION ALL
        SELECT mmsi, track_id, bin + o.k, lat + (next_lat - lat) * {f},
               ((lon + {dlon} * {f} + 540) % 360) - 180,
               speed_kn + (next_speed_kn - speed_kn) * {f}, NULL, NULL
        FROM encounter_bins CROSS JOIN (VALUES {steps}) AS o(k)
        WHERE next_bin - bin BETWEEN 2 AND {max_gap_bins} AND o.k < next_bin - bin
    """
    c, r = p.grid_cell_m, p.max_distance_m
    x = f"({EARTH_RADIUS_M} * cos(radians(lat)) * cos(radians(lon)))"
    y = f"({EARTH_RADIUS_M} * cos(radians(lat)) * sin(radians(lon)))"
    z = f"({EARTH_RADIUS_M} * sin(radians(lat)))"
    cells = ", ".join(
        f"CAST(floor({v} / {c}) AS BIGINT) AS c{n}, CAST(floor(({v} - {r}) / {c}) AS BIGINT) AS c{n}_lo,"
        f" CAST(floor(({v} + {r}) / {c}) AS BIGINT) AS c{n}_hi"
        for n, v in (("x", x), ("y", y), ("z", z))
    )
    return f"""
        SELECT *, {cells}
        FROM ({filled})
        WHERE speed_kn < {p.max_speed_kn}
    """


def _pairs_sql(p: Params) -> str:
    """Bins of two vessels in the same time bin within max_distance_m, both slow, not in port."""
    # Probe only the cells a bin's +-max_distance_m box touches (1 or 2 per axis).
    corners = ", ".join(f"({i}, {j}, {k})" for i in (0, 1) for j in (0, 1) for k in (0, 1))
    # A cell's projected centre lies within cell * sqrt(3) of any bin in it.
    far_m = p.min_port_distance_m - p.port_margin_m - p.grid_cell_m * 3**0.5
    dist = haversine_sql("a.lat", "a.lon", "b.lat", "b.lon")
    return f"""
        WITH far AS (
            SELECT s.* FROM encounter_slow s JOIN encounter_cells c USING (cx, cy, cz)
            WHERE c.port_m >= {far_m}
        ),
        probe AS (
            SELECT f.*, cx_lo + o.i AS kx, cy_lo + o.j AS ky, cz_lo + o.k AS kz
            FROM far f CROSS JOIN (VALUES {corners}) AS o(i, j, k)
            WHERE (o.i = 0 OR cx_hi > cx_lo) AND (o.j = 0 OR cy_hi > cy_lo) AND (o.k = 0 OR cz_hi > cz_lo)
        )
        SELECT a.mmsi, a.track_id, b.mmsi AS other_mmsi, b.track_id AS other_track_id, a.bin,
               a.lat, a.lon, b.lat AS other_lat, b.lon AS other_lon,
               a.speed_kn, b.speed_kn AS other_speed_kn, {dist} AS distance_m,
               a.t_first, a.t_last, b.t_first AS other_t_first, b.t_last AS other_t_last
        FROM probe a JOIN far b ON b.bin = a.bin AND b.cx = a.kx AND b.cy = a.ky AND b.cz = a.kz
        WHERE a.mmsi < b.mmsi AND {dist} <= {p.max_distance_m}
    """


def _refs_sql() -> str:
    """The position rows at each event's ends: first and last report of both vessels."""
    ends = " UNION ALL ".join(
        f"SELECT ev, {i} AS role, {m} AS mmsi, {t} AS track_id, {ts} AS ts FROM encounter_events"
        for i, (m, t, ts) in enumerate((
            ("mmsi", "track_id", "a_first"), ("other_mmsi", "other_track_id", "b_first"),
            ("mmsi", "track_id", "a_last"), ("other_mmsi", "other_track_id", "b_last"),
        ))
    )
    pivot = ", ".join(f"max(CASE WHEN role = {i} THEN ref END) AS ref{i}" for i in range(4))
    return f"""
        SELECT ev, {pivot} FROM (
            SELECT e.ev, e.role, min({position_ref_sql('t')}) AS ref
            FROM ({ends}) e
            JOIN track_points t ON t.mmsi = e.mmsi AND t.track_id = e.track_id AND t.ts = e.ts
            WHERE NOT t.spoofed
            GROUP BY e.ev, e.role
        ) GROUP BY ev
    """


def detect(engine: Engine, params: Params) -> str:
    p = params
    engine.materialize("encounter_bins", _bins_sql(p))
    engine.materialize("encounter_slow", _slow_sql(p))
    c = p.grid_cell_m
    xc, yc, zc = (f"(({n} + 0.5) * {c})" for n in ("cx", "cy", "cz"))
    engine.materialize(
        "encounter_cells",
        f"""
        SELECT cx, cy, cz,
               port_distance_m(degrees(asin({zc} / sqrt({xc} * {xc} + {yc} * {yc} + {zc} * {zc}))),
                               degrees(atan2({yc}, {xc}))) AS port_m
        FROM (SELECT DISTINCT cx, cy, cz FROM encounter_slow)
        """,
    )
    engine.materialize("encounter_pairs", _pairs_sql(p))
    pair = "mmsi, track_id, other_mmsi, other_track_id"
    # Both vessels' unit vectors averaged: right across the date line.
    lon = ("degrees(atan2(avg(sin(radians(lon)) + sin(radians(other_lon))),"
           " avg(cos(radians(lon)) + cos(radians(other_lon)))))")
    start, end = "greatest(min(t_first), min(other_t_first))", "least(max(t_last), max(other_t_last))"
    engine.materialize(
        "encounter_events",
        f"""
        SELECT *, row_number() OVER (ORDER BY {pair}, start) AS ev FROM (
            SELECT *, port_distance_m(lat, lon) AS port_m
            FROM (
                SELECT {pair}, {start} AS start, {end} AS "end",
                       min(t_first) AS a_first, max(t_last) AS a_last,
                       min(other_t_first) AS b_first, max(other_t_last) AS b_last,
                       avg((lat + other_lat) / 2) AS lat, {lon} AS lon, count(*) AS bins,
                       count(*) - count(CASE WHEN t_first IS NOT NULL AND other_t_first IS NOT NULL THEN 1 END)
                           AS interpolated_bins,
                       avg(distance_m) AS mean_m, min(distance_m) AS min_m,
                       avg(speed_kn) AS speed_kn, avg(other_speed_kn) AS other_speed_kn
                FROM (
                    SELECT *, bin - row_number() OVER (PARTITION BY {pair} ORDER BY bin) AS run
                    FROM encounter_pairs
                )
                GROUP BY {pair}, run
                HAVING {seconds_sql(end, start)} >= {p.min_duration_hours * 3600}
            )
        )
        WHERE port_m >= {p.min_port_distance_m}
        """,
    )
    for name in ("encounter_bins", "encounter_slow", "encounter_cells", "encounter_pairs"):
        engine.drop(name)
    end_col = '"end"'
    dur_h = f"{seconds_sql(end_col, 'start')} / 3600.0"
    return f"""
        SELECT mmsi, other_mmsi, start, "end", lat, lon,
               0.5 + 0.3 * least({dur_h} / ({p.min_duration_hours} * 3), 1)
                   + 0.2 * (1 - mean_m / {p.max_distance_m}) AS confidence,
               {{'duration_hours': round({dur_h}, 2),
                 'mean_distance_m': round(mean_m), 'min_distance_m': round(min_m),
                 'mean_speed_kn': round(speed_kn, 2), 'other_mean_speed_kn': round(other_speed_kn, 2),
                 'nearest_port_m': round(port_m), 'bins': bins, 'interpolated_bins': interpolated_bins,
                 'track_id': track_id, 'other_track_id': other_track_id,
                 'positions': [ref0, ref1, ref2, ref3]}} AS details
        FROM encounter_events LEFT JOIN ({_refs_sql()}) r USING (ev)
    """

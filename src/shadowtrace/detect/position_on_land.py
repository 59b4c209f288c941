"""position_on_land: a vessel reports positions well inside land (spoofed or corrupt fixes).

Definition (issue): positions well inland by the land mask shipped with the package
(`well_inland`: GLOBE 1 km land with every cell within 5 km also land, Natural Earth land,
and no port or anchorage within 25 km). One event per episode: consecutive inland positions
of one track, ended by a position back at sea, a silence of max_silence_hours or a step no
ship can sail. Rivers, canals and lakes far from ports are land to the mask, so the episode
must also show how the ship got there: off-track (spoofed) fixes, or a jump (a step faster
than max_sail_speed_kn) into or out of it. A ship seen sailing in and out, or only ever
seen inland, was on a waterway. Spoofing onto land is thus both a teleport and a
position_on_land (a ship shown at an inland airport). A lone fix is a glitch, as for
teleports.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import KNOT_M_S, haversine_sql, position_ref_sql, seconds_sql
from shadowtrace.engine.base import Engine

MASK_CELLS_PER_DEG = 120  # the shipped land mask's grid (GLOBE 30 arc-seconds, ~1 km)


@dataclass(frozen=True)
class Params:
    # Repeats of one fix within repeat_window_s (one message heard by several receivers)
    # count once.
    min_positions: int = 2
    repeat_window_s: float = 60.0
    max_silence_hours: float = 6.0  # ais_gap's threshold (GFW pipe-gaps): a new episode
    # Sailing in or out at no more than this (the teleport threshold, above which no ship
    # goes) means the place was reached by water.
    max_sail_speed_kn: float = 50.0
    full_confidence_positions: int = 10


def detect(engine: Engine, params: Params) -> str:
    # The land test runs once per mask cell (at its centre; cells are far fewer than
    # positions), then on each position in an inland cell, so a position counts only if it
    # is inland itself. Each test is a step of its own: a filter in the same statement would
    # be pushed down and run the test on every position.
    cy, cx = (f"CAST(round({c} * {MASK_CELLS_PER_DEG}) AS INTEGER)" for c in ("lat", "lon"))
    engine.materialize("land_all_cells", f"SELECT DISTINCT {cy} AS cy, {cx} AS cx FROM track_points")
    per_deg = float(MASK_CELLS_PER_DEG)
    engine.materialize("land_cells", f"SELECT * FROM land_all_cells WHERE well_inland(cy / {per_deg}, cx / {per_deg})")
    engine.materialize(
        "land_candidates",
        f"""
        SELECT t.mmsi, t.ingest_id, t.source_line, t.lat, t.lon
        FROM track_points t JOIN land_cells c ON c.cy = {cy} AND c.cx = {cx}
        """,
    )
    engine.materialize("land_inland", "SELECT * FROM land_candidates WHERE well_inland(lat, lon)")
    # Only the (few) vessels with an inland fix are ordered into episodes. Their real and
    # their spoofed (off-track) positions are ordered apart, so a glitch does not split a
    # run of real positions or pass for the jump that led there.
    silence = params.max_silence_hours * 3600

    def sailable(o: str) -> str:
        dt = seconds_sql(f"{o}_ts", "ts") if o == "next" else seconds_sql("ts", f"{o}_ts")
        return (f"coalesce({haversine_sql('lat', 'lon', f'{o}_lat', f'{o}_lon')}"
                f" <= {params.max_sail_speed_kn * KNOT_M_S} * greatest({dt}, 1), FALSE)")

    engine.materialize(
        "land_runs",
        f"""
        WITH seq AS (
            SELECT t.mmsi, t.track_id, t.ts, t.lat, t.lon, t.spoofed, t.ingest_id, t.source_line,
                   i.mmsi IS NOT NULL AS inland,
                   row_number() OVER (PARTITION BY t.mmsi ORDER BY t.ts, t.source_line) AS seq
            FROM track_points t
            LEFT JOIN land_inland i ON t.ingest_id = i.ingest_id AND t.source_line = i.source_line AND t.mmsi = i.mmsi
            WHERE t.mmsi IN (SELECT mmsi FROM land_inland)
        ), steps AS (
            SELECT *, lag(ts) OVER w AS prev_ts, lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon,
                   lag(seq) OVER w AS prev_seq, lag(track_id) OVER w AS prev_track_id,
                   lead(ts) OVER w AS next_ts, lead(lat) OVER w AS next_lat, lead(lon) OVER w AS next_lon
            FROM seq WINDOW w AS (PARTITION BY mmsi, spoofed ORDER BY seq)
        ), flagged AS (
            SELECT *, spoofed OR (prev_ts IS NOT NULL AND NOT {sailable('prev')}) AS jumped_in,
                   spoofed OR (next_ts IS NOT NULL AND NOT {sailable('next')}) AS jumped_out,
                   NOT inland OR NOT coalesce({sailable('prev')} AND prev_track_id = track_id
                       AND {seconds_sql('ts', 'prev_ts')} <= {silence} AND (NOT spoofed OR seq = prev_seq + 1), FALSE)
                       AS breaks
            FROM steps
        )
        SELECT mmsi, run, arg_min(track_id, seq) AS track_id, min(ts) AS start, max(ts) AS "end",
               count(DISTINCT ts) AS n, arg_min(lat, seq) AS lat, arg_min(lon, seq) AS lon,
               arg_max(lat, seq) AS last_lat, arg_max(lon, seq) AS last_lon, spoofed,
               arg_min(jumped_in, seq) AS jumped_in, arg_max(jumped_out, seq) AS jumped_out,
               arg_min({position_ref_sql()}, seq) AS first_ref, arg_max({position_ref_sql()}, seq) AS last_ref
        FROM (
            SELECT *, sum(CAST(breaks AS INTEGER)) OVER (PARTITION BY mmsi, spoofed ORDER BY seq
                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
            FROM flagged
        )
        WHERE inland
        GROUP BY mmsi, spoofed, run
        HAVING count(DISTINCT ts) >= {params.min_positions}
           AND ({seconds_sql('max(ts)', 'min(ts)')} >= {params.repeat_window_s}
                OR max(lat) > min(lat) OR max(lon) > min(lon))
        """,
    )
    full = params.full_confidence_positions
    return f"""
        SELECT mmsi, CAST(NULL AS INTEGER) AS other_mmsi, start, "end", lat, lon,
               0.6 + 0.3 * least(n / {full}.0, 1) + CASE WHEN spoofed THEN 0.1 ELSE 0 END AS confidence,
               {{'positions_count': n, 'duration_minutes': round({seconds_sql('"end"', 'start')} / 60.0, 1),
                 'last': {{'lat': last_lat, 'lon': last_lon}},
                 'nearest_port_m': round(port_distance_m(lat, lon)),
                 'off_track': spoofed, 'jumped_in': jumped_in, 'jumped_out': jumped_out,
                 'track_id': track_id,
                 'positions': [first_ref, last_ref]}} AS details
        FROM land_runs WHERE jumped_in OR jumped_out
    """

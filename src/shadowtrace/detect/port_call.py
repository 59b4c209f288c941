"""port_call: a vessel stopped inside a port's area, one event per call.

Definition: positions slower than max_speed_kn inside the area (`radius_m`) of a `geo_ports`
row, spanning >= min_duration_hours. Stop speed 0.5 kn: the issue's definition and the speed
above which a Global Fishing Watch port stop ends (Anchorages-and-voyages.md). GFW starts a
stop only below 0.2 kn; that hysteresis is not used, so a ship swinging at anchor at 0.2-0.5 kn
still calls, and speed jitter is absorbed by the merge rule instead: stops at the same port
are one call while the vessel stays inside that port's area, across brief movement and across
silences up to max_silence_hours (GFW counts an in-port gap > 4 h as part of the visit; the
cap is our choice, so a silence that could hide a round trip splits the call; ais_gap reports
it). A stop at another port, a stop outside ports or a position beyond the port's radius ends
the call. Calls at Russian crude/product export terminals carry sanctioned_terminal: true.
A position without a speed (AIS "not available") is not taken as stopped. The event spans the
first to the last stopped position of the call; lat/lon is where the vessel lay.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import haversine_sql, mean_lon_sql, position_ref_sql, seconds_sql
from shadowtrace.engine.base import Engine

# A ship at rest repeats nearly one position: ports are looked up once per ~100 m cell
# (0.001 degree), not once per position (the look-up is a k-d tree query in Python).
CELL_DIGITS = 3


@dataclass(frozen=True)
class Params:
    max_speed_kn: float = 0.5  # issue definition; GFW: a port stop ends above 0.5 kn
    min_duration_hours: float = 1.0  # our choice: drops pilot and berthing pauses
    max_silence_hours: float = 24.0  # GFW keeps in-port gaps in the visit; 24 h cap is ours


def port_cells_sql(points: str) -> str:
    """`clat, clon, pidx`: the port area (or -1) of each ~100 m cell of `points` (lat, lon)."""
    return f"""
        SELECT clat, clon, port_index(clat, clon) AS pidx FROM (
            SELECT DISTINCT round(lat, {CELL_DIGITS}) AS clat, round(lon, {CELL_DIGITS}) AS clon
            FROM {points}
        )
    """


def detect(engine: Engine, params: Params) -> str:
    stop = f"p.sog < {params.max_speed_kn}"
    silence = params.max_silence_hours * 3600
    engine.materialize(
        "port_call_cells",
        port_cells_sql(f"(SELECT lat, lon FROM track_points p WHERE NOT p.spoofed AND {stop})"),
    )
    # state: the port of a stopped position, -1 stopped outside ports, -2 moving. Materialised
    # narrow before the ordered pass: a join feeding a window directly is much slower.
    engine.materialize(
        "port_call_points",
        f"""
        SELECT p.mmsi, p.track_id, p.ts, p.lat, p.lon, p.ingest_id, p.source_line, coalesce(c.pidx, -2) AS state
        FROM track_points p
        LEFT JOIN port_call_cells c
          ON {stop} AND c.clat = round(p.lat, {CELL_DIGITS}) AND c.clon = round(p.lon, {CELL_DIGITS})
        WHERE NOT p.spoofed
        """,
    )
    # One ordered pass per track. A block is a run of one state without a long silence. Kept:
    # the ends of blocks stopped in a port, and break marks: a stop outside ports, or the
    # first position of an excursion beyond the radius of the latest stop's port.
    long_before = f"coalesce({seconds_sql('x.ts', 'x.prev_ts')} > {silence}, FALSE)"
    out = f"{haversine_sql('x.lat', 'x.lon', 'g.lat', 'g.lon')} > g.radius_m"
    was_out = f"{haversine_sql('x.prev_lat', 'x.prev_lon', 'g.lat', 'g.lon')} > g.radius_m"
    engine.materialize(
        "port_call_marks",
        f"""
        SELECT mmsi, track_id, ts, lat, lon, ingest_id, source_line, state, rn, first_of_block, last_of_block
        FROM (
            SELECT x.*,
                   x.state <> x.prev_state OR {long_before} AS first_of_block,
                   x.state <> x.next_state OR coalesce({seconds_sql('x.next_ts', 'x.ts')} > {silence}, FALSE) AS last_of_block,
                   g.port_index IS NOT NULL AND {out} AND NOT (x.prev_state = -2 AND {was_out}) AS leaves
            FROM (
                SELECT p.*,
                       lag(state, 1, -3) OVER w AS prev_state, lead(state, 1, -3) OVER w AS next_state,
                       lag(ts) OVER w AS prev_ts, lead(ts) OVER w AS next_ts,
                       lag(lat) OVER w AS prev_lat, lag(lon) OVER w AS prev_lon,
                       last_value(CASE WHEN state >= -1 THEN state END IGNORE NULLS)
                           OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS last_stop,
                       row_number() OVER w AS rn
                FROM port_call_points p
                WINDOW w AS (PARTITION BY mmsi, track_id ORDER BY ts, source_line)
            ) x
            LEFT JOIN geo_ports g ON x.state = -2 AND g.port_index = x.last_stop
        )
        WHERE (state >= 0 AND (first_of_block OR last_of_block)) OR (state = -1 AND first_of_block) OR leaves
        """,
    )
    engine.drop("port_call_points")
    # A block in a port continues the call of the previous kept row when that row ends a block
    # at the same port (so no mark lies between) less than max_silence_hours before.
    same_call = f"""state >= 0 AND first_of_block AND lag(state) OVER m = state AND lag(last_of_block) OVER m
                    AND {seconds_sql('ts', 'lag(ts) OVER m')} <= {silence}"""
    duration = seconds_sql('max(ts)', 'min(ts)')
    return f"""
        WITH calls AS (
            SELECT *, sum(CASE WHEN state >= 0 AND first_of_block AND NOT coalesce(continues, FALSE)
                              THEN 1 ELSE 0 END) OVER (PARTITION BY mmsi, track_id ORDER BY ts, source_line) AS call
            FROM (
                SELECT *, {same_call} AS continues,
                       CASE WHEN last_of_block THEN rn - CASE WHEN first_of_block THEN rn ELSE lag(rn) OVER m END + 1
                       END AS block_positions
                FROM port_call_marks
                WINDOW m AS (PARTITION BY mmsi, track_id ORDER BY ts, source_line)
            )
        )
        SELECT c.mmsi, CAST(NULL AS INTEGER) AS other_mmsi, c.start, c."end", c.lat, c.lon,
               0.5 + 0.5 * least(c.duration_s / ({params.min_duration_hours} * 6 * 3600.0), 1) AS confidence,
               {{'port_id': g.port_id, 'port_name': g.name, 'country': g.country, 'kind': g.kind,
                 'sanctioned_terminal': coalesce(g.sanctioned_terminal, FALSE),
                 'duration_hours': round(c.duration_s / 3600.0, 2),
                 'stopped_positions': c.n, 'track_id': c.track_id,
                 'positions': [c.first_ref, c.last_ref]}} AS details
        FROM (  -- lat/lon: mean of the block ends, enough for a vessel at rest
            SELECT mmsi, track_id, state, min(ts) AS start, max(ts) AS "end", {duration} AS duration_s,
                   avg(lat) AS lat, {mean_lon_sql('lon')} AS lon, sum(block_positions) AS n,
                   arg_min({position_ref_sql()}, ts) AS first_ref, arg_max({position_ref_sql()}, ts) AS last_ref
            FROM calls WHERE state >= 0
            GROUP BY mmsi, track_id, call, state
            HAVING {duration} >= {params.min_duration_hours * 3600}
        ) c
        JOIN geo_ports g ON g.port_index = c.state
    """

"""loitering: one vessel drifting or stopped at sea for hours, away from ports.

Definition: speed < max_speed_kn for >= min_duration_hours, at >= min_port_distance_m from
any port or anchorage. Speed threshold: GFW loitering (hourly average < 2 kn; Loitering.md);
4 h: RFMO transshipment reporting for carriers (GFW carriers use 8 h). Unlike GFW there is
no 20 nm offshore rule: STS hubs such as the Laconian Gulf lie near coasts. A silence
longer than max_silence_hours ends a loitering run, as a track segmenter would.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import mean_lon_sql, position_ref_sql, seconds_sql
from shadowtrace.engine.base import Engine


@dataclass(frozen=True)
class Params:
    max_speed_kn: float = 2.0  # GFW loitering speed
    min_duration_hours: float = 4.0  # RFMO transshipment reporting
    min_port_distance_m: float = 10_000.0  # GFW: encounters/loitering >= 10 km from anchorages
    max_silence_hours: float = 3.0


def slow_runs_sql(max_speed_kn: float, max_silence_hours: float) -> str:
    """Runs of consecutive slow positions per track (gaps-and-islands); a silence is measured
    from the previous real position of the track (`prev_real_ts`, from the tracks step)."""
    return f"""
        SELECT mmsi, track_id, ts, lat, lon, sog, ingest_id, source_line,
               sum(CAST(NOT slow OR broken AS INTEGER)) OVER (PARTITION BY mmsi, track_id ORDER BY ts, source_line) AS run,
               slow
        FROM (
            SELECT *, coalesce(sog < {max_speed_kn}, FALSE) AS slow,
                   coalesce({seconds_sql('ts', 'prev_real_ts')} > {max_silence_hours * 3600}, FALSE) AS broken
            FROM track_points WHERE NOT spoofed
        )
    """


def detect(engine: Engine, params: Params) -> str:
    engine.materialize(
        "loiter_runs",
        f"""
        SELECT mmsi, track_id, run, min(ts) AS start, max(ts) AS "end", avg(lat) AS lat, {mean_lon_sql('lon')} AS lon,
               avg(sog) AS mean_sog, count(*) AS positions,
               arg_min({position_ref_sql()}, ts) AS first_ref, arg_max({position_ref_sql()}, ts) AS last_ref
        FROM ({slow_runs_sql(params.max_speed_kn, params.max_silence_hours)})
        WHERE slow
        GROUP BY mmsi, track_id, run
        HAVING {seconds_sql('max(ts)', 'min(ts)')} >= {params.min_duration_hours * 3600}
        """,
    )
    return f"""
        SELECT mmsi, CAST(NULL AS INTEGER) AS other_mmsi, start, "end", lat, lon,
               0.5 + 0.5 * least({seconds_sql('"end"', 'start')} / ({params.min_duration_hours} * 3 * 3600.0), 1)
                   AS confidence,
               {{'duration_hours': round({seconds_sql('"end"', 'start')} / 3600.0, 2),
                 'mean_speed_kn': round(mean_sog, 2), 'positions_count': positions,
                 'nearest_port_m': round(port_m), 'track_id': track_id,
                 'positions': [first_ref, last_ref]}} AS details
        FROM (SELECT *, port_distance_m(lat, lon) AS port_m FROM loiter_runs)
        WHERE port_m >= {params.min_port_distance_m}
    """

"""teleport: a track jumps somewhere no ship could reach in time, then comes back (GNSS spoofing).

Definition (issue): consecutive positions implying more than min_speed_kn over more than
min_distance_m, the real track later resuming (its position stops reporting meanwhile).
The excursion is found by the track segmenter (`shadowtrace.detect.tracks`): one event per
excursion, starting at the first jumped position. A lone off-track fix is a receiver
glitch, an excursion that never returns is a track of its own, and a second hull that keeps
reporting is an identity_conflict: none of these is a teleport.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import seconds_sql, ts_text_sql
from shadowtrace.engine.base import Engine


@dataclass(frozen=True)
class Params:
    # Issue definition. AISdb's denoising speed limit is also 50 kn; GFW gpsdio-segment
    # splits at 25 kn, but fast craft exceed that. Also used by the track segmenter.
    min_speed_kn: float = 50.0
    min_distance_m: float = 10_000.0  # issue definition: beyond GNSS noise and close glitches
    min_positions: int = 2  # off-track fixes; one alone (or heard twice) is a receiver glitch
    full_confidence_positions: int = 10  # a sustained excursion is not noise


def detect(engine: Engine, params: Params) -> str:
    return f"""
        SELECT mmsi, CAST(NULL AS INTEGER) AS other_mmsi, start, "end", lat, lon,
               0.5 + 0.3 * least(positions / {params.full_confidence_positions}.0, 1)
                   + 0.2 * least(distance_m / ({params.min_distance_m} * 10.0), 1) AS confidence,
               {{'jump_distance_m': round(distance_m), 'implied_speed_kn': round(implied_speed_kn, 1),
                 'excursion_minutes': round({seconds_sql('"end"', 'start')} / 60.0, 1),
                 'real_track_silent_minutes': round({seconds_sql('after_ts', 'before_ts')} / 60.0, 1),
                 'positions_count': positions,
                 'before': {{'ts': {ts_text_sql('before_ts')}, 'lat': before_lat, 'lon': before_lon}},
                 'at': {{'ts': {ts_text_sql('start')}, 'lat': lat, 'lon': lon}},
                 'last': {{'ts': {ts_text_sql('"end"')}, 'lat': last_lat, 'lon': last_lon}},
                 'after': {{'ts': {ts_text_sql('after_ts')}, 'lat': after_lat, 'lon': after_lon}},
                 'return_distance_m': round(return_distance_m), 'track_id': track_id,
                 'positions': refs}} AS details
        FROM track_anomalies
        WHERE kind = 'teleport' AND positions >= {params.min_positions}
          AND distance_m > {params.min_distance_m} AND implied_speed_kn > {params.min_speed_kn}
    """

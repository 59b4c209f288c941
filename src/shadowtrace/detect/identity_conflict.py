"""identity_conflict: two hulls broadcast one MMSI at the same time, far apart (a cloned MMSI).

Definition (issue): positions of one MMSI alternating between far-apart places (an
impossible step, > 50 kn over > 10 km, at every switch) with both keeping on reporting.
The track segmenter (`shadowtrace.detect.tracks`, as GFW's gpsdio-segment separates hulls
sharing an MMSI) gives each hull its own track_id, so gaps and other detectors see two
clean tracks, and reports one episode per MMSI: the second hull's reports come back at
least `TrackParams.min_clone_visits` times, each within `clone_window_hours` of the last.
A spoofed jump differs: the real position stops reporting (see teleport).
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import seconds_sql, ts_text_sql
from shadowtrace.engine.base import Engine


@dataclass(frozen=True)
class Params:
    # Visits of the second hull between the other's reports: 3 = two alternations, the
    # least that tells "both keep reporting" from a spoofed jump and its return. The track
    # segmenter already needs TrackParams.min_clone_visits (3); this can only raise it.
    min_visits_count: int = 3
    full_confidence_visits_count: int = 20  # an hour of alternating 1-3 minute class A reports


def detect(engine: Engine, params: Params) -> str:
    return f"""
        SELECT mmsi, CAST(NULL AS INTEGER) AS other_mmsi, start, "end", lat, lon,
               0.6 + 0.4 * least(visits / {params.full_confidence_visits_count}.0, 1) AS confidence,
               {{'overlap_hours': round({seconds_sql('"end"', 'start')} / 3600.0, 2),
                 'distance_m': round(distance_m), 'hulls': hulls, 'alternations': visits,
                 'positions_count': positions, 'other_positions_count': other_positions,
                 'clone_start': {{'lat': lat, 'lon': lon}}, 'clone_end': {{'lat': last_lat, 'lon': last_lon}},
                 'other_hull': {{'ts': {ts_text_sql('before_ts')}, 'lat': before_lat, 'lon': before_lon}},
                 'track_id': track_id, 'other_track_id': other_track_id,
                 'positions': refs}} AS details
        FROM track_anomalies
        WHERE kind = 'identity_conflict' AND visits >= {params.min_visits_count}
    """

"""The shape every detector has: a frozen Params dataclass and one detect() function.

detect(engine, params) returns one SQL query (DuckDB dialect, portable subset) over the
prepared tables (`track_points`, `vessel_reports`, `geo_ports`) that yields the columns
`mmsi, other_mmsi, start, end, lat, lon, confidence, details` (details a STRUCT with the
evidence). The runner adds `event_id` and `type`, and stores the rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shadowtrace.engine.base import Engine
from shadowtrace.geo import EARTH_RADIUS_M  # one radius everywhere

KNOT_M_S = 1852.0 / 3600.0


@dataclass(frozen=True)
class Detector:
    """One registered detector."""

    type: str  # the event type it emits
    params: type  # a frozen dataclass; fields carry units in their names
    detect: Callable[[Engine, Any], str]
    summary: str


def haversine_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    """Great-circle distance in metres between two SQL points (portable SQL)."""
    return (
        f"(2 * {EARTH_RADIUS_M} * asin(sqrt(pow(sin(radians(({lat2}) - ({lat1})) / 2), 2)"
        f" + cos(radians({lat1})) * cos(radians({lat2}))"
        f" * pow(sin(radians(({lon2}) - ({lon1})) / 2), 2))))"
    )


def seconds_sql(later: str, earlier: str) -> str:
    """Seconds between two TIMESTAMP expressions."""
    return f"(epoch({later}) - epoch({earlier}))"


def ts_text_sql(ts: str) -> str:
    """A TIMESTAMP for the details JSON, as text ('2025-03-01 12:00:00', fraction only when
    there is one): to_json would write Spark's ISO form ('...T12:00:00.000Z') on Spark."""
    return f"CAST({ts} AS VARCHAR)"


def position_ref_sql(alias: str = "") -> str:
    """A reference to a stored position row: 'ingest_id:source_line'."""
    prefix = f"{alias}." if alias else ""
    return f"(CAST({prefix}ingest_id AS VARCHAR) || ':' || CAST({prefix}source_line AS VARCHAR))"


def mean_lon_sql(lon: str) -> str:
    """Mean longitude that is right across the date line (mean of unit vectors)."""
    return f"degrees(atan2(avg(sin(radians({lon}))), avg(cos(radians({lon})))))"

"""The event contract: columns, deterministic ids, storage and export."""

from __future__ import annotations

EVENT_COLUMNS = (
    "event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon", "confidence", "details",
)



def wrap_event_sql(event_type: str, detector_sql: str) -> str:
    """Add type and a deterministic event_id to a detector's rows, in contract order."""
    key = (
        f"concat_ws('|', '{event_type}', CAST(mmsi AS VARCHAR),"
        " coalesce(CAST(other_mmsi AS VARCHAR), ''), CAST(epoch_us(start) AS VARCHAR))"
    )
    return f"""
        SELECT substr(md5({key}), 1, 20) AS event_id, '{event_type}' AS type,
               CAST(mmsi AS INTEGER) AS mmsi, CAST(other_mmsi AS INTEGER) AS other_mmsi,
               CAST(start AS TIMESTAMP) AS start, CAST("end" AS TIMESTAMP) AS "end",
               CAST(lat AS DOUBLE) AS lat, CAST(lon AS DOUBLE) AS lon,
               round(least(greatest(CAST(confidence AS DOUBLE), 0.0), 1.0), 3) AS confidence,
               CAST(to_json(details) AS JSON) AS details
        FROM ({detector_sql}) AS detected
    """

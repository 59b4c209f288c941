"""Export stored events in the event contract: csv, json, geojson, parquet."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import IO, Any

import duckdb

from shadowtrace.detect.events import EVENT_COLUMNS
from shadowtrace.errors import ConfigError
from shadowtrace.filters import BBox

EXPORT_FORMATS = ("csv", "json", "geojson", "parquet")


def _event_filters(*, types: list[str] | None, mmsi: int | None, since: dt.datetime | None,
                   until: dt.datetime | None, bbox: BBox | None,
                   min_confidence: float | None) -> tuple[str, list[Any]]:
    where, args = ["TRUE"], []
    if types:
        where.append("type IN (SELECT unnest(?::VARCHAR[]))")
        args.append(list(types))
    if mmsi is not None:
        where.append("(mmsi = ? OR other_mmsi = ?)")
        args += [mmsi, mmsi]
    if since is not None:
        where.append('"end" >= ?')
        args.append(since)
    if until is not None:
        where.append("start <= ?")
        args.append(until)
    if bbox is not None:
        condition, values = bbox.sql()
        where.append(condition)
        args += values
    if min_confidence is not None:
        where.append("confidence >= ?")
        args.append(min_confidence)
    return " AND ".join(where), args


def query_events(con: duckdb.DuckDBPyConnection, *, types: list[str] | None = None,
                 mmsi: int | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, bbox: BBox | None = None,
                 min_confidence: float | None = None, limit: int | None = None,
                 offset: int = 0) -> Any:
    """Events (a pyarrow table in the event contract) filtered by type, vessel (either side of
    an encounter), time overlap (naive UTC), position inside ``bbox`` and confidence; ordered by
    start, one page when ``limit`` is given."""
    where, args = _event_filters(types=types, mmsi=mmsi, since=since, until=until, bbox=bbox,
                                 min_confidence=min_confidence)
    columns = ", ".join(
        f'strftime("{c}", \'%Y-%m-%dT%H:%M:%SZ\') AS "{c}"' if c in ("start", "end") else f'"{c}"'
        for c in EVENT_COLUMNS
    )
    sql = f"SELECT {columns} FROM events WHERE {where} ORDER BY start, type, mmsi, event_id"
    if limit is not None:
        if limit < 0 or offset < 0:
            raise ConfigError("limit and offset must not be negative")
        sql += " LIMIT ? OFFSET ?"
        args += [limit, offset]
    return con.sql(sql, params=args).to_arrow_table()


def count_events(con: duckdb.DuckDBPyConnection, *, types: list[str] | None = None,
                 mmsi: int | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, bbox: BBox | None = None,
                 min_confidence: float | None = None) -> int:
    """How many events :func:`query_events` finds with the same filters (without paging)."""
    where, args = _event_filters(types=types, mmsi=mmsi, since=since, until=until, bbox=bbox,
                                 min_confidence=min_confidence)
    return int(con.execute(f"SELECT count(*) FROM events WHERE {where}", args).fetchall()[0][0])


def event_rows(table: Any) -> list[dict[str, Any]]:
    """The events as dicts with ``details`` parsed."""
    rows = table.to_pylist()
    for row in rows:
        row["details"] = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    return rows


def events_geojson(table: Any) -> dict[str, Any]:
    """A FeatureCollection of Points (geometry null for events without a position)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "id": row["event_id"],
             "geometry": None if row["lat"] is None else {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
             "properties": {k: v for k, v in row.items() if k not in ("lat", "lon")}}
            for row in event_rows(table)
        ],
    }


def events_csv(table: Any, handle: IO[str]) -> None:
    """The events as CSV, header first, details as a JSON string."""
    writer = csv.writer(handle)
    writer.writerow(EVENT_COLUMNS)
    for row in table.to_pylist():
        writer.writerow(["" if row[c] is None else row[c] for c in EVENT_COLUMNS])


def write_events(table: Any, fmt: str, out: Path | None) -> None:
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", hint=f"choose one of: {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet":
        if out is None:
            raise ConfigError("parquet needs --out FILE")
        import pyarrow.parquet as pq

        pq.write_table(table, out)
        return
    if fmt == "csv":
        with contextlib.ExitStack() as stack:
            handle = stack.enter_context(open(out, "w", newline="", encoding="utf-8")) if out else sys.stdout
            events_csv(table, handle)
        return
    if fmt == "json":
        text = json.dumps(event_rows(table), indent=1, default=str)
    else:
        text = json.dumps(events_geojson(table), default=str)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")

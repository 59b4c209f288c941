"""Export stored events in the event contract: csv, json, geojson, parquet."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import duckdb

from shadowtrace.detect.events import EVENT_COLUMNS
from shadowtrace.errors import ConfigError

EXPORT_FORMATS = ("csv", "json", "geojson", "parquet")


def query_events(con: duckdb.DuckDBPyConnection, *, types: list[str] | None = None,
                 mmsi: int | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None) -> duckdb.DuckDBPyRelation:
    """Events filtered by type, vessel (either side of an encounter) and time overlap."""
    where, args = ["TRUE"], []
    if types:
        where.append("type IN (SELECT unnest(?))")
        args.append(types)
    if mmsi is not None:
        where.append("(mmsi = ? OR other_mmsi = ?)")
        args += [mmsi, mmsi]
    if since is not None:
        where.append('"end" >= ?')
        args.append(since)
    if until is not None:
        where.append("start <= ?")
        args.append(until)
    columns = ", ".join(
        f'strftime("{c}", \'%Y-%m-%dT%H:%M:%SZ\') AS "{c}"' if c in ("start", "end") else f'"{c}"'
        for c in EVENT_COLUMNS
    )
    sql = f"SELECT {columns} FROM events WHERE {' AND '.join(where)} ORDER BY start, type, mmsi"
    return con.sql(sql, params=args).to_arrow_table()  # type: ignore[return-value]


def write_events(table: Any, fmt: str, out: Path | None) -> None:
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r}", hint=f"choose one of: {', '.join(EXPORT_FORMATS)}")
    rows = table.to_pylist()
    if fmt == "parquet":
        if out is None:
            raise ConfigError("parquet needs --out FILE")
        import pyarrow.parquet as pq

        pq.write_table(table, out)
        return
    if fmt == "csv":
        import csv

        with contextlib.ExitStack() as stack:
            handle = stack.enter_context(open(out, "w", newline="", encoding="utf-8")) if out else sys.stdout
            writer = csv.writer(handle)
            writer.writerow(EVENT_COLUMNS)
            for row in rows:
                writer.writerow(["" if row[c] is None else row[c] for c in EVENT_COLUMNS])
        return
    for row in rows:
        row["details"] = json.loads(row["details"]) if isinstance(row["details"], str) else row["details"]
    if fmt == "json":
        text = json.dumps(rows, indent=1, default=str)
    else:
        text = json.dumps({
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "id": row["event_id"],
                 "geometry": None if row["lat"] is None else {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
                 "properties": {k: v for k, v in row.items() if k not in ("lat", "lon")}}
                for row in rows
            ],
        }, default=str)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")

"""What a store holds: counts, loaded lists, ingests (read side, for the API and the page)."""

from __future__ import annotations

from typing import Any

import duckdb

from shadowtrace.errors import StoreError
from shadowtrace.store.schema import SCHEMA_VERSION


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute("SELECT max(version) FROM schema_version").fetchall()
    return int(row[0][0] or 0)


def require_current_schema(con: duckdb.DuckDBPyConnection, path: object) -> None:
    """A store opened read-only is not migrated: refuse an older one with what to do."""
    found = schema_version(con)
    if found > SCHEMA_VERSION:
        raise StoreError(f"store {path} has schema version {found}, this shadowtrace knows up to {SCHEMA_VERSION}",
                         hint="upgrade shadowtrace")
    if found < SCHEMA_VERSION:
        raise StoreError(f"store {path} has schema version {found}, the read side needs {SCHEMA_VERSION}",
                         hint="run `shadowtrace screen --db FILE` once (it upgrades the store)")


def store_health(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Counts of what the store holds."""
    row = con.execute("""
        SELECT (SELECT count(*) FROM positions),
               (SELECT count(*) FROM (SELECT DISTINCT mmsi FROM positions
                                      UNION SELECT DISTINCT mmsi FROM vessel_reports)),
               (SELECT count(*) FROM events),
               (SELECT count(*) FROM lists),
               (SELECT count(*) FROM risk_scores WHERE score > 0)""").fetchall()[0]
    positions, vessels, events, lists, scored = (int(v) for v in row)
    return {"status": "ok", "schema_version": schema_version(con), "positions": positions,
            "vessels": vessels, "events": events, "lists": lists, "scored_vessels": scored}


def lists_overview(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """The loaded lists, oldest first, with their sizes and version (fingerprint, load time)."""
    rows = con.execute("""
        SELECT l.name, l.format, l.kind, l.entities, l.vessels,
               (SELECT count(*) FROM list_entities e WHERE e.list_id = l.list_id AND e.sanctioned),
               l.links, l.loaded_at, l.fingerprint
        FROM lists l ORDER BY l.list_id""").fetchall()
    keys = ("name", "format", "kind", "entities", "vessels", "designated", "links", "loaded_at", "fingerprint")
    return [dict(zip(keys, row)) for row in rows]


_INGEST_COLUMNS = ("ingest_id", "source", "format", "status", "started_at", "finished_at", "lines_read",
                   "positions_read", "positions_added", "reports_read", "reports_added", "duplicates",
                   "rejects", "vessels", "ts_min", "ts_max")


def list_ingests(con: duckdb.DuckDBPyConnection, *, limit: int = 50,
                 offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """One page of ingests, newest first, and how many there are."""
    total = int(con.execute("SELECT count(*) FROM ingests").fetchall()[0][0])
    rows = con.execute(f"SELECT {', '.join(_INGEST_COLUMNS)} FROM ingests ORDER BY ingest_id DESC "
                       "LIMIT ? OFFSET ?", [limit, offset]).fetchall()
    return [dict(zip(_INGEST_COLUMNS, row)) for row in rows], total

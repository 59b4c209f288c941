"""Validate staged rows, quarantine the bad ones, and insert the rest without duplicates.

Readers stage raw values; this module owns every cleaning rule, so all formats get the
same ones (documented in docs/data-model.md):
- AIS "not available" codes become NULL: SOG 102.3, COG 360, heading 511, draught 0,
  IMO 0, ship type 0, dimensions 0 (type 27: SOG 63, COG 511).
- Rows that cannot be a vessel position go to `rejects` with a reason.
- Exact duplicates (within the input and against the store) are counted and dropped.
Each flush runs in one transaction, together with the ingest's running counters.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from shadowtrace.ingest.batch import Batch

FLUSH_ROWS = 2_000_000

POSITION_KEY = "mmsi, ts, lat, lon, sog, cog, heading, nav_status"
REPORT_KEY = (
    "mmsi, ts, imo, name, callsign, ship_type, to_bow, to_stern, to_port, to_starboard, "
    "length_m, width_m, draught, destination, eta"
)

# Normalise not-available codes first, then judge what is left.
_POSITIONS_CLEAN = """
CREATE OR REPLACE TEMP TABLE clean_positions AS
WITH normalised AS (
    SELECT mmsi, ts, lat, lon,
        CASE WHEN msg_type = 27 AND sog = 63 THEN NULL
             WHEN sog BETWEEN 102.25 AND 102.35 THEN NULL ELSE sog END AS sog,
        CASE WHEN msg_type = 27 AND cog = 511 THEN NULL
             WHEN cog BETWEEN 359.95 AND 360.05 THEN NULL ELSE cog END AS cog,
        CASE WHEN heading = 511 THEN NULL ELSE heading END AS heading,
        nav_status, msg_type, source_line, raw
    FROM stage_positions
)
SELECT mmsi, ts, lat, lon, CAST(sog AS REAL) AS sog, CAST(cog AS REAL) AS cog,
    TRY_CAST(heading AS SMALLINT) AS heading, TRY_CAST(nav_status AS TINYINT) AS nav_status,
    msg_type, source_line, raw, reason
FROM (SELECT *,
    CASE
        WHEN ts IS NULL THEN 'missing_time'
        WHEN mmsi IS NULL THEN 'missing_mmsi'
        WHEN mmsi < 100000000 OR mmsi > 999999999 THEN 'mmsi_not_9_digits'
        WHEN mmsi // 100000000 NOT BETWEEN 2 AND 7 THEN 'not_a_vessel_mmsi'
        WHEN lat IS NULL OR lon IS NULL THEN 'missing_position'
        WHEN lat = 91 OR lon = 181 THEN 'position_unavailable'
        WHEN isnan(lat) OR isnan(lon) OR abs(lat) > 90 OR abs(lon) > 180
            THEN 'position_out_of_range'
        WHEN lat = 0 AND lon = 0 THEN 'position_null_island'
        WHEN sog < 0 OR sog > 102.3 THEN 'speed_out_of_range'
        WHEN cog < 0 OR cog > 360 THEN 'course_out_of_range'
        WHEN heading < 0 OR heading > 359 THEN 'heading_out_of_range'
        WHEN nav_status < 0 OR nav_status > 15 THEN 'nav_status_out_of_range'
        WHEN ts < TIMESTAMP '1990-01-01' OR ts > (now() AT TIME ZONE 'UTC') + INTERVAL 2 DAY
            THEN 'time_out_of_range'
    END AS reason
FROM normalised)
"""

_REPORTS_CLEAN = """
CREATE OR REPLACE TEMP TABLE clean_reports AS
WITH normalised AS (
    SELECT mmsi, ts,
        nullif(imo, 0) AS imo,
        nullif(trim(name), '') AS name,
        nullif(trim(callsign), '') AS callsign,
        nullif(ship_type, 0) AS ship_type,
        nullif(to_bow, 0) AS to_bow, nullif(to_stern, 0) AS to_stern,
        nullif(to_port, 0) AS to_port, nullif(to_starboard, 0) AS to_starboard,
        coalesce(nullif(length_m, 0), CASE WHEN to_bow > 0 AND to_stern > 0
            AND to_bow < 511 AND to_stern < 511 THEN to_bow + to_stern END) AS length_m,
        coalesce(nullif(width_m, 0), CASE WHEN to_port > 0 AND to_starboard > 0
            AND to_port < 63 AND to_starboard < 63 THEN to_port + to_starboard END) AS width_m,
        CASE WHEN draught > 0 THEN draught END AS draught,
        nullif(trim(destination), '') AS destination,
        eta, msg_type, source_line, raw, derived
    FROM stage_reports
)
SELECT mmsi, ts, TRY_CAST(imo AS INTEGER) AS imo, name, callsign,
    TRY_CAST(ship_type AS SMALLINT) AS ship_type, TRY_CAST(to_bow AS SMALLINT) AS to_bow,
    TRY_CAST(to_stern AS SMALLINT) AS to_stern, TRY_CAST(to_port AS SMALLINT) AS to_port,
    TRY_CAST(to_starboard AS SMALLINT) AS to_starboard, CAST(length_m AS REAL) AS length_m,
    CAST(width_m AS REAL) AS width_m, CAST(draught AS REAL) AS draught, destination, eta,
    msg_type, source_line, raw, derived, reason
FROM (SELECT *,
    CASE
        WHEN ts IS NULL THEN 'missing_time'
        WHEN mmsi IS NULL THEN 'missing_mmsi'
        WHEN mmsi < 100000000 OR mmsi > 999999999 THEN 'mmsi_not_9_digits'
        WHEN mmsi // 100000000 NOT BETWEEN 2 AND 7 THEN 'not_a_vessel_mmsi'
        WHEN ts < TIMESTAMP '1990-01-01' OR ts > (now() AT TIME ZONE 'UTC') + INTERVAL 2 DAY
            THEN 'time_out_of_range'
        WHEN imo IS NULL AND name IS NULL AND callsign IS NULL AND ship_type IS NULL
            AND draught IS NULL AND destination IS NULL AND length_m IS NULL
            THEN 'no_static_data'
        WHEN imo < 0 OR imo > 2147483647 THEN 'imo_out_of_range'
        WHEN draught > 25.5 OR length_m > 1000 OR width_m > 200 THEN 'dimension_out_of_range'
    END AS reason
FROM normalised)
"""


@dataclass
class LoadCounts:
    lines: int = 0
    blank_lines: int = 0
    fragments: int = 0
    positions_read: int = 0
    positions_added: int = 0
    reports_read: int = 0
    reports_added: int = 0
    derived_reports: int = 0
    duplicates: int = 0
    rejects: int = 0
    rejects_by_reason: Counter[str] = field(default_factory=Counter)
    other_by_kind: Counter[str] = field(default_factory=Counter)

    @property
    def other_messages(self) -> int:
        return sum(self.other_by_kind.values())


class Loader:
    """Stages batches for one ingest and flushes them into the canonical tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, ingest_id: int, source_name: str):
        self.con = con
        self.ingest_id = ingest_id
        self.source_name = source_name
        self.counts = LoadCounts()
        self._staged = 0
        con.execute(
            "CREATE OR REPLACE TEMP TABLE stage_positions (mmsi BIGINT, ts TIMESTAMP, lat DOUBLE,"
            " lon DOUBLE, sog DOUBLE, cog DOUBLE, heading INTEGER, nav_status INTEGER,"
            " msg_type INTEGER, source_line BIGINT, raw VARCHAR)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE stage_reports (mmsi BIGINT, ts TIMESTAMP, imo BIGINT,"
            " name VARCHAR, callsign VARCHAR, ship_type INTEGER, to_bow INTEGER,"
            " to_stern INTEGER, to_port INTEGER, to_starboard INTEGER, length_m DOUBLE,"
            " width_m DOUBLE, draught DOUBLE, destination VARCHAR, eta VARCHAR,"
            " msg_type INTEGER, source_line BIGINT, raw VARCHAR, derived BOOLEAN)"
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE stage_rejects"
            " (source_line BIGINT, raw VARCHAR, reason VARCHAR)"
        )

    def add(self, batch: Batch) -> None:
        """Stage a reader batch; flushes when enough rows are waiting."""
        self.add_many([batch])

    def add_many(self, batches: list[Batch]) -> None:
        """Stage reader batches with one insert per staging table (each insert has a fixed
        cost: a live feed's small chunks are staged together at commit)."""
        c = self.counts
        for batch in batches:
            c.lines += batch.lines
            c.blank_lines += batch.blank_lines
            c.fragments += batch.fragments
            c.other_by_kind.update(batch.other_by_kind)
        for table, attr in (("stage_positions", "positions"), ("stage_reports", "reports"),
                            ("stage_rejects", "rejects")):
            parts = [getattr(b, attr) for b in batches if getattr(b, attr).num_rows]
            if parts:
                self._append(table, parts[0] if len(parts) == 1 else pa.concat_tables(parts, promote_options="permissive"))
        self._staged += sum(b.positions.num_rows + b.reports.num_rows for b in batches)
        if self._staged >= FLUSH_ROWS:
            self.flush()

    def add_sql(self, positions_sql: str, reports_sql: str | None, rejects_sql: str | None,
                lines: int) -> None:
        """Stage rows straight from SQL (tabular readers let DuckDB do the parsing)."""
        self.counts.lines += lines
        self.con.execute(f"INSERT INTO stage_positions {positions_sql}")
        if reports_sql:
            self.con.execute(f"INSERT INTO stage_reports {reports_sql}")
        if rejects_sql:
            self.con.execute(f"INSERT INTO stage_rejects {rejects_sql}")
        self._staged += 1

    def _append(self, table: str, arrow: pa.Table) -> None:
        self.con.register("_arrow_batch", arrow)
        try:
            self.con.execute(f"INSERT INTO {table} SELECT * FROM _arrow_batch")
        finally:
            self.con.unregister("_arrow_batch")

    def flush(self, before_commit: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> None:
        """Validate, quarantine and insert everything staged, in one transaction (together
        with `before_commit`'s statements: a live source records how far it got)."""
        con = self.con
        if self._staged == 0 and not self._count("stage_rejects"):
            if before_commit is not None:
                con.execute("BEGIN TRANSACTION")
                before_commit(con)
                con.execute("COMMIT")
            return
        c = self.counts
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_POSITIONS_CLEAN)
            con.execute(_REPORTS_CLEAN)
            con.execute(
                "INSERT INTO rejects SELECT ?, ?, source_line, raw, reason FROM stage_rejects",
                [self.ingest_id, self.source_name],
            )
            con.execute(
                "INSERT INTO rejects SELECT ?, ?, source_line, raw, reason FROM clean_positions"
                " WHERE reason IS NOT NULL",
                [self.ingest_id, self.source_name],
            )
            # A derived report shares its message's fate with the position, already counted.
            con.execute(
                "INSERT INTO rejects SELECT ?, ?, source_line, raw, reason FROM clean_reports"
                " WHERE reason IS NOT NULL AND NOT derived",
                [self.ingest_id, self.source_name],
            )
            by_reason = con.execute(
                "SELECT reason, count(*) FROM ("
                " SELECT reason FROM stage_rejects"
                " UNION ALL SELECT reason FROM clean_positions WHERE reason IS NOT NULL"
                " UNION ALL SELECT reason FROM clean_reports WHERE reason IS NOT NULL"
                " AND NOT derived) GROUP BY reason"
            ).fetchall()
            positions_read = self._count("clean_positions WHERE reason IS NULL")
            reports_read = self._count("clean_reports WHERE reason IS NULL AND NOT derived")
            derived = self._count("clean_reports WHERE reason IS NULL AND derived")
            positions_added = self._insert_positions()
            reports_added = self._insert_reports()
            for table in ("stage_positions", "stage_reports", "stage_rejects"):
                con.execute(f"DELETE FROM {table}")
            c.positions_read += positions_read
            c.positions_added += positions_added
            c.reports_read += reports_read
            c.derived_reports += derived
            c.reports_added += reports_added
            c.duplicates += positions_read - positions_added
            c.duplicates += reports_read + derived - reports_added
            for reason, count in by_reason:
                c.rejects_by_reason[reason] += count
            c.rejects = sum(c.rejects_by_reason.values())
            self._save_counts()
            if before_commit is not None:
                before_commit(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._staged = 0

    def _count(self, relation: str) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {relation}").fetchone()
        return int(row[0]) if row else 0

    def _insert_positions(self) -> int:
        bounds = self.con.execute(
            "SELECT min(ts), max(ts) FROM clean_positions WHERE reason IS NULL"
        ).fetchone()
        if not bounds or bounds[0] is None:
            return 0
        before = self._count("positions")
        # Group on the full report: exact duplicates collapse to their first line.
        self.con.execute(
            f"""
            INSERT INTO positions
            SELECT s.mmsi, s.ts, s.lat, s.lon, s.sog, s.cog, s.heading, s.nav_status,
                   s.msg_type, ?, s.source_line, s.raw
            FROM (
                SELECT {POSITION_KEY}, min(source_line) AS source_line,
                       arg_min(raw, source_line) AS raw, arg_min(msg_type, source_line) AS msg_type
                FROM clean_positions WHERE reason IS NULL
                GROUP BY {POSITION_KEY}
            ) s
            WHERE NOT EXISTS (
                SELECT 1 FROM positions p
                WHERE p.ts BETWEEN ? AND ? AND p.mmsi = s.mmsi AND p.ts = s.ts
                  AND p.lat = s.lat AND p.lon = s.lon
                  AND p.sog IS NOT DISTINCT FROM s.sog AND p.cog IS NOT DISTINCT FROM s.cog
                  AND p.heading IS NOT DISTINCT FROM s.heading
                  AND p.nav_status IS NOT DISTINCT FROM s.nav_status
            )
            """,
            [self.ingest_id, bounds[0], bounds[1]],
        )
        return self._count("positions") - before

    def _insert_reports(self) -> int:
        bounds = self.con.execute(
            "SELECT min(ts), max(ts) FROM clean_reports WHERE reason IS NULL"
        ).fetchone()
        if not bounds or bounds[0] is None:
            return 0
        before = self._count("vessel_reports")
        match = " AND ".join(
            f"r.{col.strip()} IS NOT DISTINCT FROM s.{col.strip()}" for col in REPORT_KEY.split(",")
        )
        self.con.execute(
            f"""
            INSERT INTO vessel_reports
            SELECT s.mmsi, s.ts, s.imo, s.name, s.callsign, s.ship_type, s.to_bow, s.to_stern,
                   s.to_port, s.to_starboard, s.length_m, s.width_m, s.draught, s.destination,
                   s.eta, s.msg_type, ?, s.source_line, s.raw
            FROM (
                SELECT {REPORT_KEY}, min(source_line) AS source_line,
                       arg_min(raw, source_line) AS raw, arg_min(msg_type, source_line) AS msg_type
                FROM clean_reports WHERE reason IS NULL
                GROUP BY {REPORT_KEY}
            ) s
            WHERE NOT EXISTS (
                SELECT 1 FROM vessel_reports r
                WHERE r.ts BETWEEN ? AND ? AND r.mmsi = s.mmsi AND r.ts = s.ts AND {match}
            )
            """,
            [self.ingest_id, bounds[0], bounds[1]],
        )
        return self._count("vessel_reports") - before

    def _save_counts(self) -> None:
        c = self.counts
        self.con.execute(
            """UPDATE ingests SET lines_read = ?, positions_read = ?, positions_added = ?,
               reports_read = ?, reports_added = ?, duplicates = ?, other_messages = ?,
               fragments = ?, blank_lines = ?, rejects = ?, other_by_kind = ?
               WHERE ingest_id = ?""",
            [c.lines, c.positions_read, c.positions_added, c.reports_read, c.reports_added,
             c.duplicates, c.other_messages, c.fragments, c.blank_lines, c.rejects,
             json.dumps(dict(c.other_by_kind)), self.ingest_id],
        )

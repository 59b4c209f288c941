"""Incremental detection: the batch detectors, unchanged, over a sliding window of the store.

Each run reads the positions and vessel reports of a time window ending at the newest data
(plus, per vessel, its last position and report before the window, so a run's first step and
the first report's "before" value are known) and runs every registered detector on it with the
batch thresholds. The window starts `window_hours` before the newest position, or half that
before the newest position the previous run saw when that is earlier (a fast replay detects
every `window_hours` of data, so consecutive windows overlap by half a window), earlier when
an event still open needs it (a long port call, a loitering run: their start must be inside
for their id to be right) or when a vessel that just reappeared was last heard earlier (the
gap's reception check needs the others heard during the gap); never more than
`max_lookback_hours` back.

Merging into `events`:
- an event starting inside the window is what batch detection would find: it is inserted or
  updated, and a stored event starting inside the window that the run no longer finds is
  removed (a provisional teleport that turned out to be a new track);
- an event starting before the window may be cut by it and is left out; except where the
  event is decided by two consecutive messages, which the context rows supply (gaps, identity
  and draught changes, teleports): those are added when new, and a stored one is kept as it is
  (it was found when the window held its whole span, e.g. every vessel heard during a gap);
- `invalid_identity` spans a vessel's whole history: for the vessels the window finds it
  for, it is recomputed on their whole history.
Besides, a vessel silent for `ais_gap.min_gap_hours` while others within its reception radius
still report gets an ongoing `ais_gap` event (details.ongoing = true) whose id is the one the
closed gap will have when the vessel reappears. It is updated while the vessel's last fix is
inside the window; after that it stays as last seen until the vessel reappears.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from shadowtrace.detect.base import haversine_sql, position_ref_sql
from shadowtrace.detect.config import default_params
from shadowtrace.detect.events import EVENT_COLUMNS, wrap_event_sql
from shadowtrace.detect.run import detect_events
from shadowtrace.engine.duckdb_engine import DuckDBEngine
from shadowtrace.engine.runner import EVENT_SCHEMA

# Decided by two consecutive messages, which the window's context rows supply.
CONSECUTIVE_TYPES = frozenset({"ais_gap", "identity_change", "draught_change", "teleport"})
WHOLE_HISTORY_TYPES = frozenset({"invalid_identity"})


@dataclass(frozen=True)
class LiveParams:
    # Events ending this long before the newest data are settled. Two days cover every
    # batch threshold (the longest is ais_gap's 6 h silence and loitering's 4 h) many times.
    window_hours: float = 48.0
    # How far back one run may reach for open events and reappearing vessels.
    max_lookback_hours: float = 14 * 24.0
    # The context row of a vessel is its last message at most this long before the window.
    context_hours: float = 24.0
    # A vessel's window reaches this far before an open event's start: the encounter
    # detector bins positions by 10 minutes and bridges silences of up to 1 h.
    event_margin_hours: float = 1.0


@dataclass
class LiveRun:
    window_start: dt.datetime
    data_now: dt.datetime
    positions: int
    changed: pa.Table  # events inserted or changed by this run (contract columns)
    removed: int
    seconds: float
    by_type: dict[str, int] = field(default_factory=dict)
    pinned_vessels: int = 0  # vessels whose window reaches further back for an open event


class LiveDetector:
    """Runs the detectors over the window of the store behind `con`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, params: dict[str, Any] | None = None,
                 live: LiveParams | None = None):
        self.con = con
        self.params = {**default_params(), **(params or {})}
        self.live = live or LiveParams()
        self.cursor = con.cursor()  # its temp tables shadow the store's, for detection only
        self.cursor.execute("SET TimeZone = 'UTC'")
        self.engine = DuckDBEngine(con=self.cursor)
        database = con.execute("SELECT current_database()").fetchall()[0]
        assert database is not None
        self.store = f'"{database[0]}".main'
        self.reappeared_since: dt.datetime | None = None  # earliest last-heard of a reappearing vessel
        self.last_seen: dt.datetime | None = None  # newest data the previous run saw

    def note_reappearance(self, last_heard: dt.datetime) -> None:
        """A vessel came back after being last heard at `last_heard` (from the feed)."""
        if self.reappeared_since is None or last_heard < self.reappeared_since:
            self.reappeared_since = last_heard

    def window_start(self, data_now: dt.datetime) -> dt.datetime:
        """The window's start for every vessel: `window_hours` back, and at least half a
        window before the newest data the previous run saw (every event is decided within
        hours of its start, far less than half a window, so each start lies in a window that
        also holds its decision); earlier when a vessel that just reappeared was last heard
        earlier. The first run of a process does not know the last one (a restart): it
        reaches one and a half windows back, as far as a run at the data-time cadence does."""
        floor = data_now - dt.timedelta(hours=self.live.max_lookback_hours)
        window = dt.timedelta(hours=self.live.window_hours)
        previous = self.last_seen if self.last_seen is not None else data_now - window
        start = max(min(data_now - window, previous - window / 2), floor)
        if self.reappeared_since is not None:
            start = min(start, max(self.reappeared_since, floor))
        return start

    def _vessel_starts(self, start: dt.datetime, data_now: dt.datetime) -> int:
        """`live_vessel_start`: vessels whose window starts earlier than `start`, because a
        stored event across their start needs it whole (a long port call, a loitering run, an
        encounter: both vessels). Repeated until no event crosses a vessel's start."""
        floor = data_now - dt.timedelta(hours=self.live.max_lookback_hours)
        cur = self.cursor
        cur.execute("CREATE OR REPLACE TEMP TABLE live_vessel_start (mmsi INTEGER PRIMARY KEY, ws TIMESTAMP)").fetchall()
        cur.execute(
            f"""CREATE OR REPLACE TEMP TABLE live_open_events AS
                SELECT start, "end", mmsi, other_mmsi FROM {self.store}.events
                WHERE "end" >= $floor AND start >= $floor AND start < $start
                  AND type NOT IN (SELECT unnest($skip))""",
            {"floor": floor, "start": start,
             "skip": sorted(WHOLE_HISTORY_TYPES | CONSECUTIVE_TYPES)}).fetchall()
        for _ in range(100):  # each pass moves some vessels to an earlier start; a few suffice
            pins = cur.sql(
                """WITH e AS (
                       SELECT o.start, o.mmsi, o.other_mmsi,
                              (o."end" >= coalesce(a.ws, $start) AND o.start < coalesce(a.ws, $start))
                              OR (o.other_mmsi IS NOT NULL AND o."end" >= coalesce(b.ws, $start)
                                  AND o.start < coalesce(b.ws, $start)) AS crosses
                       FROM live_open_events o
                       LEFT JOIN live_vessel_start a ON a.mmsi = o.mmsi
                       LEFT JOIN live_vessel_start b ON b.mmsi = o.other_mmsi),
                   sides AS (SELECT mmsi, start FROM e WHERE crosses
                             UNION ALL SELECT other_mmsi, start FROM e WHERE crosses AND other_mmsi IS NOT NULL)
                   SELECT s.mmsi, min(s.start) - $margin AS ws FROM sides s
                   LEFT JOIN live_vessel_start v USING (mmsi)
                   GROUP BY s.mmsi, v.ws HAVING min(s.start) - $margin < coalesce(v.ws, $start)""",
                params={"start": start, "margin": dt.timedelta(hours=self.live.event_margin_hours)}).to_arrow_table()
            if not pins.num_rows:
                break
            cur.register("_live_pins", pins)
            cur.execute("INSERT OR REPLACE INTO live_vessel_start SELECT mmsi, ws FROM _live_pins").fetchall()
            cur.unregister("_live_pins")
        return int(cur.execute("SELECT count(*) FROM live_vessel_start").fetchall()[0][0])

    def _window_tables(self, start: dt.datetime, end: dt.datetime) -> int:
        earliest = self.cursor.execute("SELECT least(min(ws), $start) FROM live_vessel_start",
                                       {"start": start}).fetchall()[0][0]
        context = dt.timedelta(hours=self.live.context_hours)
        reports_context = dt.timedelta(hours=self.live.max_lookback_hours)
        for table, back in (("positions", context), ("vessel_reports", reports_context)):
            self.cursor.execute(
                f"""CREATE OR REPLACE TEMP TABLE {table} AS
                    WITH t AS (
                        SELECT p.* REPLACE (CAST(NULL AS VARCHAR) AS raw),  -- detectors never read it
                               coalesce(v.ws, $start) AS _ws FROM {self.store}.{table} p
                        LEFT JOIN live_vessel_start v ON v.mmsi = p.mmsi
                        WHERE p.ts >= $since AND p.ts <= $end)
                    SELECT * EXCLUDE (_ws) FROM t WHERE ts >= _ws
                    UNION ALL
                    SELECT * EXCLUDE (_ws) FROM t WHERE ts < _ws AND ts >= _ws - $back
                    QUALIFY row_number() OVER (PARTITION BY mmsi ORDER BY ts DESC, source_line DESC) = 1""",
                {"start": start, "since": earliest - back, "end": end, "back": back}).fetchall()
        row = self.cursor.execute("SELECT count(*) FROM positions").fetchall()[0]
        return int(row[0]) if row else 0

    def run(self, data_now: dt.datetime) -> LiveRun:
        started = time.perf_counter()
        start = self.window_start(data_now)
        pinned = self._vessel_starts(start, data_now)
        positions = self._window_tables(start, data_now)
        vessel_starts = self.cursor.sql("SELECT * FROM live_vessel_start").to_arrow_table()
        report = detect_events(self.engine, self.params)
        ongoing = self._ongoing_gaps(data_now, start)
        self._whole_histories(report.events)  # replaces the window tables: last
        found = [t for t in report.events.values() if t.num_rows]
        if ongoing.num_rows:
            found.append(ongoing)
        output = pa.concat_tables(found) if found else EVENT_SCHEMA.empty_table()
        changed, removed = self._merge(output, start, vessel_starts, list(report.events))
        self.reappeared_since = None
        self.last_seen = data_now
        by_type: dict[str, int] = {}
        for name in changed.column("type").to_pylist():
            by_type[name] = by_type.get(name, 0) + 1
        return LiveRun(start, data_now, positions, changed, removed, time.perf_counter() - started,
                       by_type, pinned)

    def _whole_histories(self, events: dict[str, pa.Table]) -> None:
        """Events spanning a vessel's whole history, recomputed on the whole history of the
        few vessels the window found them for (the window alone would cut them)."""
        for name in WHOLE_HISTORY_TYPES:
            table = events.get(name)
            if table is None or not table.num_rows:
                continue
            mmsis = sorted(set(table.column("mmsi").to_pylist()))
            for kind in ("positions", "vessel_reports"):
                self.cursor.execute(
                    f"CREATE OR REPLACE TEMP TABLE {kind} AS SELECT * FROM {self.store}.{kind} "
                    "WHERE list_contains($m, mmsi)", {"m": mmsis}).fetchall()
            events[name] = detect_events(self.engine, self.params, only=[name]).events[name]

    def _ongoing_gaps(self, data_now: dt.datetime, start: dt.datetime) -> pa.Table:
        """Vessels silent for the gap threshold while others nearby still report."""
        gap = self.params["ais_gap"]
        cell = gap.reception_cell_deg
        full = gap.others_for_full_confidence
        silent_since = data_now - dt.timedelta(hours=gap.min_gap_hours)
        hours = "(epoch(CAST($now AS TIMESTAMP)) - epoch(d.ts)) / 3600.0"
        sql = f"""
            WITH last AS (
                SELECT mmsi, max(ts) AS ts, arg_max(lat, ts) AS lat, arg_max(lon, ts) AS lon,
                       arg_max({position_ref_sql()}, ts) AS ref
                FROM positions GROUP BY mmsi
            ),
            dark AS (SELECT * FROM last WHERE ts <= $silent AND ts >= $start),
            heard AS (
                SELECT DISTINCT d.mmsi, p.mmsi AS other
                FROM dark d JOIN positions p
                  ON p.ts > d.ts AND p.mmsi <> d.mmsi
                 AND floor(p.lat / {cell}) BETWEEN floor(d.lat / {cell}) - 1 AND floor(d.lat / {cell}) + 1
                 AND floor(p.lon / {cell}) BETWEEN floor(d.lon / {cell}) - 1 AND floor(d.lon / {cell}) + 1
                 AND {haversine_sql('d.lat', 'd.lon', 'p.lat', 'p.lon')} <= {gap.reception_radius_m}
            ),
            counted AS (SELECT mmsi, count(*) AS n FROM heard GROUP BY mmsi)
            SELECT d.mmsi, CAST(NULL AS INTEGER) AS other_mmsi, d.ts AS start,
                   CAST($now AS TIMESTAMP) AS "end", d.lat, d.lon,
                   0.3 + 0.6 * least(c.n, {full}) / {full} + 0.1 * least({hours} / 24.0, 1) AS confidence,
                   {{'duration_hours': round({hours}, 2), 'ongoing': TRUE,
                     'others_reporting_nearby': c.n, 'positions': [d.ref]}} AS details
            FROM dark d JOIN counted c ON c.mmsi = d.mmsi
        """
        return self.cursor.sql(
            f"SELECT * FROM ({wrap_event_sql('ais_gap', sql)})",
            params={"now": data_now, "silent": silent_since, "start": start},
        ).to_arrow_table().select(list(EVENT_COLUMNS))

    def _merge(self, output: pa.Table, start: dt.datetime, vessel_starts: pa.Table,
               types: list[str]) -> tuple[pa.Table, int]:
        """Apply a run's events to the store (see the module doc); returns what changed."""
        con = self.con
        con.execute("SELECT 1").fetchall()  # no pending result may be open for register()
        con.register("_live_output", output)
        con.register("_live_starts", vessel_starts)
        # An event's window starts where the later of its vessels' windows starts.
        event_start = """greatest(coalesce((SELECT ws FROM _live_starts s WHERE s.mmsi = {e}.mmsi), $start),
                                  CASE WHEN {e}.other_mmsi IS NOT NULL THEN coalesce(
                                      (SELECT ws FROM _live_starts s WHERE s.mmsi = {e}.other_mmsi), $start) END)"""
        try:
            con.execute("BEGIN TRANSACTION")
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _live_candidates AS
                    SELECT o.* FROM _live_output o
                    WHERE o.start >= {event_start.format(e='o')} OR o.type IN (SELECT unnest($whole))
                       OR (o.type IN (SELECT unnest($exact))
                           AND o.event_id NOT IN (SELECT event_id FROM {self.store}.events))""",
                {"start": start, "whole": sorted(WHOLE_HISTORY_TYPES),
                 "exact": sorted(CONSECUTIVE_TYPES)}).fetchall()
            changed = con.sql(
                f"""SELECT c.* FROM _live_candidates c
                    LEFT JOIN {self.store}.events e USING (event_id)
                    WHERE e.event_id IS NULL OR e."end" IS DISTINCT FROM c."end"
                       OR CAST(e.details AS VARCHAR) IS DISTINCT FROM CAST(c.details AS VARCHAR)
                       OR e.confidence IS DISTINCT FROM c.confidence""").to_arrow_table()
            con.execute(
                f"""CREATE OR REPLACE TEMP TABLE _live_vanished AS
                    SELECT event_id FROM {self.store}.events e
                    WHERE type IN (SELECT unnest($types)) AND start >= {event_start.format(e='e')}
                      AND event_id NOT IN (SELECT event_id FROM _live_candidates)""",
                {"start": start, "types": types}).fetchall()
            con.register("_live_changed", changed)
            con.execute(
                f"""DELETE FROM {self.store}.events
                    WHERE event_id IN (SELECT event_id FROM _live_vanished)
                       OR event_id IN (SELECT event_id FROM _live_changed)""").fetchall()
            con.execute(f"INSERT INTO {self.store}.events SELECT * FROM _live_changed").fetchall()
            removed = con.execute("SELECT count(*) FROM _live_vanished").fetchall()[0][0]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            for name in ("_live_output", "_live_starts", "_live_changed"):
                with contextlib.suppress(Exception):  # not registered when an earlier step failed
                    con.unregister(name)
        return changed, int(removed)

    def close(self) -> None:
        self.cursor.close()


"""The watcher: a live feed into the store, detection as it arrives, alerts out.

One loop on one thread owns the store connection: it takes chunks from the source's queue,
commits them every `commit_every_s` (or `commit_every_lines`), runs the detectors over the
sliding window every `detect_every_s` of wall time or `window_hours` of data time
(whichever comes first; a replay at full speed is still seen in overlapping windows),
re-screens the vessels when new static data arrived (at most every `screen_every_s`), and
hands new alerts to the sinks. Memory is bounded: the queue has a fixed size, the reader
keeps only unfinished multi-sentence messages, and the per-vessel state (last heard) forgets
vessels quiet for longer than the detector's look-back.
"""

from __future__ import annotations

import datetime as dt
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shadowtrace.errors import ConfigError, ShadowtraceError
from shadowtrace.live.alerts import AlertParams, Area, alert_json, check_watchlists, raise_alerts
from shadowtrace.live.detect import LiveDetector, LiveParams, LiveRun
from shadowtrace.live.feed import LiveIngest
from shadowtrace.live.sinks import Delivery
from shadowtrace.live.sources import Chunk, LineSource, SourceSpec
from shadowtrace.store import connect

EPOCH = dt.datetime(1970, 1, 1)


class Sink(Protocol):
    def send(self, alert: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class WatchOptions:
    commit_every_s: float = 1.0
    commit_every_lines: int = 100_000
    detect_every_s: float = 30.0
    screen_every_s: float = 300.0
    queue_chunks: int = 256  # chunks waiting between the source thread and the loop
    stop_when_idle_s: float | None = None  # stop after this long without data (replays, tests)
    # DuckDB's memory for the store's pages and the detection window; beyond it DuckDB evicts
    # and spills to disk, so the watcher's memory stays flat as the store grows.
    memory_limit: str = "1GB"
    # WAL size that triggers a checkpoint. At DuckDB's default (16 MB) a feed committing every
    # second checkpoints every few commits, rewriting partly filled row groups each time:
    # storing took about 20% longer and the file grew 40% larger than at 64 MB (bench/live.py).
    checkpoint_threshold: str = "64MB"


@dataclass
class WatchStats:
    commits: int = 0
    detect_runs: int = 0
    screens: int = 0
    alerts: int = 0
    positions_added: int = 0
    last_run: LiveRun | None = None
    detect_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    errors: list[str] = field(default_factory=list)  # detection runs that failed (the feed went on)


class Watcher:
    def __init__(self, db: str | Path, source: str, *, options: WatchOptions | None = None,
                 live: LiveParams | None = None, params: dict[str, Any] | None = None,
                 alerts: AlertParams | None = None, area: Area | None = None,
                 sinks: list[Sink] | None = None,
                 on_cycle: Callable[[Watcher], None] | None = None,
                 con: duckdb.DuckDBPyConnection | None = None,
                 log: Callable[[str], None] | None = None):
        self.spec = SourceSpec.parse(source)
        self.options = options or WatchOptions()
        self.alert_params = alerts or AlertParams()
        self.area = area
        self.sinks = list(sinks or [])
        self.on_cycle = on_cycle
        self.log = log or (lambda message: print(message, file=sys.stderr))
        self.con = con if con is not None else connect(db)
        for setting, value in (("memory_limit", self.options.memory_limit),
                               ("checkpoint_threshold", self.options.checkpoint_threshold)):
            try:
                self.con.execute(f"SET {setting} = ?", [value]).fetchall()
            except duckdb.Error as exc:
                raise ConfigError(f"{setting.replace('_', ' ')} {value!r}: {exc}", hint="e.g. 1GB or 500MB") from None
        check_watchlists(self.con, self.alert_params.watchlists)
        self.feed = LiveIngest(self.con, self.spec)
        self.detector = LiveDetector(self.con, params, live)
        self.stats = WatchStats()
        self.deliveries: queue.Queue[Delivery] = queue.Queue()
        self._queue: queue.Queue[Chunk] = queue.Queue(self.options.queue_chunks)
        self.stop_event = threading.Event()
        self.source = LineSource(self.spec, self._queue, self.stop_event,
                                 start_offset=self.feed.resume.byte_offset)
        self._last_heard = self._load_last_heard()
        self._screened_reports = -1
        self._detected_us: int | None = None  # newest data time the last detection run saw
        self._detected_rows: int | None = None  # rows stored when the last detection run started
        self._first_us: int | None = None  # newest data time after the first chunk

    # -- per-vessel state ---------------------------------------------------------------
    def _load_last_heard(self) -> dict[int, int]:
        """Last position time (epoch us) of each vessel heard within the look-back."""
        lookback_us = int(self.detector.live.max_lookback_hours * 3600e6)
        rows = self.con.execute(
            """SELECT mmsi, epoch_us(max(ts)) FROM positions
               WHERE ts >= (SELECT max(ts) FROM positions) - to_microseconds(?) GROUP BY mmsi""",
            [lookback_us]).fetchall()
        return {int(m): int(t) for m, t in rows}

    def _note_positions(self, tables: list[pa.Table]) -> None:
        """Update last-heard times; a vessel back after the gap threshold widens the next
        detection window to its last fix (the gap's reception check needs that span)."""
        gap_us = int(self.detector.params["ais_gap"].min_gap_hours * 3600e6)
        for table in tables:
            if not table.num_rows:
                continue
            spans = table.select(["mmsi", "ts"]).group_by("mmsi").aggregate([("ts", "min"), ("ts", "max")])
            for mmsi, first, last in zip(spans["mmsi"].to_pylist(), pc.cast(spans["ts_min"], pa.int64()).to_pylist(),
                                         pc.cast(spans["ts_max"], pa.int64()).to_pylist()):
                if mmsi is None or first is None:
                    continue
                before = self._last_heard.get(mmsi)
                if before is not None and first - before >= gap_us:
                    self.detector.note_reappearance(EPOCH + dt.timedelta(microseconds=before))
                if before is None or last > before:
                    self._last_heard[mmsi] = last

    def _expire(self, now_us: int) -> None:
        horizon = now_us - int(self.detector.live.max_lookback_hours * 3600e6)
        stale = [m for m, t in self._last_heard.items() if t < horizon]
        for mmsi in stale:
            del self._last_heard[mmsi]

    def _count_reports(self) -> int:
        row = self.con.execute("SELECT count(*) FROM vessel_reports").fetchall()[0]
        return int(row[0]) if row else 0

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> WatchStats:
        """Watch until `stop_event` is set (or the feed is idle for `stop_when_idle_s`)."""
        opts = self.options
        self.source.start()
        last_commit = last_detect = last_screen = last_data = time.monotonic()
        try:
            while not self.stop_event.is_set():
                try:
                    chunk: Chunk | None = self._queue.get(timeout=0.1)
                except queue.Empty:
                    chunk = None
                now = time.monotonic()
                if chunk is not None:
                    self.feed.add(chunk)
                    last_data = now
                    while self.feed.staged_lines < opts.commit_every_lines and not self._data_due():
                        try:
                            more = self._queue.get_nowait()
                        except queue.Empty:
                            break
                        self.feed.add(more)
                if self.feed.staged_lines and (now - last_commit >= opts.commit_every_s or self._data_due()
                                               or self.feed.staged_lines >= opts.commit_every_lines):
                    self._commit()
                    last_commit = now
                data_us = self.feed.newest_us
                if data_us is not None and data_us != self._detected_us and not self.feed.staged_lines and (
                        self._detected_us is None or self._data_due() or now - last_detect >= self._detect_interval()):
                    # Screen at the first run, each window of data (fast replays) and
                    # every screen_every_s (a live feed).
                    screen_due = (self._screened_reports < 0 or self._data_due()
                                  or now - last_screen >= opts.screen_every_s)
                    if self._safe_cycle(data_us, screen=screen_due):
                        last_screen = now
                    self._detected_us = data_us
                    last_detect = time.monotonic()
                self._record_deliveries()
                if opts.stop_when_idle_s is not None and now - last_data >= opts.stop_when_idle_s \
                        and self._queue.empty():
                    break
        finally:
            self.stop_event.set()
            self.source.thread.join(timeout=5)
            while True:  # what the source handed over before stopping
                try:
                    chunk = self._queue.get_nowait()
                except queue.Empty:
                    break
                self.feed.add(chunk)
            self._commit(final=self.spec.kind != "file")
            if self.feed.newest_us is not None:
                self._safe_cycle(self.feed.newest_us, screen=True)
            self.feed.close()
            for sink in self.sinks:
                sink.close()
            self._record_deliveries()
        return self.stats

    def _detect_interval(self) -> float:
        """Wall seconds between runs: `detect_every_s`, or twice as long as the last run took
        when more, so storing the feed always gets at least two thirds of the time."""
        last = self.stats.last_run
        return max(self.options.detect_every_s, 2 * last.seconds if last is not None else 0.0)

    def _data_due(self) -> bool:
        """A window's span of data arrived since the last detection run: run now, so a
        replay faster than real time is still seen in overlapping windows (the run reaches
        half a window before the data the previous run saw). Every event is decided within
        hours of its start (the longest thresholds: ais_gap's 6 h silence, a clone's visits
        within 6 h of each other; longer events are carried by their stored start), so each
        start is inside a window that also holds its decision; each position is detected
        about one and a half times."""
        newest = self.feed.newest_us
        if newest is None:
            return False
        if self._first_us is None:
            self._first_us = newest
        since = self._detected_us if self._detected_us is not None else self._first_us
        return newest - since >= int(self.detector.live.window_hours * 3600e6)

    def _commit(self, final: bool = False) -> None:
        before = self.feed.counts.positions_added
        committed = self.feed.commit(final=final)
        added = self.feed.counts.positions_added - before
        self.stats.commits += 1
        self.stats.positions_added += added
        self._note_positions(committed)
        if self.feed.newest_us is not None:
            self._expire(self.feed.newest_us)

    def _safe_cycle(self, data_us: int, *, screen: bool) -> bool:
        """A detection run that fails (a full disk, a bad parameter) is reported and retried
        at the next one; the feed keeps being stored meanwhile."""
        try:
            return self._cycle(data_us, screen=screen)
        except (duckdb.Error, ShadowtraceError) as exc:
            message = f"detection run failed: {type(exc).__name__}: {exc}"
            self.stats.errors.append(message)
            self.log(message)
            return False

    def _cycle(self, data_us: int, *, screen: bool) -> bool:
        """Detect over the window, re-screen if identities changed and it is time, raise
        alerts. Returns whether it screened."""
        data_now = EPOCH + dt.timedelta(microseconds=data_us)
        rows = self.feed.counts.positions_added + self.feed.counts.reports_added
        run = self.stats.last_run
        changed = 0
        if run is None or rows != self._detected_rows:  # else nothing new to detect (the last cycle)
            run = self.detector.run(data_now)
            self._detected_rows = rows
            self.stats.detect_runs += 1
            self.stats.detect_seconds += run.seconds
            self.stats.last_run = run
            changed = run.changed.num_rows
        screened = False
        if screen and self._has_lists():
            reports = self._count_reports()
            if reports != self._screened_reports or changed:
                from shadowtrace.screen.run import screen as run_screen

                run_screen(self.con)
                self._screened_reports = reports
                self.stats.screens += 1
                screened = True
        new = raise_alerts(self.con, run.window_start, self.alert_params, self.area)
        for alert in new:
            payload = alert_json(alert)
            for sink in self.sinks:
                sink.send(payload)
        self.stats.alerts += len(new)
        if self.on_cycle is not None:
            self.on_cycle(self)
        return screened

    def _has_lists(self) -> bool:
        row = self.con.execute("SELECT count(*) FROM lists").fetchall()[0]
        return bool(row and row[0])

    def _record_deliveries(self) -> None:
        rows = []
        while True:
            try:
                d = self.deliveries.get_nowait()
            except queue.Empty:
                break
            rows.append([d.alert_id, d.target, d.status, d.attempts, d.last_error])
        if rows:
            self.con.executemany(
                "INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, now() AT TIME ZONE 'UTC')", rows)

    def close(self) -> None:
        self.detector.close()
        self.con.close()

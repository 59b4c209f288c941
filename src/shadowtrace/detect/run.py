"""Run the registered detectors on an engine and store their events."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from shadowtrace.detect.config import default_params
from shadowtrace.detect.events import EVENT_COLUMNS, wrap_event_sql
from shadowtrace.detect.geo_functions import register_geo
from shadowtrace.detect.registry import DETECTORS
from shadowtrace.detect.tracks import TrackParams, prepare_tracks
from shadowtrace.engine.base import Engine
from shadowtrace.errors import ConfigError


@dataclass
class DetectReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    events: dict[str, pa.Table] = field(default_factory=dict)


def detect_events(
    engine: Engine,
    params: dict[str, Any] | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DetectReport:
    """Run detectors on `engine`; returns their events (Arrow, contract columns) by type."""
    params = {**default_params(), **(params or {})}
    names = only or list(DETECTORS)
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise ConfigError(f"unknown detector(s) {', '.join(unknown)}", hint=f"known: {', '.join(DETECTORS)}")
    report = DetectReport()
    started = time.perf_counter()
    register_geo(engine)
    teleport = params.get("teleport")
    track_params = TrackParams(
        max_speed_kn=getattr(teleport, "min_speed_kn", TrackParams.max_speed_kn),
        min_jump_m=getattr(teleport, "min_distance_m", TrackParams.min_jump_m),
    )
    prepare_tracks(engine, track_params)
    report.seconds["tracks"] = time.perf_counter() - started
    for name in names:
        if progress:
            progress(name)
        started = time.perf_counter()
        sql = DETECTORS[name].detect(engine, params[name])
        table = engine.query_arrow(
            f"SELECT * FROM ({wrap_event_sql(name, sql)}) "
            "QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY \"end\" DESC) = 1 "
            "ORDER BY mmsi, start"
        )
        report.events[name] = table.select(list(EVENT_COLUMNS))
        report.counts[name] = table.num_rows
        report.seconds[name] = time.perf_counter() - started
    return report


def store_events(con: duckdb.DuckDBPyConnection, report: DetectReport, params: dict[str, Any],
                 engine_name: str) -> None:
    """Replace the stored events of each detector that ran, in one transaction."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        for name, table in report.events.items():
            con.execute("DELETE FROM events WHERE type = ?", [name])
            con.register("_new_events", table)
            con.execute("INSERT INTO events SELECT * FROM _new_events")
            con.unregister("_new_events")
            con.execute(
                "INSERT INTO detect_runs VALUES (?, ?, ?, ?, ?, ?)",
                [now, engine_name, name, json.dumps(dataclasses.asdict(params[name])) if name in params else "{}",
                 report.counts[name], report.seconds[name]],
            )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def detect_into_store(
    db: str | Path,
    params: dict[str, Any] | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DetectReport:
    """Run the detectors on the DuckDB store at `db` and keep their events there."""
    from shadowtrace.engine import get_engine

    params = {**default_params(), **(params or {})}
    engine = get_engine("duckdb", db=db)
    try:
        report = detect_events(engine, params, only, progress)
        store_events(engine.con, report, params, engine.name)  # type: ignore[attr-defined]
    finally:
        engine.close()  # type: ignore[attr-defined]
    return report

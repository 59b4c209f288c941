"""Detection and screening on a chosen engine, with their inputs and outputs: what
`shadowtrace detect` and `shadowtrace screen` run.

Detection:
- duckdb: over the store `db` (or a Parquet `dataset`, events kept in `db`);
- spark: over a Parquet `dataset`; events to Parquet (`out`) and/or into a store (`db`).
Events are the same contract whatever the engine (shadowtrace.detect.events).

Screening: the per-vessel identity aggregation runs on the engine over the store or the
`dataset`; matching, exposures and scores run on the driver and are kept in the store `db`,
which holds the lists and the events.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from shadowtrace.detect.config import default_params
from shadowtrace.detect.events import EVENT_COLUMNS
from shadowtrace.detect.run import DetectReport, detect_events, store_events
from shadowtrace.engine import ENGINES, get_engine
from shadowtrace.errors import ConfigError
from shadowtrace.store import connect

if TYPE_CHECKING:
    from shadowtrace.risk.score import RiskParams
    from shadowtrace.screen.match import MatchParams
    from shadowtrace.screen.run import ScreenParams, ScreenSummary

EVENT_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("type", pa.string()), ("mmsi", pa.int32()), ("other_mmsi", pa.int32()),
    ("start", pa.timestamp("us")), ("end", pa.timestamp("us")), ("lat", pa.float64()),
    ("lon", pa.float64()), ("confidence", pa.float64()), ("details", pa.string()),  # JSON text
])


def contract_table(table: pa.Table) -> pa.Table:
    """Events in the contract's column types (details as JSON text), ordered."""
    out = pa.table([table.column(f.name).cast(f.type) for f in EVENT_SCHEMA], schema=EVENT_SCHEMA)
    return out.sort_by([("mmsi", "ascending"), ("start", "ascending"), ("event_id", "ascending")])


def write_events_parquet(report: DetectReport, out: str | Path) -> list[Path]:
    """One Parquet file a detector that ran (`OUT/<type>.parquet`, contract columns),
    replacing that detector's earlier file."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in report.events.items():
        path = out / f"{name}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(contract_table(table), tmp)
        tmp.replace(path)
        written.append(path)
    return written


def run_detect(
    engine: str = "duckdb",
    *,
    db: str | Path | None = None,
    dataset: str | Path | None = None,
    out: str | Path | None = None,
    master: str | None = None,
    conf: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    only: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> DetectReport:
    """Run the detectors on `engine` and keep the events where asked (see module doc)."""
    params = {**default_params(), **(params or {})}
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}", hint=f"choose one of: {', '.join(ENGINES)}")
    if engine == "duckdb":
        if master is not None:
            raise ConfigError("--spark-master is for --engine spark")
        if db is None:
            raise ConfigError("the duckdb engine keeps events in a store", hint="pass --db FILE")
        duck = get_engine("duckdb", db=db, dataset=dataset)
        try:
            report = detect_events(duck, params, only, progress)
            store_events(duck.con, report, params, duck.name)  # type: ignore[attr-defined]
        finally:
            duck.close()  # type: ignore[attr-defined]
    else:
        if dataset is None:
            raise ConfigError("the spark engine reads a Parquet dataset",
                              hint="write one with `shadowtrace ingest FILES --to DIR`, then pass --dataset DIR")
        if db is None and out is None:
            raise ConfigError("nowhere to put the events", hint="pass --out DIR (Parquet) and/or --db FILE")
        options: dict[str, Any] = {"dataset": dataset, "conf": conf}
        if master is not None:
            options["master"] = master
        spark = get_engine("spark", **options)
        try:
            report = detect_events(spark, params, only, progress)
        finally:
            spark.close()  # type: ignore[attr-defined]
        if db is not None:
            con = connect(db)
            try:
                store_events(con, _for_store(report), params, "spark")
            finally:
                con.close()
    if out is not None:
        write_events_parquet(report, out)
    return report


def _for_store(report: DetectReport) -> DetectReport:
    """The report with contract-typed tables (JSON text details), as store_events inserts."""
    return DetectReport(counts=report.counts, seconds=report.seconds,
                        events={name: contract_table(t).select(list(EVENT_COLUMNS))
                                for name, t in report.events.items()})


def run_screen(
    db: str | Path,
    engine: str = "duckdb",
    *,
    dataset: str | Path | None = None,
    master: str | None = None,
    conf: dict[str, str] | None = None,
    match_params: MatchParams | None = None,
    screen_params: ScreenParams | None = None,
    risk_params: RiskParams | None = None,
) -> ScreenSummary:
    """Screen the vessels of the store `db` (or of `dataset`) on `engine` (see module doc)."""
    from shadowtrace.engine.dataset import dataset_views
    from shadowtrace.screen.run import screen

    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}", hint=f"choose one of: {', '.join(ENGINES)}")
    if engine == "duckdb" and master is not None:
        raise ConfigError("--spark-master is for --engine spark")
    if engine == "spark" and dataset is None:
        raise ConfigError("the spark engine reads a Parquet dataset",
                          hint="write one with `shadowtrace ingest FILES --to DIR`, then pass --dataset DIR")
    con = connect(db)
    try:
        if engine == "duckdb":
            if dataset is not None:
                dataset_views(con, dataset)  # DuckDB reads the dataset in place
            return screen(con, match_params, screen_params, risk_params)
        options: dict[str, Any] = {"dataset": dataset, "conf": conf}
        if master is not None:
            options["master"] = master
        spark = get_engine("spark", **options)
        try:
            return screen(con, match_params, screen_params, risk_params, engine=spark)
        finally:
            spark.close()  # type: ignore[attr-defined]
    finally:
        con.close()

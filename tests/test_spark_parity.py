"""Every detector on Spark (local[2]) gives the events DuckDB gives, on simulated scenarios.

Two seeds, each with every injected behaviour and the simulator's hard negatives (passing
ships, short gaps, slow steaming, port clusters, glitches, look-alikes). Same event ids, types,
vessels and times; positions to 1e-6 degrees; details compared as parsed JSON, floats to 1e-6
relative. One Spark session, tuned for small data (conftest's `spark`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

pytest.importorskip("pyspark", reason="pyspark comes with the spark extra (pip install -e '.[dev]')")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs a Java runtime (java on PATH or JAVA_HOME)", allow_module_level=True)

from shadowtrace.cli import app  # noqa: E402
from shadowtrace.detect.registry import DETECTORS  # noqa: E402
from shadowtrace.detect.run import DetectReport, detect_events  # noqa: E402
from shadowtrace.engine import get_engine  # noqa: E402
from shadowtrace.engine.runner import EVENT_SCHEMA, contract_table  # noqa: E402
from shadowtrace.ingest.dataset import ingest_to_dataset  # noqa: E402
from shadowtrace.simulate import simulate  # noqa: E402

SEEDS = (11, 12)
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Path, Path]]:
    """Per seed: a store and the dataset of the same ingest."""
    out = {}
    for seed in SEEDS:
        root = tmp_path_factory.mktemp(f"parity{seed}")
        sim = simulate(root / "sim", vessels=50, days=2, seed=seed, fmt="nmea")
        ingest_to_dataset([str(sim.positions_path)], root / "data", db=root / "store.duckdb")
        out[seed] = (root / "store.duckdb", root / "data")
    return out


def _events(report: DetectReport) -> dict[str, dict[str, Any]]:
    rows = {}
    for table in report.events.values():
        for row in contract_table(table).to_pylist():
            row["details"] = json.loads(row["details"])
            rows[row["event_id"]] = row
    return rows


def _differences(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None or isinstance(a, bool) or isinstance(b, bool):
            return [] if a == b else [f"{path}: {a!r} != {b!r}"]
        return [] if math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-12) else [f"{path}: {a!r} != {b!r}"]
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            return [f"{path}: keys {sorted(a.keys() ^ b.keys())}"]
        return [d for k in a for d in _differences(a[k], b[k], f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: {a!r} != {b!r}"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    return [] if a == b and type(a) is type(b) else [f"{path}: {a!r} != {b!r}"]


def _compare(duck: dict[str, dict[str, Any]], spark: dict[str, dict[str, Any]]) -> list[str]:
    problems = [f"only DuckDB: {duck[k]['type']} {duck[k]['mmsi']} {duck[k]['start']}" for k in duck.keys() - spark.keys()]
    problems += [f"only Spark: {spark[k]['type']} {spark[k]['mmsi']} {spark[k]['start']}" for k in spark.keys() - duck.keys()]
    for key in sorted(duck.keys() & spark.keys()):
        a, b = duck[key], spark[key]
        for column in ("type", "mmsi", "other_mmsi", "start", "end"):
            if a[column] != b[column]:
                problems.append(f"{key} {a['type']} {column}: {a[column]!r} != {b[column]!r}")
        if abs(a["confidence"] - b["confidence"]) > 1e-9:
            problems.append(f"{key} {a['type']} confidence: {a['confidence']!r} != {b['confidence']!r}")
        for column in ("lat", "lon"):
            if (a[column] is None) != (b[column] is None) or (
                    a[column] is not None and abs(a[column] - b[column]) > 1e-6):
                problems.append(f"{key} {a['type']} {column}: {a[column]!r} != {b[column]!r}")
        problems += [f"{key} {d}" for d in _differences(a["details"], b["details"], a["type"])]
    return problems


@pytest.mark.parametrize("seed", SEEDS)
def test_spark_events_equal_duckdb_events(spark, scenarios, seed: int) -> None:
    store, data = scenarios[seed]
    started = time.perf_counter()
    duck_engine = get_engine("duckdb", db=store)
    try:
        duck = _events(detect_events(duck_engine))
    finally:
        duck_engine.close()  # type: ignore[attr-defined]
    TIMINGS[f"duckdb seed {seed}"] = time.perf_counter() - started
    started = time.perf_counter()
    spark_engine = get_engine("spark", session=spark, dataset=data)
    try:
        on_spark = _events(detect_events(spark_engine))
    finally:
        spark_engine.close()  # type: ignore[attr-defined]
    TIMINGS[f"spark seed {seed}"] = time.perf_counter() - started
    print(f"seed {seed}: {len(duck)} events; " + ", ".join(f"{k} {v:.1f} s" for k, v in TIMINGS.items()))
    assert {e["type"] for e in duck.values()} == set(DETECTORS), "every detector should fire"
    problems = _compare(duck, on_spark)
    assert not problems, "\n".join(problems[:20])


def test_cli_spark_writes_parquet_and_the_store(spark, scenarios, tmp_path: Path) -> None:
    store, data = scenarios[SEEDS[0]]
    out, events_db = tmp_path / "events", tmp_path / "events.duckdb"
    result = CliRunner().invoke(app, [
        "detect", "--engine", "spark", "--dataset", str(data), "--out", str(out), "--db", str(events_db),
        "--only", "ais_gap", "--only", "teleport", "-q",
    ])
    assert result.exit_code == 0, result.output
    assert not spark.sparkContext._jsc.sc().isStopped()  # the engine left the caller's session alone
    assert sorted(p.name for p in out.iterdir()) == ["ais_gap.parquet", "teleport.parquet"]
    exported = pq.read_table(out / "ais_gap.parquet")
    assert exported.schema == EVENT_SCHEMA and exported.num_rows > 0
    duck_engine = get_engine("duckdb", db=store)
    try:
        duck = _events(detect_events(duck_engine, only=["ais_gap", "teleport"]))
    finally:
        duck_engine.close()  # type: ignore[attr-defined]
    with duckdb.connect(str(events_db), read_only=True) as con:
        kept = _events(DetectReport(events={"all": con.sql("SELECT * FROM events").to_arrow_table()}))
    assert kept.keys() == duck.keys() and not _compare(duck, kept)
    from_parquet = _events(DetectReport(events={p.stem: pq.read_table(p) for p in out.iterdir()}))
    assert not _compare(duck, from_parquet)

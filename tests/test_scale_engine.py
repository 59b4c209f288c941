"""DuckDB engine memory knobs (bench/scale.py runs 100M positions with them): the settings
reach the connection, and detection under a tight limit gives the events it gives without."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shadowtrace.detect.run import detect_events
from shadowtrace.engine import get_engine
from shadowtrace.engine.runner import contract_table
from shadowtrace.ingest.dataset import ingest_to_dataset
from shadowtrace.simulate import simulate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scale")
    sim = simulate(root / "sim", vessels=40, days=2, seed=21, fmt="dma")
    ingest_to_dataset([str(sim.positions_path)], root / "data")
    return root / "data"


def test_settings_reach_the_connection(tmp_path: Path) -> None:
    spill = tmp_path / "it's spill"  # a quote in the path
    engine = get_engine("duckdb", db=tmp_path / "s.duckdb", memory_limit="300MB", temp_directory=spill)
    try:
        limit, folder = engine.con.execute(  # type: ignore[attr-defined]
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
    finally:
        engine.close()  # type: ignore[attr-defined]
    assert limit.startswith("286") and limit.endswith("MiB")  # 300 MB as DuckDB shows it
    assert folder == str(spill)


def test_unset_keeps_duckdbs_defaults(tmp_path: Path) -> None:
    engine = get_engine("duckdb", db=tmp_path / "s.duckdb")
    try:
        limit, folder = engine.con.execute(  # type: ignore[attr-defined]
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')").fetchone()
        default = duckdb.connect().execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        engine.close()  # type: ignore[attr-defined]
    assert limit == default
    assert folder == str(tmp_path / "s.duckdb.tmp")  # DuckDB's own choice beside the file


def _events(engine) -> dict[str, list]:
    try:
        report = detect_events(engine)
    finally:
        engine.close()
    return {name: [{**row, "details": json.loads(row["details"])} for row in contract_table(t).to_pylist()]
            for name, t in report.events.items()}


def test_detection_under_a_tight_limit_is_unchanged(dataset: Path, tmp_path: Path) -> None:
    free = _events(get_engine("duckdb", db=tmp_path / "a.duckdb", dataset=dataset))
    tight = _events(get_engine("duckdb", db=tmp_path / "b.duckdb", dataset=dataset,
                               memory_limit="200MB", temp_directory=tmp_path / "spill"))
    assert sum(len(v) for v in free.values()) > 0
    assert tight == free

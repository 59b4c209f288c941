"""A simulated scenario kept both as a store and as a Parquet dataset, for the tests that
run detection and screening over a dataset (DuckDB, Spark, Spark Connect)."""

from __future__ import annotations

from pathlib import Path

from shadowtrace.engine.runner import run_detect
from shadowtrace.ingest.dataset import ingest_to_dataset
from shadowtrace.lists.store import add_list
from shadowtrace.screen.run import screen
from shadowtrace.simulate import LIST_FILE, simulate
from shadowtrace.store import connect


def build_scenario(root: Path) -> tuple[Path, Path]:
    """A store (with the scenario's list) and the dataset of the same ingest."""
    sim = simulate(root / "sim", vessels=80, days=2, seed=31, fmt="nmea")
    ingest_to_dataset([str(sim.positions_path)], root / "data", db=root / "store.duckdb")
    con = connect(root / "store.duckdb")
    try:
        add_list(con, sim.lists_path, "sim")
    finally:
        con.close()
    return root / "store.duckdb", root / "data"


def screened(db: Path) -> dict[str, list[tuple]]:
    """What a screening run stored: matches, exposures, scores with their reasons."""
    con = connect(db, read_only=True)
    try:
        return {
            "matches": con.execute("SELECT match_id, mmsi, score, matched_on FROM screen_matches ORDER BY 1").fetchall(),
            "exposures": con.execute("SELECT exposure_id, details FROM screen_exposures ORDER BY 1").fetchall(),
            "scores": con.execute("SELECT mmsi, score, reasons FROM risk_scores ORDER BY 1").fetchall(),
        }
    finally:
        con.close()


def screen_store(db: Path) -> dict[str, list[tuple]]:
    """Detect and screen the store from its own tables; what it stored."""
    run_detect("duckdb", db=db)
    con = connect(db)
    try:
        screen(con)
    finally:
        con.close()
    return screened(db)


def dataset_store(tmp_path: Path, data: Path) -> Path:
    """A store holding only the list and the events (detected over the dataset): no positions,
    no static reports, as when the AIS data lives in a dataset."""
    db = tmp_path / "events-only.duckdb"
    run_detect("duckdb", db=db, dataset=data)
    con = connect(db)
    try:
        add_list(con, data.parent / "sim" / LIST_FILE, "sim")
        assert con.execute("SELECT count(*) FROM positions").fetchall() == [(0,)]
    finally:
        con.close()
    return db

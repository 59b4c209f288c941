"""Shared fixtures: paths to the real public samples, and a store built from them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FIXED_TIME = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


def shared(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared sample {path.name} is not present")
    return path


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "store.duckdb"


@pytest.fixture(scope="session")
def scenario(tmp_path_factory: pytest.TempPathFactory):
    """A simulated scenario (seed nobody tuned on), ingested and run through every detector;
    shared by the accuracy and screening tests. Tests must not change its store."""
    from shadowtrace.detect.run import detect_into_store
    from shadowtrace.ingest import ingest
    from shadowtrace.simulate import simulate

    root = tmp_path_factory.mktemp("scenario")
    result = simulate(root / "scenario", vessels=80, days=3, seed=4242, fmt="nmea")
    db = root / "store.duckdb"
    ingest([str(result.positions_path)], db)
    detect_into_store(db)
    return result, db


@pytest.fixture(scope="session")
def screened(scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the scenario store with its list loaded and screened, for read-only tests
    (the API, the web page); tests that write make their own copy."""
    import shutil

    from shadowtrace.lists.store import add_list
    from shadowtrace.screen.run import screen
    from shadowtrace.store import connect

    result, scenario_db = scenario
    db = tmp_path_factory.mktemp("screened") / "store.duckdb"
    shutil.copy(scenario_db, db)
    con = connect(db)
    try:
        add_list(con, result.lists_path, "sim")
        screen(con)
    finally:
        con.close()
    return db

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


# Spark on small data: one shuffle partition, no code generation (compiling each query costs
# more than running it interpreted), no adaptive re-planning, a JVM that warms up fast.
SPARK_TEST_CONF = {
    "spark.sql.shuffle.partitions": "1",
    "spark.default.parallelism": "2",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
    "spark.sql.adaptive.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for every test that needs one (a JVM start costs seconds)."""
    import os
    import shutil

    pytest.importorskip("pyspark", reason="pyspark comes with the spark extra (pip install -e '.[dev]')")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java runtime (java on PATH or JAVA_HOME)")
    from shadowtrace.engine.spark_engine import spark_session

    session = spark_session("local[2]", SPARK_TEST_CONF)
    yield session
    session.stop()


@pytest.fixture(scope="session")
def dataset_scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(store, dataset) of one simulated ingest, the store with the scenario's list."""
    from tests.dataset_helpers import build_scenario

    return build_scenario(tmp_path_factory.mktemp("dataset-scenario"))


@pytest.fixture(scope="session")
def dataset_screened(dataset_scenario: tuple[Path, Path]) -> dict[str, list[tuple]]:
    """The dataset scenario's store detected and screened from its own tables (what it stored)."""
    from tests.dataset_helpers import screen_store

    return screen_store(dataset_scenario[0])

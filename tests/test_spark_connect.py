"""Spark Connect (`--spark-master sc://HOST:PORT`): a real Spark Connect server (the one
PySpark ships, local[2]) runs detection and screening for the CLI, with the events and the
screening DuckDB gives on the same dataset. The CLI runs in its own process, as a user runs it:
a Spark Connect client and a classic Spark session do not share one Python process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shadowtrace.engine.runner import run_detect
from shadowtrace.store import connect
from tests.conftest import SPARK_TEST_CONF
from tests.dataset_helpers import dataset_store, screened

pyspark = pytest.importorskip("pyspark")
pytest.importorskip("grpc")

ONLY = ["ais_gap", "encounter", "port_call", "identity_change"]  # UDFs, checkpoints, pairs, reports


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def connect_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Spark Connect server on a free local port, stopped after the module."""
    home = Path(pyspark.__file__).parent
    port = _free_port()
    log = tmp_path_factory.mktemp("spark-connect") / "server.log"
    env = {**os.environ, "SPARK_HOME": str(home), "PYSPARK_PYTHON": sys.executable}
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [str(home / "bin" / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[2]", "--driver-memory", "1g",
             "--conf", f"spark.connect.grpc.binding.port={port}", "--conf", "spark.ui.enabled=false",
             *[a for key, value in SPARK_TEST_CONF.items() if key != "spark.driver.memory"
               for a in ("--conf", f"{key}={value}")]],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while b"Spark Connect server started" not in log.read_bytes():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Spark Connect server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        yield f"sc://localhost:{port}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "shadowtrace", *args], capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def _events(db: Path, relation: str = "events") -> list[tuple]:
    con = connect(db, read_only=True)
    try:
        return con.execute(f"""SELECT event_id, type, mmsi, other_mmsi, start, "end", confidence, details, lat, lon
                               FROM {relation} ORDER BY event_id""").fetchall()
    finally:
        con.close()


def test_detect_and_screen_over_spark_connect(dataset_scenario: tuple[Path, Path], dataset_screened: dict,
                                              connect_url: str, tmp_path: Path) -> None:
    db, data = dataset_scenario
    _cli("detect", "--engine", "spark", "--spark-master", connect_url, "--dataset", str(data),
         "--out", str(tmp_path / "events"), *[a for name in ONLY for a in ("--only", name)], "-q")
    local = tmp_path / "local.duckdb"
    run_detect("duckdb", db=local, dataset=data, only=ONLY)
    on_connect = _events(local, f"read_parquet('{tmp_path / 'events'}/*.parquet')")
    on_duckdb = _events(local)
    assert on_duckdb and len(on_connect) == len(on_duckdb)
    for remote, embedded in zip(on_connect, on_duckdb):
        assert remote[:8] == embedded[:8]
        assert abs(remote[8] - embedded[8]) < 1e-6 and abs(remote[9] - embedded[9]) < 1e-6

    store = dataset_store(tmp_path, data)
    done = _cli("screen", "--db", str(store), "--dataset", str(data), "--engine", "spark",
                "--spark-master", connect_url, "--top", "3")
    assert "screened" in done.stdout and "vessels by risk" in done.stdout
    assert screened(store) == dataset_screened


def test_no_server_at_the_url_is_a_clear_error(dataset_scenario: tuple[Path, Path]) -> None:
    _, data = dataset_scenario
    url = f"sc://localhost:{_free_port()}"
    done = subprocess.run([sys.executable, "-m", "shadowtrace", "detect", "--engine", "spark", "--spark-master", url,
                           "--dataset", str(data), "--out", "unused"], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "no Spark Connect server" in done.stdout + done.stderr

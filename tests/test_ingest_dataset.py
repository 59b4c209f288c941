"""`shadowtrace ingest --to DIR` writes a partitioned Parquet dataset; DuckDB detects on it."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from shadowtrace.cli import app
from shadowtrace.simulate import simulate
from tests.detect_helpers import stored_events

runner = CliRunner()


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("feed")
    return simulate(root / "sim", vessels=12, days=1.5, seed=77, fmt="nmea").positions_path


def _ingest(*args: str) -> None:
    result = runner.invoke(app, ["ingest", *args, "-q"])
    assert result.exit_code == 0, result.output


def test_dataset_layout_sorting_and_types(tmp_path: Path, feed: Path) -> None:
    data = tmp_path / "data"
    _ingest(str(feed), "--to", str(data))
    assert not (tmp_path / "shadowtrace.duckdb").exists()
    assert json.loads((data / "_shadowtrace.json").read_text())["format"] == "shadowtrace-dataset"
    days = sorted(p.name for p in (data / "positions").iterdir())
    assert days == ["date=2025-03-01", "date=2025-03-02"]
    for day in days:
        path = data / "positions" / day / "part-0.parquet"
        column = pq.ParquetFile(path).schema.column(1)
        assert column.name == "ts" and column.physical_type == "INT64"  # micros, not INT96
        table = pq.read_table(path)
        assert table.schema.field("ts").type == pa.timestamp("us")  # naive UTC
        assert {t.date().isoformat() for t in table.column("ts").to_pylist()} == {day[5:]}
        keys = list(zip(table.column("mmsi").to_pylist(), table.column("ts").to_pylist(),
                        table.column("source_line").to_pylist()))
        assert keys == sorted(keys)
    assert (data / "vessel_reports").is_dir() and (data / "ingests.parquet").is_file()


def _positions(data: Path) -> int:
    with duckdb.connect() as con:
        return int(con.execute(f"SELECT count(*) FROM read_parquet('{data}/positions/*/*.parquet')").fetchall()[0][0])


def test_reingest_adds_nothing_and_a_store_can_be_kept_too(tmp_path: Path, feed: Path) -> None:
    data, db = tmp_path / "data", tmp_path / "store.duckdb"
    _ingest(str(feed), "--to", str(data))
    count = _positions(data)
    again = runner.invoke(app, ["ingest", str(feed), "--to", str(data)])
    assert again.exit_code == 0, again.output
    assert _positions(data) == count
    assert pq.read_table(data / "ingests.parquet").num_rows == 1
    other = simulate(tmp_path / "other", vessels=3, days=0.3, seed=5, fmt="nmea")
    _ingest(str(other.positions_path), "--to", str(data))  # a new file adds to the dataset
    assert _positions(data) == count + other.rows
    assert pq.read_table(data / "ingests.parquet").column("ingest_id").to_pylist() == [1, 2]
    _ingest(str(feed), "--db", str(db), "--to", str(tmp_path / "data2"))
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM positions").fetchall()[0][0] == count


def test_detect_on_the_dataset_equals_detect_on_the_store(tmp_path: Path, feed: Path) -> None:
    data, events_db, store = tmp_path / "data", tmp_path / "events.duckdb", tmp_path / "store.duckdb"
    _ingest(str(feed), "--to", str(data))
    _ingest(str(feed), "--db", str(store))
    on_dataset = runner.invoke(app, ["detect", "--dataset", str(data), "--db", str(events_db), "-q",
                                     "--out", str(tmp_path / "events")])
    assert on_dataset.exit_code == 0, on_dataset.output
    assert runner.invoke(app, ["detect", "--db", str(store), "-q"]).exit_code == 0
    assert stored_events(events_db) == stored_events(store)
    with duckdb.connect(str(events_db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM positions").fetchall() == [(0,)]  # read, not copied
    files = sorted((tmp_path / "events").glob("*.parquet"))
    assert len(files) == 10
    exported = pa.concat_tables([pq.read_table(f) for f in files])
    assert exported.num_rows == len(stored_events(store)) > 0


def test_refuses_to_overwrite_a_folder_that_is_no_dataset(tmp_path: Path, feed: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    result = runner.invoke(app, ["ingest", str(feed), "--to", str(target), "-q"])
    assert result.exit_code == 2 and "not a shadowtrace dataset" in result.output
    assert (target / "notes.txt").read_text() == "keep me"


def test_engine_options_are_checked(tmp_path: Path) -> None:
    spark_without_dataset = runner.invoke(app, ["detect", "--engine", "spark", "--out", str(tmp_path)])
    assert spark_without_dataset.exit_code == 2 and "--dataset" in spark_without_dataset.output
    unknown = runner.invoke(app, ["detect", "--engine", "flink", "--db", str(tmp_path / "s.duckdb")])
    assert unknown.exit_code == 2 and "unknown engine" in unknown.output
    no_dataset = runner.invoke(app, ["detect", "--dataset", str(tmp_path), "--db", str(tmp_path / "s.duckdb")])
    assert no_dataset.exit_code == 2 and "not a shadowtrace dataset" in no_dataset.output


def _rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple]:
    return sorted(con.execute(f"SELECT * FROM {relation}").fetchall(), key=repr)


def test_adding_to_a_dataset_rewrites_only_its_days_and_equals_a_store(tmp_path: Path, feed: Path) -> None:
    """Appending keeps untouched days' files as they are, and gives the rows and counts an
    ingest of the same files into one store gives (duplicates of rows already in the
    dataset left out and counted)."""
    other = simulate(tmp_path / "other", vessels=3, days=0.3, seed=5, fmt="nmea").positions_path
    repeat = tmp_path / "repeat.nmea"  # a new file, mostly lines the dataset already holds
    lines = feed.read_text().splitlines(keepends=True)
    repeat.write_text("".join(lines[:3000]) + "".join(other.read_text().splitlines(keepends=True)[-50:]))
    data, store = tmp_path / "data", tmp_path / "store.duckdb"
    _ingest(str(feed), "--to", str(data))
    second_day = data / "positions" / "date=2025-03-02" / "part-0.parquet"
    before = second_day.stat()
    for path in (other, repeat):
        _ingest(str(path), "--to", str(data))
    after = second_day.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)  # not rewritten
    for path in (feed, other, repeat):
        _ingest(str(path), "--db", str(store))
    counted = ("ingest_id, source, lines_read, positions_read, positions_added, reports_read, reports_added,"
               " duplicates, rejects")
    with duckdb.connect(str(store), read_only=True) as con:
        for table in ("positions", "vessel_reports"):
            files = f"read_parquet('{data}/{table}/*/*.parquet', hive_partitioning = false)"
            assert _rows(con, files) == _rows(con, table)
        assert _rows(con, f"(SELECT {counted} FROM read_parquet('{data}/ingests.parquet'))") == \
            _rows(con, f"(SELECT {counted} FROM ingests)")
        dups = con.execute("SELECT duplicates FROM ingests WHERE ingest_id = 3").fetchall()[0][0]
        assert dups >= 2000  # the repeated lines were found in the dataset
        assert _rows(con, f"read_parquet('{data}/rejects.parquet')") == _rows(con, "rejects")
        marker = json.loads((data / "_shadowtrace.json").read_text())
        assert marker["rows"]["positions"] == con.execute("SELECT count(*) FROM positions").fetchall()[0][0]

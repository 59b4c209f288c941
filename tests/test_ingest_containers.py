"""Archives, folders, globs and Parquet: the containers people keep AIS in."""

from __future__ import annotations

import bz2
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shadowtrace.ingest import IngestOptions, ingest
from tests.conftest import shared


def _positions(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM positions").fetchone()[0])  # type: ignore[index]


def test_zipped_noaa_daily_file(tmp_path: Path) -> None:
    source = shared("ais_positions", "aisdb_test_data_noaa_20230101.csv")
    archive = tmp_path / "AIS_2023_01_11.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(source, "AIS_2023_01_11.csv")
    report = ingest([str(archive)], tmp_path / "z.duckdb")
    (result,) = report.results
    assert result.status == "complete" and result.fmt == "noaa"
    assert result.source.endswith("AIS_2023_01_11.zip!AIS_2023_01_11.csv")
    assert _positions(tmp_path / "z.duckdb") == result.counts.positions_added > 900


def test_bz2_nmea_and_plain_copy_store_the_same_rows(tmp_path: Path) -> None:
    source = shared("ais_positions", "kystverket_Ais1000Lines.nm4")
    packed = tmp_path / "feed.nm4.bz2"
    packed.write_bytes(bz2.compress(source.read_bytes()))
    ingest([str(packed)], tmp_path / "b.duckdb")
    ingest([str(source)], tmp_path / "p.duckdb")
    assert _positions(tmp_path / "b.duckdb") == _positions(tmp_path / "p.duckdb") > 700


def test_folder_and_glob(tmp_path: Path) -> None:
    folder = tmp_path / "feeds"
    folder.mkdir()
    for name in ("kystverket_Ais1000Lines.nm4", "amsa_risky_nmea-timestamped.txt"):
        (folder / name).write_bytes(shared("ais_positions", name).read_bytes())
    by_folder = ingest([str(folder)], tmp_path / "f.duckdb")
    by_glob = ingest([str(folder / "*.nm4")], tmp_path / "g.duckdb")
    assert len(by_folder.results) == 2 and len(by_glob.results) == 1


def test_parquet_with_canonical_names_and_with_a_mapping(tmp_path: Path) -> None:
    table = pa.table({
        "mmsi": [244000001, 244000001, 12],
        "ts": pa.array([1740787200_000000, 1740787260_000000, 1740787260_000000], pa.timestamp("us")),
        "lat": [52.0, 52.001, 52.0],
        "lon": [4.0, 4.001, 4.0],
        "sog": [10.0, 10.1, 1.0],
    })
    canonical = tmp_path / "canonical.parquet"
    pq.write_table(table, canonical)
    report = ingest([str(canonical)], tmp_path / "c.duckdb")
    (result,) = report.results
    assert result.fmt == "parquet" and result.counts.positions_added == 2
    assert result.counts.rejects_by_reason["mmsi_not_9_digits"] == 1
    renamed = tmp_path / "renamed.parquet"
    pq.write_table(table.rename_columns(["ship", "when", "y", "x", "speed"]), renamed)
    mapped = ingest([str(renamed)], tmp_path / "m.duckdb", IngestOptions(
        columns={"mmsi": "ship", "ts": "when", "lat": "y", "lon": "x", "sog": "speed"}))
    assert mapped.results[0].counts.positions_added == 2

"""Bad input gets a clear error or is quarantined with a reason; never a traceback."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import duckdb

from shadowtrace.ingest import IngestOptions, ingest
from tests.conftest import FIXED_TIME, shared

DMA_HEADER = (
    "# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,Heading,"
    "IMO,Callsign,Name,Ship type,Cargo type,Width,Length,Type of position fixing device,Draught,"
    "Destination,ETA,Data source type,A,B,C,D\n"
)


def _only(report):  # type: ignore[no-untyped-def]
    assert len(report.results) == 1
    return report.results[0]


def test_empty_file(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "empty.nmea"
    path.write_bytes(b"")
    result = _only(ingest([str(path)], db))
    assert result.status == "failed"
    assert "empty" in (result.error or "") and "empty.nmea" in (result.error or "")


def test_binary_garbage(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "garbage.bin"
    path.write_bytes(bytes(range(256)) * 200)
    result = _only(ingest([str(path)], db))
    assert result.status == "failed"
    assert "binary" in (result.error or "")


def test_truncated_gzip_keeps_what_was_read(tmp_path: Path, db: Path) -> None:
    data = shared("ais_positions", "amsa_risky_ais.txt.gz").read_bytes()
    path = tmp_path / "cut.txt.gz"
    path.write_bytes(data[: len(data) // 2])
    result = _only(ingest([str(path)], db, IngestOptions(default_time=FIXED_TIME)))
    assert result.status == "partial"
    assert "ended early" in (result.error or "")
    assert result.counts.positions_read > 0
    with duckdb.connect(str(db), read_only=True) as con:
        reasons = [r[0] for r in con.execute("SELECT reason FROM rejects").fetchall()]
    assert any(r.startswith("truncated_input") for r in reasons)


def test_truncated_gzip_csv_is_a_clear_error(tmp_path: Path, db: Path) -> None:
    rows = "".join(
        f"01/03/2025 00:{i // 60:02d}:{i % 60:02d},Class A,219000{i:03d},55.1,11.2,Under way using engine,0,10,90,90,Unknown,,,Tanker,,,,,,,,,,,,\n"
        for i in range(3000)
    )
    packed = gzip.compress((DMA_HEADER + rows).encode())
    path = tmp_path / "aisdk.csv.gz"
    path.write_bytes(packed[: len(packed) // 2])
    result = _only(ingest([str(path)], db))
    assert result.status in ("failed", "partial")
    assert result.error and "aisdk.csv.gz" in result.error


def test_latin1_text(tmp_path: Path, db: Path) -> None:
    row = "01/03/2025 10:00:00,Class A,219000001,55.1,11.2,Moored,0,0,90,90,9074729,OXAB2,SØLVBAKKEN,Tanker,,20,120,GPS,7.5,ÅRHUS,,AIS,,,,\n"
    path = tmp_path / "latin1.csv"
    path.write_bytes((DMA_HEADER + row).encode("latin-1"))
    result = _only(ingest([str(path)], db))
    assert result.status == "complete", result.error
    with duckdb.connect(str(db), read_only=True) as con:
        name, destination = con.execute("SELECT name, destination FROM vessel_reports").fetchone()  # type: ignore[misc]
    assert name == "SØLVBAKKEN" and destination == "ÅRHUS"


def test_csv_missing_required_column_names_file_and_column(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text("MMSI,Time,Latitude\n219000001,2025-03-01T00:00:00,55.0\n")
    result = _only(ingest([str(path)], db))
    assert result.status == "failed"
    assert "tracks.csv" in (result.error or "") and "lon" in (result.error or "")
    assert "--columns" in (result.error or "")


def test_wrong_columns_mapping_is_named(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text("id,t,y,x\n219000001,2025-03-01T00:00:00,55.0,11.0\n")
    options = IngestOptions(columns={"mmsi": "id", "ts": "t", "lat": "y", "lon": "longitude"})
    result = _only(ingest([str(path)], db, options))
    assert result.status == "failed" and "'longitude'" in (result.error or "")


def test_unknown_format_lists_supported_formats(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("just some notes\nabout ships\n")
    result = _only(ingest([str(path)], db))
    assert result.status == "failed"
    for word in ("unknown format", "nmea", "dma", "noaa", "--columns"):
        assert word in (result.error or "")


def test_nmea_without_any_time_is_refused_with_advice(tmp_path: Path, db: Path) -> None:
    path = tmp_path / "untimed.nmea"
    path.write_text("!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30\n")
    result = _only(ingest([str(path)], db))
    assert result.status == "failed" and "--time" in (result.error or "")
    stamped = _only(ingest([str(path)], db, IngestOptions(default_time=FIXED_TIME)))
    assert stamped.status == "complete" and stamped.counts.positions_added == 1


def test_cli_reports_errors_without_traceback(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    db = tmp_path / "cli.duckdb"
    run = subprocess.run(
        [sys.executable, "-m", "shadowtrace.cli", "ingest", str(empty), "--db", str(db), "-q"],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "empty" in run.stderr
    bad_format = subprocess.run(
        [sys.executable, "-m", "shadowtrace.cli", "ingest", str(empty), "--db", str(db), "--format", "xml"],
        capture_output=True, text=True, timeout=120,
    )
    assert bad_format.returncode == 2 and "Traceback" not in bad_format.stderr
    assert "unknown --format" in bad_format.stderr


def test_missing_input_path(tmp_path: Path, db: Path) -> None:
    import pytest

    from shadowtrace.errors import InputError

    with pytest.raises(InputError, match="no such file"):
        ingest([str(tmp_path / "nope.nmea")], db)


def test_csv_static_changes_back_and_forth_are_all_reported(tmp_path: Path, db: Path) -> None:
    header = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n"
    rows = []
    for hour, draught in ((0, 6.7), (3, 12.1), (6, 6.7)):
        for minute in range(0, 60, 10):
            rows.append(f"636000001,2025-03-01T{hour:02d}:{minute:02d}:00,30.0,-40.0,0.1,0,0,TANKER ONE,IMO9074729,A8AA1,80,1,200,30,{draught},80,A\n")
    path = tmp_path / "noaa.csv"
    path.write_text(header + "".join(rows))
    result = _only(ingest([str(path)], db))
    assert result.status == "complete", result.error
    with duckdb.connect(str(db), read_only=True) as con:
        draughts = [r[0] for r in con.execute("SELECT draught FROM vessel_reports ORDER BY ts").fetchall()]
    assert [round(d, 1) for d in draughts] == [6.7, 12.1, 6.7]


def test_bad_value_in_a_known_layout_is_quarantined_with_its_column(tmp_path: Path, db: Path) -> None:
    header = "MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,Length,Width,Draft,Cargo,TransceiverClass\n"
    row = "636000001,2025-03-01T00:0{m}:00,{lat},-40.0,0.1,0,0,A,IMO9074729,A8AA1,80,1,200,30,7,80,A\n"
    path = tmp_path / "noaa.csv"
    path.write_text(header + row.format(m=0, lat="30.0") + row.format(m=1, lat="abc") + row.format(m=2, lat="30.1"))
    result = _only(ingest([str(path)], db))
    assert result.status == "complete"
    with duckdb.connect(str(db), read_only=True) as con:
        rejects = con.execute("SELECT source_line, reason, raw FROM rejects").fetchall()
        lines = con.execute("SELECT source_line FROM positions ORDER BY 1").fetchall()
    assert rejects[0][0] == 3 and "LAT" in rejects[0][1] and "abc" in rejects[0][2]
    assert lines == [(2,), (4,)]

"""Decoder conformance: ingested values equal the decoders' published expectations.

Inputs and expected decodes come from gpsd (`*.chk`, JSON per message) and libais
(`typeexamples.json`, `tagblock.json`). Expected values are compared after
shadowtrace's documented NULL rules (docs/data-model.md).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest

from shadowtrace.ingest import IngestOptions, ingest
from tests.conftest import FIXED_TIME, shared

CASES = [
    ("gpsd", "sample.aivdm", "sample.aivdm.js.chk"),
    ("gpsd", "ais-18-27.log", "ais-18-27.log.chk"),
    ("gpsd", "ais-nmea.log", "ais-nmea.log.chk"),
    ("gpsd", "ais-raw-messages.log", "ais-raw-messages.log.chk"),
    ("gpsd", "ait250.log", "ait250.log.chk"),
    ("gpsd", "saab-r4.log", "saab-r4.log.chk"),
    ("gpsd", "ais_unpack_sixbit.log", "ais_unpack_sixbit.log.chk"),
    ("gpsd", "ais-nmea-type6-fid55.log", "ais-nmea-type6-fid55.log.chk"),
    ("libais", "typeexamples.nmea", "typeexamples.json"),
    ("libais", "tagblock.nmea", "tagblock.json"),
]
POSITION_TYPES = {1, 2, 3, 18, 19, 27}
STATIC_TYPES = {5, 19, 24}


def expected_records(path: Path) -> list[dict[str, Any]]:
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if record.get("class") == "AIS":
            records.append(record)
    return records


def vessel_mmsi(mmsi: int) -> bool:
    return 100_000_000 <= mmsi <= 999_999_999 and 2 <= mmsi // 100_000_000 <= 7


def expected_position(rec: dict[str, Any]) -> dict[str, Any] | None:
    """Scaled expected values after the NULL rules; None when it must not be a position."""
    msg_type, scaled = rec["type"], rec.get("scaled", False)
    long_range = msg_type == 27
    lat, lon = float(rec["lat"]), float(rec["lon"])
    speed, course = rec.get("speed"), rec.get("course")
    if not scaled:
        divisor = 600.0 if long_range else 600000.0
        lat, lon = lat / divisor, lon / divisor
        if not long_range:
            speed = None if speed is None else speed / 10.0
            course = None if course is None else course / 10.0
    if not vessel_mmsi(rec["mmsi"]):
        return None
    if round(lat, 4) == 91 or round(lon, 4) == 181 or abs(lat) > 90 or abs(lon) > 180:
        return None
    if lat == 0 and lon == 0:
        return None
    if long_range:
        speed = None if speed == 63 else speed
        course = None if course == 511 else course
    else:
        speed = None if speed is not None and round(speed, 1) == 102.3 else speed
        course = None if course is not None and round(course, 1) == 360.0 else course
    if course is not None and course > 360:
        return None  # impossible value: quarantined
    heading = rec.get("heading")
    heading = None if heading == 511 else heading
    if heading is not None and heading > 359:
        return None
    return {
        "_tol": 1e-4 if long_range else None,  # gpsd prints type 27 to 4 decimals
        "mmsi": rec["mmsi"], "lat": lat, "lon": lon, "sog": speed, "cog": course,
        "heading": heading, "nav_status": rec.get("status"),
    }


def expected_static(rec: dict[str, Any]) -> dict[str, Any] | None:
    if not vessel_mmsi(rec["mmsi"]):
        return None
    out: dict[str, Any] = {"mmsi": rec["mmsi"]}
    if "shipname" in rec:
        out["name"] = rec["shipname"].replace("@", " ").strip() or None
    if "callsign" in rec:
        out["callsign"] = rec["callsign"].replace("@", " ").strip() or None
    if "shiptype" in rec:
        out["ship_type"] = rec["shiptype"] or None
    if "imo" in rec:
        out["imo"] = int(rec["imo"]) or None
    for key in ("to_bow", "to_stern", "to_port", "to_starboard"):
        if key in rec:
            out[key] = rec[key] or None
    if "draught" in rec:
        draught = float(rec["draught"]) if rec.get("scaled") else float(rec["draught"]) / 10.0
        out["draught"] = draught or None
    if len(out) == 1 or all(v is None for k, v in out.items() if k != "mmsi"):
        return None  # no static content: quarantined as no_static_data
    return out


def _close(a: Any, b: Any, tol: float) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(b, float) or isinstance(a, float):
        return math.isclose(float(a), float(b), abs_tol=tol)
    return a == b


def _matches(row: dict[str, Any], want: dict[str, Any], tol: float) -> bool:
    tol = want.get("_tol") or tol
    for key, value in want.items():
        if key.startswith("_"):
            continue
        got = row[key]
        if key in ("lat", "lon"):
            if not _close(got, value, tol):
                return False
        elif key in ("sog", "cog", "draught"):
            if not _close(got, value, 0.051):
                return False
        elif got != value:
            return False
    return True


@pytest.mark.parametrize(("folder", "log", "chk"), CASES, ids=[c[1] for c in CASES])
def test_ingested_values_equal_expected(tmp_path: Path, folder: str, log: str, chk: str) -> None:
    source = shared("ais_decoder_vectors", folder, log)
    records = expected_records(shared("ais_decoder_vectors", folder, chk))
    db = tmp_path / "conformance.duckdb"
    report = ingest([str(source)], db, IngestOptions(default_time=FIXED_TIME))
    assert not report.failed, report.failed[0].error
    con = duckdb.connect(str(db), read_only=True)
    positions = _rows(con, "positions")
    reports = _rows(con, "vessel_reports")
    tol = 2e-6 if folder == "gpsd" else 2e-5  # libais prints float32 values
    checked = 0
    missing = []
    for rec in records:
        if rec["type"] in POSITION_TYPES and "lat" in rec:
            want = expected_position(rec)
            if want is not None:
                checked += 1
                candidates = [r for r in positions if r["mmsi"] == want["mmsi"]]
                if not any(_matches(r, want, tol) for r in candidates):
                    missing.append(("position", want, candidates[:3]))
        if rec["type"] in STATIC_TYPES:
            want = expected_static(rec)
            if want is not None:
                checked += 1
                candidates = [r for r in reports if r["mmsi"] == want["mmsi"]]
                if not any(_matches(r, want, tol) for r in candidates):
                    missing.append(("static", want, candidates[:3]))
    con.close()
    assert not missing, f"{len(missing)} of {checked} expected decodes not found, first: {missing[:3]}"
    if any(r["type"] in POSITION_TYPES | STATIC_TYPES for r in records):
        assert checked > 0


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"SELECT * FROM {table}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]

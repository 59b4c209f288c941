"""invalid_identity edge cases on hand-made tracks and static reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb

from shadowtrace.detect.invalid_identity import imo_valid_sql
from tests.detect_helpers import T0, line, make_store, run_detector

H = dt.timedelta(hours=1)


def _vessel(mmsi: int, imo: int | None, lat: float = 36.0, lon: float = 20.0, reports: int = 3,
            lon_end: float | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    track = line(mmsi, T0, lat, lon, lat, lon + 0.2 if lon_end is None else lon_end, 120, every_s=1200)
    statics = [{"mmsi": mmsi, "ts": T0 + i * H / 2, "imo": imo, "name": "A"} for i in range(reports)]
    return track, statics


def _store(tmp_path: Path, *vessels: tuple[list[dict[str, Any]], list[dict[str, Any]]]) -> Path:
    return make_store(tmp_path / "s.duckdb", [r for v in vessels for r in v[0]], [r for v in vessels for r in v[1]])


def test_check_digit_sql_matches_the_definition() -> None:
    def valid(imo: int) -> bool:
        d = [int(c) for c in str(imo)]
        return len(d) == 7 and sum(x * w for x, w in zip(d, range(7, 1, -1))) % 10 == d[6]

    values = [9074729, 9074728, 9176187, 1234567, 999999, 10000000, 1000000, 9999999, 5, 9448023]
    with duckdb.connect() as con:
        got = [con.execute(f"SELECT {imo_valid_sql(str(v))}").fetchone()[0] for v in values]
    assert got == [valid(v) for v in values]


def test_valid_and_invalid_imo(tmp_path: Path) -> None:
    db = _store(tmp_path, _vessel(636000001, 9074729), _vessel(636000002, 9074728, lat=40))
    (event,) = run_detector(db, "invalid_identity")
    assert event["mmsi"] == 636000002
    d = event["details"]
    assert d["problems"] == ["imo_check_digit"] and d["bad_imos"] == [9074728]
    assert d["flag"] == "Liberia" and d["mid"] == 636
    assert (event["start"], event["end"]) == (T0, T0 + 2 * H)  # the vessel's observed range
    assert (event["lat"], event["lon"]) == (40.0, 20.0)  # where it was first seen
    assert len(d["reports"]) == 1 and len(d["positions"]) == 1


def test_imo_zero_or_missing_is_not_invalid(tmp_path: Path) -> None:
    db = _store(tmp_path, _vessel(636000003, 0), _vessel(636000004, None, lat=40))
    assert run_detector(db, "invalid_identity") == []


def test_imo_of_wrong_length(tmp_path: Path) -> None:
    db = _store(tmp_path, _vessel(636000005, 907472), _vessel(636000006, 10000000, lat=40))
    assert sorted(e["mmsi"] for e in run_detector(db, "invalid_identity")) == [636000005, 636000006]


def test_unallocated_mid_and_a_valid_liberian(tmp_path: Path) -> None:
    db = _store(tmp_path, _vessel(200123456, 9074729), _vessel(221032000, None, lat=38),
                _vessel(636012345, 9074729, lat=40))
    events = {e["mmsi"]: e for e in run_detector(db, "invalid_identity")}
    assert set(events) == {200123456, 221032000}
    assert events[200123456]["details"]["problems"] == ["mmsi_mid_unallocated"]
    assert events[200123456]["details"]["flag"] is None


def test_mmsi_not_nine_digits(tmp_path: Path) -> None:
    # Ingest rejects these; a store filled another way may still hold one.
    db = _store(tmp_path, _vessel(63601234, None))
    (event,) = run_detector(db, "invalid_identity")
    assert event["details"]["problems"] == ["mmsi_not_9_digits"] and event["details"]["mid"] is None


def test_one_event_per_vessel_lists_every_problem(tmp_path: Path) -> None:
    db = _store(tmp_path, _vessel(223609000, 9074728), _vessel(223609001, 9074729, lat=40),
                _vessel(636000007, 9074728, lat=44))
    events = {e["mmsi"]: e for e in run_detector(db, "invalid_identity")}
    both = events[223609000]
    assert both["details"]["problems"] == ["mmsi_mid_unallocated", "imo_check_digit"]
    assert both["confidence"] > max(events[223609001]["confidence"], events[636000007]["confidence"])


def test_an_occasional_bad_imo_weighs_less(tmp_path: Path) -> None:
    track, statics = _vessel(636000008, 9074729, reports=4)
    statics[0]["imo"] = 9074728
    db = _store(tmp_path, (track, statics), _vessel(636000009, 9074728, lat=40, reports=4))
    events = {e["mmsi"]: e for e in run_detector(db, "invalid_identity")}
    assert events[636000008]["details"]["bad_imo_reports"] == 1
    assert events[636000008]["details"]["imo_reports"] == 4
    assert events[636000008]["confidence"] < events[636000009]["confidence"]


def test_flag_on_record_hook(tmp_path: Path) -> None:
    db = _store(tmp_path, _vessel(636000010, 9074729), _vessel(636000011, 9176187, lat=40),
                _vessel(636000012, 1234567, lat=44))
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE flag_register (imo INTEGER, flag VARCHAR)")
        con.execute("INSERT INTO flag_register VALUES (9074729, 'Panama'), (9176187, 'LBR'), (1234567, 'liberia')")
    assert run_detector(db, "invalid_identity") == []  # off by default: no register in the store
    (event,) = run_detector(db, "invalid_identity", flag_register_table="flag_register")
    assert event["mmsi"] == 636000010
    assert event["details"]["problems"] == ["flag_mismatch"]
    assert event["details"]["recorded_flags"] == ["Panama"]


def test_date_line_and_pole_locations(tmp_path: Path) -> None:
    west, statics = _vessel(200000001, None, lat=-20, lon=179.9, lon_end=179.99)
    east = line(200000001, T0 + 3 * H, -20, -179.99, -20, -179.9, 60, every_s=1200)
    db = _store(tmp_path, (west + east, statics), _vessel(200000002, None, lat=89.9, lon=0, lon_end=170))
    events = {e["mmsi"]: e for e in run_detector(db, "invalid_identity")}
    assert (events[200000001]["lat"], events[200000001]["lon"]) == (-20.0, 179.9)
    assert events[200000001]["end"] == T0 + 4 * H  # one event across the date line
    assert (events[200000002]["lat"], events[200000002]["lon"]) == (89.9, 0.0)

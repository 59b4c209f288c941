"""identity_change edge cases on hand-made tracks and static reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.detect_helpers import T0, line, make_store, run_detector

M = dt.timedelta(minutes=1)
H = dt.timedelta(hours=1)


def _reports(mmsi: int, start: dt.datetime, n: int, every: dt.timedelta = 20 * M,
             **fields: Any) -> list[dict[str, Any]]:
    """n static reports with the same field values (sparse: the store is built row by row)."""
    return [{"mmsi": mmsi, "ts": start + i * every, **fields} for i in range(n)]


def _ship(mmsi: int, lat: float = 36.0, lon: float = 20.0, hours: float = 4) -> list[dict[str, Any]]:
    return line(mmsi, T0, lat, lon, lat, lon + 0.5, hours * 60, every_s=600)


ID = {"imo": 9074729, "callsign": "D5AB12", "ship_type": 80}


def test_rename_gives_one_event_with_before_and_after(tmp_path: Path) -> None:
    reports = _reports(636000001, T0, 6, name="OCEAN SPIRIT", **ID) + _reports(
        636000001, T0 + 2 * H, 6, name="SEA QUEEN", **ID)
    db = make_store(tmp_path / "s.duckdb", _ship(636000001), reports)
    (event,) = run_detector(db, "identity_change")
    d = event["details"]
    assert (d["kind"], d["changed"]) == ("change", ["name"])
    assert (d["before"]["name"], d["after"]["name"]) == ("OCEAN SPIRIT", "SEA QUEEN")
    assert d["before"]["callsign"] is None  # unchanged fields stay out of before/after
    assert event["start"] == T0 + 5 * 20 * M and event["end"] == T0 + 2 * H
    assert abs(event["lon"] - (20 + 0.5 * 120 / 240)) < 0.01  # the position at the change
    assert len(d["reports"]) == 2 and len(d["positions"]) == 1
    assert event["confidence"] >= 0.75


def test_same_name_repeated_gives_nothing(tmp_path: Path) -> None:
    reports = _reports(636000002, T0, 12, name="OCEAN SPIRIT", **ID)
    reports += _reports(636000002, T0 + 3 * M, 12, name="ocean spirit ", **ID)  # case and blanks
    db = make_store(tmp_path / "s.duckdb", _ship(636000002), reports)
    assert run_detector(db, "identity_change") == []


def test_missing_fields_are_not_changes(tmp_path: Path) -> None:
    # Type 24 part A rows carry only the name, part B rows only call sign and type;
    # IMO 0 and ship type 0 mean "not available".
    reports = _reports(338000003, T0, 6, name="NORTH STAR", imo=9074729)
    reports += _reports(338000003, T0 + M, 6, callsign="WDC1234", ship_type=80, imo=0)
    reports += _reports(338000003, T0 + 2 * M, 6, name=None, callsign=None, ship_type=0)
    reports += _reports(338000003, T0 + 3 * M, 6, name="", imo=9074729)
    db = make_store(tmp_path / "s.duckdb", _ship(338000003), reports)
    assert run_detector(db, "identity_change") == []


def test_reflag_same_imo_new_mmsi(tmp_path: Path) -> None:
    old = line(636000004, T0, 36, 20, 36, 20.2, 120, every_s=600)
    new = line(273000004, T0 + 2 * H + 5 * M, 36, 20.21, 36, 20.4, 120, every_s=600)
    reports = _reports(636000004, T0, 6, name="OCEAN SPIRIT", **ID)
    reports += _reports(273000004, T0 + 2 * H + 5 * M, 6, name="OCEAN SPIRIT", **{**ID, "callsign": "UBX123"})
    db = make_store(tmp_path / "s.duckdb", old + new, reports)
    (event,) = run_detector(db, "identity_change")
    d = event["details"]
    assert (event["mmsi"], event["other_mmsi"]) == (273000004, 636000004)
    assert d["kind"] == "reflag" and d["changed"] == ["mmsi", "callsign"]
    assert (d["before"]["flag"], d["after"]["flag"]) == ("Liberia", "Russian Federation")
    assert (d["before"]["mmsi"], d["after"]["mmsi"], d["imo"]) == (636000004, 273000004, 9074729)
    assert d["handover_distance_m"] < 5_000
    assert event["confidence"] == 1.0


def test_reflag_overlap_just_under_and_over(tmp_path: Path) -> None:
    def pair(old: int, new: int, imo: int, overlap: dt.timedelta) -> list[dict[str, Any]]:
        return (_reports(old, T0, 7, imo=imo, name="A")
                + _reports(new, T0 + 2 * H - overlap, 7, imo=imo, name="A"))

    reports = pair(636000005, 273000005, 9074729, 59 * M) + pair(636000006, 273000006, 9176187, 61 * M)
    db = make_store(tmp_path / "s.duckdb", _ship(636000005) + _ship(636000006, lat=40), reports)
    assert [e["mmsi"] for e in run_detector(db, "identity_change")] == [273000005]
    assert len(run_detector(db, "identity_change", max_overlap_hours=1.1)) == 2


def test_imo_change(tmp_path: Path) -> None:
    reports = _reports(636000007, T0, 6, name="A", **ID) + _reports(
        636000007, T0 + 2 * H, 6, name="A", **{**ID, "imo": 9176187})
    db = make_store(tmp_path / "s.duckdb", _ship(636000007), reports)
    (event,) = run_detector(db, "identity_change")
    d = event["details"]
    assert d["changed"] == ["imo"] and (d["before"]["imo"], d["after"]["imo"]) == (9074729, 9176187)
    assert event["confidence"] >= 0.85


def test_ship_type_change_is_weaker_than_a_rename(tmp_path: Path) -> None:
    typed = _reports(636000008, T0, 6, name="A", **ID) + _reports(
        636000008, T0 + 2 * H, 6, name="A", **{**ID, "ship_type": 84})
    renamed = _reports(636000009, T0, 6, name="A", **ID) + _reports(636000009, T0 + 2 * H, 6, name="B", **ID)
    db = make_store(tmp_path / "s.duckdb", _ship(636000008) + _ship(636000009, lat=40), typed + renamed)
    events = {e["mmsi"]: e for e in run_detector(db, "identity_change")}
    assert events[636000008]["details"]["changed"] == ["ship_type"]
    assert events[636000008]["confidence"] < events[636000009]["confidence"]


def test_alternating_names_of_a_clone_give_no_storm(tmp_path: Path) -> None:
    # Two hulls 500 km apart on one MMSI (tracks: identity_conflict), each with its name.
    here = line(636000010, T0, 36, 20, 36, 20.3, 240, every_s=600)
    there = line(636000010, T0 + M, 40, 25, 40, 25.3, 240, every_s=600)
    reports = [{"mmsi": 636000010, "ts": T0 + i * 10 * M, "name": "A" if i % 2 else "B", **ID} for i in range(24)]
    db = make_store(tmp_path / "s.duckdb", here + there, reports)
    assert run_detector(db, "identity_change") == []


def test_alternation_without_a_clone_is_one_event(tmp_path: Path) -> None:
    reports = [{"mmsi": 636000011, "ts": T0 + i * 10 * M, "name": "A" if (i // 2) % 2 else "B",
                "callsign": "X1" if (i // 2) % 2 else "Y2", "imo": 9074729} for i in range(24)]
    db = make_store(tmp_path / "s.duckdb", _ship(636000011), reports)
    (event,) = run_detector(db, "identity_change")
    assert event["details"]["kind"] == "alternating"
    assert event["details"]["changed"] == ["callsign", "name"]
    assert event["details"]["switches"] >= 10
    assert event["confidence"] < 0.5


def test_merge_window_just_under_and_over(tmp_path: Path) -> None:
    def rows(mmsi: int, later: dt.timedelta) -> list[dict[str, Any]]:
        # Name (part A rows) and call sign (part B rows) change `later` apart.
        return (_reports(mmsi, T0, 6, name="A") + _reports(mmsi, T0 + 2 * H, 6, name="B")
                + _reports(mmsi, T0 + M, 6, callsign="OLD1") + _reports(mmsi, T0 + 2 * H + later, 6, callsign="NEW1"))

    reports = rows(636000012, 59 * M) + rows(636000013, 61 * M)
    db = make_store(tmp_path / "s.duckdb", _ship(636000012) + _ship(636000013, lat=40), reports)
    events = run_detector(db, "identity_change")
    by = {m: [e["details"]["changed"] for e in events if e["mmsi"] == m] for m in (636000012, 636000013)}
    assert by[636000012] == [["callsign", "name"]]
    assert sorted(by[636000013]) == [["callsign"], ["name"]]


def test_reflag_across_the_date_line(tmp_path: Path) -> None:
    old = line(636000014, T0, -20, 179.90, -20, 179.99, 120, every_s=600)
    new = line(538000014, T0 + 2 * H + 5 * M, -20, -179.99, -20, -179.90, 120, every_s=600)
    reports = _reports(636000014, T0, 6, **ID) + _reports(538000014, T0 + 2 * H + 5 * M, 6, **ID)
    db = make_store(tmp_path / "s.duckdb", old + new, reports)
    (event,) = run_detector(db, "identity_change")
    assert event["details"]["handover_distance_m"] < 5_000
    assert event["details"]["before"]["flag"] == "Liberia" and event["lon"] < -179.9
    assert event["confidence"] == 1.0


def test_reflag_far_from_the_old_track_is_less_certain(tmp_path: Path) -> None:
    old = line(636000015, T0, 36, 20, 36, 20.2, 120, every_s=600)
    new = line(538000015, T0 + 2 * H + 5 * M, 50, -30, 50, -30.2, 120, every_s=600)
    reports = _reports(636000015, T0, 6, **ID) + _reports(538000015, T0 + 2 * H + 5 * M, 6, **ID)
    db = make_store(tmp_path / "s.duckdb", old + new, reports)
    (event,) = run_detector(db, "identity_change")
    assert event["details"]["handover_distance_m"] > 1_000_000
    assert event["confidence"] < 0.8


def test_near_the_pole(tmp_path: Path) -> None:
    ship = line(257000016, T0, 89.9, 0, 89.9, 170, 240, every_s=600)
    reports = _reports(257000016, T0, 6, name="A", **ID) + _reports(257000016, T0 + 2 * H, 6, name="B", **ID)
    db = make_store(tmp_path / "s.duckdb", ship, reports)
    (event,) = run_detector(db, "identity_change")
    assert event["lat"] == 89.9 and abs(event["lon"] - 85) < 1

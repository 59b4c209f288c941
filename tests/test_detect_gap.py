"""ais_gap edge cases on hand-made tracks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.detect_helpers import T0, line, make_store, run_detector

H = dt.timedelta(hours=1)


def _gap_track(mmsi: int, silence: dt.timedelta, lat: float = 36.0, lon: float = 20.0) -> list[dict]:
    before = line(mmsi, T0, lat, lon, lat, lon + 0.2, 60)
    resume = before[-1]["ts"] + silence
    after = line(mmsi, resume, lat, lon + 0.5, lat, lon + 0.7, 60)
    return before + after


def test_just_under_and_just_over_threshold(tmp_path: Path) -> None:
    rows = _gap_track(244000001, 6 * H - dt.timedelta(minutes=1)) + _gap_track(244000002, 6 * H + dt.timedelta(minutes=1), lat=40)
    db = make_store(tmp_path / "s.duckdb", rows)
    events = run_detector(db, "ais_gap")
    assert [e["mmsi"] for e in events] == [244000002]
    (event,) = events
    assert abs(event["details"]["duration_hours"] - 6.02) < 0.01
    assert event["details"]["distance_m"] > 20_000
    assert len(event["details"]["positions"]) == 2


def test_gap_that_never_closes_is_not_reported(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", line(244000003, T0, 36, 20, 36, 21, 120))
    assert run_detector(db, "ais_gap") == []


def test_threshold_is_a_parameter(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _gap_track(244000004, 8 * H))
    assert len(run_detector(db, "ais_gap")) == 1
    assert run_detector(db, "ais_gap", min_gap_hours=12.0) == []


def test_date_line_distance_is_short(tmp_path: Path) -> None:
    before = line(244000005, T0, 50, 179.90, 50, 179.95, 30)
    after = line(244000005, before[-1]["ts"] + 7 * H, 50, -179.95, 50, -179.90, 30)
    db = make_store(tmp_path / "s.duckdb", before + after)
    (event,) = run_detector(db, "ais_gap")
    assert event["details"]["distance_m"] < 10_000


def test_near_the_pole(tmp_path: Path) -> None:
    before = line(244000006, T0, 89.9, 0, 89.9, 10, 30)
    after = line(244000006, before[-1]["ts"] + 7 * H, 89.9, 170, 89.9, 175, 30)
    db = make_store(tmp_path / "s.duckdb", before + after)
    (event,) = run_detector(db, "ais_gap")
    assert event["details"]["distance_m"] < 30_000


def test_others_reporting_nearby_raise_confidence(tmp_path: Path) -> None:
    dark = _gap_track(244000007, 8 * H)
    dark_alone = _gap_track(244000008, 8 * H, lat=-30, lon=-20)
    neighbours = [row for m in range(3) for row in line(244000100 + m, T0, 36.05, 20.1, 36.05, 20.3, 10 * 60, every_s=600)]
    db = make_store(tmp_path / "s.duckdb", dark + dark_alone + neighbours)
    events = {e["mmsi"]: e for e in run_detector(db, "ais_gap")}
    assert events[244000007]["details"]["others_reporting_nearby"] == 3
    assert events[244000008]["details"]["others_reporting_nearby"] == 0
    assert events[244000007]["confidence"] > events[244000008]["confidence"]

"""identity_conflict edge cases: two hulls behind one MMSI, told apart from a teleport."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from tests.detect_helpers import T0, line, make_store, run_detector

H = dt.timedelta(hours=1)
M_PER_DEG = 111_195.0


def _hull(mmsi: int, start: dt.datetime, lat: float, lon: float, hours: float, *,
          every_s: float = 120.0, dlon: float = 0.1) -> list[dict[str, Any]]:
    return line(mmsi, start, lat, lon, lat, lon + dlon * hours, hours * 60, every_s=every_s)


def test_clone_is_one_conflict_and_no_teleport_or_gaps(tmp_path: Path) -> None:
    real = _hull(244000041, T0, 36.0, 15.0, 10)
    clone = _hull(244000041, T0 + 2 * H + dt.timedelta(seconds=60), 36.0, 18.0, 6)
    db = make_store(tmp_path / "s.duckdb", real + clone)
    (event,) = run_detector(db, "identity_conflict")
    assert event["start"] == clone[0]["ts"] and event["end"] == clone[-1]["ts"]
    d = event["details"]
    assert d["hulls"] == 2 and 245_000 < d["distance_m"] < 260_000  # 15.2E to 18E at 36N
    assert d["alternations"] == len(clone) and d["positions_count"] == len(clone)
    assert run_detector(db, "teleport") == []
    assert run_detector(db, "ais_gap") == []


def test_teleport_on_the_same_geometry_is_no_conflict(tmp_path: Path) -> None:
    """The same two places, but the first stops reporting while the second does."""
    real = _hull(244000042, T0, 36.0, 15.0, 10)
    spoof = _hull(244000042, T0 + 2 * H + dt.timedelta(seconds=60), 36.0, 18.0, 2)
    real = [p for p in real if not spoof[0]["ts"] <= p["ts"] <= spoof[-1]["ts"]]
    db = make_store(tmp_path / "s.duckdb", real + spoof)
    assert run_detector(db, "identity_conflict") == []
    (event,) = run_detector(db, "teleport")
    assert event["start"] == spoof[0]["ts"]


def test_just_under_and_over_ten_km_apart(tmp_path: Path) -> None:
    rows = []
    for mmsi, apart_m, lat in ((244000043, 9_800, 36.0), (244000044, 10_300, 40.0)):
        rows += _hull(mmsi, T0, lat, 15.0, 4, dlon=0.0)
        rows += _hull(mmsi, T0 + dt.timedelta(seconds=60), lat + apart_m / M_PER_DEG, 15.0, 4, dlon=0.0)
    db = make_store(tmp_path / "s.duckdb", rows)
    assert [e["mmsi"] for e in run_detector(db, "identity_conflict")] == [244000044]


def test_just_under_and_over_fifty_knots(tmp_path: Path) -> None:
    """Hulls 25 km apart, alternating every 17 min (47.6 kn) or every 15 min (54 kn)."""
    rows = []
    for mmsi, step_min, lat in ((244000045, 17, 36.0), (244000046, 15, 40.0)):
        every = 2 * step_min * 60.0
        rows += _hull(mmsi, T0, lat, 15.0, 10, every_s=every, dlon=0.0)
        rows += _hull(mmsi, T0 + dt.timedelta(minutes=step_min), lat + 25_000 / M_PER_DEG, 15.0, 10,
                      every_s=every, dlon=0.0)
    db = make_store(tmp_path / "s.duckdb", rows)
    assert [e["mmsi"] for e in run_detector(db, "identity_conflict")] == [244000046]


def test_three_hulls_are_one_conflict(tmp_path: Path) -> None:
    rows = (_hull(244000047, T0, 36.0, 15.0, 6) + _hull(244000047, T0 + dt.timedelta(seconds=40), 36.0, 18.0, 6)
            + _hull(244000047, T0 + dt.timedelta(seconds=80), 33.0, 15.0, 6))
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "identity_conflict")
    assert event["details"]["hulls"] == 3


def test_one_event_per_episode(tmp_path: Path) -> None:
    real = _hull(244000048, T0, 36.0, 15.0, 24)
    clones = (_hull(244000048, T0 + 2 * H + dt.timedelta(seconds=60), 36.0, 18.0, 3)
              + _hull(244000048, T0 + 13 * H + dt.timedelta(seconds=60), 36.0, 19.0, 3))
    db = make_store(tmp_path / "s.duckdb", real + clones)
    assert len(run_detector(db, "identity_conflict")) == 2
    assert run_detector(db, "teleport") == []


def test_date_line(tmp_path: Path) -> None:
    crossing = [{**p, "lon": p["lon"] - 360 if p["lon"] > 180 else p["lon"]}
                for p in line(244000049, T0, 50.0, 179.7, 50.0, 180.3, 360, every_s=120)]
    clone = _hull(244000049, T0 + dt.timedelta(seconds=60), 50.0, 175.0, 6, dlon=0.0)
    db = make_store(tmp_path / "s.duckdb", crossing + clone)
    (event,) = run_detector(db, "identity_conflict")
    assert 300_000 < event["details"]["distance_m"] < 400_000


def test_near_the_pole(tmp_path: Path) -> None:
    # 89.9N 0E and 89.9N 180E are 22 km apart, across the pole.
    rows = (_hull(244000050, T0, 89.9, 0.0, 4, dlon=0.0)
            + _hull(244000050, T0 + dt.timedelta(seconds=60), 89.9, 180.0, 4, dlon=0.0))
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "identity_conflict")
    assert 21_000 < event["details"]["distance_m"] < 24_000

"""teleport edge cases on hand-made tracks (and the track segmenter behind them)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from shadowtrace.detect.geo_functions import register_geo
from shadowtrace.detect.tracks import prepare_tracks
from shadowtrace.engine import get_engine
from tests.detect_helpers import T0, line, make_store, run_detector

M_PER_DEG = 111_195.0
MIN = dt.timedelta(minutes=1)


def _spoofed(mmsi: int, jump_m: float, gap: dt.timedelta, *, lat: float = 36.0, lon: float = 20.0,
             minutes: float = 10, back: bool = True) -> list[dict[str, Any]]:
    """A slow (about 2 kn) track; after `gap` its positions show `jump_m` north for
    `minutes`, then (with `back`) the real track resumes one minute later."""
    before = line(mmsi, T0, lat, lon, lat, lon + 0.02, 60)
    at = before[-1]["ts"] + gap
    jlat = lat + jump_m / M_PER_DEG
    excursion = line(mmsi, at, jlat, lon + 0.02, jlat + 0.002, lon + 0.02, minutes)
    if not back:
        return before + excursion + line(mmsi, excursion[-1]["ts"] + MIN, jlat + 0.002, lon + 0.02,
                                         jlat + 0.002, lon + 0.04, 60)
    resume = excursion[-1]["ts"] + MIN
    return before + excursion + line(mmsi, resume, lat, lon + 0.025, lat, lon + 0.045, 60)


def _points(db: Path) -> list[dict[str, Any]]:
    """track_points as the segmenter leaves them."""
    engine = get_engine("duckdb", db=db)
    try:
        register_geo(engine)
        prepare_tracks(engine)
        return engine.query_arrow(
            "SELECT mmsi, ts, lat, lon, track_id, spoofed FROM track_points ORDER BY mmsi, ts").to_pylist()
    finally:
        engine.close()  # type: ignore[attr-defined]


def test_just_under_and_over_fifty_knots(tmp_path: Path) -> None:
    # 10 minutes of silence: 50 kn is 15.43 km.
    over = _spoofed(244000022, 15_700, 10 * MIN, lat=40.0)
    db = make_store(tmp_path / "s.duckdb", _spoofed(244000021, 15_200, 10 * MIN) + over)
    (event,) = run_detector(db, "teleport")
    assert event["mmsi"] == 244000022
    d = event["details"]
    assert 15_600 < d["jump_distance_m"] < 15_800 and 50.0 < d["implied_speed_kn"] < 52.0
    assert d["positions_count"] == 11 and d["excursion_minutes"] == 10.0
    assert event["start"] == over[61]["ts"]  # the first jumped position
    assert d["before"]["ts"] == str(over[60]["ts"]) and d["after"]["ts"] == str(over[72]["ts"])
    assert len(d["positions"]) == 4  # before, first and last jumped, after


def test_just_under_and_over_ten_km(tmp_path: Path) -> None:
    rows = _spoofed(244000023, 9_900, MIN) + _spoofed(244000024, 10_150, MIN, lat=40.0)
    db = make_store(tmp_path / "s.duckdb", rows)
    assert [e["mmsi"] for e in run_detector(db, "teleport")] == [244000024]


def test_thresholds_are_parameters(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _spoofed(244000025, 15_700, 10 * MIN))
    assert len(run_detector(db, "teleport")) == 1
    assert run_detector(db, "teleport", min_speed_kn=60.0) == []
    assert run_detector(db, "teleport", min_distance_m=20_000.0) == []


def test_excursion_positions_are_marked_spoofed(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _spoofed(244000026, 80_000, MIN))
    points = _points(db)
    assert {p["track_id"] for p in points} == {0}
    assert sum(p["spoofed"] for p in points) == 11
    assert all(p["spoofed"] == (p["lat"] > 36.5) for p in points)


def test_excursion_that_never_returns_is_no_teleport(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _spoofed(244000027, 80_000, MIN, back=False))
    assert run_detector(db, "teleport") == []
    points = _points(db)
    assert not any(p["spoofed"] for p in points)  # a track of its own, not hidden
    assert len({p["track_id"] for p in points if p["lat"] > 36.5} | {p["track_id"] for p in points if p["lat"] < 36.5}) == 2


def test_lone_glitch_is_no_teleport(tmp_path: Path) -> None:
    rows = line(244000028, T0, 36.0, 20.0, 36.0, 20.3, 120)
    rows[60] = {**rows[60], "lat": 36.3}  # one fix 33 km off
    twice = line(244000029, T0, 40.0, 20.0, 40.0, 20.3, 120)
    twice[60] = {**twice[60], "lat": 40.3}  # one bad fix heard by two receivers
    twice.insert(61, {**twice[60], "ts": twice[60]["ts"] + dt.timedelta(seconds=2)})
    db = make_store(tmp_path / "s.duckdb", rows + twice)
    assert run_detector(db, "teleport") == []
    assert [p["lat"] for p in _points(db) if p["spoofed"]] == [36.3, 40.3, 40.3]


def test_one_event_per_episode(tmp_path: Path) -> None:
    """An excursion hopping between two far places is one teleport."""
    before = line(244000030, T0, 36.0, 20.0, 36.0, 20.02, 60)
    hop1 = line(244000030, before[-1]["ts"] + MIN, 37.0, 20.0, 37.0, 20.01, 5)
    hop2 = line(244000030, hop1[-1]["ts"] + MIN, 37.5, 21.0, 37.5, 21.01, 5)
    after = line(244000030, hop2[-1]["ts"] + MIN, 36.0, 20.03, 36.0, 20.05, 60)
    db = make_store(tmp_path / "s.duckdb", before + hop1 + hop2 + after)
    (event,) = run_detector(db, "teleport")
    assert event["details"]["positions_count"] == len(hop1) + len(hop2)
    assert event["end"] == hop2[-1]["ts"]


def test_date_line_crossing_is_no_jump(tmp_path: Path) -> None:
    east = line(244000031, T0, 50.0, 179.80, 50.0, 179.999, 60)
    west = line(244000031, east[-1]["ts"] + MIN, 50.0, -179.999, 50.0, -179.80, 60)
    db = make_store(tmp_path / "s.duckdb", east + west)
    assert run_detector(db, "teleport") == []
    assert {(p["track_id"], p["spoofed"]) for p in _points(db)} == {(0, False)}


def test_teleport_across_the_date_line(tmp_path: Path) -> None:
    before = line(244000032, T0, 50.0, 179.90, 50.0, 179.92, 60)
    excursion = line(244000032, before[-1]["ts"] + MIN, 50.0, -179.60, 50.0, -179.59, 10)
    after = line(244000032, excursion[-1]["ts"] + MIN, 50.0, 179.925, 50.0, 179.94, 60)
    db = make_store(tmp_path / "s.duckdb", before + excursion + after)
    (event,) = run_detector(db, "teleport")
    assert 30_000 < event["details"]["jump_distance_m"] < 40_000


def test_near_the_pole(tmp_path: Path) -> None:
    # Circling 5 km from the pole sweeps through every longitude: no jump.
    circling = [{**p, "lon": (i * 6.0) % 360 - 180} for i, p in enumerate(line(244000033, T0, 89.95, 0, 89.95, 0, 60))]
    # Across the pole from 89.5N 0E to 89.5N 180E is 111 km.
    before = line(244000034, T0, 89.5, 0.0, 89.5, 0.5, 60)
    excursion = line(244000034, before[-1]["ts"] + MIN, 89.5, 180.0, 89.5, 179.0, 10)
    after = line(244000034, excursion[-1]["ts"] + MIN, 89.5, 0.6, 89.5, 1.0, 60)
    db = make_store(tmp_path / "s.duckdb", circling + before + excursion + after)
    (event,) = run_detector(db, "teleport")
    assert event["mmsi"] == 244000034
    assert 105_000 < event["details"]["jump_distance_m"] < 115_000

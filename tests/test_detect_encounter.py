"""encounter edge cases on hand-made tracks."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from tests.detect_helpers import T0, line, make_store, run_detector

LACONIAN = (36.556, 22.692)  # a known STS area, > 10 km from ports
ROTTERDAM = (51.905, 4.48)
M_PER_DEG = 111_195.0


def _east(where: tuple[float, float], metres: float) -> tuple[float, float]:
    lat, lon = where
    return lat, lon + metres / (M_PER_DEG * math.cos(math.radians(lat)))


def _stay(mmsi: int, where: tuple[float, float], minutes: float, *, sog: float = 0.3,
          every_s: float = 180, start: dt.datetime = T0) -> list[dict]:
    # Every 3 minutes: what class A sends at anchor (and few rows keep the tests fast).
    return line(mmsi, start, *where, *where, minutes, every_s=every_s, sog=sog)


def _pair(a: int, b: int, where: tuple[float, float], minutes: float, *, apart_m: float = 150,
          sog: float = 0.3) -> list[dict]:
    return _stay(a, where, minutes, sog=sog) + _stay(b, _east(where, apart_m), minutes, sog=sog)


def _south(where: tuple[float, float], deg: float) -> tuple[float, float]:
    return where[0] - deg, where[1]


def test_alongside_at_sea_is_one_encounter(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _pair(244000102, 244000101, LACONIAN, 300))
    (event,) = run_detector(db, "encounter")
    assert (event["mmsi"], event["other_mmsi"]) == (244000101, 244000102)
    d = event["details"]
    assert abs(d["duration_hours"] - 5.0) < 0.01
    assert 140 <= d["min_distance_m"] <= d["mean_distance_m"] <= 160
    assert d["mean_speed_kn"] == d["other_mean_speed_kn"] == 0.3
    assert d["nearest_port_m"] >= 10_000
    assert len(d["positions"]) == 4 and all(p.startswith("1:") for p in d["positions"])
    assert abs(event["lat"] - LACONIAN[0]) < 0.01 and abs(event["lon"] - LACONIAN[1]) < 0.01
    assert 0.5 < event["confidence"] <= 1


def test_just_under_and_over_two_hours(tmp_path: Path) -> None:
    rows = _pair(244000111, 244000112, LACONIAN, 117) + _pair(244000113, 244000114, _south(LACONIAN, 0.2), 123)
    db = make_store(tmp_path / "s.duckdb", rows)
    assert [e["mmsi"] for e in run_detector(db, "encounter")] == [244000113]


def test_just_under_and_over_500_m(tmp_path: Path) -> None:
    rows = (_pair(244000121, 244000122, LACONIAN, 180, apart_m=490)
            + _pair(244000123, 244000124, _south(LACONIAN, 0.2), 180, apart_m=510))
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert event["mmsi"] == 244000121
    assert 480 <= event["details"]["min_distance_m"] <= 500
    assert len(run_detector(db, "encounter", max_distance_m=600.0)) == 2


def test_just_under_and_over_two_knots(tmp_path: Path) -> None:
    rows = (_pair(244000131, 244000132, LACONIAN, 180, sog=1.9)
            + _pair(244000133, 244000134, _south(LACONIAN, 0.2), 180, sog=2.1))
    db = make_store(tmp_path / "s.duckdb", rows)
    assert [e["mmsi"] for e in run_detector(db, "encounter")] == [244000131]


def test_hard_negatives_give_no_event(tmp_path: Path) -> None:
    lat, lon = LACONIAN
    passing = (line(244000141, T0, lat, lon - 0.5, lat, lon + 0.5, 240, every_s=180, sog=12.0)
               + line(244000142, T0, lat + 0.002, lon + 0.5, lat + 0.002, lon - 0.5, 240, every_s=180, sog=12.0))
    in_port = _pair(244000151, 244000152, ROTTERDAM, 300, sog=0.0)
    a_km_apart = _pair(244000161, 244000162, _south(LACONIAN, 0.2), 300, apart_m=1000)
    db = make_store(tmp_path / "s.duckdb", passing + in_port + a_km_apart)
    assert run_detector(db, "encounter") == []
    # The port rule alone keeps the anchorage pair out.
    assert [e["mmsi"] for e in run_detector(db, "encounter", min_port_distance_m=0.0, port_margin_m=0.0)] == [244000151]


def test_a_short_gap_keeps_one_event(tmp_path: Path) -> None:
    # Both vessels silent for 30 minutes in the middle of a 3-hour meeting.
    rows = [r for r in _pair(244000171, 244000172, LACONIAN, 180)
            if not T0 + dt.timedelta(minutes=80) < r["ts"] < T0 + dt.timedelta(minutes=110)]
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert abs(event["details"]["duration_hours"] - 3.0) < 0.01


def test_a_long_gap_splits_the_meeting(tmp_path: Path) -> None:
    def meeting(a: int, b: int, where: tuple[float, float], before: float, after: float) -> list[dict]:
        resume = T0 + dt.timedelta(minutes=before + 180)
        return (_pair(a, b, where, before)
                + [dict(r, ts=resume + (r["ts"] - T0)) for r in _pair(a, b, where, after)])

    rows = (meeting(244000181, 244000182, LACONIAN, 150, 150)
            + meeting(244000183, 244000184, _south(LACONIAN, 0.2), 150, 90))
    db = make_store(tmp_path / "s.duckdb", rows)
    events = run_detector(db, "encounter")
    assert [e["mmsi"] for e in events] == [244000181, 244000181, 244000183]
    assert all(abs(e["details"]["duration_hours"] - 2.5) < 0.01 for e in events)
    # Bridging a 3-hour silence is a parameter away.
    assert [e["mmsi"] for e in run_detector(db, "encounter", max_gap_hours=4.0)] == [244000181, 244000183]


def test_date_line(tmp_path: Path) -> None:
    # One vessel's reports hop back and forth across 180 degrees; the other lies ~150 m east.
    hopping = [dict(r, lon=179.9995 if i % 2 else -179.9995)
               for i, r in enumerate(_stay(244000191, (-20.0, 180.0), 240))]
    rows = hopping + _stay(244000192, (-20.0, -179.998), 240)
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert abs(event["lon"]) > 179.99  # not averaged to the prime meridian
    assert 120 < event["details"]["min_distance_m"] < 230


def test_near_the_pole(tmp_path: Path) -> None:
    # 17 km from the pole one degree of longitude is ~290 m: a lat/lon grid would split them.
    rows = _stay(244000201, (89.85, 10.0), 240) + _stay(244000202, (89.85, 11.0), 240)
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert 270 < event["details"]["min_distance_m"] < 310
    assert event["lat"] > 89.8 and 10.0 < event["lon"] < 11.0


def test_rare_reporter_is_still_matched(tmp_path: Path) -> None:
    rows = _stay(244000211, LACONIAN, 180, every_s=20) + _stay(244000212, _east(LACONIAN, 200), 180, every_s=360)
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert abs(event["details"]["duration_hours"] - 3.0) < 0.01


def test_one_vessel_silent_for_forty_minutes_is_bridged(tmp_path: Path) -> None:
    quiet = (T0 + dt.timedelta(minutes=60), T0 + dt.timedelta(minutes=100))
    rows = _stay(244000221, LACONIAN, 150) + [
        r for r in _stay(244000222, _east(LACONIAN, 200), 150) if not quiet[0] < r["ts"] < quiet[1]
    ]
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert event["details"]["bins"] == 16  # every 10-minute bin, interpolated ones included
    assert event["details"]["interpolated_bins"] == 3


def test_missing_speed_falls_back_to_the_implied_speed(tmp_path: Path) -> None:
    rows = [dict(r, sog=None) for r in _stay(244000231, LACONIAN, 180)] + _stay(244000232, _east(LACONIAN, 200), 180)
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "encounter")
    assert event["details"]["mean_speed_kn"] == 0.0

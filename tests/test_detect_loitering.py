"""loitering edge cases on hand-made tracks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.detect_helpers import T0, line, make_store, run_detector

LACONIAN = (36.556, 22.692)  # a known STS area, > 10 km from ports
ROTTERDAM = (51.905, 4.48)


def _drift(mmsi: int, minutes: float, where: tuple[float, float], sog: float = 0.5, start: dt.datetime = T0) -> list[dict]:
    lat, lon = where
    return line(mmsi, start, lat, lon, lat + 0.01, lon + 0.01, minutes, every_s=120, sog=sog)


def test_just_under_and_over_four_hours(tmp_path: Path) -> None:
    rows = _drift(244000011, 239, LACONIAN) + _drift(244000012, 241, (LACONIAN[0] - 0.3, LACONIAN[1]))
    db = make_store(tmp_path / "s.duckdb", rows)
    events = run_detector(db, "loitering")
    assert [e["mmsi"] for e in events] == [244000012]
    assert events[0]["details"]["nearest_port_m"] >= 10_000


def test_in_port_is_not_loitering(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _drift(244000013, 600, ROTTERDAM, sog=0.0))
    assert run_detector(db, "loitering") == []


def test_slow_steaming_is_not_loitering(tmp_path: Path) -> None:
    db = make_store(tmp_path / "s.duckdb", _drift(244000014, 600, LACONIAN, sog=3.5))
    assert run_detector(db, "loitering") == []


def test_a_long_silence_splits_the_run(tmp_path: Path) -> None:
    first = _drift(244000015, 150, LACONIAN)
    second = _drift(244000015, 150, LACONIAN, start=first[-1]["ts"] + dt.timedelta(hours=4))
    db = make_store(tmp_path / "s.duckdb", first + second)
    assert run_detector(db, "loitering") == []
    assert len(run_detector(db, "loitering", max_silence_hours=5.0)) == 1


def test_date_line(tmp_path: Path) -> None:
    rows = [
        {"mmsi": 244000016, "ts": T0 + dt.timedelta(minutes=2 * i), "lat": -20.0,
         "lon": 179.995 if i % 2 else -179.995, "sog": 0.4}
        for i in range(150)
    ]
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "loitering")
    assert event["details"]["duration_hours"] >= 4.9
    assert abs(event["lon"]) > 179.9  # not averaged to the prime meridian

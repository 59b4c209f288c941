"""position_on_land edge cases: spoofed onto land, ports, waterways, glitches, seams."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

from tests.detect_helpers import T0, line, make_store, run_detector

MIN = dt.timedelta(minutes=1)
MADRID = (40.472, -3.561)  # an inland airport where spoofing has put ships
OFF_CARTAGENA = (36.9, -1.6)
ROTTERDAM_CITY = (51.92, 4.48)  # land by the mask, inside the port's area
NORTH_SEA = (52.0, 3.5)
SIAK_RIVER = (0.80372, 101.95578)  # far from any listed port: land to the mask
MALACCA_STRAIT = (1.5, 103.0)


def _circle(mmsi: int, start: dt.datetime, centre: tuple[float, float], minutes: int,
            radius_deg: float = 0.005) -> list[dict[str, Any]]:
    """A spoofed circle, one fix a minute, longitudes wrapped to [-180, 180]."""
    lat0, lon0 = centre
    rows = []
    for i in range(minutes + 1):
        a = 2 * math.pi * i / 30
        lon = lon0 + radius_deg * math.cos(a) / math.cos(math.radians(lat0))
        rows.append({"mmsi": mmsi, "ts": start + i * MIN, "lat": lat0 + radius_deg * math.sin(a),
                     "lon": (lon + 180) % 360 - 180, "sog": 10.0})
    return rows


def _spoofed(mmsi: int, sea: tuple[float, float], place: tuple[float, float], minutes: int = 15,
             start: dt.datetime = T0) -> list[dict[str, Any]]:
    """At sea, then `minutes` shown at `place`, then back at sea."""
    before = line(mmsi, start, sea[0], sea[1], sea[0], sea[1] + 0.1, 60)
    spoof = _circle(mmsi, before[-1]["ts"] + MIN, place, minutes)
    return before + spoof + line(mmsi, spoof[-1]["ts"] + MIN, sea[0], sea[1] + 0.11, sea[0], sea[1] + 0.2, 60)


def test_deep_inland_is_an_event_and_a_teleport(tmp_path: Path) -> None:
    rows = _spoofed(244000061, OFF_CARTAGENA, MADRID)
    db = make_store(tmp_path / "s.duckdb", rows)
    (event,) = run_detector(db, "position_on_land")
    assert event["start"] == rows[61]["ts"] and event["end"] == rows[76]["ts"]
    assert event["details"]["positions_count"] == 16 and event["details"]["off_track"] is True
    assert event["details"]["nearest_port_m"] > 100_000
    (teleport,) = run_detector(db, "teleport")
    assert teleport["start"] == event["start"]


def test_inside_a_port_is_no_event(tmp_path: Path) -> None:
    jumped = _spoofed(244000062, NORTH_SEA, ROTTERDAM_CITY)
    moored = _circle(244000063, T0, ROTTERDAM_CITY, 240, radius_deg=0.0005)
    db = make_store(tmp_path / "s.duckdb", jumped + moored)
    assert run_detector(db, "position_on_land") == []


def test_waterways_are_no_event(tmp_path: Path) -> None:
    """Sailing up a river the mask calls land, or only ever seen there, is no event; the
    same stay reached by a jump is."""
    up = line(244000064, T0, *MALACCA_STRAIT, *SIAK_RIVER, 450, every_s=120)
    stay = _circle(244000064, up[-1]["ts"] + 2 * MIN, SIAK_RIVER, 120)
    down = line(244000064, stay[-1]["ts"] + 2 * MIN, *SIAK_RIVER, *MALACCA_STRAIT, 450, every_s=120)
    only_inland = _circle(244000065, T0, SIAK_RIVER, 120)
    jumped = line(244000066, T0, *MALACCA_STRAIT, 1.5, 103.1, 60) + _circle(244000066, T0 + 62 * MIN, SIAK_RIVER, 120)
    db = make_store(tmp_path / "s.duckdb", up + stay + down + only_inland + jumped)
    assert [e["mmsi"] for e in run_detector(db, "position_on_land")] == [244000066]


def test_lone_glitch_on_land_is_no_event(tmp_path: Path) -> None:
    once = line(244000067, T0, *OFF_CARTAGENA, 36.9, -1.4, 120)
    once[60] = {**once[60], "lat": MADRID[0], "lon": MADRID[1]}
    twice = line(244000068, T0, 36.5, -1.6, 36.5, -1.4, 120)
    twice[60] = {**twice[60], "lat": MADRID[0], "lon": MADRID[1]}  # heard by two receivers
    twice.insert(61, {**twice[60], "ts": twice[60]["ts"] + dt.timedelta(seconds=3)})
    db = make_store(tmp_path / "s.duckdb", once + twice)
    assert run_detector(db, "position_on_land") == []
    assert run_detector(db, "teleport") == []


def _silent_stay(mmsi: int, silence: dt.timedelta, lat: float) -> list[dict[str, Any]]:
    """At sea, shown at Madrid, silent, at Madrid again, then back at sea."""
    before = line(mmsi, T0, lat, -1.6, lat, -1.5, 60)
    first = _circle(mmsi, before[-1]["ts"] + MIN, MADRID, 15)
    again = _circle(mmsi, first[-1]["ts"] + silence, MADRID, 15)
    return before + first + again + line(mmsi, again[-1]["ts"] + MIN, lat, -1.45, lat, -1.35, 60)


def test_back_at_sea_or_silence_splits_episodes(tmp_path: Path) -> None:
    twice = _spoofed(244000069, OFF_CARTAGENA, MADRID)
    twice += _spoofed(244000069, OFF_CARTAGENA, MADRID, start=twice[-1]["ts"] + MIN)
    over = _silent_stay(244000070, dt.timedelta(hours=6, minutes=10), 36.5)
    under = _silent_stay(244000074, dt.timedelta(hours=5, minutes=50), 36.2)
    db = make_store(tmp_path / "s.duckdb", twice + over + under)
    events = run_detector(db, "position_on_land")
    assert [e["mmsi"] for e in events] == [244000069, 244000069, 244000070, 244000070, 244000074]


def test_date_line(tmp_path: Path) -> None:
    # Circling over the date line in inland Chukotka is one episode.
    db = make_store(tmp_path / "s.duckdb", _spoofed(244000071, (63.5, 179.5), (67.0, 180.0)))
    (event,) = run_detector(db, "position_on_land")
    assert event["details"]["positions_count"] == 16


def test_near_the_poles(tmp_path: Path) -> None:
    # Circling a few hundred metres from the South Pole sweeps every longitude.
    south = _spoofed(244000072, (-60.0, 30.0), (-89.997, 0.0))
    arctic = line(244000073, T0, 89.9, 0.0, 89.9, 170.0, 240)  # sea ice, not land
    db = make_store(tmp_path / "s.duckdb", south + arctic)
    (event,) = run_detector(db, "position_on_land")
    assert event["mmsi"] == 244000072 and event["details"]["positions_count"] == 16

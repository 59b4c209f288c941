"""port_call edge cases on hand-made tracks (one store, one vessel per case)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from tests.detect_helpers import T0, line, make_store, run_detector

H = dt.timedelta(hours=1)
ROTTERDAM = (51.9, 4.483333)  # WPI Rotterdam, radius 8 km
PRIMORSK = (60.334, 28.702)  # Russian crude terminal
NY_ALESUND = (78.92833333, 11.93305556)  # WPI, radius 3 km, alone in Svalbard
CONSTANTINE = (51.4, 179.3)  # WPI Constantine Harbor (Aleutians), radius 3 km
LACONIAN = (36.556, 22.692)  # an STS area, > 10 km from ports
NORTH_SEA = (52.0, 3.6)  # 61 km from Rotterdam, 8.7 km from the nearest anchorage
M_PER_DEG_LAT = 111_195.0


def bulk_store(path: Path, positions: list[dict[str, Any]],
               reports: list[dict[str, Any]] | None = None) -> Path:
    """What make_store builds, with the rows inserted at once (one insert a row costs ~10 ms)."""
    make_store(path, [])
    pos = pa.Table.from_pylist([{"sog": None, **r, "source_line": i} for i, r in enumerate(positions, start=1)])
    rep = pa.Table.from_pylist([{"draught": None, **r, "source_line": 100000 + i}
                                for i, r in enumerate(reports or [], start=1)])
    with duckdb.connect(str(path)) as con:
        if pos.num_rows:
            con.execute("INSERT INTO positions (mmsi, ts, lat, lon, sog, msg_type, ingest_id, source_line)"
                        " SELECT mmsi, ts, lat, lon, sog, 1, 1, source_line FROM pos")
        if rep.num_rows:
            con.execute("INSERT INTO vessel_reports (mmsi, ts, draught, msg_type, ingest_id, source_line)"
                        " SELECT mmsi, ts, draught, 5, 1, source_line FROM rep")
    return path


def _stop(mmsi: int, where: tuple[float, float], minutes: float, *, start: dt.datetime = T0,
          sog: float = 0.1, every_s: float = 300) -> list[dict[str, Any]]:
    lat, lon = where
    return line(mmsi, start, lat, lon, lat + 0.0001, lon + 0.0001, minutes, every_s=every_s, sog=sog)


def _sail(mmsi: int, a: tuple[float, float], b: tuple[float, float], minutes: float,
          start: dt.datetime) -> list[dict[str, Any]]:
    return line(mmsi, start, a[0], a[1], b[0], b[1], minutes, every_s=300, sog=10.0)


def _after(rows: list[dict[str, Any]], gap: dt.timedelta = dt.timedelta(minutes=1)) -> dt.datetime:
    return rows[-1]["ts"] + gap


def _voyage(mmsi: int, port: tuple[float, float], legs: list[tuple[tuple[float, float], tuple[float, float]]],
            *, stop_between: tuple[float, float] | None = None) -> tuple[list[dict[str, Any]], ...]:
    """A stop at `port`, sea legs (optionally stopping at `stop_between` after the first), a
    second stop at `port`; returns (first stop, everything between, second stop)."""
    first = _stop(mmsi, port, 180)
    between: list[dict[str, Any]] = []
    for i, (a, b) in enumerate(legs):
        between += _sail(mmsi, a, b, 180, _after(first + between))
        if i == 0 and stop_between is not None:
            between += _stop(mmsi, stop_between, 120, start=_after(between))
    second = _stop(mmsi, port, 180, start=_after(first + between))
    return first, between, second


# Cases by MMSI.
UNDER_HALF_KNOT, AT_HALF_KNOT = 244000101, 244000102
UNDER_HOUR, OVER_HOUR = 244000103, 244000104
INSIDE_RADIUS, OUTSIDE_RADIUS = 244000105, 244000106
AT_PRIMORSK = 244000107
TWO_CALLS = 244000108
SHIFT_AND_SILENCE = 244000109
STOP_AT_SEA_BETWEEN = 244000110
DRIFTING, NEAR_POLE = 244000111, 244000112
DATE_LINE = 244000113


def _cases() -> dict[int, list[dict[str, Any]]]:
    c: dict[int, list[dict[str, Any]]] = {
        UNDER_HALF_KNOT: _stop(UNDER_HALF_KNOT, ROTTERDAM, 180, sog=0.49),
        AT_HALF_KNOT: _stop(AT_HALF_KNOT, ROTTERDAM, 180, sog=0.5),
        UNDER_HOUR: _stop(UNDER_HOUR, ROTTERDAM, 59, every_s=60),
        OVER_HOUR: _stop(OVER_HOUR, ROTTERDAM, 61, every_s=60),
        # Ny Alesund also covers the high Arctic: a degree of longitude is only 21 km there.
        INSIDE_RADIUS: _stop(INSIDE_RADIUS, (NY_ALESUND[0] + 2700 / M_PER_DEG_LAT, NY_ALESUND[1]), 240),
        OUTSIDE_RADIUS: _stop(OUTSIDE_RADIUS, (NY_ALESUND[0] + 3300 / M_PER_DEG_LAT, NY_ALESUND[1]), 240),
        AT_PRIMORSK: _stop(AT_PRIMORSK, PRIMORSK, 600),
        DRIFTING: line(DRIFTING, T0, LACONIAN[0], LACONIAN[1], LACONIAN[0] + 0.02, LACONIAN[1], 600,
                       every_s=300, sog=0.3),
        NEAR_POLE: _stop(NEAR_POLE, (85.0, 40.0), 600),  # no port up there
    }
    c[TWO_CALLS] = sum(_voyage(TWO_CALLS, ROTTERDAM, [(ROTTERDAM, NORTH_SEA), (NORTH_SEA, ROTTERDAM)]), [])
    c[STOP_AT_SEA_BETWEEN] = sum(_voyage(STOP_AT_SEA_BETWEEN, ROTTERDAM, [(ROTTERDAM, NORTH_SEA), (NORTH_SEA, ROTTERDAM)],
                                         stop_between=NORTH_SEA), [])
    berth = (ROTTERDAM[0] + 0.01, ROTTERDAM[1])  # 1.1 km away, same port area
    anchored = _stop(SHIFT_AND_SILENCE, ROTTERDAM, 120)
    shift = line(SHIFT_AND_SILENCE, _after(anchored), *ROTTERDAM, *berth, 20, every_s=120, sog=3.0)
    alongside = _stop(SHIFT_AND_SILENCE, berth, 120, start=_after(shift))
    later = _stop(SHIFT_AND_SILENCE, berth, 120, start=_after(alongside, 5 * H))  # AIS off 5 h
    c[SHIFT_AND_SILENCE] = anchored + shift + alongside + later
    lat = CONSTANTINE[0]  # out east across the date line and back, 30-50 km legs
    c[DATE_LINE] = sum(_voyage(DATE_LINE, CONSTANTINE, [
        ((lat, CONSTANTINE[1]), (lat, 179.999)), ((lat, -179.999), (lat, -179.6)),
        ((lat, -179.6), (lat, -179.999)), ((lat, 179.999), CONSTANTINE)]), [])
    return c


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, list[dict[str, Any]]]]:
    cases = _cases()
    rows = [r for case in cases.values() for r in case]
    return bulk_store(tmp_path_factory.mktemp("port_call") / "s.duckdb", rows), cases


def _by_mmsi(events: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        out[e["mmsi"]].append(e)
    return out


@pytest.fixture(scope="module")
def calls(store: tuple[Path, dict[int, list[dict[str, Any]]]]) -> dict[int, list[dict[str, Any]]]:
    return _by_mmsi(run_detector(store[0], "port_call"))


def test_just_under_and_over_half_a_knot(calls: dict[int, list[dict[str, Any]]]) -> None:
    assert AT_HALF_KNOT not in calls
    (event,) = calls[UNDER_HALF_KNOT]
    d = event["details"]
    assert (d["port_id"], d["port_name"], d["country"], d["kind"]) == ("wpi:31140", "Rotterdam", "NLD", "port")
    assert d["sanctioned_terminal"] is False
    assert abs(d["duration_hours"] - 3.0) < 0.01
    assert d["stopped_positions"] == 37 and len(d["positions"]) == 2
    assert abs(event["lat"] - ROTTERDAM[0]) < 0.001
    assert 0.5 <= event["confidence"] <= 1


def test_just_under_and_over_the_minimum_duration(calls: dict[int, list[dict[str, Any]]]) -> None:
    assert UNDER_HOUR not in calls
    assert len(calls[OVER_HOUR]) == 1


def test_stopped_just_outside_the_radius(calls: dict[int, list[dict[str, Any]]]) -> None:
    assert OUTSIDE_RADIUS not in calls
    (event,) = calls[INSIDE_RADIUS]
    assert event["details"]["port_name"] == "Ny Alesund"


def test_call_at_primorsk_is_a_sanctioned_terminal(calls: dict[int, list[dict[str, Any]]]) -> None:
    (event,) = calls[AT_PRIMORSK]
    d = event["details"]
    assert d["sanctioned_terminal"] is True
    assert (d["port_id"], d["country"], d["kind"]) == ("ru:primorsk", "RUS", "terminal")


def test_two_calls_separated_by_a_voyage(store: tuple[Path, dict[int, list[dict[str, Any]]]],
                                         calls: dict[int, list[dict[str, Any]]]) -> None:
    rows = store[1][TWO_CALLS]
    first, second = rows[:37], rows[-37:]
    assert [(e["start"], e["end"]) for e in calls[TWO_CALLS]] == [
        (first[0]["ts"], first[-1]["ts"]), (second[0]["ts"], second[-1]["ts"])]


def test_a_stop_outside_ports_splits_the_call(calls: dict[int, list[dict[str, Any]]]) -> None:
    assert len(calls[STOP_AT_SEA_BETWEEN]) == 2


def test_brief_movement_and_a_silence_in_port_are_one_call(
        store: tuple[Path, dict[int, list[dict[str, Any]]]], calls: dict[int, list[dict[str, Any]]]) -> None:
    rows = store[1][SHIFT_AND_SILENCE]
    (event,) = calls[SHIFT_AND_SILENCE]
    assert (event["start"], event["end"]) == (rows[0]["ts"], rows[-1]["ts"])
    assert event["details"]["stopped_positions"] == sum(r["sog"] < 0.5 for r in rows)


def test_drifting_at_sea_and_near_the_pole_give_none(calls: dict[int, list[dict[str, Any]]]) -> None:
    assert DRIFTING not in calls and NEAR_POLE not in calls


def test_date_line(calls: dict[int, list[dict[str, Any]]]) -> None:
    events = calls[DATE_LINE]
    assert len(events) == 2
    assert all(abs(e["lon"] - CONSTANTINE[1]) < 0.01 for e in events)
    assert {e["details"]["port_name"] for e in events} == {"Constantine Harbor"}


def test_parameters(store: tuple[Path, dict[int, list[dict[str, Any]]]]) -> None:
    changed = _by_mmsi(run_detector(store[0], "port_call", min_duration_hours=2.5, max_silence_hours=4.0))
    assert OVER_HOUR not in changed and len(changed[UNDER_HALF_KNOT]) == 1
    # The 5 h silence now splits the call; the 2 h stop after it is too short.
    (event,) = changed[SHIFT_AND_SILENCE]
    rows = store[1][SHIFT_AND_SILENCE]
    assert event["start"] == rows[0]["ts"] and event["end"] < rows[-1]["ts"] - 5 * H

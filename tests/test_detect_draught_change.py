"""draught_change edge cases on hand-made tracks and reports (one store, one vessel per case)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.detect_helpers import T0, line, run_detector
from tests.test_detect_port_call import bulk_store

H = dt.timedelta(hours=1)
SIX_MIN = dt.timedelta(minutes=6)  # the Class A static report interval
ROTTERDAM = (51.9, 4.483333)
NY_ALESUND = (78.92833333, 11.93305556)
CONSTANTINE = (51.4, 179.3)  # WPI Constantine Harbor, radius 3 km, nothing near
LACONIAN = (36.556, 22.692)  # STS area, > 20 km from ports
OPEN_SEA = (36.2, 22.9)

Rows = list[dict[str, Any]]


def _reports(mmsi: int, start: dt.datetime, draughts: list[float | None], every: dt.timedelta = SIX_MIN) -> Rows:
    return [{"mmsi": mmsi, "ts": start + i * every, "draught": d} for i, d in enumerate(draughts)]


def _moored(mmsi: int, where: tuple[float, float], hours: float) -> Rows:
    return line(mmsi, T0, where[0], where[1], where[0] + 0.0001, where[1], hours * 60, every_s=600, sog=0.1)


# Cases by MMSI: (positions, reports).
UNDER_METRE, METRE = 244000201, 244000202
AT_PORT, AT_SEA = 244000203, 244000204
CLONE, CLONE_LOADED = 244000205, 244000211
NULLS, ZERO_BETWEEN = 244000206, 244000207
TYPO = 244000208
DATE_LINE, NEAR_POLE = 244000209, 244000210
DEPARTED, NO_POSITIONS = 244000212, 244000213


def _cases() -> dict[int, tuple[Rows, Rows]]:
    c: dict[int, tuple[Rows, Rows]] = {}
    # 10.1 -> 11.0 is 0.9 m; 10.1 -> 11.1 is 1.0 m (stored as REAL: 1.0000002 or 0.9999998).
    c[UNDER_METRE] = (_moored(UNDER_METRE, ROTTERDAM, 4), _reports(UNDER_METRE, T0, [10.1] * 5 + [11.0] * 5))
    c[METRE] = (_moored(METRE, ROTTERDAM, 4), _reports(METRE, T0, [10.1] * 5 + [11.1] * 5))
    # Loaded in port: the new draught is entered before departure.
    c[AT_PORT] = (_moored(AT_PORT, ROTTERDAM, 4), _reports(AT_PORT, T0, [7.5] * 10 + [14.2] * 10))
    # STS at sea: alongside for 5 h at Laconian Gulf, leave, new draught 1 h into the passage.
    alongside = line(AT_SEA, T0, *LACONIAN, LACONIAN[0] + 0.002, LACONIAN[1], 300, every_s=600, sog=0.2)
    away = line(AT_SEA, T0 + 5 * H, *LACONIAN, *OPEN_SEA, 180, every_s=300, sog=11.0)
    c[AT_SEA] = (alongside + away, _reports(AT_SEA, T0, [14.0] * 60 + [8.1] * 20))
    # Two hulls, one MMSI, 700 km apart, both reporting; each broadcasts its own draught.
    hull_a = line(CLONE, T0, 36.0, 18.0, 36.0, 19.0, 600, every_s=120, sog=11.0)
    hull_b = line(CLONE, T0 + 2 * H + dt.timedelta(seconds=60), 40.0, 10.0, 40.0, 10.6, 360, every_s=120, sog=11.0)
    reports_a = _reports(CLONE, T0, [9.0] * 100)
    reports_b = _reports(CLONE, T0 + 2 * H + dt.timedelta(seconds=180), [15.0] * 60)
    c[CLONE] = (hull_a + hull_b, reports_a + reports_b)
    # The same, but hull A's draught changed while the clone was on the air.
    c[CLONE_LOADED] = ([{**r, "mmsi": CLONE_LOADED} for r in hull_a + hull_b],
                       [{**r, "mmsi": CLONE_LOADED, "draught": 9.0 if r["ts"] < T0 + 5 * H else r["draught"] + 3}
                        for r in reports_a] + [{**r, "mmsi": CLONE_LOADED} for r in reports_b])
    # "Not available": NULL (as stored) and 0 (as broadcast) are no draught at all.
    c[NULLS] = (_moored(NULLS, ROTTERDAM, 4), _reports(NULLS, T0, [10.0, None, 0.0, None, 10.0, 0.0, 10.0]))
    c[ZERO_BETWEEN] = (_moored(ZERO_BETWEEN, ROTTERDAM, 4), _reports(ZERO_BETWEEN, T0, [10.0, 0.0, None, 12.0]))
    # A typo corrected at the next report.
    c[TYPO] = (_moored(TYPO, ROTTERDAM, 4), _reports(TYPO, T0, [10.0, 10.0, 16.0, 10.0, 10.0]))
    east = line(DATE_LINE, T0, -20.0, 179.95, -20.0, 180.0, 120, every_s=300, sog=10.0)
    west = line(DATE_LINE, T0 + 2 * H, -20.0, -180.0, -20.0, -179.95, 120, every_s=300, sog=10.0)
    c[DATE_LINE] = (east + west, _reports(DATE_LINE, T0 + H, [6.0] * 10 + [12.0] * 5))
    c[NEAR_POLE] = (_moored(NEAR_POLE, NY_ALESUND, 4), _reports(NEAR_POLE, T0, [4.0] * 10 + [5.5] * 10))
    # Loaded in port, the new draught entered 1 h after departure (14 km out, radius 3 km).
    moored = _moored(DEPARTED, CONSTANTINE, 4)
    leaving = line(DEPARTED, T0 + 4 * H, *CONSTANTINE, CONSTANTINE[0], CONSTANTINE[1] + 0.6, 180,
                   every_s=300, sog=10.0)
    c[DEPARTED] = (moored + leaving, _reports(DEPARTED, T0, [7.0] * 50 + [12.0] * 10))
    c[NO_POSITIONS] = ([], _reports(NO_POSITIONS, T0, [7.0, 12.0]))
    return c


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cases = _cases()
    positions = [r for pos, _ in cases.values() for r in pos]
    reports = [r for _, rep in cases.values() for r in rep]
    return bulk_store(tmp_path_factory.mktemp("draught") / "s.duckdb", positions, reports)


def _by_mmsi(db: Path, **changes: Any) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event in run_detector(db, "draught_change", **changes):
        out[event["mmsi"]].append(event)
    return out


@pytest.fixture(scope="module")
def changes(store: Path) -> dict[int, list[dict[str, Any]]]:
    return _by_mmsi(store)


def test_just_under_and_over_a_metre(changes: dict[int, list[dict[str, Any]]]) -> None:
    assert UNDER_METRE not in changes
    (event,) = changes[METRE]
    d = event["details"]
    assert (d["before_m"], d["after_m"], d["delta_m"]) == (10.1, 11.1, 1.0)
    # From the last report of the old value to the first of the new one.
    assert (event["start"], event["end"]) == (T0 + 4 * SIX_MIN, T0 + 5 * SIX_MIN)
    assert len(d["reports"]) == 2 and len(d["positions"]) == 1


def test_change_at_a_port(changes: dict[int, list[dict[str, Any]]]) -> None:
    (event,) = changes[AT_PORT]
    d = event["details"]
    assert d["at_sea"] is False
    assert (d["port_name"], d["country"], d["delta_m"]) == ("Rotterdam", "NLD", 6.7)
    assert abs(event["lat"] - ROTTERDAM[0]) < 0.001


def test_change_at_sea(changes: dict[int, list[dict[str, Any]]]) -> None:
    (event,) = changes[AT_SEA]
    d = event["details"]
    assert d["at_sea"] is True and d["port_id"] is None
    assert d["delta_m"] == -5.9
    assert event["end"] == T0 + 60 * SIX_MIN
    assert 36.2 < event["lat"] < LACONIAN[0] - 0.05  # on the passage, not at the STS position


def test_a_clone_does_not_storm(changes: dict[int, list[dict[str, Any]]]) -> None:
    # Hull B's 15.0 alternates with hull A's 9.0 for 6 h: skipped with the identity conflict.
    assert CLONE not in changes
    # A change across the conflict is still seen, once, spanning it.
    (event,) = changes[CLONE_LOADED]
    assert (event["details"]["before_m"], event["details"]["after_m"]) == (9.0, 12.0)
    assert event["start"] < T0 + 2 * H and event["end"] > T0 + 8 * H


def test_null_and_zero_draughts_are_ignored(changes: dict[int, list[dict[str, Any]]]) -> None:
    assert NULLS not in changes
    (event,) = changes[ZERO_BETWEEN]
    assert (event["details"]["before_m"], event["details"]["after_m"]) == (10.0, 12.0)
    assert (event["start"], event["end"]) == (T0, T0 + 3 * SIX_MIN)


def test_without_positions_where_is_unknown(changes: dict[int, list[dict[str, Any]]]) -> None:
    (event,) = changes[NO_POSITIONS]
    assert event["lat"] is None and event["details"]["at_sea"] is None
    assert event["details"]["positions"] == []


def test_a_corrected_typo_has_low_confidence(changes: dict[int, list[dict[str, Any]]]) -> None:
    there, back = changes[TYPO]
    assert there["details"]["reverted_next_report"] is True
    assert back["details"]["reverted_next_report"] is False
    assert there["confidence"] <= 0.5 < back["confidence"]


def test_date_line_and_near_the_pole(changes: dict[int, list[dict[str, Any]]]) -> None:
    (event,) = changes[DATE_LINE]
    assert event["details"]["at_sea"] is True
    assert abs(event["lon"]) > 179.9
    (event,) = changes[NEAR_POLE]
    assert event["details"]["at_sea"] is False and event["details"]["port_name"] == "Ny Alesund"


def test_new_draught_entered_after_departure_is_at_port(store: Path, changes: dict[int, list[dict[str, Any]]]) -> None:
    (event,) = changes[DEPARTED]
    assert event["details"]["at_sea"] is False and event["details"]["port_name"] == "Constantine Harbor"
    assert event["lon"] > CONSTANTINE[1] + 0.15  # positioned where it was reported, at sea
    (event,) = _by_mmsi(store, port_lookback_hours=0.0)[DEPARTED]
    assert event["details"]["at_sea"] is True

"""Walk the detector registry: every detector has the agreed shape and runs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from shadowtrace.detect.events import EVENT_COLUMNS
from shadowtrace.detect.registry import DETECTORS
from tests.detect_helpers import T0, line, make_store, run_detector

UNIT = re.compile(r"_(hours|s|m|kn|deg|m_s|km|count|positions|fraction|share)$|^(min|max)_.*_(positions|vessels|reports)$|^others_for_|_positions$")


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_shape(name: str) -> None:
    det = DETECTORS[name]
    assert dataclasses.is_dataclass(det.params)
    assert det.params.__dataclass_params__.frozen  # type: ignore[attr-defined]
    module_doc = __import__(f"shadowtrace.detect.{name}", fromlist=["x"]).__doc__ or ""
    assert name in module_doc.split(":")[0], "module docstring starts with the event type"
    for f in dataclasses.fields(det.params):
        if f.type in (float, int, "float", "int"):
            assert UNIT.search(f.name), f"{name}.{f.name} should carry its unit in its name"


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_runs_and_honours_the_contract(tmp_path: Path, name: str) -> None:
    rows = line(244000001, T0, 36.5, 22.6, 36.6, 22.8, 600, every_s=300, sog=8)
    db = make_store(tmp_path / "s.duckdb", rows, [{"mmsi": 244000001, "ts": T0, "imo": 9074729, "name": "TEST"}])
    events = run_detector(db, name)
    for event in events:
        assert tuple(event) == EVENT_COLUMNS
        assert 0 <= event["confidence"] <= 1
        assert event["type"] == name

"""The detect / events / evaluate commands as a user runs them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow.parquet as pq
from typer.testing import CliRunner

from shadowtrace.cli import app
from shadowtrace.detect.events import EVENT_COLUMNS
from tests.detect_helpers import T0, line, make_store, stored_events
from tests.test_detect_gap import _gap_track

runner = CliRunner()


def _store(tmp_path: Path) -> Path:
    rows = _gap_track(244000001, T0 - T0 + __import__("datetime").timedelta(hours=8))
    rows += line(244000002, T0, 10, -30, 10, -29.5, 120)  # mid-Atlantic
    return make_store(tmp_path / "s.duckdb", rows)


def test_detect_is_stable_across_reruns(tmp_path: Path) -> None:
    db = _store(tmp_path)
    first = runner.invoke(app, ["detect", "--db", str(db), "-q"])
    assert first.exit_code == 0, first.output
    before = stored_events(db)
    assert before, "the gap should be found"
    again = runner.invoke(app, ["detect", "--db", str(db), "-q"])
    assert again.exit_code == 0
    assert stored_events(db) == before


def test_events_export_formats_and_filters(tmp_path: Path) -> None:
    db = _store(tmp_path)
    runner.invoke(app, ["detect", "--db", str(db), "-q"])
    out = runner.invoke(app, ["events", "--db", str(db)])
    assert out.exit_code == 0, out.output
    rows = list(csv.reader(io.StringIO(out.stdout)))
    assert tuple(rows[0]) == EVENT_COLUMNS
    assert rows[1][1] == "ais_gap" and rows[1][4].endswith("Z")
    as_json = json.loads(runner.invoke(app, ["events", "--db", str(db), "--format", "json"]).stdout)
    assert as_json[0]["details"]["duration_hours"] > 6
    geo = json.loads(runner.invoke(app, ["events", "--db", str(db), "--format", "geojson"]).stdout)
    assert geo["features"][0]["geometry"]["type"] == "Point"
    target = tmp_path / "events.parquet"
    assert runner.invoke(app, ["events", "--db", str(db), "--format", "parquet", "--out", str(target)]).exit_code == 0
    assert tuple(pq.read_table(target).column_names) == EVENT_COLUMNS
    none = runner.invoke(app, ["events", "--db", str(db), "--mmsi", "244000002"])
    assert len(list(csv.reader(io.StringIO(none.stdout)))) == 1  # header only
    later = runner.invoke(app, ["events", "--db", str(db), "--since", "2030-01-01T00:00:00Z"])
    assert len(list(csv.reader(io.StringIO(later.stdout)))) == 1


def test_params_from_cli_and_config(tmp_path: Path) -> None:
    db = _store(tmp_path)
    strict = runner.invoke(app, ["detect", "--db", str(db), "-q", "--only", "ais_gap", "--param", "ais_gap.min_gap_hours=12"])
    assert strict.exit_code == 0, strict.output
    assert stored_events(db) == []
    config = tmp_path / "params.toml"
    config.write_text("[ais_gap]\nmin_gap_hours = 7.5\n")
    assert runner.invoke(app, ["detect", "--db", str(db), "-q", "--only", "ais_gap", "--config", str(config)]).exit_code == 0
    assert len(stored_events(db)) == 1
    bad = runner.invoke(app, ["detect", "--db", str(db), "--param", "ais_gap.min_gap_minutes=3"])
    assert bad.exit_code == 2 and "no parameter" in bad.output


def test_evaluate_scores_a_truth_file(tmp_path: Path) -> None:
    db = _store(tmp_path)
    runner.invoke(app, ["detect", "--db", str(db), "-q", "--only", "ais_gap"])
    truth = tmp_path / "truth.json"
    truth.write_text(json.dumps([
        {"type": "ais_gap", "mmsi": 244000001, "other_mmsi": None, "start": "2025-03-01T01:00:00Z",
         "end": "2025-03-01T09:00:00Z", "lat": 36, "lon": 20},
        {"type": "ais_gap", "mmsi": 244000002, "other_mmsi": None, "start": "2025-03-01T01:00:00Z",
         "end": "2025-03-01T09:00:00Z", "lat": 10, "lon": 10},
    ]))
    scores_file = tmp_path / "scores.json"
    result = runner.invoke(app, ["evaluate", "--truth", str(truth), "--db", str(db), "--out", str(scores_file)])
    assert result.exit_code == 0, result.output
    scores = json.loads(scores_file.read_text())
    assert scores["ais_gap"]["precision"] == 1.0 and scores["ais_gap"]["recall"] == 0.5

"""Screening on the simulated scenario: planted listed, renamed and owned vessels rank above
every clean vessel; look-alikes are not matched."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from shadowtrace.cli import app

runner = CliRunner()


def test_listed_and_exposed_rank_above_clean_vessels(scenario, tmp_path: Path) -> None:
    result, scenario_db = scenario
    db = tmp_path / "store.duckdb"
    shutil.copy(scenario_db, db)  # the scenario store is shared; screen a copy
    truth = json.loads(result.screening_truth_path.read_text())["screening"]
    out = runner.invoke(app, ["lists", "add", str(result.lists_path), "--name", "sim", "--db", str(db)])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["screen", "--db", str(db), "--top", "0"])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["vessels", "--db", str(db), "--top", "100000", "--format", "json"])
    assert out.exit_code == 0, out.output
    ranked = json.loads(out.stdout)
    rank = {row["mmsi"]: row for row in ranked}

    flagged = {v["mmsi"] for key in ("listed", "renamed_listed", "owned_by_listed") for v in truth[key]}
    roles = {int(v["mmsi"]): set(v["roles"])
             for v in json.loads((result.positions_path.parent / "vessels.json").read_text())}
    clean = {m for m, r in roles.items() if r <= {"normal", "hard_negative_lookalike"}} - flagged
    assert flagged and clean
    worst_flagged = max(rank[m]["rank"] for m in flagged)
    best_clean = min(rank[m]["rank"] for m in clean)
    assert worst_flagged < best_clean, (
        [(rank[m]["rank"], m, rank[m]["score"]) for m in flagged],
        [(rank[m]["rank"], m, rank[m]["score"], rank[m]["reasons"][:2]) for m in clean if rank[m]["rank"] < worst_flagged])

    for vessel in truth["listed"] + truth["renamed_listed"]:
        assert rank[vessel["mmsi"]]["reasons"][0]["feature"] == "sanctioned", rank[vessel["mmsi"]]
    for vessel in truth["owned_by_listed"]:
        assert any(r["feature"] == "ownership" for r in rank[vessel["mmsi"]]["reasons"]), rank[vessel["mmsi"]]
    for vessel in truth["lookalikes"]:
        assert not rank[vessel["mmsi"]]["lists"], rank[vessel["mmsi"]]

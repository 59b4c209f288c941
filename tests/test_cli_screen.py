"""The list, screen, vessels and report commands as a user runs them."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from shadowtrace.cli import app

runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def test_lists_screen_vessels_report(scenario, tmp_path: Path) -> None:
    result, scenario_db = scenario
    db = str(tmp_path / "store.duckdb")
    shutil.copy(scenario_db, db)
    invoke("lists", "add", str(result.lists_path), "--name", "sim", "--db", db)
    again = runner.invoke(app, ["lists", "add", str(result.lists_path), "--name", "sim", "--db", db])
    assert again.exit_code == 2 and "already loaded" in again.output
    assert "unchanged" in invoke("lists", "refresh", "sim", "--db", db)
    assert "loaded list eu-annex-xlii" in invoke("lists", "add", "--builtin", "eu-annex-xlii", "--db", db)
    shown = invoke("lists", "show", "--db", db)
    assert "sim" in shown and "eu-annex-xlii" in shown

    assert "vessels by risk" in invoke("screen", "--db", db, "--top", "3")
    table = invoke("vessels", "--db", db, "--top", "5")
    assert "top reasons" in table
    rows = list(csv.DictReader(io.StringIO(invoke("vessels", "--db", db, "--top", "5", "--format", "csv"))))
    assert [int(r["rank"]) for r in rows] == [1, 2, 3, 4, 5]
    assert float(rows[0]["score"]) >= float(rows[-1]["score"])
    ranked = json.loads(invoke("vessels", "--db", db, "--top", "1", "--format", "json"))
    top = ranked[0]

    out = tmp_path / "dossier.html"
    assert str(top["mmsi"]) in invoke("report", "--rank", "1", "--db", db, "--out", str(out))
    assert str(top["mmsi"]) in out.read_text(encoding="utf-8")
    by_name = tmp_path / "by-name.html"
    invoke("report", str(top["mmsi"]), "--db", db, "--out", str(by_name))
    assert by_name.exists()

    invoke("lists", "remove", "sim", "--db", db)
    assert "sim" not in invoke("lists", "show", "--db", db).split()


def test_bad_list_is_a_clear_error_and_loads_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "store.duckdb")
    bad = tmp_path / "list.csv"
    bad.write_text("name,flag\nEAGLE S,ck\n", encoding="utf-8")
    result = runner.invoke(app, ["lists", "add", str(bad), "--name", "x", "--db", db])
    assert result.exit_code == 2
    assert "missing IMO column" in result.output and "hint" in result.output
    assert "x" not in invoke("lists", "show", "--db", db).split()
    result = runner.invoke(app, ["vessels", "--db", db])
    assert result.exit_code == 2 and "shadowtrace screen" in result.output

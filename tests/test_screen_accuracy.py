"""Vessel-matching precision and recall on an evaluation set built from the real EU Annex XLII
and GUR lists (tests/screen_evalset.py); the figures are kept in docs/accuracy.md."""

from __future__ import annotations

from pathlib import Path

from shadowtrace.screen.match import match_vessels
from shadowtrace.store import connect
from tests import screen_evalset
from tests.conftest import shared

MIN_PRECISION = 0.98
MIN_RECALL = 0.95


def test_matching_precision_and_recall_on_real_lists(tmp_path: Path) -> None:
    root = shared("sanctions").parent
    con = connect(tmp_path / "eval.duckdb")
    evalset = screen_evalset.build(con, root)
    scores = screen_evalset.score(evalset, match_vessels(con))
    overall = scores["all"]
    report = {k: (v["vessels"], round(v["precision"], 3), round(v["recall"], 3)) for k, v in scores.items()}
    assert overall["precision"] >= MIN_PRECISION, report
    assert overall["recall"] >= MIN_RECALL, report
    # Every EU Annex XLII vessel is recognised under each of its names when it broadcasts its IMO.
    assert scores["eu_name_with_imo"]["recall"] == 1.0, report
    for category, row in scores.items():
        if category.startswith("false_friend"):
            assert row["fp"] == 0 or row["precision"] == 1.0, (category, report)

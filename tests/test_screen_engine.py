"""Vessel identities for screening computed by an engine over a Parquet dataset (DuckDB, and
Spark local[2]) are those the store gives, matching on them finds the same matches, and a whole
screening run over the dataset stores what screening the store does."""

from __future__ import annotations

from pathlib import Path

from shadowtrace.engine import get_engine
from shadowtrace.engine.runner import run_screen
from shadowtrace.screen.ais_identity import AisIdentity, engine_identities, load_identities
from shadowtrace.screen.match import MatchParams, candidates, load_listed, match_vessels, score_pair
from shadowtrace.screen.run import screen
from shadowtrace.store import connect
from tests.dataset_helpers import dataset_store, screened


def _matches(db: Path, identities: dict[int, AisIdentity]) -> list[tuple[str, float]]:
    """Matching as match_vessels does it, on the given identities: every candidate pair scored."""
    params = MatchParams()
    con = connect(db)
    try:
        pairs = candidates(con, params)
        listed = load_listed(con, [(list_id, entity_id) for _, list_id, entity_id in pairs])
    finally:
        con.close()
    found = [score_pair(identities[mmsi], listed[(list_id, entity_id)], params)
             for mmsi, list_id, entity_id in pairs
             if mmsi in identities and (list_id, entity_id) in listed]
    return sorted((m.match_id, m.score) for m in found if m is not None)


def _store(db: Path) -> tuple[dict[int, AisIdentity], list[tuple[str, float]]]:
    con = connect(db)
    try:
        return load_identities(con), sorted((m.match_id, m.score) for m in match_vessels(con))
    finally:
        con.close()


def test_duckdb_over_the_dataset(dataset_scenario: tuple[Path, Path], tmp_path: Path) -> None:
    db, data = dataset_scenario
    identities, matches = _store(db)
    engine = get_engine("duckdb", db=tmp_path / "other.duckdb", dataset=data)
    try:
        on_engine = engine_identities(engine)
        some = sorted(identities)[:5]
        assert engine_identities(engine, some) == {m: identities[m] for m in some}
    finally:
        engine.close()  # type: ignore[attr-defined]
    assert on_engine == identities
    assert matches and _matches(db, on_engine) == matches


def test_spark_over_the_dataset(dataset_scenario: tuple[Path, Path], spark) -> None:
    db, data = dataset_scenario
    identities, matches = _store(db)
    engine = get_engine("spark", session=spark, dataset=data)
    try:
        on_spark = engine_identities(engine)
    finally:
        engine.close()  # type: ignore[attr-defined]
    assert on_spark == identities
    assert matches and _matches(db, on_spark) == matches


def test_screening_over_the_dataset_with_duckdb(dataset_scenario: tuple[Path, Path], dataset_screened: dict,
                                               tmp_path: Path) -> None:
    _, data = dataset_scenario
    db = dataset_store(tmp_path, data)
    summary = run_screen(db, "duckdb", dataset=data)
    assert summary.matched_vessels > 0 and summary.scored > 0
    assert screened(db) == dataset_screened


def test_screening_over_the_dataset_on_spark(dataset_scenario: tuple[Path, Path], dataset_screened: dict,
                                            tmp_path: Path, spark) -> None:
    _, data = dataset_scenario
    db = dataset_store(tmp_path, data)
    engine = get_engine("spark", session=spark, dataset=data)
    con = connect(db)
    try:
        summary = screen(con, engine=engine)
    finally:
        con.close()
        engine.close()  # type: ignore[attr-defined]
    assert summary.listed_vessels > 0
    assert screened(db) == dataset_screened

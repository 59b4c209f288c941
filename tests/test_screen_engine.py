"""Vessel identities for screening computed by an engine over a Parquet dataset (DuckDB, and
Spark local[2]) are those the store gives, and matching on them finds the same matches."""

from __future__ import annotations

from pathlib import Path

import pytest

from shadowtrace.engine import get_engine
from shadowtrace.ingest.dataset import ingest_to_dataset
from shadowtrace.lists.store import add_list
from shadowtrace.screen.ais_identity import AisIdentity, engine_identities, load_identities
from shadowtrace.screen.match import MatchParams, candidates, load_listed, match_vessels, score_pair
from shadowtrace.simulate import simulate
from shadowtrace.store import connect


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A store (with the scenario's list) and the dataset of the same ingest."""
    root = tmp_path_factory.mktemp("screen-engine")
    sim = simulate(root / "sim", vessels=80, days=2, seed=31, fmt="nmea")
    ingest_to_dataset([str(sim.positions_path)], root / "data", db=root / "store.duckdb")
    con = connect(root / "store.duckdb")
    try:
        add_list(con, sim.lists_path, "sim")
    finally:
        con.close()
    return root / "store.duckdb", root / "data"


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


def test_duckdb_over_the_dataset(scenario: tuple[Path, Path], tmp_path: Path) -> None:
    db, data = scenario
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


def test_spark_over_the_dataset(scenario: tuple[Path, Path], spark) -> None:
    db, data = scenario
    identities, matches = _store(db)
    engine = get_engine("spark", session=spark, dataset=data)
    try:
        on_spark = engine_identities(engine)
    finally:
        engine.close()  # type: ignore[attr-defined]
    assert on_spark == identities
    assert matches and _matches(db, on_spark) == matches

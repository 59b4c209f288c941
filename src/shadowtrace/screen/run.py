"""One screening run: match, exposures, risk scores; stored in one transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from shadowtrace.engine.base import Engine
from shadowtrace.risk.score import RiskParams, score_vessels, store_scores
from shadowtrace.screen.ais_identity import identity_tables
from shadowtrace.screen.contacts import contact_exposures
from shadowtrace.screen.match import MatchParams, match_vessels, store_matches
from shadowtrace.screen.ownership import Exposure, ownership_exposures
from shadowtrace.store.insert import insert_arrow


@dataclass(frozen=True)
class ScreenParams:
    max_ownership_depth: int = 4  # links walked from a vessel up to a sanctioned party


@dataclass(frozen=True)
class ScreenSummary:
    vessels: int
    matched_vessels: int
    matches: int
    listed_vessels: int
    exposures: dict[str, int]
    scored: int


def store_exposures(con: duckdb.DuckDBPyConnection, exposures: list[Exposure]) -> None:
    con.execute("DELETE FROM screen_exposures")
    insert_arrow(con, "screen_exposures", pa.table({
        "exposure_id": [e.exposure_id for e in exposures],
        "mmsi": pa.array([e.mmsi for e in exposures], pa.int32()),
        "kind": [e.kind for e in exposures],
        "list_id": pa.array([e.list_id for e in exposures], pa.int32()),
        "entity_id": [e.entity_id for e in exposures],
        "percent": pa.array([e.percent for e in exposures], pa.float64()),
        "event_id": [e.event_id for e in exposures],
        "details": [json.dumps(e.details) for e in exposures],
    }), distinct_on="exposure_id")


def screen(con: duckdb.DuckDBPyConnection, match_params: MatchParams | None = None,
           screen_params: ScreenParams | None = None, risk_params: RiskParams | None = None,
           engine: Engine | None = None) -> ScreenSummary:
    """Screen every vessel and store matches, exposures and scores in ``con``'s store. The
    vessels' identities come from the store's positions and static reports, or, with
    ``engine``, are aggregated by that engine (e.g. Spark over a Parquet dataset) and collected:
    one row per vessel and broadcast value. Lists and events are read from the store."""
    with identity_tables(con, engine):
        return _screen(con, match_params, screen_params, risk_params)


def _screen(con: duckdb.DuckDBPyConnection, match_params: MatchParams | None,
            screen_params: ScreenParams | None, risk_params: RiskParams | None) -> ScreenSummary:
    match_params = match_params or MatchParams()
    screen_params = screen_params or ScreenParams()
    matches = match_vessels(con, match_params)
    exposures = ownership_exposures(con, matches, screen_params.max_ownership_depth)
    exposures += contact_exposures(con, matches)
    con.execute("BEGIN TRANSACTION")
    try:
        store_matches(con, matches)
        store_exposures(con, exposures)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    scores = score_vessels(con, risk_params)
    store_scores(con, scores)
    listed = con.execute("""SELECT count(DISTINCT m.mmsi) FROM screen_matches m JOIN list_entities e
                            USING (list_id, entity_id) WHERE e.sanctioned""").fetchall()[0][0]
    kinds: dict[str, int] = {}
    for exposure in exposures:
        kinds[exposure.kind] = kinds.get(exposure.kind, 0) + 1
    return ScreenSummary(
        vessels=len(scores), matched_vessels=len({m.mmsi for m in matches}), matches=len(matches),
        listed_vessels=int(listed), exposures=kinds, scored=sum(1 for s in scores if s.score > 0))

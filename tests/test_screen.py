"""Screening on hand-made stores and lists: matching rules, ownership, contacts, risk."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from followthemoney import model

from shadowtrace.detect.run import detect_into_store
from shadowtrace.lists.store import add_list
from shadowtrace.screen.match import MatchParams, candidates, match_vessels
from shadowtrace.screen.run import ScreenParams, screen
from shadowtrace.store import connect
from tests.detect_helpers import T0, line, make_store


def entity(schema: str, entity_id: str, **props: Any) -> dict:
    proxy = model.make_entity(schema)
    proxy.id = entity_id
    for key, values in props.items():
        for value in values if isinstance(values, list) else [values]:
            proxy.add(key, value)
    return proxy.to_dict()


def write_ftm(path: Path, entities: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entities), encoding="utf-8")
    return path


def report(mmsi: int, name: str | None, imo: int | None = None, callsign: str | None = None,
           ship_type: int = 80, hours: float = 0) -> dict:
    return {"mmsi": mmsi, "ts": T0 + dt.timedelta(hours=hours), "imo": imo, "name": name,
            "callsign": callsign, "ship_type": ship_type}


def store_with(tmp_path: Path, reports: list[dict], entities: list[dict], positions: list[dict] | None = None):
    db = make_store(tmp_path / "s.duckdb", positions or [], reports)
    con = connect(db)
    add_list(con, write_ftm(tmp_path / "list.ftm.json", entities), "test")
    return con


def matched(con) -> dict[int, list[tuple[str, float, tuple[str, ...]]]]:
    out: dict[int, list] = {}
    for m in match_vessels(con):
        out.setdefault(m.mmsi, []).append((m.entity_id, m.score, m.matched_on))
    return out


def test_identifier_rules(tmp_path: Path) -> None:
    entities = [
        entity("Vessel", "eagle", name="EAGLE S", imoNumber="9329760", topics="sanction"),
        entity("Vessel", "legacy", name="Rio Kelan", previousName="Ocean Power", mmsi="273414440"),
        entity("Vessel", "nordic", name="NORDIC STAR", imoNumber="9384459", callSign="ABCD1", flag="pa"),
        entity("Vessel", "alias", name="OLD NAME", alias="NEW DAWN", callSign="5BQX2", flag="pa",
               type="Crude Oil Tanker"),
    ]
    reports = [
        report(518998679, "M/T Eagle-S", 9329760),               # IMO decides, prefix and hyphen ignored
        report(111000001, "EAGLE S", 9205122),                    # same name, other valid IMO: no match
        report(273414440, "OCEAN POWER"),                         # former name + listed MMSI
        report(352000001, "NORDIC STAR 2", callsign="XYZ99"),     # sister ship: numbers differ
        report(352000002, "NORDIC STAR"),                         # name alone is not enough
        report(352000003, "New Dawn", callsign="5BQX2"),          # alias + call sign + flag (Panama MID)
    ]
    con = store_with(tmp_path, reports, entities)
    found = matched(con)
    assert [e for e, _, _ in found[518998679]] == ["eagle"]
    assert found[518998679][0][1] >= 0.97
    assert 111000001 not in found
    assert found[273414440][0][0] == "legacy" and "mmsi" in found[273414440][0][2]
    assert 352000001 not in found
    assert 352000002 not in found
    assert found[352000003][0][0] == "alias"
    assert set(found[352000003][0][2]) >= {"name", "callsign", "flag"}


def test_mmsi_outside_validity_period_is_weak(tmp_path: Path) -> None:
    path = tmp_path / "periods.csv"
    path.write_text("imo,mmsi,name,start_date,end_date\n9329760,518998679,EAGLE S,2020-01-01,2022-12-31\n")
    # Broadcast in 2025 by another ship: the MMSI was reassigned after the listed period.
    db = make_store(tmp_path / "s.duckdb", [], [report(518998679, "SEA BREEZE")])
    con = connect(db)
    add_list(con, path, "periods")
    assert match_vessels(con) == []
    found = match_vessels(con, MatchParams(min_score=0.05))
    assert found and found[0].explanation["evidence"]["mmsi"]["how"] == "outside the listed period"


def test_blocking_does_not_pair_everything(tmp_path: Path) -> None:
    entities = [entity("Vessel", f"v{i}", name=f"ALPHA {word}", imoNumber=imo)
                for i, (word, imo) in enumerate([("ONE", "9329760"), ("TWO", "9384459")])]
    entities += [entity("Vessel", "zulu", name="ZULU QUEEN")]
    con = store_with(tmp_path, [report(211000001, "BRAVO KING"), report(211000002, "ZULU QUEEN")], entities)
    pairs = candidates(con, MatchParams())
    assert {(m, e) for m, _, e in pairs} == {(211000002, "zulu")}


def chain_entities(share_b: str | None) -> list[dict]:
    ownership_b = {"owner": "b", "asset": "a"}
    if share_b is not None:
        ownership_b["percentage"] = share_b
    return [
        entity("Vessel", "hull", name="QUIET TRADER", imoNumber="9329760"),
        entity("Company", "a", name="Alpha Shipping Ltd"),
        entity("Company", "b", name="Bravo Holdings"),
        entity("Company", "c", name="Charlie Oil", topics="sanction"),
        entity("Ownership", "own-a", owner="a", asset="hull", percentage="100"),
        entity("Ownership", "own-b", **ownership_b),
        entity("Ownership", "own-c", owner="c", asset="b", percentage="75"),
        entity("Person", "p", name="Dmitri Example", topics="sanction"),
        entity("Directorship", "dir", director="p", organization="a"),
    ]


@pytest.mark.parametrize(("share", "rule", "percent"), [("60", True, 60.0), ("30", False, 30.0), (None, None, None)])
def test_ownership_chain(tmp_path: Path, share: str | None, rule: bool | None, percent: float | None) -> None:
    con = store_with(tmp_path, [report(229000001, "QUIET TRADER", 9329760)], chain_entities(share))
    summary = screen(con)
    assert summary.exposures["ownership"] == 2  # Charlie Oil through two companies; the director
    rows = con.execute("SELECT entity_id, percent, details FROM screen_exposures WHERE kind = 'ownership'"
                       " ORDER BY entity_id").fetchall()
    by_party = {r[0]: (r[1], json.loads(r[2])) for r in rows}
    share_c, details = by_party["c"]
    assert [step["entity_id"] for step in details["path"]] == ["a", "b", "c"]
    assert details["fifty_percent_rule"] is rule
    assert share_c == percent
    if share is None:
        assert "percent unknown" in details["text"]
    assert by_party["p"][1]["path"][-1]["link"] == "directorship"
    reasons = json.loads(con.execute("SELECT reasons FROM risk_scores WHERE mmsi = 229000001").fetchall()[0][0])
    assert reasons[0]["feature"] == "ownership" and reasons[0]["evidence"]["exposures"]


def test_ownership_depth_limit(tmp_path: Path) -> None:
    con = store_with(tmp_path, [report(229000001, "QUIET TRADER", 9329760)], chain_entities("60"))
    summary = screen(con, screen_params=ScreenParams(max_ownership_depth=2))
    assert summary.exposures.get("ownership") == 1  # only the director of the direct owner is in reach


def test_contacts_and_risk_are_traceable(tmp_path: Path) -> None:
    # A listed tanker and a partner meet at sea for 3 h; the partner then scores for it.
    listed, partner = 273000001, 636000002
    positions = (line(listed, T0, 36.0, 22.0, 36.0, 22.0, 180, sog=0.5)
                 + line(partner, T0, 36.0015, 22.0, 36.0015, 22.0, 180, sog=0.5))
    entities = [entity("Vessel", "listed", name="DARK STAR", imoNumber="9329760", topics="sanction")]
    reports = [report(listed, "DARK STAR", 9329760), report(partner, "CLEAN PARTNER", 9384459)]
    store_with(tmp_path, reports, entities, positions).close()
    detect_into_store(tmp_path / "s.duckdb", only=["encounter"])
    con = connect(tmp_path / "s.duckdb")
    summary = screen(con)
    assert summary.listed_vessels == 1
    assert summary.exposures.get("sts_with_listed") == 1
    scores = dict(con.execute("SELECT mmsi, score FROM risk_scores").fetchall())
    assert scores[listed] > scores[partner] > 0
    reasons = json.loads(con.execute("SELECT reasons FROM risk_scores WHERE mmsi = ?", [partner]).fetchall()[0][0])
    sts = next(r for r in reasons if r["feature"] == "sts_with_listed")
    event_ids = {r[0] for r in con.execute("SELECT event_id FROM events").fetchall()}
    assert set(sts["evidence"]["events"]) <= event_ids and sts["evidence"]["events"]
    # Every point of every score is explained by a reason.
    for score, text in con.execute("SELECT score, reasons FROM risk_scores").fetchall():
        assert score == pytest.approx(min(100.0, sum(r["points"] for r in json.loads(text))), abs=0.2)


def test_fifty_percent_rule_aggregates_blocked_owners(tmp_path: Path) -> None:
    entities = [
        entity("Vessel", "hull", name="SHARED HULL", imoNumber="9329760"),
        entity("Company", "x", name="Xray Oil", topics="sanction"),
        entity("Company", "y", name="Yankee Oil", topics="sanction"),
        entity("Ownership", "own-x", owner="x", asset="hull", percentage="30"),
        entity("Ownership", "own-y", owner="y", asset="hull", percentage="25"),
    ]
    con = store_with(tmp_path, [report(229000001, "SHARED HULL", 9329760)], entities)
    screen(con)
    rows = [json.loads(r[0]) for r in con.execute(
        "SELECT details FROM screen_exposures WHERE kind = 'ownership'").fetchall()]
    assert len(rows) == 2
    for details in rows:
        assert details["fifty_percent_rule"] is True
        assert details["aggregate_blocked_share_of_vessel"] == 55.0
        assert "55% in aggregate" in details["text"]

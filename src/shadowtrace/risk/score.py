"""Risk score in [0, 100]: a documented, capped sum of features, every point traceable.

Each feature turns list matches, exposures or detector events into points, capped per
feature; the score is the sum, capped at 100. Each reason keeps the ids of the matches,
exposures and events behind its points. The indicators follow public reporting on the
shadow fleet (US maritime advisory 2020; Lloyd's List Intelligence; KSE Institute):
listing, ownership by sanctioned parties, dark periods, ship-to-ship transfers, calls at
Russian export terminals, spoofing, identity and flag changes, false flags.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files

import duckdb
import pyarrow as pa

from shadowtrace.screen.ais_identity import IDENTITY_VESSELS, flag_iso2, identity_tables
from shadowtrace.store.insert import insert_arrow


@dataclass(frozen=True)
class RiskParams:
    """Points per feature (the unit named in each field) and caps, in score points."""

    sanctioned_points: float = 60.0            # x best match score, sanctions-list match
    extra_list_points: float = 5.0             # each further sanctions list naming the vessel
    extra_list_cap: float = 10.0               # at most this for further lists
    watchlist_points: float = 35.0             # x match score, watch-list (e.g. shadow-fleet list) match
    ownership_blocked_points: float = 45.0     # owner chain blocked under the 50% rule
    ownership_unknown_points: float = 35.0     # sanctioned party in the chain, share unknown / control
    ownership_minority_points: float = 20.0    # sanctioned party holds less than 50% at some step
    sts_listed_points_per_event: float = 15.0  # each STS encounter with a vessel matched to a sanctions list
    sts_listed_cap: float = 30.0               # at most this for STS with listed vessels
    terminal_points_per_call: float = 10.0     # each port call at a Russian crude/product export terminal
    terminal_cap: float = 20.0                 # at most this for terminal calls
    gap_hours_per_point: float = 4.0           # dark hours (x gap confidence) per point
    gap_cap: float = 20.0                      # at most this for AIS gaps
    encounter_points_per_event: float = 5.0    # each STS encounter at sea (any partner)
    encounter_cap: float = 15.0                # at most this for encounters
    loitering_points_per_event: float = 3.0    # each loitering period away from ports
    loitering_cap: float = 9.0                 # at most this for loitering
    spoofing_points_per_event: float = 10.0    # each position jump (teleport, GNSS manipulation)
    spoofing_cap: float = 20.0                 # at most this for position jumps
    on_land_points_per_event: float = 5.0      # each episode of positions well inside land
    on_land_cap: float = 10.0                  # at most this for on-land positions
    identity_conflict_points: float = 15.0     # two hulls broadcasting one MMSI
    identity_change_points_per_event: float = 4.0# each rename, reflag or other identity change
    identity_change_cap: float = 12.0          # at most this for identity changes (before the false-flag points)
    false_flag_change_points: float = 10.0     # reflagged to a flag with reported fraudulent registrations
    draught_at_sea_points_per_event: float = 5.0# each draught change of >= 1 m at sea, no port call (the STS signature)
    draught_at_sea_cap: float = 10.0           # at most this for draught changes at sea
    invalid_identity_points: float = 10.0      # IMO check digit fails, MMSI malformed or MID unallocated, flag mismatch
    false_flag_points: float = 10.0            # currently under a flag with reported false registrations
    shadow_flag_points: float = 5.0            # currently under a flag common in the shadow fleet
    min_match_score: float = 0.7               # matches below this earn no points


@dataclass
class Reason:
    feature: str
    points: float
    text: str
    evidence: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"feature": self.feature, "points": round(self.points, 1), "text": self.text,
                "evidence": self.evidence}


@dataclass
class VesselRisk:
    mmsi: int
    score: float
    reasons: list[Reason]


@lru_cache(maxsize=1)
def flag_risk() -> dict[str, tuple[str, str, str]]:
    """iso2 -> (flag, category, source) from the shipped table (risk/data/flag_risk.csv)."""
    text = files("shadowtrace.risk").joinpath("data/flag_risk.csv").read_text(encoding="utf-8")
    return {r["iso2"]: (r["flag"], r["category"], r["source"]) for r in csv.DictReader(text.splitlines())}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _capped(count_points: float, cap: float) -> float:
    return min(cap, count_points)


def _match_reasons(rows: list[tuple], params: RiskParams) -> list[Reason]:
    """rows: (match_id, score, list name, list kind, sanctioned, programs, since, caption,
    matched fields, on a watch list)."""
    reasons: list[Reason] = []
    sanction_rows = [r for r in rows if r[4] and r[1] >= params.min_match_score]
    watch_rows = [r for r in rows if not r[4] and r[3] != "registry" and r[1] >= params.min_match_score
                  and r[9]]
    if sanction_rows:
        best = max(sanction_rows, key=lambda r: r[1])
        program = ", ".join(best[5]) if best[5] else best[2]
        since = f" since {best[6]:%Y-%m-%d}" if best[6] else ""
        reasons.append(Reason("sanctioned", params.sanctioned_points * best[1],
                              f"{program} listed{since} as {best[7]} ({best[8]} match, {best[1]:.2f})",
                              {"matches": [best[0]]}))
        others = sorted({r[2] for r in sanction_rows} - {best[2]})
        if others:
            reasons.append(Reason("sanctioned_elsewhere",
                                  _capped(params.extra_list_points * len(others), params.extra_list_cap),
                                  f"also on {', '.join(others)}",
                                  {"matches": [r[0] for r in sanction_rows if r[2] in others]}))
    elif watch_rows:
        best = max(watch_rows, key=lambda r: r[1])
        reasons.append(Reason("watchlisted", params.watchlist_points * best[1],
                              f"on watch list {best[2]} as {best[7]} ({best[8]} match, {best[1]:.2f})",
                              {"matches": [best[0]]}))
    return reasons


def _exposure_reasons(rows: list[tuple], params: RiskParams) -> list[Reason]:
    """rows: (exposure_id, kind, percent, details json, event_id)."""
    reasons: list[Reason] = []
    owned = [r for r in rows if r[1] == "ownership"]
    if owned:
        def points(row: tuple) -> float:
            rule = json.loads(row[3]).get("fifty_percent_rule")
            if rule is True:
                return params.ownership_blocked_points
            if rule is None:
                return params.ownership_unknown_points
            return params.ownership_minority_points
        best = max(owned, key=points)
        reasons.append(Reason("ownership", points(best), json.loads(best[3])["text"],
                              {"exposures": [r[0] for r in owned]}))
    for kind, per, cap in (
            ("sts_with_listed", params.sts_listed_points_per_event, params.sts_listed_cap),
            ("sanctioned_terminal", params.terminal_points_per_call, params.terminal_cap)):
        hits = [r for r in rows if r[1] == kind]
        if not hits:
            continue
        texts = [json.loads(r[3]) for r in hits]
        if kind == "sts_with_listed":
            partners = sorted({t["partner"] or str(t["partner_mmsi"]) for t in texts})
            text = f"{_plural(len(hits), 'STS encounter')} with listed vessel{'s' if len(partners) > 1 else ''} {', '.join(partners)}"
        else:
            ports = sorted({t["port"] for t in texts})
            text = f"{_plural(len(hits), 'call')} at sanctioned terminal{'s' if len(ports) > 1 else ''}: {', '.join(ports)}"
        reasons.append(Reason(kind, _capped(per * len(hits), cap), text,
                              {"exposures": [r[0] for r in hits], "events": [r[4] for r in hits if r[4]]}))
    return reasons


def _event_reasons(events: dict[str, list[tuple[str, float, dict]]], mmsi: int, params: RiskParams) -> list[Reason]:
    reasons: list[Reason] = []

    def ids(kind: str) -> dict[str, list[str]]:
        return {"events": [e[0] for e in events.get(kind, [])]}

    gaps = events.get("ais_gap", [])
    if gaps:
        hours = sum(d.get("duration_hours", 0.0) for _, _, d in gaps)
        weighted = sum(d.get("duration_hours", 0.0) * c for _, c, d in gaps)
        reasons.append(Reason("ais_gap", _capped(weighted / params.gap_hours_per_point, params.gap_cap),
                              f"{_plural(len(gaps), 'AIS gap')} totalling {hours:.0f} h", ids("ais_gap")))
    simple = (
        ("encounter", params.encounter_points_per_event, params.encounter_cap, "STS encounter at sea", "STS encounters at sea"),
        ("loitering", params.loitering_points_per_event, params.loitering_cap, "loitering period", "loitering periods"),
        ("teleport", params.spoofing_points_per_event, params.spoofing_cap, "position jump (spoofing)", "position jumps (spoofing)"),
        ("position_on_land", params.on_land_points_per_event, params.on_land_cap, "position on land", "positions on land"),
    )
    for kind, per, cap, one, many in simple:
        found = events.get(kind, [])
        if found:
            reasons.append(Reason(kind, _capped(per * len(found), cap),
                                  f"{len(found)} {one if len(found) == 1 else many}", ids(kind)))
    if events.get("identity_conflict"):
        reasons.append(Reason("identity_conflict", params.identity_conflict_points,
                              "two hulls broadcast this MMSI at once (cloned identity)", ids("identity_conflict")))
    changes = events.get("identity_change", [])
    if changes:
        renames = sum(1 for _, _, d in changes if "name" in d.get("changed", []))
        reflags = sum(1 for _, _, d in changes if d.get("kind") == "reflag")
        parts = ([f"renamed {'once' if renames == 1 else f'{renames} times'}"] if renames else []) + \
                ([f"reflagged {'once' if reflags == 1 else f'{reflags} times'}"] if reflags else [])
        other = len(changes) - renames - reflags
        if other > 0:
            parts.append(_plural(other, "other identity change"))
        text = ", ".join(parts) or _plural(len(changes), "identity change")
        points = _capped(params.identity_change_points_per_event * len(changes), params.identity_change_cap)
        false_flags = []
        for _, _, d in changes:
            after = (d.get("after") or {}).get("mmsi")
            iso = flag_iso2(int(after)) if after else None
            if d.get("kind") == "reflag" and iso and flag_risk().get(iso, ("", ""))[1] == "false_flag_reported":
                false_flags.append(flag_risk()[iso][0])
        if false_flags:
            text += f", reflagged to {', '.join(sorted(set(false_flags)))} (a flag with reported fraudulent registrations)"
            points += params.false_flag_change_points
        reasons.append(Reason("identity_change", points, text, ids("identity_change")))
    at_sea = [e for e in events.get("draught_change", []) if e[2].get("at_sea")]
    if at_sea:
        reasons.append(Reason("draught_at_sea",
                              _capped(params.draught_at_sea_points_per_event * len(at_sea), params.draught_at_sea_cap),
                              f"{_plural(len(at_sea), 'draught change')} at sea with no port call",
                              {"events": [e[0] for e in at_sea]}))
    invalid = events.get("invalid_identity", [])
    if invalid:
        problems = sorted({p for _, _, d in invalid for p in d.get("problems", [])})
        names = {"imo_check_digit": "IMO fails check digit", "mmsi_not_9_digits": "MMSI is not 9 digits",
                 "mmsi_mid_unallocated": "MMSI's MID maps to no flag state",
                 "flag_mismatch": "flag from MMSI differs from the flag on record"}
        reasons.append(Reason("invalid_identity", params.invalid_identity_points,
                              "; ".join(names.get(p, p) for p in problems), ids("invalid_identity")))
    iso = flag_iso2(mmsi)
    if iso in flag_risk():
        flag, category, _ = flag_risk()[iso]
        if category == "false_flag_reported":
            reasons.append(Reason("flag", params.false_flag_points,
                                  f"flies the flag of {flag}, a flag with reported fraudulent registrations",
                                  {"mmsi": [str(mmsi)]}))
        else:
            reasons.append(Reason("flag", params.shadow_flag_points,
                                  f"flies the flag of {flag}, common in the shadow fleet", {"mmsi": [str(mmsi)]}))
    return reasons


def score_vessels(con: duckdb.DuckDBPyConnection, params: RiskParams | None = None) -> list[VesselRisk]:
    params = params or RiskParams()
    matches: dict[int, list[tuple]] = defaultdict(list)
    for row in con.execute("""
            SELECT m.mmsi, m.match_id, m.score, l.name, l.kind, e.sanctioned, e.programs, e.listed_since,
                   e.caption, array_to_string(m.matched_on, ' + '),
                   list_has_any(coalesce(e.topics, []), ['mare.shadow', 'sanction.linked', 'poi', 'export.risk'])
                   OR l.kind = 'watchlist'
            FROM screen_matches m JOIN lists l USING (list_id)
            JOIN list_entities e ON e.list_id = m.list_id AND e.entity_id = m.entity_id
            ORDER BY m.mmsi, m.match_id""").fetchall():
        matches[row[0]].append(row[1:])
    exposures: dict[int, list[tuple]] = defaultdict(list)
    for row in con.execute(
            "SELECT mmsi, exposure_id, kind, percent, details, event_id FROM screen_exposures ORDER BY mmsi, exposure_id").fetchall():
        exposures[row[0]].append(row[1:])
    events: dict[int, dict[str, list[tuple[str, float, dict]]]] = defaultdict(lambda: defaultdict(list))
    for mmsi, event_id, kind, confidence, details in con.execute(
            "SELECT mmsi, event_id, type, confidence, details FROM events ORDER BY start, event_id").fetchall():
        events[mmsi][kind].append((event_id, confidence, json.loads(details)))
    with identity_tables(con):
        vessels = [r[0] for r in con.execute(f"SELECT DISTINCT mmsi FROM {IDENTITY_VESSELS}").fetchall()]
    out = []
    for mmsi in vessels:
        reasons = (_match_reasons(matches.get(mmsi, []), params)
                   + _exposure_reasons(exposures.get(mmsi, []), params)
                   + _event_reasons(events.get(mmsi, {}), mmsi, params))
        reasons = [r for r in reasons if r.points > 0]
        reasons.sort(key=lambda r: -r.points)
        out.append(VesselRisk(mmsi, round(min(100.0, sum(r.points for r in reasons)), 1), reasons))
    out.sort(key=lambda v: (-v.score, v.mmsi))
    return out


def store_scores(con: duckdb.DuckDBPyConnection, scores: list[VesselRisk]) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM risk_scores")
        insert_arrow(con, "risk_scores", pa.table({
            "mmsi": pa.array([s.mmsi for s in scores], pa.int32()),
            "score": [s.score for s in scores],
            "reasons": [json.dumps([r.as_dict() for r in s.reasons]) for s in scores],
            "computed_at": pa.array([now] * len(scores), pa.timestamp("us")),
        }))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise

"""Read side of screening: the ranked vessel list and one vessel's full profile.

The CLI, the dossier and the web API all read vessels through these functions.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from shadowtrace.errors import ConfigError
from shadowtrace.screen.ais_identity import flag_iso2, load_identities

_RANKED_SQL = """
WITH latest AS (
    SELECT mmsi, arg_max(name, ts) FILTER (WHERE name IS NOT NULL) AS name,
           arg_max(imo, ts) FILTER (WHERE imo IS NOT NULL AND imo <> 0) AS imo,
           arg_max(ship_type, ts) FILTER (WHERE ship_type IS NOT NULL) AS ship_type
    FROM vessel_reports GROUP BY mmsi
), best AS (
    SELECT m.mmsi, string_agg(DISTINCT l.name, ', ' ORDER BY l.name) AS lists
    FROM screen_matches m JOIN lists l USING (list_id) GROUP BY m.mmsi
)
SELECT r.mmsi, latest.name, latest.imo, latest.ship_type, r.score, r.reasons, best.lists
FROM risk_scores r LEFT JOIN latest USING (mmsi) LEFT JOIN best USING (mmsi)
WHERE r.score >= ?
ORDER BY r.score DESC, r.mmsi
LIMIT ? OFFSET ?
"""


def _require_scores(con: duckdb.DuckDBPyConnection) -> None:
    if not con.execute("SELECT count(*) FROM risk_scores").fetchall()[0][0]:
        raise ConfigError("no risk scores in this store yet",
                          hint="run `shadowtrace screen --db FILE` after ingest and detect")


def ranked_vessels(con: duckdb.DuckDBPyConnection, *, top: int = 20, offset: int = 0,
                   min_score: float = 0.0) -> list[dict[str, Any]]:
    """Vessels by risk score, highest first, with their reasons."""
    _require_scores(con)
    rows = con.execute(_RANKED_SQL, [min_score, top, offset]).fetchall()
    out = []
    for rank, (mmsi, name, imo, ship_type, score, reasons, lists) in enumerate(rows, start=offset + 1):
        out.append({"rank": rank, "mmsi": mmsi, "name": name, "imo": imo, "flag": flag_iso2(mmsi),
                    "ship_type": ship_type, "score": score, "lists": lists,
                    "reasons": json.loads(reasons)})
    return out


def find_vessel(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """An MMSI from an MMSI, an IMO number or a (part of a) name broadcast in AIS."""
    text = query.strip()
    if text.isdigit() and len(text) == 9:
        return int(text)
    digits = text.upper().removeprefix("IMO").strip()
    if digits.isdigit() and len(digits) == 7:
        rows = con.execute("""SELECT mmsi FROM vessel_reports WHERE imo = ?
                              GROUP BY mmsi ORDER BY max(ts) DESC""", [int(digits)]).fetchall()
        if rows:
            return int(rows[0][0])
    rows = con.execute("""SELECT mmsi, count(*) FROM vessel_reports WHERE name ILIKE ?
                          GROUP BY mmsi ORDER BY count(*) DESC""", [f"%{text}%"]).fetchall()
    if len(rows) == 1 or (rows and query.upper() == text.upper() and len(rows) > 0):
        return int(rows[0][0])
    raise ConfigError(f"no vessel matches {query!r}", hint="give an MMSI, an IMO number or a name seen in AIS")


def evidence_rows(con: duckdb.DuckDBPyConnection, mmsi: int, refs: list[str]) -> list[dict[str, Any]]:
    """The stored rows behind ``refs`` ("ingest:line"), positions and vessel reports."""
    pairs = []
    for ref in refs:
        ingest, _, line = str(ref).partition(":")
        if ingest.isdigit() and line.isdigit():
            pairs.append((int(ingest), int(line)))
    if not pairs:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE _refs AS SELECT * FROM (VALUES " +
                ", ".join("(?, ?)" for _ in pairs) + ") t(ingest_id, source_line)",
                [v for pair in pairs for v in pair])
    rows = con.execute("""
        SELECT 'position' AS kind, p.ingest_id, p.source_line, p.mmsi, p.ts, p.lat, p.lon, p.sog, p.cog,
               NULL AS name, NULL AS imo, NULL AS callsign, NULL AS draught, p.raw, i.source
        FROM positions p JOIN _refs USING (ingest_id, source_line) JOIN ingests i USING (ingest_id)
        UNION ALL
        SELECT 'report', v.ingest_id, v.source_line, v.mmsi, v.ts, NULL, NULL, NULL, NULL,
               v.name, v.imo, v.callsign, v.draught, v.raw, i.source
        FROM vessel_reports v JOIN _refs USING (ingest_id, source_line) JOIN ingests i USING (ingest_id)
        ORDER BY ts""").fetchall()
    con.execute("DROP TABLE IF EXISTS _refs")
    keys = ("kind", "ingest_id", "source_line", "mmsi", "ts", "lat", "lon", "sog", "cog", "name", "imo",
            "callsign", "draught", "raw", "source")
    return [{k: (v.isoformat() if k == "ts" else v) for k, v in zip(keys, row)} for row in rows]


def track(con: duckdb.DuckDBPyConnection, mmsi: int, *, max_points: int = 5000,
          since: Any = None, until: Any = None) -> dict[str, list]:
    """The vessel's positions in time order, thinned evenly to at most ``max_points``."""
    where, args = ["mmsi = ?"], [mmsi]
    if since is not None:
        where.append("ts >= ?")
        args.append(since)
    if until is not None:
        where.append("ts <= ?")
        args.append(until)
    total = con.execute(f"SELECT count(*) FROM positions WHERE {' AND '.join(where)}", args).fetchall()[0][0]
    step = max(1, -(-total // max_points))
    rows = con.execute(f"""
        SELECT ts, lat, lon, sog FROM (
            SELECT ts, lat, lon, sog, row_number() OVER (ORDER BY ts) AS n
            FROM positions WHERE {' AND '.join(where)})
        WHERE (n - 1) % ? = 0 ORDER BY ts""", args + [step]).fetchall()
    return {"ts": [r[0].isoformat() for r in rows], "lat": [r[1] for r in rows],
            "lon": [r[2] for r in rows], "sog": [r[3] for r in rows], "total_positions": total}


def vessel_profile(con: duckdb.DuckDBPyConnection, mmsi: int, *, max_track_points: int = 5000,
                   max_evidence_per_event: int = 20) -> dict[str, Any]:
    """Everything known about one vessel: identity, risk, matches, exposures, events, evidence."""
    ident = load_identities(con, [mmsi]).get(mmsi)
    if ident is None:
        raise ConfigError(f"MMSI {mmsi} is not in this store", hint="`shadowtrace vessels --db FILE` lists vessels")
    history = []
    for kind, values in (("name", ident.names), ("imo", ident.imos), ("imo (invalid)", ident.bad_imos),
                         ("callsign", ident.callsigns), ("ship_type", ident.ship_types)):
        for used in values:
            history.append({"kind": kind, "value": used.value, "first": used.first.isoformat(),
                            "last": used.last.isoformat(), "reports": used.reports, "evidence": used.evidence})
    risk_row = con.execute("SELECT score, reasons FROM risk_scores WHERE mmsi = ?", [mmsi]).fetchall()
    matches = []
    for row in con.execute("""
            SELECT m.match_id, l.name, l.kind, m.entity_id, e.caption, e.sanctioned, e.programs, e.listed_since,
                   m.score, m.matched_on, m.explanation, e.source_ref, e.schema, e.flag
            FROM screen_matches m JOIN lists l USING (list_id)
            JOIN list_entities e ON e.list_id = m.list_id AND e.entity_id = m.entity_id
            WHERE m.mmsi = ? ORDER BY m.score DESC""", [mmsi]).fetchall():
        explanation = json.loads(row[10])
        matches.append({
            "match_id": row[0], "list": row[1], "list_kind": row[2], "entity_id": row[3], "caption": row[4],
            "sanctioned": row[5], "programs": row[6], "listed_since": row[7].isoformat() if row[7] else None,
            "score": row[8], "matched_on": row[9], "summary": explanation.get("summary"),
            "evidence": explanation.get("evidence"), "conflicts": explanation.get("conflicts"),
            "source_ref": row[11], "flag": row[13]})
    exposures = []
    for exposure_id, kind, entity_id, percent, event_id, details in con.execute("""
            SELECT exposure_id, kind, entity_id, percent, event_id, details FROM screen_exposures
            WHERE mmsi = ? ORDER BY kind, exposure_id""", [mmsi]).fetchall():
        data = json.loads(details)
        exposures.append({"exposure_id": exposure_id, "kind": kind, "entity_id": entity_id, "percent": percent,
                          "event_id": event_id, "text": data.get("text"), "details": data})
    events = []
    evidence: dict[str, list[dict[str, Any]]] = {}
    for event_id, kind, other, start, end, lat, lon, confidence, details in con.execute("""
            SELECT event_id, type, other_mmsi, start, "end", lat, lon, confidence, details FROM events
            WHERE mmsi = ? OR other_mmsi = ? ORDER BY start""", [mmsi, mmsi]).fetchall():
        data = json.loads(details)
        events.append({"event_id": event_id, "type": kind, "other_mmsi": other, "start": start.isoformat(),
                       "end": end.isoformat(), "lat": lat, "lon": lon, "confidence": confidence, "details": data})
        refs = (data.get("positions") or []) + (data.get("reports") or [])
        evidence[event_id] = evidence_rows(con, mmsi, refs[:max_evidence_per_event])
    return {
        "mmsi": mmsi, "name": ident.latest_name,
        "imo": int(ident.imos[-1].key) if ident.imos else None,
        "flag": ident.flag, "first_seen": ident.first_seen.isoformat() if ident.first_seen else None,
        "last_seen": ident.last_seen.isoformat() if ident.last_seen else None,
        "risk": {"score": risk_row[0][0], "reasons": json.loads(risk_row[0][1])} if risk_row else None,
        "identity_history": history, "matches": matches, "exposures": exposures, "events": events,
        "evidence_rows": evidence, "track": track(con, mmsi, max_points=max_track_points),
    }

"""Contact exposure: meetings at sea with listed vessels and calls at sanctioned terminals,
read from the detectors' events."""

from __future__ import annotations

import json

import duckdb

from shadowtrace.screen.match import Match
from shadowtrace.screen.ownership import Exposure


def contact_exposures(con: duckdb.DuckDBPyConnection, matches: list[Match]) -> list[Exposure]:
    listed: dict[int, Match] = {}
    sanctioned = {(lid, eid) for lid, eid in con.execute(
        "SELECT list_id, entity_id FROM list_entities WHERE sanctioned").fetchall()}
    for match in matches:  # best match first per vessel
        if (match.list_id, match.entity_id) in sanctioned and match.mmsi not in listed:
            listed[match.mmsi] = match
    out: list[Exposure] = []
    for event_id, mmsi, other, start, end, lat, lon in con.execute(
            """SELECT event_id, mmsi, other_mmsi, start, "end", lat, lon FROM events
               WHERE type = 'encounter' AND other_mmsi IS NOT NULL ORDER BY start""").fetchall():
        for me, them in ((mmsi, other), (other, mmsi)):
            partner = listed.get(them)
            if partner is None:
                continue
            details = {
                "partner_mmsi": them, "partner": partner.explanation.get("listed_caption"),
                "partner_match_score": partner.score, "start": start.isoformat(), "end": end.isoformat(),
                "lat": lat, "lon": lon,
                "text": f"STS encounter with listed vessel {partner.explanation.get('listed_caption')} "
                        f"(MMSI {them}) on {start:%Y-%m-%d}",
            }
            out.append(Exposure(me, partner.list_id, partner.entity_id, None, details,
                                kind="sts_with_listed", event_id=event_id))
    for event_id, mmsi, start, details in con.execute(
            """SELECT event_id, mmsi, start, details FROM events WHERE type = 'port_call'
               AND coalesce(CAST(json_extract(details, '$.sanctioned_terminal') AS BOOLEAN), FALSE)
               ORDER BY start""").fetchall():
        data = json.loads(details)
        port = data.get("port_name") or "a sanctioned terminal"
        out.append(Exposure(mmsi, None, str(data.get("port_id") or port), None,
                            {"port": port, "country": data.get("country"), "start": start.isoformat(),
                             "text": f"called at {port} ({data.get('country') or '?'}) on {start:%Y-%m-%d}"},
                            kind="sanctioned_terminal", event_id=event_id))
    return out

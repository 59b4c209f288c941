"""Alert rules: what an analyst watching an area wants to hear about at once.

For a vessel matched to a list (all loaded lists, or the ones named with --watchlist):
- listed_appeared: it is heard after `appear_after_hours` of silence, or for the first time;
- listed_dark: it goes dark (an ais_gap event, ongoing or closed);
- listed_sts: it meets another vessel at sea (encounter, either side);
- listed_terminal: it calls at a Russian export terminal (port_call, sanctioned_terminal);
- listed_identity: it changes identity or shares its MMSI (identity_change, identity_conflict).
And, with a minimum risk, any event of a vessel whose risk score reaches it (`risk`).

An alert's id is a hash of its rule, vessel and event (or appearance time), so a rerun, a
restart or a later update of the event never raises it twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from shadowtrace.errors import ConfigError
from shadowtrace.filters import BBox

RULES = ("listed_appeared", "listed_dark", "listed_sts", "listed_terminal", "listed_identity", "risk")


class Area:
    """Where alerts are wanted: a bounding box or a GeoJSON (multi)polygon."""

    def __init__(self, text: str):
        self.text = text
        self.bbox: BBox | None = None
        self.shape: Any = None
        path = Path(text)
        if path.suffix.lower() in (".json", ".geojson") or path.is_file():
            self.shape = _read_geojson(path)
        else:
            try:
                self.bbox = BBox.parse(text)
            except ConfigError as exc:
                raise ConfigError(f"--area {text!r}: {exc.message}",
                                  hint="give minlon,minlat,maxlon,maxlat or a GeoJSON file") from None

    def contains(self, lat: float | None, lon: float | None) -> bool:
        if lat is None or lon is None:
            return False
        if self.bbox is not None:
            return self.bbox.contains(lat, lon)
        from shapely.geometry import Point

        return bool(self.shape.covers(Point(lon, lat)))


def _read_geojson(path: Path) -> Any:
    from shapely.geometry import shape
    from shapely.ops import unary_union

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"--area {path}: cannot read it as GeoJSON: {exc}") from None
    if data.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in data.get("features", [])]
    elif data.get("type") == "Feature":
        geometries = [data.get("geometry")]
    else:
        geometries = [data]
    polygons = [shape(g) for g in geometries if g and g.get("type") in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise ConfigError(f"--area {path}: no Polygon or MultiPolygon in it",
                          hint="draw the area as a polygon (e.g. on geojson.io) and save it")
    return unary_union(polygons)


@dataclass(frozen=True)
class AlertParams:
    watchlists: tuple[str, ...] = ()  # list names; empty: every loaded list
    min_risk: float | None = None  # also alert any event of a vessel scoring at least this
    appear_after_hours: float = 6.0  # silence before "appeared" (ais_gap's threshold, GFW)
    lookback_hours: float = 24.0  # how far back before the window a previous fix is looked for


def alert_id(rule: str, mmsi: int, key: str) -> str:
    return hashlib.md5(f"{rule}|{mmsi}|{key}".encode()).hexdigest()[:20]


def check_watchlists(con: duckdb.DuckDBPyConnection, names: tuple[str, ...]) -> None:
    known = {row[0] for row in con.execute("SELECT name FROM lists").fetchall()}
    missing = [n for n in names if n not in known]
    if missing:
        raise ConfigError(f"--watchlist {', '.join(missing)}: no such list in the store",
                          hint=f"load it first: shadowtrace lists add FILE --name NAME"
                               f" (loaded: {', '.join(sorted(known)) or 'none'})")


def listed_vessels(con: duckdb.DuckDBPyConnection, params: AlertParams) -> dict[int, list[str]]:
    """MMSI -> names of the lists it is matched on."""
    rows = con.execute(
        """SELECT m.mmsi, list(DISTINCT l.name ORDER BY l.name) FROM screen_matches m
           JOIN lists l USING (list_id)
           WHERE len($names) = 0 OR list_contains($names, l.name) GROUP BY m.mmsi""",
        {"names": list(params.watchlists)}).fetchall()
    return {int(mmsi): list(names) for mmsi, names in rows}


def _names(con: duckdb.DuckDBPyConnection, mmsis: list[int]) -> dict[int, dict[str, Any]]:
    if not mmsis:
        return {}
    rows = con.execute(
        """SELECT mmsi, arg_max(name, ts) FILTER (WHERE name IS NOT NULL),
                  arg_max(imo, ts) FILTER (WHERE imo IS NOT NULL)
           FROM vessel_reports WHERE list_contains($m, mmsi) GROUP BY mmsi""",
        {"m": mmsis}).fetchall()
    return {int(m): {"name": n, "imo": i} for m, n, i in rows}


_EVENT_RULES = {
    "ais_gap": ("listed_dark", "went dark"),
    "encounter": ("listed_sts", "met another vessel at sea (possible ship-to-ship transfer)"),
    "identity_change": ("listed_identity", "changed identity"),
    "identity_conflict": ("listed_identity", "shares its MMSI with another hull"),
}


def _event_text(event: dict[str, Any], details: dict[str, Any]) -> str:
    kind = event["type"]
    if kind == "ais_gap":
        if details.get("ongoing"):
            return f"silent for {details.get('duration_hours')} h while {details.get('others_reporting_nearby')} vessels nearby report"
        return f"dark for {details.get('duration_hours')} h, reappeared {details.get('distance_m', 0) / 1000:.0f} km away"
    if kind == "encounter":
        return f"alongside MMSI {event['other_mmsi']} for {details.get('duration_hours')} h"
    if kind == "port_call":
        return f"at {details.get('port_name') or details.get('port')} ({details.get('country') or ''})"
    if kind == "identity_change":
        return f"{details.get('field', '')}: {details.get('before')} -> {details.get('after')}"
    return kind.replace("_", " ")


def raise_alerts(con: duckdb.DuckDBPyConnection, window_start: dt.datetime, params: AlertParams, area: Area | None) -> list[dict[str, Any]]:
    """Alerts for the events still open in the detection window and the appearances in it;
    stores the new ones and returns them (those already raised are not raised again). The
    whole window is looked at, not only what changed: a vessel found listed by a later
    screening still gets the alerts of its recent events."""
    listed = listed_vessels(con, params)
    risky: dict[int, float] = {}
    if params.min_risk is not None:
        risky = {int(m): float(s) for m, s in con.execute(
            "SELECT mmsi, score FROM risk_scores WHERE score >= ?", [params.min_risk]).fetchall()}
    candidates: list[dict[str, Any]] = []
    events = con.execute(
        """SELECT event_id, type, mmsi, other_mmsi, start, "end", lat, lon, details FROM events
           WHERE "end" >= $start AND (list_contains($m, mmsi) OR list_contains($m, other_mmsi))""",
        {"start": window_start, "m": sorted(set(listed) | set(risky))}).fetchall()
    names = ("event_id", "type", "mmsi", "other_mmsi", "start", "end", "lat", "lon", "details")
    for row in events:
        event = dict(zip(names, row))
        details = event["details"] if isinstance(event["details"], dict) else json.loads(event["details"])
        sides = [event["mmsi"]] + ([event["other_mmsi"]] if event["other_mmsi"] else [])
        for mmsi in sides:
            rule_text = _EVENT_RULES.get(event["type"])
            if event["type"] == "port_call" and details.get("sanctioned_terminal"):
                rule_text = ("listed_terminal", "called at a Russian export terminal")
            if mmsi in listed and rule_text is not None and (mmsi == event["mmsi"] or event["type"] == "encounter"):
                rule, verb = rule_text
                candidates.append(_alert(rule, mmsi, event, details, f"{verb}: {_event_text(event, details)}",
                                         {"lists": listed[mmsi]}))
            if mmsi == event["mmsi"] and mmsi in risky:
                candidates.append(_alert("risk", mmsi, event, details,
                                         f"{event['type'].replace('_', ' ')} by a vessel with risk {risky[mmsi]:.0f}: "
                                         f"{_event_text(event, details)}", {"risk": risky[mmsi]}))
    if listed:
        candidates += _appearances(con, window_start, listed, params)
    if area is not None:
        candidates = [a for a in candidates if area.contains(a["lat"], a["lon"])]
    return _store_new(con, candidates)


def _alert(rule: str, mmsi: int, event: dict[str, Any], details: dict[str, Any], text: str,
           extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert_id": alert_id(rule, mmsi, event["event_id"]), "rule": rule, "mmsi": mmsi,
        "event_id": event["event_id"], "ts": event["start"], "lat": event["lat"], "lon": event["lon"],
        "text": text, "details": {**extra, "event_type": event["type"], "event": details},
    }


def _appearances(con: duckdb.DuckDBPyConnection, window_start: dt.datetime, listed: dict[int, list[str]],
                 params: AlertParams) -> list[dict[str, Any]]:
    """Listed vessels heard in the window after `appear_after_hours` of silence (or with
    nothing from them in the `lookback_hours` before the window)."""
    rows = con.execute(
        """SELECT mmsi, ts, lat, lon, prev_ts FROM (
               SELECT mmsi, ts, lat, lon, lag(ts) OVER (PARTITION BY mmsi ORDER BY ts, source_line) AS prev_ts
               FROM positions WHERE ts >= $since AND list_contains($m, mmsi))
           WHERE ts >= $start AND (prev_ts IS NULL OR epoch(ts) - epoch(prev_ts) >= $gap_s)""",
        {"m": list(listed), "start": window_start,
         "since": window_start - dt.timedelta(hours=params.lookback_hours),
         "gap_s": params.appear_after_hours * 3600}).fetchall()
    out = []
    for mmsi, ts, lat, lon, prev_ts in rows:
        silent = None if prev_ts is None else round((ts - prev_ts).total_seconds() / 3600, 1)
        text = (f"heard (nothing from it in the {params.lookback_hours:g} h before)" if silent is None
                else f"heard again after {silent} h of silence")
        out.append({"alert_id": alert_id("listed_appeared", mmsi, ts.isoformat()), "rule": "listed_appeared",
                    "mmsi": int(mmsi), "event_id": None, "ts": ts, "lat": lat, "lon": lon, "text": text,
                    "details": {"lists": listed[mmsi], "silent_hours": silent}})
    return out


def _store_new(con: duckdb.DuckDBPyConnection, candidates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not candidates:
        return []
    unique = {a["alert_id"]: a for a in candidates}
    known = {row[0] for row in con.execute(
        "SELECT alert_id FROM alerts WHERE list_contains($ids, alert_id)", {"ids": list(unique)}).fetchall()}
    new = [a for a in unique.values() if a["alert_id"] not in known]
    if not new:
        return []
    names = _names(con, sorted({a["mmsi"] for a in new}))
    raised = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    for alert in new:
        who = names.get(alert["mmsi"], {})
        label = who.get("name") or f"MMSI {alert['mmsi']}"
        if who.get("imo"):
            label += f" (IMO {who['imo']})"
        lists = alert["details"].get("lists")
        alert["vessel_name"], alert["imo"] = who.get("name"), who.get("imo")
        alert["message"] = f"{label}{' [' + ', '.join(lists) + ']' if lists else ''} {alert.pop('text')}"
        alert["raised_at"] = raised
    con.executemany(
        "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [[a["alert_id"], a["rule"], a["mmsi"], a["event_id"], a["ts"], a["lat"], a["lon"], a["raised_at"],
          a["message"], json.dumps(a["details"], default=str)] for a in new])
    new.sort(key=lambda a: (a["ts"], a["rule"], a["mmsi"]))
    return new


def alert_json(alert: dict[str, Any]) -> dict[str, Any]:
    """An alert as delivered (JSON lines, webhooks, the web map): times in ISO 8601 UTC."""
    def iso(value: Any) -> Any:
        return value.isoformat() + "Z" if isinstance(value, dt.datetime) else value

    return {
        "alert_id": alert["alert_id"], "rule": alert["rule"], "mmsi": alert["mmsi"],
        "vessel_name": alert.get("vessel_name"), "imo": alert.get("imo"),
        "event_id": alert["event_id"], "ts": iso(alert["ts"]), "lat": alert["lat"], "lon": alert["lon"],
        "raised_at": iso(alert["raised_at"]), "message": alert["message"], "details": alert["details"],
    }


def list_alerts(con: duckdb.DuckDBPyConnection, *, limit: int = 50, offset: int = 0, rule: str | None = None,
                mmsi: int | None = None, since: dt.datetime | None = None) -> tuple[list[dict[str, Any]], int]:
    """Stored alerts, newest raised first (the API's /api/alerts), with the total matching."""
    where = ["($rule IS NULL OR a.rule = $rule)", "($mmsi IS NULL OR a.mmsi = $mmsi)",
             "($since IS NULL OR a.ts >= $since)"]
    params = {"rule": rule, "mmsi": mmsi, "since": since}
    total = con.execute(f"SELECT count(*) FROM alerts a WHERE {' AND '.join(where)}", params).fetchall()[0][0]
    rows = con.execute(
        f"""SELECT a.alert_id, a.rule, a.mmsi, a.event_id, a.ts, a.lat, a.lon, a.raised_at, a.message,
                   CAST(a.details AS VARCHAR)
            FROM alerts a WHERE {' AND '.join(where)}
            ORDER BY a.raised_at DESC, a.ts DESC, a.alert_id LIMIT $limit OFFSET $offset""",
        {**params, "limit": limit, "offset": offset}).fetchall()
    names = _names(con, sorted({r[2] for r in rows}))
    items = []
    for alert_id, rule_, mmsi_, event_id, ts, lat, lon, raised_at, message, details in rows:
        who = names.get(mmsi_, {})
        items.append(alert_json({"alert_id": alert_id, "rule": rule_, "mmsi": mmsi_, "event_id": event_id, "ts": ts,
                                 "lat": lat, "lon": lon, "raised_at": raised_at, "message": message,
                                 "details": json.loads(details), "vessel_name": who.get("name"),
                                 "imo": who.get("imo")}))
    return items, int(total)

"""Read side of screening: the ranked vessel list and one vessel's full profile.

The CLI, the dossier and the web API all read vessels through these functions.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Any

import duckdb
import numpy as np

from shadowtrace.errors import ConfigError
from shadowtrace.filters import (
    BBox,
    like_pattern,
    positions_where,
    relation,
    ship_type_ranges,
    ship_type_sql,
)
from shadowtrace.screen.ais_identity import AisIdentity, flag_iso2


class NotFoundError(ConfigError):
    """The vessel or event asked for is not in the store (the API answers 404)."""


def event_types() -> tuple[str, ...]:
    """The event types detectors write (the values the ``event_type`` filters accept)."""
    from shadowtrace.detect.registry import DETECTORS

    return tuple(DETECTORS)


@lru_cache(maxsize=512)
def _mids_for_flag(flag: str) -> tuple[int, ...]:
    from shadowtrace.geo.mid import mid_table

    return tuple(mid for mid in mid_table() if flag_iso2(mid * 1_000_000) == flag)


# Latest broadcast identity of each vessel, for the ranked list and search.
_LATEST_CTE = """
{name} AS (
    SELECT mmsi, arg_max(name, ts) FILTER (WHERE name IS NOT NULL) AS name,
           arg_max(imo, ts) FILTER (WHERE imo IS NOT NULL AND imo <> 0) AS imo,
           arg_max(ship_type, ts) FILTER (WHERE ship_type IS NOT NULL) AS ship_type
    FROM vessel_reports {where} GROUP BY mmsi
)"""

# The whole ranking: every scored vessel with its place, latest broadcast identity and the lists
# it matched. It changes only when screening runs again, so a reader that serves many pages of
# one store (the web server) keeps it as a table (:func:`store_ranking`).
_RANKING_SQL = """
WITH ranked AS (
    SELECT mmsi, score, reasons, row_number() OVER (ORDER BY score DESC, mmsi) AS rank
    FROM risk_scores
), """ + _LATEST_CTE.format(name="latest", where="") + """, best AS (
    SELECT m.mmsi, list(DISTINCT l.name ORDER BY l.name) AS lists
    FROM screen_matches m JOIN lists l USING (list_id) GROUP BY m.mmsi
)
SELECT r.rank, r.mmsi, latest.name, latest.imo, latest.ship_type, r.score, r.reasons, best.lists
FROM ranked r LEFT JOIN latest USING (mmsi) LEFT JOIN best USING (mmsi)
"""


def store_ranking(con: duckdb.DuckDBPyConnection, table: str, *, replace: bool = False) -> None:
    """Write the ranking :func:`query_vessels` reads to ``table`` (a name chosen by code, in a
    writable database; ``replace``: over an earlier one), for ``query_vessels(..., ranking=table)``."""
    create = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
    con.execute(f"{create} {relation(table)} AS {_RANKING_SQL} ORDER BY rank")


def _flag_mids(flag: str) -> tuple[int, ...]:
    """The MIDs of a flag (ISO 3166 alpha-2): flags come from the MMSI's MID."""
    code = str(flag).strip().lower()
    if len(code) != 2 or not code.isalpha() or not code.isascii():
        raise ConfigError(f"flag {str(flag)[:20]!r} is not an ISO 3166 alpha-2 code", hint="e.g. flag=pa")
    return _mids_for_flag(code)


def _check_event_type(event_type: str) -> None:
    if event_type not in event_types():
        raise ConfigError(f"unknown event type {str(event_type)[:40]!r}",
                          hint=f"use one of {', '.join(event_types())}")


def _mmsi_subqueries(*, bbox: BBox | None, since: dt.datetime | None, until: dt.datetime | None,
                     q: str | None, positions: str) -> list[tuple[str, list[Any]]]:
    """The vessel filters that read positions or static reports, each as a query of the MMSIs
    it keeps (column ``mmsi``) and its bound values."""
    out: list[tuple[str, list[Any]]] = []
    if bbox is not None or since is not None or until is not None:
        seen, seen_args = positions_where(since=since, until=until, bbox=bbox)
        out.append((f"SELECT DISTINCT mmsi FROM {relation(positions)} WHERE {seen}", seen_args))
    if q is not None:
        sql, values = _search_sql(q, positions)
        out.append((f"SELECT mmsi FROM ({sql})", values))
    return out


def _vessel_filters(*, min_score: float, max_score: float | None, list_name: str | None,
                    flag: str | None, ship_type: str | int | None, event_type: str | None,
                    bbox: BBox | None, since: dt.datetime | None, until: dt.datetime | None,
                    q: str | None, positions: str) -> tuple[list[str], list[Any]]:
    where: list[str] = ["r.score >= ?"]
    args: list[Any] = [min_score]
    if max_score is not None:
        where.append("r.score <= ?")
        args.append(max_score)
    if list_name is not None:
        where.append("""r.mmsi IN (SELECT m.mmsi FROM screen_matches m JOIN lists l USING (list_id)
                                   WHERE l.name = ?)""")
        args.append(list_name)
    if flag is not None:
        # Flags come from the MMSI's MID, so a flag is a set of MIDs of ship station MMSIs.
        where.append("r.mmsi BETWEEN 200000000 AND 799999999 "
                     "AND r.mmsi // 1000000 IN (SELECT unnest(?::INTEGER[]))")
        args.append(list(_flag_mids(flag)))
    if ship_type is not None:
        condition, values = ship_type_sql(ship_type, "r.ship_type")
        where.append(condition)
        args += values
    if event_type is not None:
        _check_event_type(event_type)
        where.append("""r.mmsi IN (SELECT mmsi FROM events WHERE type = ?
                                   UNION SELECT other_mmsi FROM events WHERE type = ? AND other_mmsi IS NOT NULL)""")
        args += [event_type, event_type]
    for sql, values in _mmsi_subqueries(bbox=bbox, since=since, until=until, q=q, positions=positions):
        where.append(f"r.mmsi IN ({sql})")
        args += values
    return where, args


def query_vessels(con: duckdb.DuckDBPyConnection, *, limit: int = 50, offset: int = 0,
                  min_score: float = 0.0, max_score: float | None = None, list_name: str | None = None,
                  flag: str | None = None, ship_type: str | int | None = None,
                  event_type: str | None = None, bbox: BBox | None = None,
                  since: dt.datetime | None = None, until: dt.datetime | None = None,
                  q: str | None = None, max_reasons: int | None = None,
                  positions: str = "positions", ranking: str | None = None) -> tuple[list[dict[str, Any]], int]:
    """One page of vessels by risk score (highest first) matching every filter, and how many
    match in all. ``rank`` is the place in the whole ranking: filters do not renumber.

    ``bbox``, ``since`` and ``until`` keep vessels with a position inside the box and window;
    ``event_type`` those with such an event (either side); ``q`` as :func:`search_vessels`;
    times are naive UTC. ``positions`` as in :func:`shadowtrace.tracks_geo.track_geojson`;
    ``ranking``: a table written by :func:`store_ranking` from this store (else it is computed).
    """
    if limit < 0 or offset < 0:
        raise ConfigError("limit and offset must not be negative")
    where, args = _vessel_filters(min_score=min_score, max_score=max_score, list_name=list_name,
                                  flag=flag, ship_type=ship_type, event_type=event_type, bbox=bbox,
                                  since=since, until=until, q=q, positions=positions)
    hits = f"FROM {relation(ranking) if ranking else '(' + _RANKING_SQL + ')'} r WHERE {' AND '.join(where)}"
    # One query gives the page and the total; past the end (or with limit 0) a count says it.
    rows = con.execute(f"SELECT *, count(*) OVER () {hits} ORDER BY rank LIMIT ? OFFSET ?",
                       args + [limit, offset]).fetchall() if limit else []
    if rows:
        total = rows[0][-1]
    elif offset == 0 and limit:
        total = 0
    else:
        total = con.execute(f"SELECT count(*) {hits}", args).fetchall()[0][0]
    return [_ranked_row(row[:-1], max_reasons) for row in rows], int(total)


def _ranked_row(row: tuple[Any, ...], max_reasons: int | None) -> dict[str, Any]:
    """One row of the ranking (rank, mmsi, name, imo, ship_type, score, reasons, lists) as the
    vessel list gives it."""
    rank, mmsi, name, imo, ship_type_code, score, reasons, lists = row
    parsed = json.loads(reasons)
    return {"rank": rank, "mmsi": mmsi, "name": name, "imo": imo, "flag": flag_iso2(mmsi),
            "ship_type": ship_type_code, "score": score, "lists": lists or [],
            "reasons": parsed if max_reasons is None else parsed[:max_reasons]}


class VesselRanking:
    """The ranking held in memory, for a reader that serves many pages of one store that does
    not change meanwhile (the web server): each vessel's row as :func:`query_vessels` gives it,
    and as arrays what the filters test (score, MMSI, ship type, the lists each vessel matched,
    the event types it has), so a page costs no query unless it filters on positions (bbox,
    time window) or searches (``q``): those read the store as :func:`query_vessels` does.

    Built from a table :func:`store_ranking` wrote from the same store (one read of it, plus one
    query each for the lists and the event types)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, table: str):
        rows = con.execute(f"""SELECT rank, mmsi, name, imo, ship_type, score, reasons, lists
                               FROM {relation(table)} ORDER BY rank""").fetchall()
        self.rows = [_ranked_row(row, None) for row in rows]
        self.mmsi = np.array([row[1] for row in rows], dtype=np.int64)
        self.score = np.array([row[5] for row in rows], dtype=np.float64)
        self.ship_type = np.array([-1 if row[4] is None else row[4] for row in rows], dtype=np.int64)
        # What the flag filter tests: ship station MMSIs and their MID.
        self.mid = np.where((self.mmsi >= 200_000_000) & (self.mmsi <= 799_999_999), self.mmsi // 1_000_000, 0)
        # Which vessels (row by row) matched each list, and have each type of event.
        self.lists = {name: self._mask(mmsis) for name, mmsis in con.execute("""
            SELECT l.name, list(DISTINCT m.mmsi) FROM screen_matches m JOIN lists l USING (list_id)
            GROUP BY l.name""").fetchall()}
        self.event_types = {kind: self._mask(mmsis) for kind, mmsis in con.execute("""
            SELECT type, list(DISTINCT mmsi) FROM (
                SELECT type, mmsi FROM events
                UNION SELECT type, other_mmsi FROM events WHERE other_mmsi IS NOT NULL)
            GROUP BY type""").fetchall()}

    def _mask(self, mmsis: Any) -> np.ndarray:
        return np.isin(self.mmsi, np.asarray(mmsis, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.rows)

    def select(self, con: duckdb.DuckDBPyConnection | None = None, *, limit: int = 50, offset: int = 0,
               min_score: float = 0.0, max_score: float | None = None, list_name: str | None = None,
               flag: str | None = None, ship_type: str | int | None = None,
               event_type: str | None = None, bbox: BBox | None = None,
               since: dt.datetime | None = None, until: dt.datetime | None = None,
               q: str | None = None, positions: str = "positions") -> tuple[np.ndarray, int]:
        """The places in :attr:`rows` of one page (filters and paging as :func:`query_vessels`)
        and how many vessels match in all; ``con`` (the same store) is needed only for bbox,
        since, until and q."""
        if limit < 0 or offset < 0:
            raise ConfigError("limit and offset must not be negative")
        mask = self.score >= min_score
        if max_score is not None:
            mask &= self.score <= max_score
        if list_name is not None:
            listed = self.lists.get(list_name)
            mask &= False if listed is None else listed
        if flag is not None:
            flagged = np.zeros(1000, dtype=bool)  # by MID; 0 stands for MMSIs that are not ship stations
            flagged[[mid for mid in _flag_mids(flag) if 200 <= mid <= 799]] = True
            mask &= flagged[self.mid]
        if ship_type is not None:
            ranges, outside = ship_type_ranges(ship_type)
            inside = np.zeros(len(self.rows), dtype=bool)
            for low, high in ranges:
                inside |= (self.ship_type >= low) & (self.ship_type <= high)
            mask &= ~inside if outside else inside
        if event_type is not None:
            _check_event_type(event_type)
            having = self.event_types.get(event_type)
            mask &= False if having is None else having
        for sql, values in _mmsi_subqueries(bbox=bbox, since=since, until=until, q=q, positions=positions):
            if con is None:
                raise ValueError("filters on positions and searches need the store's connection")
            if mask.any():
                found = con.execute(sql, values).fetchnumpy()["mmsi"]
                mask &= np.isin(self.mmsi, np.asarray(found, dtype=np.int64))
        hits = np.flatnonzero(mask)
        return hits[offset:offset + limit], len(hits)

    def query(self, con: duckdb.DuckDBPyConnection | None = None, *, max_reasons: int | None = None,
              **filters: Any) -> tuple[list[dict[str, Any]], int]:
        """:func:`query_vessels`'s answer (rows and total) from memory."""
        page, total = self.select(con, **filters)
        out = []
        for i in page:
            row = dict(self.rows[i])
            if max_reasons is not None:
                row["reasons"] = row["reasons"][:max_reasons]
            out.append(row)
        return out, total



def _require_scores(con: duckdb.DuckDBPyConnection) -> None:
    if not con.execute("SELECT count(*) FROM risk_scores").fetchall()[0][0]:
        raise ConfigError("no risk scores in this store yet",
                          hint="run `shadowtrace screen --db FILE` after ingest and detect")


def ranked_vessels(con: duckdb.DuckDBPyConnection, *, top: int = 20, offset: int = 0,
                   min_score: float = 0.0, **filters: Any) -> list[dict[str, Any]]:
    """Vessels by risk score, highest first, with their reasons (``lists`` as one string);
    ``filters`` are those of :func:`query_vessels`."""
    _require_scores(con)
    rows, _ = query_vessels(con, limit=top, offset=offset, min_score=min_score, **filters)
    for row in rows:
        row["lists"] = ", ".join(row["lists"]) or None
    return rows


# --- search ------------------------------------------------------------------------------


def _search_sql(q: str, positions: str = "positions") -> tuple[str, list[Any]]:
    """Vessels whose MMSI starts with, IMO starts with, or a broadcast name contains ``q``:
    rows of (mmsi, matched, exact), matched being 'mmsi', 'imo' or 'name'."""
    text = " ".join(str(q).split())
    if not text:
        raise ConfigError("empty search", hint="give a name, an IMO number or an MMSI")
    if len(text) > 100:
        raise ConfigError("search text is longer than 100 characters")
    parts = ["""SELECT mmsi, 'name' AS matched, bool_or(upper(trim(name)) = upper(?)) AS exact
                FROM vessel_reports WHERE name ILIKE ? ESCAPE '\\' GROUP BY mmsi"""]
    args: list[Any] = [text, like_pattern(text)]
    if text.isdigit() and len(text) <= 9:
        # A prefix of a 9-digit MMSI is a range of integers (cheap on the sorted store).
        low = int(text) * 10 ** (9 - len(text))
        high = low + 10 ** (9 - len(text)) - 1
        parts.insert(0, f"""SELECT mmsi, 'mmsi' AS matched, mmsi = ? AS exact FROM (
                               SELECT DISTINCT mmsi FROM {relation(positions)} WHERE mmsi BETWEEN ? AND ?
                               UNION SELECT DISTINCT mmsi FROM vessel_reports WHERE mmsi BETWEEN ? AND ?)""")
        args = [int(text), low, high, low, high] + args
    digits = text.upper().removeprefix("IMO").strip()
    if digits.isdigit() and len(digits) <= 7:
        parts.insert(len(parts) - 1, """SELECT mmsi, 'imo' AS matched, bool_or(CAST(imo AS VARCHAR) = ?) AS exact
                                        FROM vessel_reports WHERE CAST(imo AS VARCHAR) LIKE ? || '%' AND imo <> 0
                                        GROUP BY mmsi""")
        args = args[:-2] + [digits, digits] + args[-2:]
    # The first kind of match a vessel has wins: MMSI, then IMO, then name.
    sql = f"""SELECT mmsi, arg_min(matched, k) AS matched, bool_or(exact) AS exact FROM (
                  SELECT *, CASE matched WHEN 'mmsi' THEN 0 WHEN 'imo' THEN 1 ELSE 2 END AS k
                  FROM ({' UNION ALL '.join(parts)})) GROUP BY mmsi"""
    return sql, args


def search_vessels(con: duckdb.DuckDBPyConnection, q: str, limit: int = 20,
                   positions: str = "positions") -> list[dict[str, Any]]:
    """Up to ``limit`` vessels whose MMSI or IMO starts with ``q`` or a broadcast name contains it
    (case-insensitive): exact matches first, then by risk score."""
    sql, args = _search_sql(q, positions)
    rows = con.execute(f"""
        WITH found AS ({sql}), {_LATEST_CTE.format(name="latest", where="WHERE mmsi IN (SELECT mmsi FROM found)")}
        SELECT f.mmsi, latest.name, latest.imo, r.score, f.matched
        FROM found f LEFT JOIN latest USING (mmsi) LEFT JOIN risk_scores r USING (mmsi)
        ORDER BY f.exact DESC, r.score DESC NULLS LAST, f.mmsi LIMIT ?""", args + [limit]).fetchall()
    return [{"mmsi": mmsi, "name": name, "imo": imo, "score": score, "matched": matched}
            for mmsi, name, imo, score, matched in rows]


# --- one vessel --------------------------------------------------------------------------


def find_vessel(con: duckdb.DuckDBPyConnection, query: str) -> int:
    """An MMSI from an MMSI, an IMO number or a (part of a) name broadcast in AIS: the best hit
    of :func:`search_vessels`."""
    text = query.strip()
    if text.isdigit() and len(text) == 9:
        return int(text)
    hits = search_vessels(con, text, limit=1) if text else []
    if hits:
        return int(hits[0]["mmsi"])
    raise NotFoundError(f"no vessel matches {query!r}", hint="give an MMSI, an IMO number or a name seen in AIS")


_EVIDENCE_KEYS = ("kind", "ingest_id", "source_line", "mmsi", "ts", "lat", "lon", "sog", "cog", "name", "imo",
                  "callsign", "draught", "raw", "source")


def evidence_rows(con: duckdb.DuckDBPyConnection, mmsi: int, refs: list[str]) -> list[dict[str, Any]]:
    """The stored rows behind ``refs`` ("ingest:line"), positions and vessel reports."""
    pairs = []
    for ref in refs:
        ingest, _, line = str(ref).partition(":")
        if ingest.isdigit() and line.isdigit():
            pairs.append((int(ingest), int(line)))
    if not pairs:
        return []
    # The references travel as two bound lists (no temporary table: the read side stays read-only).
    rows = con.execute("""
        WITH refs AS (SELECT unnest(?::INTEGER[]) AS ingest_id, unnest(?::BIGINT[]) AS source_line)
        SELECT 'position' AS kind, p.ingest_id, p.source_line, p.mmsi, p.ts, p.lat, p.lon, p.sog, p.cog,
               NULL AS name, NULL AS imo, NULL AS callsign, NULL AS draught, p.raw, i.source
        FROM positions p JOIN refs USING (ingest_id, source_line) JOIN ingests i USING (ingest_id)
        UNION ALL
        SELECT 'report', v.ingest_id, v.source_line, v.mmsi, v.ts, NULL, NULL, NULL, NULL,
               v.name, v.imo, v.callsign, v.draught, v.raw, i.source
        FROM vessel_reports v JOIN refs USING (ingest_id, source_line) JOIN ingests i USING (ingest_id)
        ORDER BY ts, kind, ingest_id, source_line""",
        [[p[0] for p in pairs], [p[1] for p in pairs]]).fetchall()
    return [{k: (v.isoformat() if k == "ts" else v) for k, v in zip(_EVIDENCE_KEYS, row)} for row in rows]


def track(con: duckdb.DuckDBPyConnection, mmsi: int, *, max_points: int = 5000,
          since: Any = None, until: Any = None, positions: str = "positions") -> dict[str, list]:
    """The vessel's positions in time order, thinned evenly to at most ``max_points``;
    ``positions`` as in :func:`shadowtrace.tracks_geo.track_geojson`."""
    table = relation(positions)
    condition, args = positions_where(mmsi=mmsi, since=since, until=until)
    total = con.execute(f"SELECT count(*) FROM {table} WHERE {condition}", args).fetchall()[0][0]
    step = max(1, -(-total // max_points))
    rows = con.execute(f"""
        SELECT ts, lat, lon, sog FROM (
            SELECT ts, lat, lon, sog, row_number() OVER (ORDER BY ts) AS n
            FROM {table} WHERE {condition})
        WHERE (n - 1) % ? = 0 ORDER BY ts""", args + [step]).fetchall()
    return {"ts": [r[0].isoformat() for r in rows], "lat": [r[1] for r in rows],
            "lon": [r[2] for r in rows], "sog": [r[3] for r in rows], "total_positions": total}


def vessel_known(con: duckdb.DuckDBPyConnection, mmsi: int, positions: str = "positions") -> bool:
    """Whether the store has any position or static report of ``mmsi``."""
    return bool(con.execute(f"""SELECT EXISTS (SELECT 1 FROM {relation(positions)} WHERE mmsi = ?)
                                OR EXISTS (SELECT 1 FROM vessel_reports WHERE mmsi = ?)""",
                            [mmsi, mmsi]).fetchall()[0][0])


def vessel_identity(con: duckdb.DuckDBPyConnection, mmsi: int, positions: str = "positions") -> AisIdentity | None:
    """The identity history of one vessel, as :func:`shadowtrace.screen.ais_identity.load_identities`
    gives it, or None when the store has never seen the MMSI. Two plain look-ups (the vessel's
    static reports, grouped here, and the span of its positions) instead of one aggregate per
    kind of identifier: for one vessel that is several times faster."""
    reports = con.execute("""SELECT ts, name, CAST(imo AS VARCHAR), callsign, CAST(ship_type AS VARCHAR),
                                    ingest_id, source_line, imo <> 0
                             FROM vessel_reports WHERE mmsi = ? ORDER BY ts, ingest_id, source_line""",
                          [mmsi]).fetchall()
    first_seen, last_seen = con.execute(f"SELECT min(ts), max(ts) FROM {relation(positions)} WHERE mmsi = ?",
                                        [mmsi]).fetchall()[0]
    # kind -> value -> [first, last, reports, evidence] (rows come in time order)
    spans: dict[str, dict[str, list[Any]]] = {"name": {}, "imo": {}, "callsign": {}, "ship_type": {}}
    for ts, name, imo, callsign, ship_type, ingest_id, source_line, imo_set in reports:
        for kind, value in (("name", name), ("imo", imo if imo_set else None), ("callsign", callsign),
                            ("ship_type", ship_type)):
            if value is None:
                continue
            span = spans[kind].get(value)
            if span is None:
                spans[kind][value] = [ts, ts, 1, f"{ingest_id}:{source_line}"]
            else:
                span[1] = ts
                span[2] += 1
    ident = AisIdentity(mmsi, first_seen=first_seen, last_seen=last_seen)
    for kind, values in spans.items():
        for value, (first, last, count, evidence) in values.items():
            ident.add(kind, str(value), first, last, count, evidence)
    ident.sort()
    return ident if ident.first_seen is not None else None


# The same spans for every vessel at once: one row per vessel, kind and value, with the first
# report (by time, then ingest and line) as evidence, as :func:`vessel_identity` takes it.
_SPANS_SQL = """
SELECT mmsi, '{kind}' AS kind, {value} AS value, min(ts), max(ts), count(*),
       arg_min(ingest_id || ':' || source_line, (ts, ingest_id, source_line))
FROM vessel_reports WHERE {value} IS NOT NULL GROUP BY mmsi, {value}"""
_SPAN_VALUES = {"name": "name", "imo": "CASE WHEN imo <> 0 THEN CAST(imo AS VARCHAR) END",
                "callsign": "callsign", "ship_type": "CAST(ship_type AS VARCHAR)"}


def _not_found(mmsi: int) -> NotFoundError:
    return NotFoundError(f"no vessel with MMSI {mmsi} in this store",
                         hint="`shadowtrace vessels --db FILE` lists vessels")


_MATCH_COLUMNS = """m.match_id, l.name, l.kind, m.entity_id, m.score, m.matched_on, m.explanation,
                    e.caption, e.sanctioned, e.programs, e.listed_since, e.source_ref, e.flag"""
_EXPOSURE_COLUMNS = "exposure_id, kind, entity_id, percent, event_id, details"
_EVENT_COLUMNS = 'event_id, type, other_mmsi, start, "end", lat, lon, confidence, details'


def _match(row: tuple[Any, ...]) -> dict[str, Any]:
    (match_id, list_name, list_kind, entity_id, score, matched_on, explanation_text, caption, sanctioned,
     programs, listed_since, source_ref, flag) = row
    explanation = json.loads(explanation_text)
    return {
        "match_id": match_id, "list": list_name, "list_kind": list_kind, "entity_id": entity_id,
        "caption": caption, "sanctioned": sanctioned, "programs": programs,
        "listed_since": listed_since.isoformat() if listed_since else None,
        "score": score, "matched_on": matched_on, "summary": explanation.get("summary"),
        "evidence": explanation.get("evidence"), "conflicts": explanation.get("conflicts"),
        "source_ref": source_ref, "flag": flag}


def _exposure(row: tuple[Any, ...]) -> dict[str, Any]:
    exposure_id, kind, entity_id, percent, event_id, details = row
    data = json.loads(details)
    return {"exposure_id": exposure_id, "kind": kind, "entity_id": entity_id, "percent": percent,
            "event_id": event_id, "text": data.get("text"), "details": data}


def _vessel_event(row: tuple[Any, ...]) -> dict[str, Any]:
    event_id, kind, other, start, end, lat, lon, confidence, details = row
    return {"event_id": event_id, "type": kind, "other_mmsi": other, "start": start.isoformat(),
            "end": end.isoformat(), "lat": lat, "lon": lon, "confidence": confidence,
            "details": json.loads(details)}


def _summary(ident: AisIdentity, risk: tuple[float, str] | None, matches: list[dict[str, Any]],
             exposures: list[dict[str, Any]], events: list[dict[str, Any]]) -> dict[str, Any]:
    history = []
    for kind, values in (("name", ident.names), ("imo", ident.imos), ("imo (invalid)", ident.bad_imos),
                         ("callsign", ident.callsigns), ("ship_type", ident.ship_types)):
        for used in values:
            history.append({"kind": kind, "value": used.value, "first": used.first.isoformat(),
                            "last": used.last.isoformat(), "reports": used.reports, "evidence": used.evidence})
    return {
        "mmsi": ident.mmsi, "name": ident.latest_name,
        "imo": int(ident.imos[-1].key) if ident.imos else None,
        "flag": ident.flag, "first_seen": ident.first_seen.isoformat() if ident.first_seen else None,
        "last_seen": ident.last_seen.isoformat() if ident.last_seen else None,
        "risk": {"score": risk[0], "reasons": json.loads(risk[1])} if risk else None,
        "identity_history": history, "matches": matches, "exposures": exposures, "events": events,
    }


def vessel_summary(con: duckdb.DuckDBPyConnection, mmsi: int, positions: str = "positions") -> dict[str, Any]:
    """One vessel without its track and raw rows: identity history, risk score and reasons,
    list matches with explanations, exposures and events. ``positions`` as in
    :func:`shadowtrace.tracks_geo.track_geojson`."""
    ident = vessel_identity(con, mmsi, positions)
    if ident is None:
        raise _not_found(mmsi)
    risk_row = con.execute("SELECT score, reasons FROM risk_scores WHERE mmsi = ?", [mmsi]).fetchall()
    # The vessel's matches first, then each listed entity by its key (most vessels match none;
    # joining list_entities would read the whole list for every vessel).
    matches = []
    for row in con.execute("""
            SELECT m.match_id, l.name, l.kind, m.list_id, m.entity_id, m.score, m.matched_on, m.explanation
            FROM screen_matches m JOIN lists l USING (list_id)
            WHERE m.mmsi = ? ORDER BY m.score DESC, m.match_id""", [mmsi]).fetchall():
        match_id, list_name, list_kind, list_id, entity_id, score, matched_on, explanation = row
        entity = con.execute("""SELECT caption, sanctioned, programs, listed_since, source_ref, flag
                                FROM list_entities WHERE list_id = ? AND entity_id = ?""",
                             [list_id, entity_id]).fetchall()
        if entity:
            matches.append(_match((match_id, list_name, list_kind, entity_id, score, matched_on, explanation,
                                   *entity[0])))
    exposures = [_exposure(row) for row in con.execute(f"""
            SELECT {_EXPOSURE_COLUMNS} FROM screen_exposures
            WHERE mmsi = ? ORDER BY kind, exposure_id""", [mmsi]).fetchall()]
    events = [_vessel_event(row) for row in con.execute(f"""
            SELECT {_EVENT_COLUMNS} FROM events
            WHERE mmsi = ? OR other_mmsi = ? ORDER BY start, event_id""", [mmsi, mmsi]).fetchall()]
    return _summary(ident, risk_row[0] if risk_row else None, matches, exposures, events)


class VesselSummaries:
    """:func:`vessel_summary` of every vessel of a store, built at once in a few set-based
    queries (positions' spans, static reports grouped by vessel and value, risk scores, matches
    with their entities, exposures, events by either vessel) and held in memory, for a reader
    that serves many vessels of a store that does not change meanwhile (the web server).

    Each vessel is kept as its summary without events, and its events apart (an event of two
    vessels is one object under both); :meth:`get` puts them together."""

    def __init__(self, con: duckdb.DuckDBPyConnection, positions: str = "positions"):
        idents: dict[int, AisIdentity] = {}
        for mmsi, first, last in con.execute(
                f"SELECT mmsi, min(ts), max(ts) FROM {relation(positions)} GROUP BY mmsi").fetchall():
            idents[mmsi] = AisIdentity(mmsi, first_seen=first, last_seen=last)
        spans = " UNION ALL ".join(_SPANS_SQL.format(kind=kind, value=value) for kind, value in _SPAN_VALUES.items())
        for mmsi, kind, value, first, last, count, evidence in con.execute(spans).fetchall():
            ident = idents.get(mmsi)
            if ident is None:
                ident = idents[mmsi] = AisIdentity(mmsi)
            ident.add(kind, str(value), first, last, count, evidence)
        risks = {mmsi: (score, reasons) for mmsi, score, reasons in
                 con.execute("SELECT mmsi, score, reasons FROM risk_scores").fetchall()}
        matches: dict[int, list[dict[str, Any]]] = {}
        for mmsi, *row in con.execute(f"""
                SELECT m.mmsi, {_MATCH_COLUMNS}
                FROM screen_matches m JOIN lists l USING (list_id) JOIN list_entities e USING (list_id, entity_id)
                ORDER BY m.mmsi, m.score DESC, m.match_id""").fetchall():
            matches.setdefault(mmsi, []).append(_match(tuple(row)))
        exposures: dict[int, list[dict[str, Any]]] = {}
        for mmsi, *row in con.execute(f"""SELECT mmsi, {_EXPOSURE_COLUMNS} FROM screen_exposures
                                          ORDER BY mmsi, kind, exposure_id""").fetchall():
            exposures.setdefault(mmsi, []).append(_exposure(tuple(row)))
        self.events: dict[int, list[dict[str, Any]]] = {}
        shared: dict[str, dict[str, Any]] = {}
        for mmsi, *row in con.execute(f"""
                SELECT vessel, {_EVENT_COLUMNS} FROM (
                    SELECT mmsi AS vessel, * FROM events
                    UNION ALL SELECT other_mmsi AS vessel, * FROM events
                              WHERE other_mmsi IS NOT NULL AND other_mmsi <> mmsi)
                ORDER BY vessel, start, event_id""").fetchall():
            event = shared.get(row[0])
            if event is None:
                event = shared[row[0]] = _vessel_event(tuple(row))
            self.events.setdefault(mmsi, []).append(event)
        self.heads: dict[int, dict[str, Any]] = {}
        for mmsi, ident in idents.items():
            if ident.first_seen is None:
                continue
            ident.sort()
            self.heads[mmsi] = _summary(ident, risks.get(mmsi), matches.get(mmsi, []), exposures.get(mmsi, []), [])

    def __len__(self) -> int:
        return len(self.heads)

    def get(self, mmsi: int) -> dict[str, Any]:
        """The vessel's summary as :func:`vessel_summary` gives it (a new outer dict; the values
        inside are shared: read them, do not change them); NotFoundError when it is unknown."""
        head = self.heads.get(mmsi)
        if head is None:
            raise _not_found(mmsi)
        return {**head, "events": list(self.events.get(mmsi, ()))}


def _event_refs(details: dict[str, Any]) -> list[str]:
    return list(details.get("positions") or []) + list(details.get("reports") or [])


def vessel_profile(con: duckdb.DuckDBPyConnection, mmsi: int, *, max_track_points: int = 5000,
                   max_evidence_per_event: int = 20, positions: str = "positions") -> dict[str, Any]:
    """Everything known about one vessel: identity, risk, matches, exposures, events, evidence;
    ``positions`` (for the identity and the track) as in :func:`shadowtrace.tracks_geo.track_geojson`."""
    profile = vessel_summary(con, mmsi, positions)
    profile["evidence_rows"] = {
        event["event_id"]: evidence_rows(con, mmsi, _event_refs(event["details"])[:max_evidence_per_event])
        for event in profile["events"]}
    profile["track"] = track(con, mmsi, max_points=max_track_points, positions=positions)
    return profile


def vessel_brief(con: duckdb.DuckDBPyConnection, mmsi: int) -> dict[str, Any]:
    """MMSI, latest broadcast name and IMO, and risk score (None when not scored)."""
    rows = con.execute(f"""
        WITH {_LATEST_CTE.format(name="latest", where="WHERE mmsi = ?")}
        SELECT latest.name, latest.imo, (SELECT score FROM risk_scores WHERE mmsi = ?)
        FROM (SELECT 1) LEFT JOIN latest ON TRUE""", [mmsi, mmsi]).fetchall()
    name, imo, score = rows[0] if rows else (None, None, None)
    return {"mmsi": mmsi, "name": name, "imo": imo, "score": score}


def event_with_evidence(con: duckdb.DuckDBPyConnection, event_id: str, *,
                        max_evidence: int = 200) -> dict[str, Any]:
    """One event in the event contract, with both vessels (identity and score) and the stored
    rows it cites (at most ``max_evidence``)."""
    rows = con.execute("""SELECT event_id, type, mmsi, other_mmsi, start, "end", lat, lon, confidence, details
                          FROM events WHERE event_id = ?""", [event_id]).fetchall()
    if not rows:
        raise NotFoundError(f"no event with id {event_id[:40]!r} in this store",
                            hint="`shadowtrace events --db FILE` lists events")
    event_id, kind, mmsi, other, start, end, lat, lon, confidence, details = rows[0]
    data = json.loads(details)
    return {
        "event_id": event_id, "type": kind, "mmsi": mmsi, "other_mmsi": other,
        "start": start.isoformat(), "end": end.isoformat(), "lat": lat, "lon": lon,
        "confidence": confidence, "details": data,
        "vessel": vessel_brief(con, mmsi),
        "other_vessel": vessel_brief(con, other) if other is not None else None,
        "evidence": evidence_rows(con, mmsi, _event_refs(data)[:max_evidence]),
    }

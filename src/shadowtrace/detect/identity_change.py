"""identity_change: an MMSI changes name, call sign, IMO or ship type, or an IMO gets a new MMSI.

Definitions (issue). The IMO number stays with the hull (IMO Res. A.1117(30)); the MMSI
changes with the flag (ITU-R M.585).
- change: a field's broadcast value differs from the one before it. NULL or empty values are
  no value (a type 24 part carries only some fields), so a missing field is never a change.
- alternation: a value that comes back after being replaced (A, B, A) means two transmitters
  on one MMSI, not a change. It gives one event per MMSI at most, and none when the tracks
  already show that MMSI as an identity_conflict (a clone): that event tells the story.
- reflag: an IMO reported by one MMSI until it appears under another. Both reporting it for
  longer than max_overlap_hours is two vessels sharing an IMO, not a reflag. As in the
  simulator's truth, mmsi is the new MMSI (the one to follow) and other_mmsi the old one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from shadowtrace.detect.base import KNOT_M_S, haversine_sql, position_ref_sql, seconds_sql
from shadowtrace.engine.base import Engine
from shadowtrace.geo.mid import mid_table

# Broadcast text is trimmed at ingest; compare case-insensitively.
_FIELDS = {
    "name": "upper(trim(name))",
    "callsign": "upper(trim(callsign))",
    "imo": "CAST(nullif(imo, 0) AS VARCHAR)",  # 0: "not available" (AIS)
    "ship_type": "CAST(nullif(ship_type, 0) AS VARCHAR)",
}
# Base confidence by the strongest field changed: the IMO number never changes for a hull,
# ship type is often corrected by crews.
_WEIGHT = {"imo": 0.9, "name": 0.8, "callsign": 0.7, "ship_type": 0.5}


@dataclass(frozen=True)
class Params:
    # Fields changing within this window are one change: class A static data every 6 min
    # (ITU-R M.1371), type 24 parts A and B arrive as separate rows.
    merge_window_hours: float = 1.0
    # Late receptions may let old and new MMSI both report one IMO this long.
    max_overlap_hours: float = 1.0
    # lat/lon: the vessel's position nearest the change, if one is this close in time.
    max_position_offset_hours: float = 24.0
    # Old MMSI's last and new MMSI's first position must be reachable (teleport definition).
    max_handover_speed_kn: float = 50.0


def _text(col: str) -> str:
    return f"nullif(upper(trim({col})), '')"


def _mid_sql(mmsi: str) -> str:
    return f"CASE WHEN {mmsi} BETWEEN 200000000 AND 799999999 THEN {mmsi} // 1000000 END"


def _same_mmsi_changes(engine: Engine, params: Params) -> None:
    """Runs of equal values per MMSI and field; boundaries between runs are changes."""
    distinct = " OR ".join(f"count(DISTINCT {expr}) > 1" for expr in _FIELDS.values())
    unpivot = " UNION ALL ".join(
        f"SELECT mmsi, ts, ingest_id, source_line, '{field}' AS field, {expr} AS value FROM r"
        f" WHERE nullif({expr}, '') IS NOT NULL"
        for field, expr in _FIELDS.items()
    )
    order = "ORDER BY ts, ingest_id, source_line"
    engine.materialize(
        "identity_change_runs",
        f"""
        WITH r AS (
            SELECT * FROM vessel_reports WHERE mmsi IN (
                SELECT mmsi FROM vessel_reports GROUP BY mmsi HAVING {distinct})
        ),
        v AS ({unpivot}),
        marked AS (
            SELECT *, CASE WHEN value = lag(value) OVER (PARTITION BY mmsi, field {order})
                      THEN 0 ELSE 1 END AS new_run
            FROM v
        ),
        numbered AS (
            SELECT *, sum(new_run) OVER (PARTITION BY mmsi, field {order}
                                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS run
            FROM marked
        )
        SELECT mmsi, field, run, min(value) AS value, min(ts) AS first_ts, max(ts) AS last_ts,
               count(*) AS reports, arg_min({position_ref_sql()}, ts) AS first_ref,
               arg_max({position_ref_sql()}, ts) AS last_ref
        FROM numbered GROUP BY mmsi, field, run
        """,
    )
    window_s = params.merge_window_hours * 3600
    # Boundaries; all those of an alternating field form one cluster (-1) per MMSI, the
    # others cluster when their new values appear within the merge window.
    engine.materialize(
        "identity_change_fields",
        f"""
        WITH b AS (
            SELECT * FROM (
                SELECT *, max(CASE WHEN value_runs > 1 THEN 1 ELSE 0 END)
                              OVER (PARTITION BY mmsi, field) = 1 AS alternating
                FROM (
                    SELECT mmsi, field, run, value, first_ts, reports, first_ref,
                           lag(value) OVER w AS prev_value, lag(last_ts) OVER w AS prev_last_ts,
                           lag(last_ref) OVER w AS prev_ref,
                           count(*) OVER (PARTITION BY mmsi, field, value) AS value_runs
                    FROM identity_change_runs WINDOW w AS (PARTITION BY mmsi, field ORDER BY run)
                )
            ) WHERE prev_value IS NOT NULL
        ),
        c AS (
            SELECT *, CASE WHEN alternating THEN -1 ELSE sum(CASE WHEN prev_first IS NULL
                       OR {seconds_sql('first_ts', 'prev_first')} > {window_s} THEN 1 ELSE 0 END)
                       OVER (PARTITION BY mmsi, alternating ORDER BY first_ts
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) END AS cluster
            FROM (SELECT *, lag(first_ts) OVER (PARTITION BY mmsi, alternating ORDER BY first_ts)
                            AS prev_first FROM b)
        )
        SELECT mmsi, cluster, field,
               arg_min(prev_value, first_ts) AS before,
               CASE WHEN cluster = -1 THEN arg_min(value, first_ts)
                    ELSE arg_max(value, first_ts) END AS after,
               min(prev_last_ts) AS start, max(first_ts) AS "end", min(first_ts) AS first_new,
               arg_min(prev_ref, first_ts) AS before_ref, arg_max(first_ref, first_ts) AS after_ref,
               count(*) AS switches, arg_max(reports, first_ts) AS new_reports
        FROM c GROUP BY mmsi, cluster, field
        """,
    )


def _reflags(engine: Engine, params: Params) -> None:
    """Consecutive MMSIs reporting one IMO, each starting after every earlier one stopped."""
    last = {f: f"arg_max({_text(f)}, ts) FILTER (WHERE {_text(f)} IS NOT NULL)" for f in ("name", "callsign")}
    first = {f: f"arg_min({_text(f)}, ts) FILTER (WHERE {_text(f)} IS NOT NULL)" for f in ("name", "callsign")}
    engine.materialize(
        "identity_change_imo",
        f"""
        SELECT imo, mmsi, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS reports,
               arg_min({position_ref_sql()}, ts) AS first_ref, arg_max({position_ref_sql()}, ts) AS last_ref,
               {first['name']} AS first_name, {last['name']} AS last_name,
               {first['callsign']} AS first_callsign, {last['callsign']} AS last_callsign,
               arg_min(ship_type, ts) FILTER (WHERE nullif(ship_type, 0) IS NOT NULL) AS first_ship_type,
               arg_max(ship_type, ts) FILTER (WHERE nullif(ship_type, 0) IS NOT NULL) AS last_ship_type
        FROM vessel_reports
        WHERE imo IN (SELECT imo FROM vessel_reports WHERE imo IS NOT NULL AND imo <> 0
                      GROUP BY imo HAVING count(DISTINCT mmsi) > 1)
        GROUP BY imo, mmsi
        """,
    )
    overlap_s = params.max_overlap_hours * 3600
    engine.materialize(
        "identity_change_reflags",
        f"""
        SELECT * FROM (
            SELECT imo, mmsi, first_ts, first_ref, first_name, first_callsign, first_ship_type, reports,
                   lag(mmsi) OVER w AS old_mmsi, lag(last_ts) OVER w AS old_last_ts,
                   lag(last_ref) OVER w AS old_ref, lag(last_name) OVER w AS old_name,
                   lag(last_callsign) OVER w AS old_callsign, lag(last_ship_type) OVER w AS old_ship_type,
                   max(last_ts) OVER (PARTITION BY imo ORDER BY first_ts, mmsi
                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS earlier_last
            FROM identity_change_imo WINDOW w AS (PARTITION BY imo ORDER BY first_ts, mmsi)
        ) WHERE old_mmsi IS NOT NULL AND {seconds_sql('earlier_last', 'first_ts')} <= {overlap_s}
        """,
    )


def _pivot(col: str, field: str, cast: str = "") -> str:
    value = f"max(CASE WHEN field = '{field}' THEN {col} END)"
    return f"CAST({value} AS {cast})" if cast else value


def detect(engine: Engine, params: Params) -> str:
    engine.register_arrow("identity_change_mid", pa.table({
        "mid": pa.array(list(mid_table()), pa.int32()), "flag": pa.array(list(mid_table().values()), pa.string()),
    }))
    _same_mmsi_changes(engine, params)
    _reflags(engine, params)
    side = {s: {f: _pivot(s, f, "INTEGER" if f in ("imo", "ship_type") else "") for f in _FIELDS}
            for s in ("before", "after")}
    weight = " ".join(f"WHEN list_contains(changed, '{f}') THEN {w}" for f, w in _WEIGHT.items())
    engine.materialize(
        "identity_change_events",
        f"""
        WITH same AS (
            SELECT mmsi, cluster, min(start) AS start, max("end") AS "end",
                   CASE WHEN cluster = -1 THEN min(first_new) ELSE max("end") END AS at_ts,
                   list(field ORDER BY field) AS changed,
                   {side['before']['name']} AS b_name, {side['before']['callsign']} AS b_callsign,
                   {side['before']['imo']} AS b_imo, {side['before']['ship_type']} AS b_ship_type,
                   {side['after']['name']} AS a_name, {side['after']['callsign']} AS a_callsign,
                   {side['after']['imo']} AS a_imo, {side['after']['ship_type']} AS a_ship_type,
                   arg_min(before_ref, start) AS before_ref, arg_max(after_ref, "end") AS after_ref,
                   max(switches) AS switches, min(new_reports) AS new_reports
            FROM identity_change_fields GROUP BY mmsi, cluster
        )
        SELECT mmsi, CAST(NULL AS INTEGER) AS other_mmsi, start, "end", at_ts,
               CASE WHEN cluster = -1 THEN 'alternating' ELSE 'change' END AS kind, changed,
               CAST(NULL AS INTEGER) AS b_mmsi, b_name, b_callsign, b_imo, b_ship_type,
               CAST(NULL AS INTEGER) AS a_mmsi, a_name, a_callsign, a_imo, a_ship_type,
               CAST(NULL AS INTEGER) AS imo, [before_ref, after_ref] AS reports, switches,
               CASE WHEN cluster = -1 THEN 0.4
                    ELSE (CASE {weight} ELSE 0.5 END) * (0.7 + 0.1 * least(new_reports, 3)) END AS base_conf
        FROM same
        WHERE cluster <> -1 OR NOT EXISTS (
            SELECT 1 FROM track_anomalies t
            WHERE t.kind = 'identity_conflict' AND t.mmsi = same.mmsi
              AND t.start <= same."end" AND t."end" >= same.start)
        UNION ALL
        SELECT mmsi, old_mmsi AS other_mmsi, old_last_ts AS start, first_ts AS "end", first_ts AS at_ts,
               'reflag' AS kind,
               list_concat(['mmsi'],
                   CASE WHEN old_callsign <> first_callsign THEN ['callsign'] ELSE [] END,
                   CASE WHEN old_name <> first_name THEN ['name'] ELSE [] END,
                   CASE WHEN old_ship_type <> first_ship_type THEN ['ship_type'] ELSE [] END) AS changed,
               old_mmsi, old_name, old_callsign, imo, old_ship_type,
               mmsi, first_name, first_callsign, imo, first_ship_type,
               imo, [old_ref, first_ref] AS reports, 1 AS switches, 0.6 AS base_conf
        FROM identity_change_reflags
        """,
    )
    offset_s = params.max_position_offset_hours * 3600
    # Nearest stored position to each anchor (vessel, time); few anchors, joined on MMSI.
    engine.materialize(
        "identity_change_at",
        f"""
        WITH anchors AS (
            SELECT DISTINCT mmsi, at_ts AS ts FROM identity_change_events
            UNION SELECT DISTINCT other_mmsi, start FROM identity_change_events WHERE kind = 'reflag'
        )
        SELECT a.mmsi, a.ts,
               arg_min(p.lat, abs({seconds_sql('p.ts', 'a.ts')})) AS lat,
               arg_min(p.lon, abs({seconds_sql('p.ts', 'a.ts')})) AS lon,
               arg_min(p.ts, abs({seconds_sql('p.ts', 'a.ts')})) AS pos_ts,
               arg_min({position_ref_sql('p')}, abs({seconds_sql('p.ts', 'a.ts')})) AS ref
        FROM anchors a JOIN track_points p ON p.mmsi = a.mmsi
        WHERE NOT p.spoofed AND abs({seconds_sql('p.ts', 'a.ts')}) <= {offset_s}
        GROUP BY a.mmsi, a.ts
        """,
    )
    handover_m = haversine_sql("o.lat", "o.lon", "n.lat", "n.lon")
    handover_s = f"greatest(abs({seconds_sql('n.pos_ts', 'o.pos_ts')}), 1)"
    plausible = f"({handover_m} <= {params.max_handover_speed_kn * KNOT_M_S} * {handover_s})"
    struct = "{{'mmsi': {p}_mmsi, 'flag': {p}_flag, 'name': {p}_name, 'callsign': {p}_callsign, " \
             "'imo': {p}_imo, 'ship_type': {p}_ship_type}}"
    return f"""
        SELECT e.mmsi, e.other_mmsi, e.start, e."end", n.lat, n.lon,
               CASE WHEN e.kind <> 'reflag' THEN e.base_conf
                    ELSE e.base_conf + CASE WHEN {plausible} THEN 0.3 ELSE 0 END
                         + CASE WHEN e.b_flag IS DISTINCT FROM e.a_flag THEN 0.1 ELSE 0 END END AS confidence,
               {{'kind': e.kind, 'changed': e.changed,
                 'before': {struct.format(p='e.b')}, 'after': {struct.format(p='e.a')},
                 'imo': e.imo, 'switches': e.switches,
                 'handover_distance_m': CASE WHEN e.kind = 'reflag' THEN round({handover_m}) END,
                 'handover_hours': CASE WHEN e.kind = 'reflag'
                     THEN round({seconds_sql('n.pos_ts', 'o.pos_ts')} / 3600.0, 2) END,
                 'reports': e.reports,
                 'positions': CASE WHEN n.ref IS NULL THEN [] ELSE [n.ref] END}} AS details
        FROM (
            SELECT ev.*, fb.flag AS b_flag, fa.flag AS a_flag
            FROM identity_change_events ev
            LEFT JOIN identity_change_mid fb ON fb.mid = {_mid_sql('ev.b_mmsi')}
            LEFT JOIN identity_change_mid fa ON fa.mid = {_mid_sql('ev.a_mmsi')}
        ) e
        LEFT JOIN identity_change_at n ON n.mmsi = e.mmsi AND n.ts = e.at_ts
        LEFT JOIN identity_change_at o ON e.kind = 'reflag' AND o.mmsi = e.other_mmsi AND o.ts = e.start
    """

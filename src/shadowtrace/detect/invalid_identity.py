"""invalid_identity: a vessel broadcasting an impossible IMO number or MMSI, or a false flag.

Problems (issue):
- imo_check_digit: a non-zero IMO that is not 7 digits or whose last digit is not
  (d1*7 + d2*6 + d3*5 + d4*4 + d5*3 + d6*2) mod 10 (IMO ship number scheme, IMO Res.
  A.1117(30)). IMO 0 means "not available": ingest stores it as NULL, never a problem.
- mmsi_not_9_digits, mmsi_not_ship_station (first digit not 2-7), mmsi_mid_unallocated
  (no flag state for the MID in the ITU-R M.585 table shipped in the package). Ingest
  rejects positions failing the first two, so on a store the MID check is what fires.
- flag_mismatch: flag from the MID differs from the flag on record. The store holds no
  flag register; name a table (imo, flag) in flag_register_table to turn this on, flag as
  the MID table's name or ISO 3166 alpha-3 code.
One event per MMSI spanning its observed time range; details list every problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from shadowtrace.detect.base import position_ref_sql
from shadowtrace.engine.base import Engine
from shadowtrace.errors import ConfigError
from shadowtrace.geo.mid import iso3_for_mmsi, mid_table

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
# Confidence per problem, combined as independent evidence. A bad check digit can be a
# crew's typo (less so when every report carries it); an unallocated MID is no registration.
MMSI_CONFIDENCE, IMO_CONFIDENCE, FLAG_CONFIDENCE = 0.9, 0.8, 0.8


@dataclass(frozen=True)
class Params:
    # Table (imo, flag) of flags on record (IMO GISIS, Equasis, a registry export); "" = off.
    flag_register_table: str = ""


def imo_valid_sql(imo: str) -> str:
    """TRUE when `imo` is a 7-digit IMO ship number with a correct check digit."""
    digits = " + ".join(f"(({imo} // {10 ** (7 - i)}) % 10) * {8 - i}" for i in range(1, 7))
    return f"({imo} BETWEEN 1000000 AND 9999999 AND ({digits}) % 10 = {imo} % 10)"


def _mid_table(engine: Engine) -> None:
    flags = mid_table()
    engine.register_arrow("invalid_identity_mid", pa.table({
        "mid": pa.array(list(flags), pa.int32()),
        "flag": pa.array(list(flags.values()), pa.string()),
        "iso3": pa.array([iso3_for_mmsi(mid * 1_000_000) for mid in flags], pa.string()),
    }))


def _flag_check_sql(params: Params) -> str:
    """Per MMSI: flags on record for its valid IMOs and whether one matches the MID's flag."""
    table = params.flag_register_table.strip()
    if not table:
        return ("SELECT CAST(NULL AS INTEGER) AS mmsi, CAST(NULL AS VARCHAR[]) AS recorded_flags,"
                " FALSE AS mismatch WHERE FALSE")
    if not _IDENTIFIER.match(table):
        raise ConfigError(f"invalid_identity.flag_register_table: {table!r} is not a table name")
    return f"""
        SELECT r.mmsi, list(DISTINCT g.flag ORDER BY g.flag) AS recorded_flags,
               NOT coalesce(bool_or(upper(g.flag) = upper(m.flag) OR upper(g.flag) = upper(m.iso3)), FALSE)
                   AS mismatch
        FROM (SELECT DISTINCT mmsi, imo FROM vessel_reports WHERE {imo_valid_sql('imo')}) r
        JOIN {table} g ON g.imo = r.imo
        LEFT JOIN invalid_identity_mid m ON m.mid = r.mmsi // 1000000
        GROUP BY r.mmsi
    """


def detect(engine: Engine, params: Params) -> str:
    _mid_table(engine)
    engine.materialize(
        "invalid_identity_vessels",
        f"""
        WITH seen AS (
            SELECT mmsi, min(ts) AS start, max(ts) AS "end" FROM (
                SELECT mmsi, ts FROM track_points UNION ALL SELECT mmsi, ts FROM vessel_reports
            ) GROUP BY mmsi
        ),
        imos AS (
            SELECT mmsi, count(*) AS imo_reports,
                   count(*) FILTER (WHERE NOT {imo_valid_sql('imo')}) AS bad_reports,
                   list(DISTINCT imo ORDER BY imo) FILTER (WHERE NOT {imo_valid_sql('imo')}) AS bad_imos,
                   arg_min({position_ref_sql()}, ts) FILTER (WHERE NOT {imo_valid_sql('imo')}) AS bad_ref
            FROM vessel_reports WHERE imo IS NOT NULL AND imo <> 0 GROUP BY mmsi
        ),
        flags AS ({_flag_check_sql(params)})
        SELECT s.mmsi, s.start, s."end", m.flag, i.imo_reports, i.bad_reports, i.bad_imos, i.bad_ref,
               f.recorded_flags,
               CASE WHEN s.mmsi NOT BETWEEN 100000000 AND 999999999 THEN 'mmsi_not_9_digits'
                    WHEN s.mmsi NOT BETWEEN 200000000 AND 799999999 THEN 'mmsi_not_ship_station'
                    WHEN m.mid IS NULL THEN 'mmsi_mid_unallocated' END AS mmsi_problem,
               coalesce(i.bad_reports, 0) > 0 AS imo_problem,
               coalesce(f.mismatch, FALSE) AS flag_problem
        FROM seen s
        LEFT JOIN invalid_identity_mid m
          ON s.mmsi BETWEEN 200000000 AND 799999999 AND m.mid = s.mmsi // 1000000
        LEFT JOIN imos i ON i.mmsi = s.mmsi
        LEFT JOIN flags f ON f.mmsi = s.mmsi
        """,
    )
    engine.materialize(
        "invalid_identity_found",
        "SELECT * FROM invalid_identity_vessels"
        " WHERE mmsi_problem IS NOT NULL OR imo_problem OR flag_problem",
    )
    imo_conf = f"{IMO_CONFIDENCE} * (0.5 + 0.5 * v.bad_reports / v.imo_reports)"
    return f"""
        WITH first_pos AS (
            SELECT p.mmsi, arg_min(p.lat, p.ts) AS lat, arg_min(p.lon, p.ts) AS lon,
                   arg_min({position_ref_sql('p')}, p.ts) AS ref
            FROM track_points p WHERE NOT p.spoofed AND p.mmsi IN (SELECT mmsi FROM invalid_identity_found)
            GROUP BY p.mmsi
        )
        SELECT v.mmsi, CAST(NULL AS INTEGER) AS other_mmsi, v.start, v."end", p.lat, p.lon,
               1 - (1 - CASE WHEN v.mmsi_problem IS NOT NULL THEN {MMSI_CONFIDENCE} ELSE 0 END)
                 * (1 - CASE WHEN v.imo_problem THEN {imo_conf} ELSE 0 END)
                 * (1 - CASE WHEN v.flag_problem THEN {FLAG_CONFIDENCE} ELSE 0 END) AS confidence,
               {{'problems': list_concat(
                     CASE WHEN v.mmsi_problem IS NOT NULL THEN [v.mmsi_problem] ELSE [] END,
                     CASE WHEN v.imo_problem THEN ['imo_check_digit'] ELSE [] END,
                     CASE WHEN v.flag_problem THEN ['flag_mismatch'] ELSE [] END),
                 'mid': CASE WHEN v.mmsi BETWEEN 100000000 AND 999999999 THEN v.mmsi // 1000000 END,
                 'flag': v.flag, 'recorded_flags': v.recorded_flags,
                 'bad_imos': v.bad_imos, 'bad_imo_reports': coalesce(v.bad_reports, 0),
                 'imo_reports': coalesce(v.imo_reports, 0),
                 'reports': CASE WHEN v.bad_ref IS NULL THEN [] ELSE [v.bad_ref] END,
                 'positions': CASE WHEN p.ref IS NULL THEN [] ELSE [p.ref] END}} AS details
        FROM invalid_identity_found v LEFT JOIN first_pos p ON p.mmsi = v.mmsi
    """

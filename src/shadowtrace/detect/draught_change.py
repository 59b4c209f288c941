"""draught_change: the reported draught changes by a metre or more, at a port or at sea.

Definition: two consecutive reports of one MMSI (vessel_reports, draught NULL or 0 = "not
available" in AIS, ignored) whose draughts differ by >= min_change_m (issue definition). The
crew updates the draught after loading or discharging, so consecutive values compare one voyage
with the next; the event spans the last report of the old value to the first of the new.
It happened at a port when any position from the last old report to the first new one (plus
the position nearest the new report) lies in a port's area; crews often enter the new value
only once under way, so the look extends port_lookback_hours before the new report (our
choice: short enough that the hours alongside at an STS hub keep a port out of reach).
Otherwise at_sea is true: cargo moved with no port call, the signature of a ship-to-ship
transfer (Pole Star flags draught changes across dark periods); null with no positions. Reports of an MMSI broadcast by two hulls at once (a clone,
identity_conflict in track_anomalies) cannot be told apart, so reports in that window (plus a
margin) are skipped: a change across it is still seen, a storm of alternating values is not.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowtrace.detect.base import position_ref_sql, seconds_sql
from shadowtrace.detect.port_call import CELL_DIGITS, port_cells_sql
from shadowtrace.engine.base import Engine


@dataclass(frozen=True)
class Params:
    min_change_m: float = 1.0  # issue definition
    clone_margin_hours: float = 1.0  # static reports come every 6 min (ITU-R M.1371); ample
    position_window_hours: float = 1.0  # how far from the new report its position may be
    port_lookback_hours: float = 2.0  # our choice, see above


def detect(engine: Engine, params: Params) -> str:
    margin = params.clone_margin_hours * 3600
    engine.materialize(
        "draught_change_steps",
        f"""
        SELECT mmsi, prev_ts AS start, ts AS "end", prev_draught, draught, next_draught, prev_ref, ref
        FROM (
            SELECT mmsi, ts, draught, ref,
                   lag(draught) OVER w AS prev_draught, lead(draught) OVER w AS next_draught,
                   lag(ts) OVER w AS prev_ts, lag(ref) OVER w AS prev_ref
            FROM (
                SELECT r.mmsi, r.ts, round(CAST(r.draught AS DOUBLE), 2) AS draught, r.source_line, {position_ref_sql('r')} AS ref
                FROM vessel_reports r
                LEFT JOIN (SELECT * FROM track_anomalies WHERE kind = 'identity_conflict') a
                  ON a.mmsi = r.mmsi AND epoch(r.ts) BETWEEN epoch(a.start) - {margin} AND epoch(a."end") + {margin}
                WHERE r.draught > 0 AND a.mmsi IS NULL
            )
            WINDOW w AS (PARTITION BY mmsi ORDER BY ts, source_line)
        )
        WHERE prev_draught IS NOT NULL AND round(abs(draught - prev_draught), 2) >= {params.min_change_m}
        """,
    )
    pad = params.position_window_hours * 3600
    since = f'least(epoch(c.start), epoch(c."end") - {params.port_lookback_hours * 3600})'
    # The positions around each change; few changes, so this join stays small.
    engine.materialize(
        "draught_change_points",
        f"""
        SELECT c.ref AS change_ref, p.ts, p.lat, p.lon, {position_ref_sql('p')} AS ref,
               abs({seconds_sql('p.ts', 'c."end"')}) AS off_s,
               epoch(p.ts) BETWEEN {since} AND epoch(c."end") AS in_window
        FROM draught_change_steps c
        JOIN track_points p ON p.mmsi = c.mmsi AND NOT p.spoofed
         AND epoch(p.ts) BETWEEN {since} - {pad} AND epoch(c."end") + {pad}
        """,
    )
    engine.materialize("draught_change_cells", port_cells_sql("draught_change_points"))
    cell = f"q.clat = round(p.lat, {CELL_DIGITS}) AND q.clon = round(p.lon, {CELL_DIGITS})"
    return f"""
        WITH nearest AS (
            SELECT change_ref, min(off_s) AS off_s FROM draught_change_points GROUP BY change_ref
        ),
        pos AS (
            SELECT p.change_ref, arg_min({{'lat': p.lat, 'lon': p.lon, 'ref': p.ref}}, p.ts) AS at
            FROM draught_change_points p JOIN nearest n ON n.change_ref = p.change_ref AND n.off_s = p.off_s
            GROUP BY p.change_ref
        ),
        in_port AS (
            SELECT p.change_ref, arg_max(q.pidx, p.ts) AS pidx
            FROM draught_change_points p JOIN draught_change_cells q ON {cell}
            JOIN nearest n ON n.change_ref = p.change_ref
            WHERE q.pidx >= 0 AND (p.in_window OR p.off_s = n.off_s)
            GROUP BY p.change_ref
        )
        SELECT c.mmsi, CAST(NULL AS INTEGER) AS other_mmsi, c.start, c."end",
               pos.at.lat AS lat, pos.at.lon AS lon,
               (0.5 + 0.5 * least(abs(c.draught - c.prev_draught) / ({params.min_change_m} * 3), 1))
                   * CASE WHEN c.next_draught = c.prev_draught THEN 0.5 ELSE 1.0 END AS confidence,
               {{'before_m': c.prev_draught, 'after_m': c.draught,
                 'delta_m': round(c.draught - c.prev_draught, 2),
                 'at_sea': CASE WHEN pos.at IS NOT NULL THEN i.pidx IS NULL END,
                 'port_id': g.port_id, 'port_name': g.name, 'country': g.country,
                 'sanctioned_terminal': g.sanctioned_terminal,
                 'hours_between_reports': round({seconds_sql('c."end"', 'c.start')} / 3600.0, 2),
                 'reverted_next_report': coalesce(c.next_draught = c.prev_draught, FALSE),
                 'reports': [c.prev_ref, c.ref],
                 'positions': CASE WHEN pos.at IS NULL THEN [] ELSE [pos.at.ref] END}} AS details
        FROM draught_change_steps c
        LEFT JOIN pos ON pos.change_ref = c.ref
        LEFT JOIN in_port i ON i.change_ref = c.ref
        LEFT JOIN geo_ports g ON g.port_index = i.pidx
    """

"""Score detected events against a ground-truth file (e.g. from `shadowtrace simulate`).

An event matches a truth row of the same type and vessel(s) (for encounters the unordered
pair) whose time span it overlaps, with `slack_hours` of slack on each side. Precision is
the share of events that match some truth row; recall the share of truth rows matched by
some event.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from shadowtrace.errors import InputError

SLACK_HOURS = 2.0


@dataclass
class TypeScore:
    type: str
    events: int = 0
    truth: int = 0
    matched_events: int = 0
    matched_truth: int = 0
    unmatched_events: list[dict[str, Any]] = field(default_factory=list)
    missed_truth: list[dict[str, Any]] = field(default_factory=list)

    @property
    def precision(self) -> float | None:
        return self.matched_events / self.events if self.events else None

    @property
    def recall(self) -> float | None:
        return self.matched_truth / self.truth if self.truth else None


def _time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    stamp = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return stamp.astimezone(dt.timezone.utc).replace(tzinfo=None) if stamp.tzinfo else stamp


def _key(row: dict[str, Any]) -> tuple[str, tuple[int, ...]]:
    vessels = [int(row["mmsi"])]
    if row.get("other_mmsi") is not None:
        vessels.append(int(row["other_mmsi"]))
    return row["type"], tuple(sorted(vessels))


def load_truth(path: Path) -> list[dict[str, Any]]:
    try:
        rows = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read truth file: {exc}", where=str(path)) from exc
    if not isinstance(rows, list) or any("type" not in r or "mmsi" not in r for r in rows):
        raise InputError("truth must be a JSON list of events with type, mmsi, start, end", where=str(path))
    return rows


def score(events: list[dict[str, Any]], truth: list[dict[str, Any]],
          slack_hours: float = SLACK_HOURS) -> dict[str, TypeScore]:
    slack = dt.timedelta(hours=slack_hours)
    by_key: dict[tuple[str, tuple[int, ...]], list[tuple[int, dt.datetime, dt.datetime]]] = defaultdict(list)
    for i, row in enumerate(truth):
        by_key[_key(row)].append((i, _time(row["start"]), _time(row["end"])))
    scores: dict[str, TypeScore] = {}
    for row in truth:
        scores.setdefault(row["type"], TypeScore(row["type"])).truth += 1
    matched_truth: set[int] = set()
    for event in events:
        result = scores.setdefault(event["type"], TypeScore(event["type"]))
        result.events += 1
        start, end = _time(event["start"]), _time(event["end"])
        hits = [i for i, t0, t1 in by_key.get(_key(event), []) if start <= t1 + slack and end >= t0 - slack]
        if hits:
            result.matched_events += 1
            matched_truth.update(hits)
        else:
            result.unmatched_events.append(event)
    for i, row in enumerate(truth):
        if i in matched_truth:
            scores[row["type"]].matched_truth += 1
        else:
            scores[row["type"]].missed_truth.append(row)
    return dict(sorted(scores.items()))


def evaluate_store(db: Path, truth_path: Path, types: list[str] | None = None,
                   slack_hours: float = SLACK_HOURS) -> dict[str, TypeScore]:
    """Score the events stored in `db` against `truth_path` (only the types the truth has)."""
    truth = load_truth(truth_path)
    kinds = set(types or {row["type"] for row in truth})
    truth = [r for r in truth if r["type"] in kinds]
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(
            "SELECT event_id, type, mmsi, other_mmsi, start, \"end\", lat, lon, confidence, details"
            " FROM events WHERE type IN (SELECT unnest(?))", [sorted(kinds)]
        )
        names = [d[0] for d in cursor.description]
        events = [dict(zip(names, row)) for row in cursor.fetchall()]
    finally:
        con.close()
    return score(events, truth, slack_hours)

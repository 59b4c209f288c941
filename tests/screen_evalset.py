"""A vessel-matching evaluation set built from real lists (EU Annex XLII, Ukraine's GUR list).

AIS vessels are synthesised from list entries, each with the list entities it should match:
- positives: current identity; renamed vessels (a former name with the IMO); former names
  with a legacy MMSI; name variants (prefixes, punctuation, Roman numerals, one-letter typos)
  with the MMSI or with the call sign and flag; every name of every EU Annex XLII vessel with
  its IMO;
- false friends, which must match nothing: a listed name under another valid IMO, a sister
  ship's name (another number), a near name without identifiers, the exact name alone, a
  listed MMSI reassigned to a ship with another name.
Used by tests/test_screen_accuracy.py and bench/screen.py.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from shadowtrace.identifiers import imo_digits, name_key
from shadowtrace.lists.store import add_list

EU_FILE = "eu_reg833_annexXLII_opensanctions/eu_32014R0833_consolidated.csv"
GUR_FILE = "androm2018_shadow_fleet_analysis/gur_vessels_master.csv"
_ROMAN = {"2": "II", "3": "III", "4": "IV", "5": "V"}


@dataclass
class Case:
    mmsi: int
    category: str
    names: list[str]
    imo: int | None = None
    callsign: str | None = None
    ship_type: int | None = 80
    expected_imos: set[str] = field(default_factory=set)  # list entities (by IMO) it must match


@dataclass
class EvalSet:
    cases: list[Case]
    imo_entities: dict[tuple[int, str], str]  # (list_id, entity_id) -> IMO


def _imo_check(six: int) -> int:
    digits = [int(d) for d in f"{six:06d}"]
    return sum(d * w for d, w in zip(digits, range(7, 1, -1))) % 10


def _fresh_imo(rng: random.Random, taken: set[str]) -> int:
    while True:
        six = rng.randrange(100_000, 999_999)
        imo = six * 10 + _imo_check(six)
        if f"{imo:07d}" not in taken and imo >= 1_000_000:
            taken.add(f"{imo:07d}")
            return imo


def _variant(name: str, rng: random.Random) -> str:
    """A spelling of the same name as AIS might broadcast it."""
    choice = rng.randrange(5)
    if choice == 0:
        return rng.choice(["MT ", "M/T ", "M.T. "]) + name
    if choice == 1 and " " in name:
        return name.replace(" ", rng.choice(["-", "", "  "]), 1)
    if choice == 2 and re.search(r"\b[2-5]\b", name):
        return re.sub(r"\b([2-5])\b", lambda m: _ROMAN[m.group(1)], name)
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    if choice == 3 and len(letters) >= 9:
        i = rng.choice(letters[1:-1])
        return name[:i] + name[i + 1:]  # one dropped letter (long names only)
    return name.lower()


def _near_name(name: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    i = rng.choice(letters)
    replacement = rng.choice([c for c in "AEIOUKLMNRST" if c != name[i].upper()])
    return name[:i] + replacement + name[i + 1:]


def _sister(name: str) -> str:
    match = re.search(r"(\d+)\s*$", name)
    if match:
        return name[: match.start(1)] + str(int(match.group(1)) + 1)
    return f"{name} 2"


def build(con: duckdb.DuckDBPyConnection, shared: Path, *, seed: int = 2026, per_category: int = 150) -> EvalSet:
    """Load the EU and GUR lists into ``con`` and write the synthetic AIS vessels' reports."""
    sanctions = shared / "sanctions"
    add_list(con, sanctions / EU_FILE, "eu-annex-xlii")
    add_list(con, sanctions / GUR_FILE, "gur", kind="watchlist")
    rng = random.Random(seed)
    imo_entities = {(lid, eid): norm for lid, eid, norm in con.execute(
        "SELECT list_id, entity_id, norm FROM list_identifiers WHERE kind = 'imo' AND role <> 'invalid'").fetchall()}
    taken = set(imo_entities.values())
    names_by_key: dict[str, set[str]] = {}
    for key, norm in con.execute("""SELECT n.norm, i.norm FROM list_identifiers n JOIN list_identifiers i
                                    USING (list_id, entity_id) WHERE n.kind = 'name' AND i.kind = 'imo'""").fetchall():
        names_by_key.setdefault(key, set()).add(norm)
    listed_mmsis = {r[0] for r in con.execute(
        "SELECT norm FROM list_identifiers WHERE kind = 'mmsi'").fetchall()}
    listed_callsigns = {r[0] for r in con.execute(
        "SELECT norm FROM list_identifiers WHERE kind = 'callsign'").fetchall()}

    with open(sanctions / GUR_FILE, encoding="utf-8", newline="") as handle:
        gur = [r for r in csv.DictReader(handle) if imo_digits(r["imo"])]
    with open(sanctions / EU_FILE, encoding="utf-8", newline="") as handle:
        eu = [r for r in csv.DictReader(handle) if r["annex"] == "XLII" and imo_digits(r["imoNumber"])]

    next_mmsi = iter(range(100_000_001, 199_999_999, 7))  # MID 100-199: no flag, never listed

    def fresh_mmsi(mid: int | None = None) -> int:
        while True:
            mmsi = mid * 1_000_000 + rng.randrange(1000, 999_999) if mid else next(next_mmsi)
            if str(mmsi) not in listed_mmsis:
                return mmsi

    def formers(row: dict) -> list[str]:
        # The GUR scrape has page labels ("Flags (former)") in some cells; the list reader drops them.
        return [f.strip() for f in row["former_names"].split("/")
                if f.strip() and name_key(f.strip()) and "(former)" not in f]

    cases: list[Case] = []
    sample = rng.sample(gur, min(per_category, len(gur)))
    for row in sample:
        imo = imo_digits(row["imo"]) or ""
        if row["mmsi_current"].isdigit():
            cases.append(Case(int(row["mmsi_current"]), "current_identity", [row["name"]], int(imo),
                              row["callsign"] or None, expected_imos={imo}))
    for row in rng.sample(gur, min(per_category, len(gur))):
        imo = imo_digits(row["imo"]) or ""
        if formers(row):
            cases.append(Case(fresh_mmsi(), "renamed_with_imo", [rng.choice(formers(row))], int(imo),
                              expected_imos={imo}))
    with_legacy = [r for r in gur if r["mmsi_legacy"].isdigit() and formers(r)]
    for row in rng.sample(with_legacy, min(per_category, len(with_legacy))):
        imo = imo_digits(row["imo"]) or ""
        legacy = int(row["mmsi_legacy"].split("/")[0].strip())
        cases.append(Case(legacy, "former_name_legacy_mmsi", [formers(row)[0]], None, None, expected_imos={imo}))
    with_mmsi = [r for r in gur if r["mmsi_current"].isdigit()]
    for row in rng.sample(with_mmsi, min(per_category, len(with_mmsi))):
        imo = imo_digits(row["imo"]) or ""
        cases.append(Case(int(row["mmsi_current"]), "name_variant_mmsi", [_variant(row["name"], rng)], None,
                          None, expected_imos={imo}))
    with_callsign = [r for r in with_mmsi if r["callsign"]]
    for row in rng.sample(with_callsign, min(per_category, len(with_callsign))):
        imo = imo_digits(row["imo"]) or ""
        mid = int(row["mmsi_current"][:3])
        cases.append(Case(fresh_mmsi(mid), "name_variant_callsign_flag", [_variant(row["name"], rng)], None,
                          row["callsign"], expected_imos={imo}))
    # Every EU Annex XLII vessel under each of its names, with its IMO.
    for row in eu:
        imo = imo_digits(row["imoNumber"]) or ""
        names = [row["name"]] + [n for n in re.split(r"[;|]", row.get("previousName") or "") if n.strip()]
        for name in names:
            cases.append(Case(fresh_mmsi(), "eu_name_with_imo", [name], int(imo), expected_imos={imo}))

    # False friends: nothing should match.
    def other_callsign() -> str:
        while True:
            text = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(6))
            if text not in listed_callsigns:
                return text

    for row in rng.sample(gur, min(per_category, len(gur))):
        cases.append(Case(fresh_mmsi(), "false_friend_same_name_other_imo", [row["name"]],
                          _fresh_imo(rng, taken), other_callsign()))
    for row in rng.sample(gur, min(per_category, len(gur))):
        sister = _sister(row["name"])
        if name_key(sister) in names_by_key:
            continue
        mmsi = fresh_mmsi(int(row["mmsi_current"][:3])) if row["mmsi_current"].isdigit() else fresh_mmsi()
        cases.append(Case(mmsi, "false_friend_sister_ship", [sister], None, other_callsign()))
    for row in rng.sample(gur, min(per_category, len(gur))):
        near = _near_name(row["name"], rng)
        if name_key(near) in names_by_key:
            continue
        cases.append(Case(fresh_mmsi(), "false_friend_near_name", [near], None, other_callsign()))
    for row in rng.sample(gur, min(per_category, len(gur))):
        cases.append(Case(fresh_mmsi(), "false_friend_name_only", [row["name"]], None, None))
    # A listed MMSI reassigned to another ship, which broadcasts its own name.
    unrelated = [r["name"] for r in rng.sample(gur, min(per_category, len(gur)))]
    for row, other in zip(rng.sample(with_mmsi, min(per_category, len(with_mmsi))), unrelated):
        if name_key(other) != name_key(row["name"]):
            cases.append(Case(int(row["mmsi_current"]), "false_friend_reused_mmsi", [other], None, other_callsign()))

    # One MMSI per case: drop later duplicates (the same vessel drawn twice).
    seen: set[int] = set()
    unique = []
    for case in cases:
        if case.mmsi not in seen:
            seen.add(case.mmsi)
            unique.append(case)
    _write_reports(con, unique)
    return EvalSet(unique, imo_entities)


def _write_reports(con: duckdb.DuckDBPyConnection, cases: list[Case]) -> None:
    start = dt.datetime(2026, 1, 1)
    rows = []
    for i, case in enumerate(cases):
        for j, name in enumerate(case.names):
            rows.append((case.mmsi, start + dt.timedelta(hours=j), case.imo, name, case.callsign, case.ship_type,
                         i * 10 + j + 1))
    con.register("_eval_reports", pa.table({
        "mmsi": pa.array([r[0] for r in rows], pa.int32()),
        "ts": pa.array([r[1] for r in rows], pa.timestamp("us")),
        "imo": pa.array([r[2] for r in rows], pa.int32()),
        "name": [r[3] for r in rows], "callsign": [r[4] for r in rows],
        "ship_type": pa.array([r[5] for r in rows], pa.int16()),
        "source_line": pa.array([r[6] for r in rows], pa.int64()),
    }))
    con.execute("""INSERT INTO vessel_reports (mmsi, ts, imo, name, callsign, ship_type, ingest_id, source_line)
                   SELECT mmsi, ts, imo, name, callsign, ship_type, 0, source_line FROM _eval_reports""")
    con.unregister("_eval_reports")


def score(evalset: EvalSet, matches: list) -> dict[str, dict[str, float]]:
    """Precision and recall of (vessel, list entity) pairs, overall and per category."""
    by_mmsi = {c.mmsi: c for c in evalset.cases}
    predicted: dict[int, set[str]] = {}
    for m in matches:
        if m.mmsi in by_mmsi:
            predicted.setdefault(m.mmsi, set()).add(evalset.imo_entities.get((m.list_id, m.entity_id), m.entity_id))
    out: dict[str, dict[str, float]] = {}
    totals = {"tp": 0, "fp": 0, "fn": 0}
    for category in sorted({c.category for c in evalset.cases}):
        tp = fp = fn = 0
        for case in (c for c in evalset.cases if c.category == category):
            got = predicted.get(case.mmsi, set())
            tp += len(got & case.expected_imos)
            fp += len(got - case.expected_imos)
            fn += len(case.expected_imos - got)
        totals["tp"] += tp
        totals["fp"] += fp
        totals["fn"] += fn
        n = sum(1 for c in evalset.cases if c.category == category)
        out[category] = {"vessels": n, "tp": tp, "fp": fp, "fn": fn,
                         "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0}
    tp, fp, fn = totals["tp"], totals["fp"], totals["fn"]
    out["all"] = {"vessels": len(evalset.cases), "tp": tp, "fp": fp, "fn": fn,
                  "precision": tp / (tp + fp) if tp + fp else 1.0, "recall": tp / (tp + fn) if tp + fn else 1.0}
    return out

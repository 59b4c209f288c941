"""Match AIS vessels to listed vessels: candidates by blocking, then an explained score.

Candidates come only from shared keys (IMO, MMSI, call sign, the rarer tokens of a name, the
start of its letters run together), never from all pairs. Each candidate is then scored from the
evidence: a valid IMO decides (as in OpenSanctions' matching, strong identifiers outweigh
names); otherwise MMSI (within the list's validity period), name similarity (numbers must
agree: sister ships differ only there), call sign, flag and ship type combine as independent
pieces of evidence, 1 - prod(1 - w).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache

import duckdb
import pyarrow as pa
from rapidfuzz import fuzz

from shadowtrace.identifiers import name_key, name_numbers, name_tokens
from shadowtrace.screen.ais_identity import (
    IDENTITY_VALUES,
    IDENTITY_VESSELS,
    AisIdentity,
    Used,
    identity_tables,
    read_identities,
)
from shadowtrace.store.insert import insert_arrow


@dataclass(frozen=True)
class MatchParams:
    """Weights of each piece of evidence, in [0, 1].

    Our calibration on the list-derived evaluation set (docs/accuracy.md): an IMO with a
    valid check digit identifies a hull for life (IMO Res. A.1117(30)); MMSIs are reassigned
    on reflagging, names are reused across fleets, so each alone stays below ``min_score``.
    """

    min_score: float = 0.7                 # report a match at or above this score
    imo_score: float = 0.97                # same valid IMO number
    imo_conflict_cap: float = 0.6          # both sides give valid IMOs and none agree
    mmsi_in_period_weight: float = 0.75    # same MMSI, inside the list's validity period (or none given)
    mmsi_legacy_weight: float = 0.6        # same MMSI, listed as a former (legacy) MMSI
    mmsi_out_of_period_weight: float = 0.3  # same MMSI, but broadcast outside the listed period
    name_exact_weight: float = 0.6         # normalised names equal (similarity >= name_exact_similarity)
    name_close_weight: float = 0.45        # similarity >= name_close_similarity (transliteration, typos)
    name_exact_similarity: float = 0.97    # rapidfuzz ratio / 100 of name keys counted as the same name
    name_close_similarity: float = 0.9     # below this a name is no evidence at all
    weak_alias_factor: float = 0.5         # a list's weak alias counts half
    callsign_weight: float = 0.5           # same call sign (ITU-assigned per flag, so strong but reissued)
    callsign_conflict_penalty: float = 0.15  # both give call signs and they differ (no IMO match)
    name_conflict_penalty: float = 0.2     # MMSI matches but the AIS names none of the listed names
    flag_weight: float = 0.1               # MID flag equals the listed flag (not counted when the MMSI matched)
    ship_type_weight: float = 0.05         # AIS tanker type (80-89) and a listed tanker
    block_token_max_share: float = 0.02    # tokens in more than this share of list names don't block


@dataclass
class ListedVessel:
    list_id: int
    entity_id: str
    caption: str
    sanctioned: bool
    flag: str | None
    ship_type: str | None
    names: list[tuple[str, str, str]] = field(default_factory=list)   # (key, value, role)
    imos: list[str] = field(default_factory=list)
    mmsis: list[tuple[str, str, date | None, date | None]] = field(default_factory=list)
    callsigns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    mmsi: int
    list_id: int
    entity_id: str
    score: float
    matched_on: tuple[str, ...]
    explanation: dict

    @property
    def match_id(self) -> str:
        return hashlib.md5(f"{self.mmsi}|{self.list_id}|{self.entity_id}".encode()).hexdigest()[:16]


def _prefix(key: str) -> str | None:
    squashed = key.replace(" ", "")
    return squashed[:5] if len(squashed) >= 5 else None


def _blocks(key: str, counts: Counter[str], limit: int) -> set[str]:
    """Block keys of a name: its rarer tokens, the first five letters run together (for names
    written fused or split: NORTHERNLIGHT, NORTHERN LIGHT) unless that start is common, and
    the whole key. ``counts`` holds how many list names carry each token / prefix."""
    keys = {f"t:{t}" for t in name_tokens(key) if counts[t] <= limit}
    prefix = _prefix(key)
    if prefix and counts[f"p:{prefix}"] <= limit:
        keys.add(f"p:{prefix}")
    keys.add(f"k:{key}")
    return keys


def candidates(con: duckdb.DuckDBPyConnection, params: MatchParams) -> list[tuple[int, int, str]]:
    """(mmsi, list_id, entity_id) pairs sharing an IMO, an MMSI, a call sign or a name block."""
    with identity_tables(con):
        _candidates_table(con, params)
        try:
            return con.execute("SELECT mmsi, list_id, entity_id FROM _candidates").fetchall()
        finally:
            con.execute("DROP TABLE IF EXISTS _candidates")


def _candidates_table(con: duckdb.DuckDBPyConnection, params: MatchParams) -> None:
    """The candidate pairs into TEMP TABLE _candidates (mmsi, list_id, entity_id), left in
    DuckDB: there can be millions, most of which need not reach Python. Reads the vessels'
    values from the tables of :func:`identity_tables`."""
    list_names = con.execute(
        "SELECT DISTINCT i.list_id, i.entity_id, i.norm FROM list_identifiers i WHERE i.kind = 'name'"
    ).fetchall()
    token_count: Counter[str] = Counter()
    for _, _, key in list_names:
        token_count.update(set(name_tokens(key)))
        if prefix := _prefix(key):
            token_count[f"p:{prefix}"] += 1
    limit = max(20, int(params.block_token_max_share * max(1, len(list_names))))
    list_blocks = [(lid, eid, b) for lid, eid, key in list_names for b in _blocks(key, token_count, limit)]
    ais_names = con.execute(f"SELECT DISTINCT mmsi, value FROM {IDENTITY_VALUES} WHERE kind = 'name'").fetchall()
    ais_blocks = [(m, b) for m, n in ais_names if (k := name_key(n)) for b in _blocks(k, token_count, limit)]
    con.register("_list_blocks", pa.table({
        "list_id": [r[0] for r in list_blocks], "entity_id": [r[1] for r in list_blocks],
        "block": [r[2] for r in list_blocks]}))
    con.register("_ais_blocks", pa.table({
        "mmsi": pa.array([r[0] for r in ais_blocks], pa.int32()), "block": [r[1] for r in ais_blocks]}))
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _candidates AS
            SELECT DISTINCT a.mmsi, l.list_id, l.entity_id
            FROM (SELECT DISTINCT mmsi, lpad(value, 7, '0') AS norm
                  FROM {IDENTITY_VALUES} WHERE kind = 'imo') a
            JOIN list_identifiers l ON l.kind = 'imo' AND l.role <> 'invalid' AND l.norm = a.norm
            UNION
            SELECT DISTINCT m.mmsi, l.list_id, l.entity_id
            FROM {IDENTITY_VESSELS} m
            JOIN list_identifiers l ON l.kind = 'mmsi' AND l.norm = CAST(m.mmsi AS VARCHAR)
            UNION
            SELECT DISTINCT a.mmsi, l.list_id, l.entity_id
            FROM (SELECT DISTINCT mmsi, regexp_replace(upper(value), '[^A-Z0-9]', '', 'g') AS norm
                  FROM {IDENTITY_VALUES} WHERE kind = 'callsign') a
            JOIN list_identifiers l ON l.kind = 'callsign' AND l.norm = a.norm AND length(a.norm) >= 4
            UNION  -- removes duplicates: a DISTINCT of its own here would de-duplicate millions twice
            SELECT a.mmsi, l.list_id, l.entity_id
            FROM _ais_blocks a JOIN _list_blocks l USING (block)
        """)
    finally:
        con.unregister("_list_blocks")
        con.unregister("_ais_blocks")


def load_listed(con: duckdb.DuckDBPyConnection, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], ListedVessel]:
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    con.register("_wanted_entities", pa.table({
        "list_id": pa.array([k[0] for k in wanted], pa.int32()), "entity_id": [k[1] for k in wanted]}))
    try:
        out: dict[tuple[int, str], ListedVessel] = {}
        for lid, eid, caption, sanctioned, flag, ship_type in con.execute("""
                SELECT e.list_id, e.entity_id, e.caption, e.sanctioned, e.flag, e.ship_type
                FROM list_entities e JOIN _wanted_entities USING (list_id, entity_id)
                WHERE e.schema = 'Vessel'""").fetchall():
            out[(lid, eid)] = ListedVessel(lid, eid, caption or eid, sanctioned, flag, ship_type)
        for lid, eid, kind, role, value, norm, start, end in con.execute("""
                SELECT i.list_id, i.entity_id, i.kind, i.role, i.value, i.norm, i.valid_from, i.valid_to
                FROM list_identifiers i JOIN _wanted_entities USING (list_id, entity_id)""").fetchall():
            vessel = out.get((lid, eid))
            if vessel is None:
                continue
            if kind == "name":
                vessel.names.append((norm, value, role))
            elif kind == "imo" and role != "invalid":
                vessel.imos.append(norm)
            elif kind == "mmsi":
                vessel.mmsis.append((norm, role, start, end))
            elif kind == "callsign":
                vessel.callsigns.append(norm)
        return out
    finally:
        con.unregister("_wanted_entities")


# A vessel's names are compared with every candidate's: compute the numbers of each name once.
_numbers = lru_cache(maxsize=1 << 16)(name_numbers)


def _name_similarity(a: str, b: str) -> float:
    if _numbers(a) != _numbers(b):
        return 0.0
    if a == b:
        return 1.0
    return max(fuzz.ratio(a, b), fuzz.token_sort_ratio(a, b)) / 100.0


def _overlaps(used: Used | None, start: date | None, end: date | None, ident: AisIdentity) -> bool:
    first = used.first if used else ident.first_seen
    last = used.last if used else ident.last_seen
    if first is None or last is None:
        return True
    lo = datetime.combine(start, datetime.min.time()) if start else datetime.min
    hi = datetime.combine(end, datetime.max.time()) if end else datetime.max
    return first <= hi and last >= lo


def _is_tanker(code: str) -> bool:
    return code.isdigit() and 80 <= int(code) <= 89


def score_pair(ident: AisIdentity, listed: ListedVessel, params: MatchParams) -> Match | None:
    """Score one candidate pair; None below ``params.min_score``."""
    evidence: dict[str, object] = {}
    conflicts: list[str] = []
    weights: list[float] = []
    matched_on: list[str] = []

    imo_hit = next((u for u in ident.imos if u.key in listed.imos), None)
    imo_conflict = bool(ident.imos and listed.imos and imo_hit is None)
    if imo_hit:
        evidence["imo"] = {"ais": imo_hit.value, "list": imo_hit.key, "evidence": imo_hit.evidence,
                           "first": imo_hit.first.isoformat(), "last": imo_hit.last.isoformat()}
        matched_on.append("imo")
    elif imo_conflict:
        conflicts.append(f"AIS broadcasts IMO {', '.join(u.key for u in ident.imos)}; the list gives "
                         f"{', '.join(listed.imos)}")

    mmsi_text = str(ident.mmsi)
    for norm, role, start, end in listed.mmsis:
        if norm != mmsi_text:
            continue
        if role == "legacy":
            weight, how = params.mmsi_legacy_weight, "listed as a former MMSI"
        elif _overlaps(None, start, end, ident):
            weight, how = params.mmsi_in_period_weight, "within the listed period" if (start or end) else "current"
        else:
            weight, how = params.mmsi_out_of_period_weight, "outside the listed period"
        evidence["mmsi"] = {"ais": ident.mmsi, "list": norm, "role": role, "how": how,
                            "valid_from": start.isoformat() if start else None,
                            "valid_to": end.isoformat() if end else None}
        weights.append(weight)
        matched_on.append("mmsi")
        break

    best: tuple[float, Used, tuple[str, str, str]] | None = None
    for used in ident.names:
        for listed_name in listed.names:
            similarity = _name_similarity(used.key, listed_name[0])
            if best is None or similarity > best[0]:
                best = (similarity, used, listed_name)
    if best and best[0] >= params.name_close_similarity:
        similarity, used, (key, value, role) = best
        weight = params.name_exact_weight if similarity >= params.name_exact_similarity else params.name_close_weight
        if role == "weak":
            weight *= params.weak_alias_factor
        weights.append(weight)
        matched_on.append("name")
        evidence["name"] = {"ais": used.value, "list": value, "role": role, "similarity": round(similarity, 3),
                            "evidence": used.evidence, "first": used.first.isoformat(), "last": used.last.isoformat()}

    if imo_hit and "name" not in matched_on and ident.names and listed.names:
        conflicts.append(f"AIS name {ident.names[-1].value} is not among the listed names (renamed?)")

    callsign_hit = next((u for u in ident.callsigns if u.key in listed.callsigns), None)
    if callsign_hit:
        weights.append(params.callsign_weight)
        matched_on.append("callsign")
        evidence["callsign"] = {"ais": callsign_hit.value, "evidence": callsign_hit.evidence}
    elif ident.callsigns and listed.callsigns:
        conflicts.append(f"call sign {ident.callsigns[-1].value} differs from listed {', '.join(listed.callsigns)}")

    name_conflict = (not imo_hit and "mmsi" in matched_on and "name" not in matched_on
                     and bool(ident.names) and bool(listed.names))
    if name_conflict:
        conflicts.append(f"AIS name {ident.names[-1].value} is none of the listed names")
    # The flag comes from the MMSI's MID, so it is no extra evidence when the MMSI matched.
    if ident.flag and listed.flag and ident.flag == listed.flag and matched_on and "mmsi" not in matched_on:
        weights.append(params.flag_weight)
        matched_on.append("flag")
        evidence["flag"] = {"ais_mid_flag": ident.flag, "list": listed.flag}
    if (matched_on and listed.ship_type and "tank" in listed.ship_type.lower()
            and any(_is_tanker(u.value) for u in ident.ship_types)):
        weights.append(params.ship_type_weight)
        matched_on.append("ship_type")
        evidence["ship_type"] = {"ais": [u.value for u in ident.ship_types], "list": listed.ship_type}

    combined = 1.0
    for weight in weights:
        combined *= 1.0 - weight
    score = 1.0 - combined
    if imo_hit:
        score = params.imo_score + (1.0 - params.imo_score) * score
    if not imo_hit and any(c.startswith("call sign") for c in conflicts):
        score -= params.callsign_conflict_penalty  # call signs change with the flag; the IMO outranks them
    if name_conflict:
        score -= params.name_conflict_penalty
    if imo_conflict:
        score = min(score, params.imo_conflict_cap)
    score = round(max(0.0, min(1.0, score)), 4)
    if score < params.min_score:
        return None
    explanation = {"summary": _summary(evidence, conflicts, listed), "evidence": evidence,
                   "conflicts": conflicts, "listed_caption": listed.caption}
    return Match(ident.mmsi, listed.list_id, listed.entity_id, score, tuple(matched_on), explanation)


def _summary(evidence: dict, conflicts: list[str], listed: ListedVessel) -> str:
    parts = []
    if "imo" in evidence:
        parts.append(f"IMO {evidence['imo']['list']}")
    if "mmsi" in evidence:
        parts.append(f"MMSI {evidence['mmsi']['list']} ({evidence['mmsi']['how']})")
    if "name" in evidence:
        name = evidence["name"]
        role = {"primary": "name", "alias": "alias", "previous": "former name", "weak": "weak alias"}[name["role"]]
        same = "equals" if name["similarity"] >= 0.999 else f"resembles ({name['similarity']:.2f})"
        parts.append(f"AIS name {name['ais']} {same} listed {role} {name['list']}")
    if "callsign" in evidence:
        parts.append(f"call sign {evidence['callsign']['ais']}")
    if "flag" in evidence:
        parts.append(f"flag {evidence['flag']['list'].upper()}")
    text = "; ".join(parts) + f" -> {listed.caption}"
    if conflicts:
        text += " (but " + "; ".join(conflicts) + ")"
    return text


def _without_identifier_ceiling(params: MatchParams) -> float:
    """The highest score ``score_pair`` can give a pair sharing no IMO, MMSI or call sign: a
    name, the flag and the ship type at their full weights (each weight clipped to [0, 1])."""
    name = max(params.name_exact_weight, params.name_close_weight) * max(1.0, params.weak_alias_factor)
    combined = 1.0
    for weight in (name, params.flag_weight, params.ship_type_weight):
        combined *= 1.0 - min(1.0, max(0.0, weight))
    score = 1.0 - combined + max(0.0, -params.callsign_conflict_penalty)
    return round(max(0.0, min(1.0, score)), 4)


def _identifier_pairs(identities: dict[int, AisIdentity],
                      listed: dict[tuple[int, str], ListedVessel]) -> set[tuple[int, int, str]]:
    """(mmsi, list_id, entity_id) of vessels and listed vessels with an IMO, MMSI or call sign
    in common, by the same keys ``score_pair`` compares."""
    imos: dict[str, list[tuple[int, str]]] = {}
    mmsis: dict[str, list[tuple[int, str]]] = {}
    callsigns: dict[str, list[tuple[int, str]]] = {}
    for key, vessel in listed.items():
        for imo in vessel.imos:
            imos.setdefault(imo, []).append(key)
        for norm, *_ in vessel.mmsis:
            mmsis.setdefault(norm, []).append(key)
        for callsign in vessel.callsigns:
            callsigns.setdefault(callsign, []).append(key)
    out: set[tuple[int, int, str]] = set()
    for mmsi, ident in identities.items():
        keys = [k for u in ident.imos for k in imos.get(u.key, ())]
        keys += mmsis.get(str(mmsi), [])
        keys += [k for u in ident.callsigns for k in callsigns.get(u.key, ())]
        out.update((mmsi, list_id, entity_id) for list_id, entity_id in keys)
    return out


def match_vessels(con: duckdb.DuckDBPyConnection, params: MatchParams | None = None) -> list[Match]:
    """Every match at or above ``params.min_score``, best first per vessel."""
    params = params or MatchParams()
    with identity_tables(con):
        return _match_vessels(con, params)


def _match_vessels(con: duckdb.DuckDBPyConnection, params: MatchParams) -> list[Match]:
    _candidates_table(con, params)
    try:
        mmsis = [r[0] for r in con.execute("SELECT DISTINCT mmsi FROM _candidates ORDER BY mmsi").fetchall()]
        if not mmsis:
            return []
        identities = read_identities(con, mmsis)
        listed = load_listed(con, con.execute("SELECT DISTINCT list_id, entity_id FROM _candidates").fetchall())
        if _without_identifier_ceiling(params) < params.min_score:
            # With these weights a name (with flag and ship type) alone stays below min_score, so
            # only pairs sharing an identifier can match: score just those (name blocks bring
            # most candidates, and most share nothing else).
            shared = sorted(_identifier_pairs(identities, listed))
            con.register("_shared", pa.table({
                "mmsi": pa.array([p[0] for p in shared], pa.int32()),
                "list_id": pa.array([p[1] for p in shared], pa.int32()),
                "entity_id": pa.array([p[2] for p in shared], pa.string())}))
            try:
                pairs = con.execute("""SELECT mmsi, list_id, entity_id FROM _shared
                                       SEMI JOIN _candidates USING (mmsi, list_id, entity_id)""").fetchall()
            finally:
                con.unregister("_shared")
        else:
            pairs = con.execute("SELECT mmsi, list_id, entity_id FROM _candidates").fetchall()
    finally:
        con.execute("DROP TABLE IF EXISTS _candidates")
    matches = []
    for mmsi, list_id, entity_id in pairs:
        ident = identities.get(mmsi)
        vessel = listed.get((list_id, entity_id))
        if ident is None or vessel is None:
            continue
        found = score_pair(ident, vessel, params)
        if found:
            matches.append(found)
    matches.sort(key=lambda m: (m.mmsi, -m.score, m.list_id, m.entity_id))
    return matches


def store_matches(con: duckdb.DuckDBPyConnection, matches: list[Match]) -> None:
    con.execute("DELETE FROM screen_matches")
    insert_arrow(con, "screen_matches", pa.table({
        "match_id": [m.match_id for m in matches],
        "mmsi": pa.array([m.mmsi for m in matches], pa.int32()),
        "list_id": pa.array([m.list_id for m in matches], pa.int32()),
        "entity_id": [m.entity_id for m in matches],
        "score": [m.score for m in matches],
        "matched_on": [list(m.matched_on) for m in matches],
        "explanation": [json.dumps(m.explanation) for m in matches],
    }))

"""Ownership exposure: from a matched listed vessel up its owners, managers and operators to
any sanctioned party, with the OFAC / EU 50% rule applied where the lists give shares.

OFAC (FAQs 398, 401): an entity owned 50% or more, directly or indirectly, individually or
in aggregate, by blocked persons is itself blocked. The EU's best practices (July 2024) use the
same aggregated 50% test and also reach entities a designated person controls: directorships
and operator / manager links are reported as control, without a share.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass

import duckdb

from shadowtrace.screen.match import Match

BLOCKING_SHARE_PERCENT = 50.0  # OFAC 50% rule; EU Council best practices (2024)


@dataclass(frozen=True)
class Link:
    kind: str          # ownership | operator | manager | directorship
    source_id: str     # owner, operator, director
    target_id: str     # asset, vessel, organisation
    percent: float | None
    role: str | None


@dataclass(frozen=True)
class Party:
    entity_id: str
    caption: str
    schema: str
    sanctioned: bool
    lists: tuple[str, ...]


@dataclass(frozen=True)
class Exposure:
    mmsi: int
    list_id: int | None
    entity_id: str
    percent: float | None
    details: dict
    kind: str = "ownership"
    event_id: str | None = None

    @property
    def exposure_id(self) -> str:
        key = f"{self.kind}|{self.mmsi}|{self.entity_id}|{self.event_id or ''}"
        return hashlib.md5(key.encode()).hexdigest()[:16]


class OwnershipGraph:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.parents: dict[str, list[Link]] = defaultdict(list)
        for kind, source, target, percent, role in con.execute(
                "SELECT DISTINCT kind, source_id, target_id, percent, role FROM list_links").fetchall():
            self.parents[target].append(Link(kind, source, target, percent, role))
        self.parties: dict[str, Party] = {}
        self.party_list: dict[str, int] = {}
        for entity_id, caption, schema, sanctioned, lists, list_id in con.execute("""
                SELECT e.entity_id, any_value(e.caption), any_value(e.schema), bool_or(e.sanctioned),
                       list(DISTINCT l.name ORDER BY l.name), min(e.list_id) FILTER (WHERE e.sanctioned)
                FROM list_entities e JOIN lists l USING (list_id) GROUP BY e.entity_id""").fetchall():
            self.parties[entity_id] = Party(entity_id, caption or entity_id, schema, bool(sanctioned), tuple(lists))
            if list_id is not None:
                self.party_list[entity_id] = list_id
        self.blocked_share, self.blocked = self._blocked_shares()

    def party(self, entity_id: str) -> Party:
        return self.parties.get(entity_id) or Party(entity_id, entity_id, "LegalEntity", False, ())

    def _blocked_shares(self) -> tuple[dict[str, float], set[str]]:
        """Aggregate share held by blocked owners, for every owned entity (fixpoint: blocked
        status flows down chains of >= 50% holdings)."""
        blocked = {e for e, p in self.parties.items() if p.sanctioned}
        shares: dict[str, float] = {}
        changed = True
        while changed:
            changed = False
            for target, links in self.parents.items():
                share = sum(link.percent or 0.0 for link in links
                            if link.kind == "ownership" and link.source_id in blocked)
                shares[target] = share
                if share >= BLOCKING_SHARE_PERCENT and target not in blocked:
                    blocked.add(target)
                    changed = True
        return shares, blocked

    def paths_to_sanctioned(self, start: str, max_depth: int) -> list[list[tuple[Link, Party]]]:
        """Every chain of links (shortest first) from ``start`` up to a sanctioned party."""
        found: list[list[tuple[Link, Party]]] = []
        frontier: list[tuple[str, list[tuple[Link, Party]]]] = [(start, [])]
        for _ in range(max_depth):
            nxt = []
            for node, path in frontier:
                visited = {start} | {p.entity_id for _, p in path}
                for link in self.parents.get(node, []):
                    if link.source_id in visited:
                        continue
                    party = self.party(link.source_id)
                    step = path + [(link, party)]
                    if party.sanctioned:
                        found.append(step)
                    else:
                        nxt.append((link.source_id, step))
            frontier = nxt
        return found


def _describe(link: Link) -> str:
    if link.kind == "ownership":
        share = f"{link.percent:g}%" if link.percent is not None else "percent unknown"
        return f"owned ({share})"
    return {"operator": "operated", "manager": "managed", "directorship": "directed"}.get(link.kind, link.kind)


def ownership_exposures(con: duckdb.DuckDBPyConnection, matches: list[Match], max_depth: int) -> list[Exposure]:
    graph = OwnershipGraph(con)
    out: dict[tuple[int, str], Exposure] = {}
    for match in matches:
        for path in graph.paths_to_sanctioned(match.entity_id, max_depth):
            top = path[-1][1]
            shares = [link.percent for link, _ in path if link.kind == "ownership"]
            unknown = any(link.kind == "ownership" and link.percent is None for link, _ in path)
            control_only = any(link.kind != "ownership" for link, _ in path)
            majority_chain = not unknown and not control_only and all(
                s is not None and s >= BLOCKING_SHARE_PERCENT for s in shares)
            vessel_share = graph.blocked_share.get(match.entity_id)
            # Blocked if the whole chain is held at >= 50%, or if blocked owners together hold
            # >= 50% of the vessel (the rule's "in aggregate").
            blocked = majority_chain or match.entity_id in graph.blocked
            steps = [{"entity_id": p.entity_id, "name": p.caption, "schema": p.schema, "link": link.kind,
                      "percent": link.percent, "role": link.role, "sanctioned": p.sanctioned,
                      "lists": list(p.lists)} for link, p in path]
            chain = " <- ".join([graph.party(match.entity_id).caption]
                                + [f"{_describe(link)} by {p.caption}" for link, p in path])
            if majority_chain:
                rule = "blocked under the 50% rule (every step >= 50%)"
            elif blocked:
                rule = f"blocked under the 50% rule (blocked owners hold {vessel_share:g}% in aggregate)"
            elif unknown:
                rule = "percent unknown"
            elif control_only:
                rule = "control link, no ownership share"
            else:
                rule = "below the 50% rule at some step"
            details = {
                "vessel_entity_id": match.entity_id, "depth": len(path), "path": steps,
                "fifty_percent_rule": True if blocked else (None if unknown or control_only else False),
                "aggregate_blocked_share_of_vessel": vessel_share,
                "text": f"{chain} (sanctioned; {rule})",
            }
            percent = None if unknown or control_only else min(s for s in shares if s is not None)
            exposure = Exposure(match.mmsi, graph.party_list.get(top.entity_id), top.entity_id, percent, details)
            key = (match.mmsi, top.entity_id)
            if key not in out or len(path) < out[key].details["depth"]:
                out[key] = exposure
    return list(out.values())

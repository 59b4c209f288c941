"""Flatten FollowTheMoney entities into the store's list tables (one job: rows out)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date

from followthemoney import ValueEntity

from shadowtrace.identifiers import (
    callsign_key,
    imo_digits,
    mmsi_digits,
    name_key,
    split_former_names,
)
from shadowtrace.lists.model import SANCTION_TOPIC, IdentifierNote, ListRead

PARTY_SCHEMAS = ("Vessel", "Company", "Organization", "LegalEntity", "Person", "PublicBody")
_NAME_ROLES = (("name", "primary"), ("alias", "alias"), ("previousName", "previous"),
               ("weakAlias", "weak"))
_LINK_SCHEMAS = {
    # schema: (kind, source property, target property)
    "Ownership": ("ownership", "owner", "asset"),
    "Directorship": ("directorship", "director", "organization"),
}


def _date(values: list[str]) -> date | None:
    for value in sorted(values):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            continue
    return None


def _percent(values: list[str]) -> float | None:
    for value in values:
        try:
            share = float(str(value).strip().rstrip("%").replace(",", "."))
        except ValueError:
            continue
        if 0 <= share <= 100:
            return share
    return None


def designations(read: ListRead) -> dict[str, list[ValueEntity]]:
    """Sanction entities by the id of the entity they designate."""
    out: dict[str, list[ValueEntity]] = {}
    for entity in read.entities.values():
        if entity.schema.name == "Sanction":
            for target in entity.get("entity", quiet=True):
                out.setdefault(target, []).append(entity)
    return out


def entity_rows(read: ListRead, list_id: int) -> Iterator[tuple]:
    by_target = designations(read)
    for entity in read.entities.values():
        if entity.schema.name not in PARTY_SCHEMAS and not entity.schema.is_a("LegalEntity"):
            continue
        sanctions = by_target.get(entity.id or "", [])
        topics = sorted(set(entity.get("topics", quiet=True)))
        sanctioned = SANCTION_TOPIC in topics or bool(sanctions)
        programs = sorted({p for s in sanctions for p in s.get("program", quiet=True)} | set(entity.get("program", quiet=True)))
        since = _date([d for s in sanctions for d in s.get("listingDate", quiet=True) + s.get("startDate", quiet=True)]
                      or entity.get("createdAt", quiet=True))  # watch lists keep their listing date there
        flags = entity.get("flag", quiet=True) or (entity.get("country", quiet=True) if entity.schema.name == "Vessel" else [])
        yield (
            list_id, entity.id, entity.schema.name, entity.caption, sanctioned, topics,
            programs, since, flags[0] if flags else None,
            (entity.get("type", quiet=True) or [None])[0] if entity.schema.name == "Vessel" else None,
            read.refs.get(entity.id or ""), json.dumps(entity.to_dict()["properties"], ensure_ascii=False),
        )


def identifier_rows(read: ListRead, list_id: int) -> Iterator[tuple]:
    for entity in read.entities.values():
        if entity.schema.name != "Vessel":
            continue
        eid = entity.id or ""

        def row(kind: str, role: str, value: str, norm: str, eid: str = eid) -> tuple:
            note = read.notes.get((eid, kind, value)) or IdentifierNote()
            if kind in ("imo", "mmsi") and note.role != "current":
                role = note.role
            return (list_id, eid, kind, role, value, norm, note.valid_from, note.valid_to)

        for value in entity.get("imoNumber", quiet=True):
            digits = imo_digits(value)
            yield row("imo", "current" if digits else "invalid", value,
                      digits or "".join(ch for ch in value if ch.isdigit()))
        for value in entity.get("mmsi", quiet=True):
            digits = mmsi_digits(value)
            if digits:
                yield row("mmsi", "current", value, digits)
        for value in entity.get("callSign", quiet=True):
            key = callsign_key(value)
            if key:
                yield row("callsign", "current", value, key)
        seen: set[tuple[str, str]] = set()
        for prop, role in _NAME_ROLES:
            for value in entity.get(prop, quiet=True):
                main, former = split_former_names(value)
                for text, text_role in [(main, role)] + [(f, "previous") for f in former]:
                    key = name_key(text)
                    if key and (key, text_role) not in seen:
                        seen.add((key, text_role))
                        yield row("name", text_role, text, key)


def link_rows(read: ListRead, list_id: int) -> Iterator[tuple]:
    for entity in read.entities.values():
        schema = entity.schema.name
        if schema in _LINK_SCHEMAS:
            kind, source_prop, target_prop = _LINK_SCHEMAS[schema]
            for source in entity.get(source_prop, quiet=True):
                for target in entity.get(target_prop, quiet=True):
                    role = (entity.get("role", quiet=True) or entity.get("ownershipType", quiet=True) or [None])[0]
                    yield (list_id, entity.id, kind, source, target, _percent(entity.get("percentage", quiet=True)),
                           role, _date(entity.get("startDate", quiet=True)), _date(entity.get("endDate", quiet=True)))
        elif schema == "Vessel":
            # Vessel.owner / Vessel.operator: direct links without a share.
            for prop, kind in (("owner", "ownership"), ("operator", "operator")):
                for source in entity.get(prop, quiet=True):
                    yield (list_id, f"{entity.id}-{prop}-{source}", kind, source, entity.id, None,
                           prop, None, None)

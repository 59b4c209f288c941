"""What a list reader hands to the store: FollowTheMoney entities plus what FtM cannot say.

Every format (FtM JSON lines, OFAC SDN CSV, the EU journal CSV, plain vessel lists) is read
into FollowTheMoney entities, so one writer flattens them all into the store. Designations
are FtM's: a ``sanction`` topic or a ``Sanction`` entity pointing at the entity; watch lists
use OpenSanctions' ``mare.shadow`` topic (shadow-fleet vessel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from followthemoney import ValueEntity, model

SANCTION_TOPIC = "sanction"
SHADOW_FLEET_TOPIC = "mare.shadow"


@dataclass(frozen=True)
class IdentifierNote:
    """Role and validity period of one identifier value where a list gives them
    (e.g. GUR's legacy MMSIs, the FtM shadow-fleet MMSI history)."""

    role: str = "current"  # current | legacy
    valid_from: date | None = None
    valid_to: date | None = None


@dataclass
class ListRead:
    """The content of one list file (or file set), ready to store."""

    format: str
    files: list[Path]
    entities: dict[str, ValueEntity] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # entity id -> "file:line"
    notes: dict[tuple[str, str, str], IdentifierNote] = field(default_factory=dict)
    skipped: int = 0  # rows left out because they name no ship (no IMO, no MMSI)

    def add(self, entity: ValueEntity, ref: str | None = None) -> ValueEntity:
        """Add (or merge into the entity of the same id) and remember where it came from."""
        if not entity.id:
            raise ValueError("list entities need an id")
        known = self.entities.get(entity.id)
        if known is None:
            self.entities[entity.id] = entity
        else:
            known.merge(entity)
            entity = known
        if ref and entity.id not in self.refs:
            self.refs[entity.id] = ref
        return entity

    def note(self, entity_id: str, kind: str, value: str, note: IdentifierNote) -> None:
        self.notes[(entity_id, kind, value)] = note


def make(schema: str, entity_id: str) -> ValueEntity:
    entity = model.make_entity(schema)
    entity.id = entity_id
    return entity  # type: ignore[return-value]


def designate(read: ListRead, entity: ValueEntity, *, authority: str, program: str | None,
              start: str | None, ref: str | None, reason: str | None = None) -> None:
    """Mark ``entity`` as sanctioned with a Sanction entity, as OpenSanctions does."""
    entity.add("topics", SANCTION_TOPIC)
    slug = re.sub(r"[^a-z0-9]+", "-", (program or authority).lower()).strip("-")
    sanction = make("Sanction", f"{entity.id}-sanction-{slug}")
    sanction.add("entity", entity.id)
    sanction.add("authority", authority)
    if program:
        sanction.add("program", program)
    if start:
        sanction.add("startDate", start)
    if reason:
        sanction.add("reason", reason)
    read.add(sanction, ref)

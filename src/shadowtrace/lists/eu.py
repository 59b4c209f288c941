"""OpenSanctions' transcription of EU Official Journal sanctions acts (CSV).

Consolidated files (header starts ``celex,``) hold a framework act's annexes, amendment files
(``amendedCelex,``) one amending act's additions; see FORMAT_upstream.md beside the samples.
One row is one entity in one legal context (program, annex, measure).
"""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from followthemoney import model as ftm_model

from shadowtrace.errors import InputError
from shadowtrace.identifiers import imo_digits
from shadowtrace.lists.model import ListRead, designate, make
from shadowtrace.lists.plain import add_imo, iso_date
from shadowtrace.lists.text import open_text

_HEADS = ("celex,", "amendedcelex,")
_REQUIRED = ("recordId", "programKey", "annex", "measure", "startDate", "schema", "name")
# Multi-valued entity columns read; each is added only where the schema has the property.
_MULTI = ("alias", "weakAlias", "previousName", "country", "nationality", "jurisdiction",
          "mmsi", "flag", "address", "registrationNumber", "innCode", "ogrnCode", "imoNumber")


def looks_like(first_line: str) -> bool:
    return first_line.lstrip("\ufeff").strip().lower().startswith(_HEADS)


def _split(cell: str) -> list[str]:
    """Values of a multi-valued cell: "; "-separated, quoted where a value holds ";"."""
    if not cell.strip():
        return []
    row = next(csv.reader([cell], delimiter=";", skipinitialspace=True), [])
    return [v.strip() for v in row if v.strip()]


def _schema(name: str) -> str:
    schema = ftm_model.get(name.strip())
    if schema is None or schema.abstract or not (schema.is_a("LegalEntity") or schema.is_a("Asset")):
        return "LegalEntity"
    return schema.name


def read(path: Path, encoding: str | None = None) -> ListRead:
    read = ListRead(format="eu_journal", files=[path])
    with open_text(path, encoding) as lines:
        reader = csv.reader(lines)
        header = [c.strip().lstrip("\ufeff") for c in next(reader, [])]
        if not header or not looks_like(",".join(header)):
            raise InputError("not an EU journal CSV (the header must start with celex or amendedCelex)",
                             where=f"{path}:1")
        missing = [c for c in _REQUIRED if c not in header]
        if missing:
            raise InputError(f"EU journal CSV without column(s) {', '.join(missing)}", where=f"{path}:1")
        # Amendments name the framework act they amend: their rows get the same ids as the
        # consolidated file that will later include them.
        celex_column = "amendedCelex" if "amendedCelex" in header else "celex"
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            where = f"{path}:{reader.line_num}"
            if len(row) != len(header):
                raise InputError(f"{len(row)} cells where the header has {len(header)}", where=where)
            rec = {k: v.strip() for k, v in zip(header, row)}
            schema, name = _schema(rec["schema"]), rec["name"]
            if not name:
                raise InputError("row without a name", where=where)
            annex = rec["annex"]
            # recordId is only unique within an annex, and some annexes print none.
            key = rec["recordId"]
            if not key:
                imo = next((d for v in _split(rec.get("imoNumber", "")) if (d := imo_digits(v))), None)
                key = f"imo{imo}" if imo else "n" + hashlib.sha1(f"{schema}:{name}".encode()).hexdigest()[:10]
            entity_id = "-".join(p for p in ("eu", rec[celex_column], annex, key) if p)
            known = read.entities.get(entity_id)
            if known is not None and known.schema.name != schema:
                entity_id += f"-{schema.lower()}"  # same printed number, another kind of entity
            entity = make(schema, entity_id)
            entity.add("name", name)  # "X (ex Y)" is split into names by flatten
            for column in _MULTI:
                values = _split(rec.get(column, ""))
                if not values or not entity.schema.get(column):
                    continue
                if column == "imoNumber":
                    for value in values:
                        add_imo(entity, value)
                else:
                    entity.add(column, values, quiet=True)
            entity = read.add(entity, where)
            program = f"{rec['programKey']} Annex {annex}" if annex else rec["programKey"]
            designate(read, entity, authority="EU", program=program or None,
                      start=iso_date(rec["startDate"]), ref=where, reason=rec["measure"] or None)
            sanction = read.entities.get(f"{entity.id}-sanction-{program or 'EU'}")
            if sanction is not None and rec.get("reason"):
                sanction.add("reason", rec["reason"])  # the act's printed ground for listing
    return read

"""OFAC SDN list in its legacy CSV form (sdn.csv, with alt.csv aliases beside it).

No header; twelve columns; "-0-" marks an empty cell; latin-1. Vessel identifiers (IMO,
MMSI), former names and former flags are only written in the free-text Remarks column.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from followthemoney import ValueEntity

from shadowtrace.errors import InputError
from shadowtrace.identifiers import mmsi_digits
from shadowtrace.lists.model import ListRead, designate, make
from shadowtrace.lists.plain import add_imo
from shadowtrace.lists.text import open_text

COLUMNS = ("ent_num", "SDN_Name", "SDN_Type", "Program", "Title", "Call_Sign", "Vess_type",
           "Tonnage", "GRT", "Vess_flag", "Vess_owner", "Remarks")
ALT_COLUMNS = ("ent_num", "alt_num", "alt_type", "alt_name", "alt_remarks")
_TYPES = {"", "individual", "vessel", "aircraft", "entity"}
_EOF = "\x1a"  # DOS end-of-file byte that OFAC files end with
_IMO = re.compile(r"\bIMO\s*(\d+)|Vessel Registration Identification\s+(?:IMO\s*)?(\d+)")
_MMSI = re.compile(r"\bMMSI\s*(\d+)")
_QUOTED = r"\s*'(.+?)'(?=[.;,]|\s*$)"
_FKA = re.compile(r"\bf\.k\.a\." + _QUOTED)
_AKA = re.compile(r"\b[an]\.k\.a\." + _QUOTED)
_FORMER_NAME = re.compile(r"Former Vessel Name:?\s+([^;]+?)\.?(?:;|$)")
_FORMER_FLAG = re.compile(r"Former Vessel Flag\s+([^;]+?)\.?(?:;|$)")
_BUILT = re.compile(r"Vessel Year of Build\s+(\d{4})")


def _clean(cell: str) -> str:
    cell = cell.strip()
    return "" if cell == "-0-" else cell


def _is_eof(row: list[str]) -> bool:
    return all(not c.strip(" \r\n" + _EOF) for c in row)


def looks_like(rows: list[list[str]]) -> bool:
    rows = [r for r in rows if not _is_eof(r)]
    return bool(rows) and all(
        len(r) == len(COLUMNS) and r[0].strip().isdigit() and _clean(r[2]).lower() in _TYPES
        for r in rows
    )


@dataclass
class _Row:
    ent_num: str
    cells: dict[str, str]
    ref: str


def _rows(path: Path, encoding: str, width: int) -> list[_Row]:
    out = []
    with open_text(path, encoding) as lines:
        reader = csv.reader(lines)
        for row in reader:
            if _is_eof(row):
                continue
            where = f"{path}:{reader.line_num}"
            if len(row) != width or not row[0].strip().isdigit():
                raise InputError(f"expected {width} cells starting with an entry number, found "
                                 f"{len(row)}", where=where,
                                 hint="OFAC legacy CSV: sdn.csv has 12 columns, alt.csv 5")
            names = COLUMNS if width == len(COLUMNS) else ALT_COLUMNS
            out.append(_Row(row[0].strip(), {k: _clean(v) for k, v in zip(names, row)}, where))
    return out


def alt_file(path: Path) -> Path | None:
    """alt.csv beside sdn.csv, or <prefix>_alt.csv beside <prefix>_sdn.csv."""
    candidates = []
    if path.stem.lower().endswith("sdn"):
        candidates.append(path.with_name(path.stem[:-3] + "alt" + path.suffix))
    candidates.append(path.with_name("alt.csv"))
    return next((c for c in candidates if c != path and c.is_file()), None)


def _programs(cell: str) -> list[str]:
    return [p.strip(" []") for p in re.split(r"\]\s*\[", cell) if p.strip(" []")]


def _name_index(rows: list[_Row], aliases: dict[str, list[_Row]]) -> dict[str, str]:
    """Upper-case name -> ent_num of the one non-vessel entry so named (alt.csv aliases where
    no primary name matches: OFAC writes vessel owners as 'NITC', an a.k.a. of NITC)."""
    def unique(pairs: list[tuple[str, str]]) -> dict[str, str]:
        seen: dict[str, set[str]] = {}
        for name, ent in pairs:
            seen.setdefault(name.upper(), set()).add(ent)
        return {n: next(iter(e)) for n, e in seen.items() if len(e) == 1}

    parties = [r for r in rows if r.cells["SDN_Type"].lower() not in ("vessel", "aircraft")]
    index = unique([(r.cells["alt_name"], r.ent_num) for p in parties
                    for r in aliases.get(p.ent_num, []) if r.cells["alt_name"]])
    index.update(unique([(r.cells["SDN_Name"], r.ent_num) for r in parties if r.cells["SDN_Name"]]))
    return index


def _vessel(entity: ValueEntity, cells: dict[str, str]) -> None:
    remarks = cells["Remarks"]
    entity.add("callSign", cells["Call_Sign"])
    entity.add("type", cells["Vess_type"])
    entity.add("tonnage", cells["Tonnage"].replace(",", ""), quiet=True)
    entity.add("grossRegisteredTonnage", cells["GRT"].replace(",", ""), quiet=True)
    entity.add("flag", cells["Vess_flag"], quiet=True)  # FtM maps country names to codes
    for match in _IMO.finditer(remarks):
        add_imo(entity, match.group(1) or match.group(2))
    entity.add("mmsi", [m for v in _MMSI.findall(remarks) if (m := mmsi_digits(v))])
    entity.add("previousName", [n.strip() for n in _FORMER_NAME.findall(remarks)])
    entity.add("pastFlags", [f.strip() for f in _FORMER_FLAG.findall(remarks)], quiet=True)
    entity.add("buildDate", _BUILT.findall(remarks), quiet=True)


def read(path: Path, encoding: str | None = None) -> ListRead:
    encoding = encoding or "latin-1"
    read = ListRead(format="ofac_sdn", files=[path])
    rows = _rows(path, encoding, len(COLUMNS))
    aliases: dict[str, list[_Row]] = {}
    alt = alt_file(path)
    if alt is not None:
        read.files.append(alt)
        for row in _rows(alt, encoding, len(ALT_COLUMNS)):
            aliases.setdefault(row.ent_num, []).append(row)
    index = _name_index(rows, aliases)

    for row in rows:
        cells = row.cells
        kind = cells["SDN_Type"].lower()
        if kind == "aircraft":
            continue
        schema = {"vessel": "Vessel", "individual": "Person"}.get(kind, "LegalEntity")
        entity = make(schema, f"ofac-{row.ent_num}")
        entity.add("name", cells["SDN_Name"])
        remarks = cells["Remarks"]
        entity.add("previousName", _FKA.findall(remarks))
        entity.add("alias", _AKA.findall(remarks))
        if remarks:
            entity.add("notes", remarks)
        if schema == "Person":
            entity.add("position", cells["Title"])
        if schema == "Vessel":
            _vessel(entity, cells)
            owner = cells["Vess_owner"]
            target = index.get(owner.upper()) if owner else None
            if target and target != row.ent_num:
                entity.add("owner", f"ofac-{target}")  # a direct link; OFAC gives no share
            elif owner:
                entity.add("notes", f"Owner as listed: {owner}")
        for alias in aliases.get(row.ent_num, []):
            prop = "previousName" if alias.cells["alt_type"].lower() == "fka" else "alias"
            entity.add(prop, alias.cells["alt_name"])
        entity = read.add(entity, row.ref)
        programs: list[str | None] = list(_programs(cells["Program"])) or [None]
        for program in programs:
            designate(read, entity, authority="OFAC", program=program, start=None, ref=row.ref)
    return read

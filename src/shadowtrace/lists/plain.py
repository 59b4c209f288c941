"""Plain vessel lists: a CSV with a header, or JSON objects, keyed by IMO number.

Covers the many home-made shadow-fleet lists (GUR's War & Sanctions scrape, per-IMO
sanctions flags, KSE's tanker list, OFAC extracts as JSON). Columns are recognised by name,
case-insensitively, with the synonyms these lists use; unknown columns are ignored.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date
from pathlib import Path

from followthemoney import ValueEntity

from shadowtrace.errors import InputError
from shadowtrace.identifiers import imo_digits, mmsi_digits
from shadowtrace.lists.model import SHADOW_FLEET_TOPIC, IdentifierNote, ListRead, designate, make
from shadowtrace.lists.text import open_text

# role -> accepted column names (normalised: lower case, "_" for other characters)
COLUMNS: dict[str, tuple[str, ...]] = {
    "imo": ("imo", "imo_number", "imonumber", "vessel_imo", "gur_imo"),
    "mmsi": ("mmsi", "mmsi_current"),
    "legacy_mmsi": ("mmsi_legacy", "former_mmsi", "previous_mmsi"),
    "name": ("name", "vessel_name", "ship_name"),
    "former": ("former_names", "previous_names"),
    "alias": ("aliases",),
    "flag": ("flag", "flag_state"),
    "callsign": ("callsign", "call_sign"),
    "type": ("vessel_type", "type", "ship_type"),
    "list": ("list", "list_name", "sanctions_sources", "sanction_country"),
    "program": ("program", "programs"),
    "listed": ("listing_date", "listed_since", "earliest_sanction_date", "designation_date",
               "date_listed"),
    "valid_from": ("start_date", "valid_from"),
    "valid_to": ("end_date", "valid_to"),
    "built": ("build_year", "buildyear", "built_year", "year_built"),
    "dwt": ("dwt", "deadweight"),
    "gross": ("gross_tonnage", "grt"),
}
# Boolean columns that say which authority lists the vessel (sanctions_by_imo.csv).
AUTHORITY_FLAGS = {"ofac": "OFAC", "uk": "UK", "eu": "EU", "un": "UN", "us": "US"}
_TRUE = {"true", "1", "yes", "y", "x", "t"}
_FALSE = {"false", "0", "no", "n", "f", ""}
# Empty markers, and GUR page labels that its scrape left in value cells ("Call sign").
_PLACEHOLDERS = {"-", "--", "-0-", "n/a", "na", "none", "null", "nan", "unknown", "call sign",
                 "vessel name", "vessel type", "flags (former)", "former names"}
_NAME_SPLIT = re.compile(r"\s*[/;|]\s*")
_LIST_SPLIT = re.compile(r"\s*[,;|]\s*")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


def column_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def _header_cells(row: list[str]) -> list[str]:
    # A ";"-, tab- or "|"-separated header arrives from a comma CSV reader as one cell.
    if len(row) == 1:
        return re.split(r"[;\t|]", row[0])
    return row


def looks_like(rows: list[list[str]]) -> bool:
    if not rows:
        return False
    return any(column_key(c) in COLUMNS["imo"] for c in _header_cells(rows[0]))


def looks_like_vessel_table(rows: list[list[str]]) -> bool:
    """A header naming vessel columns but no IMO column: a plain list missing its IMO column
    (read() then says so), rather than an unknown format."""
    known = {name for field, names in COLUMNS.items() if field != "imo" for name in names}
    cells = [column_key(c) for c in _header_cells(rows[0])] if rows else []
    return len(cells) >= 2 and any(c in known for c in cells)


def iso_date(text: str, month_first: bool = False) -> str | None:
    """ISO form of a listed date: ISO (maybe with a time), d.m.yyyy, d/m/yyyy (m/d/yyyy with
    ``month_first``) or '12 March 2022'. Partial ISO dates stay partial; None if unreadable."""
    text = text.strip()
    if match := re.fullmatch(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?(?:[T ].*)?", text):
        year, month, day = match.groups()
        if month is None:
            return year
        if day is None:
            return f"{year}-{int(month):02d}" if 1 <= int(month) <= 12 else None
        return _checked_date(int(year), int(month), int(day))
    if match := re.fullmatch(r"(\d{1,2})([./])(\d{1,2})\2(\d{4})", text):
        first, sep, second, year = match.groups()
        day, month = (second, first) if sep == "/" and month_first else (first, second)
        return _checked_date(int(year), int(month), int(day))
    if match := re.fullmatch(r"(\d{1,2})\s+([A-Za-z]{3})[a-z]*\.?,?\s+(\d{4})", text):
        day, month_name, year = match.groups()
        month_number = _MONTHS.get(month_name.lower())
        return _checked_date(int(year), month_number, int(day)) if month_number else None
    return None


def _checked_date(year: int, month: int, day: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def imo_candidate(value: str) -> bool:
    """False for cells that hold no number at all ("Does not exist", "0")."""
    return bool("".join(ch for ch in value if ch.isdigit()).strip("0"))


def add_imo(entity: ValueEntity, value: str) -> str | None:
    """Add an IMO number; one failing the check digit is kept as listed (stored as "invalid")
    where FtM would drop it. Returns the seven digits when valid."""
    value = value.strip()
    if not imo_candidate(value):
        return None
    digits = imo_digits(value)
    if digits:
        entity.add("imoNumber", digits)
    else:
        entity.add("imoNumber", value, cleaned=True)
    return digits


def _number(value: str) -> str:
    return value.replace(",", "").strip()


def _cells(value: object) -> list[str]:
    """JSON or CSV value as a list of non-empty strings (placeholders dropped)."""
    if value is None or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [c for item in value for c in _cells(item)]
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 9187629.0 from a JSON writer is the number 9187629
    text = str(value).strip()
    return [] if text.lower() in _PLACEHOLDERS else [text]


def _records_csv(text: str, path: Path) -> tuple[list[str], list[tuple[str, dict[str, list[str]]]]]:
    first = text.split("\n", 1)[0]
    delimiter = ","
    for candidate in (",", ";", "\t", "|"):
        header = next(csv.reader([first], delimiter=candidate), [])
        if any(column_key(c) in COLUMNS["imo"] for c in header):
            delimiter = candidate
            break
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    keys = [column_key(c) for c in header]
    records = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        record: dict[str, list[str]] = {}
        for key, cell in zip(keys, row):
            record.setdefault(key, []).extend(_cells(cell))
        records.append((f"{path}:{reader.line_num}", record))
    return header, records


def _records_json(text: str, path: Path) -> tuple[list[str], list[tuple[str, dict[str, list[str]]]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg}", where=f"{path}:{exc.lineno}") from exc
    items = data if isinstance(data, list) else None
    if isinstance(data, dict):
        # e.g. {"generated_at": ..., "vessels": [...]}: the first list of objects holds them
        items = next((v for v in data.values()
                      if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)), None)
    if not items or not all(isinstance(i, dict) for i in items):
        raise InputError("no list of vessel objects in the JSON", where=str(path),
                         hint='give an array of objects, or an object holding one ({"vessels": [...]})')
    header: dict[str, None] = {}
    records = []
    for number, item in enumerate(items, start=1):
        record: dict[str, list[str]] = {}
        # one level of nesting, e.g. "vessel_info": {"flag": ..., "call_sign": ...}
        flat = dict(item)
        for value in item.values():
            if isinstance(value, dict):
                for key, inner in value.items():
                    flat.setdefault(key, inner)
        for key, value in flat.items():
            header.setdefault(str(key))
            record.setdefault(column_key(str(key)), []).extend(_cells(value))
        records.append((f"{path}#{number}", record))
    return list(header), records


def _month_first(records: list[tuple[str, dict[str, list[str]]]], keys: list[str]) -> bool:
    """Slash dates are m/d/yyyy when some second part exceeds 12 and no first part does."""
    firsts, seconds = [], []
    for _, record in records:
        for key in keys:
            for value in record.get(key, []):
                if match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/\d{4}", value.strip()):
                    firsts.append(int(match.group(1)))
                    seconds.append(int(match.group(2)))
    return any(s > 12 for s in seconds) and not any(f > 12 for f in firsts)


def read(path: Path, encoding: str | None = None, kind: str = "watchlist") -> ListRead:
    with open_text(path, encoding) as lines:
        text = "".join(lines)
    is_json = text.lstrip().startswith(("[", "{"))
    header, records = _records_json(text, path) if is_json else _records_csv(text, path)
    present = {column_key(c) for c in header}
    cols = {role: [n for n in names if n in present] for role, names in COLUMNS.items()}
    if not cols["imo"]:
        found = ", ".join(c for c in header if c.strip()) or "none"
        raise InputError(f"missing IMO column (columns found: {found})", where=str(path),
                         hint=f"name the IMO column one of: {', '.join(COLUMNS['imo'])}")
    flags = [k for k in AUTHORITY_FLAGS if k in present]
    flags = [k for k in flags if all(v.lower() in _TRUE | _FALSE for _, r in records for v in r.get(k, []))]
    month_first = _month_first(records, cols["listed"] + cols["valid_from"] + cols["valid_to"])
    periods = bool(cols["mmsi"]) and bool(cols["valid_from"] or cols["valid_to"])

    def values(record: dict[str, list[str]], role: str) -> list[str]:
        return [v for key in cols[role] for v in record.get(key, [])]

    def day(record: dict[str, list[str]], role: str) -> str | None:
        return next((d for v in values(record, role) if (d := iso_date(v, month_first))), None)

    read = ListRead(format="plain", files=[path])
    stem = path.stem
    # FtM entity ids allow letters, digits, "." and "-" only; others would break references.
    prefix = re.sub(r"[^0-9A-Za-z.]+", "-", stem).strip("-.") or "list"
    for ref, record in records:
        imo = next((v for v in values(record, "imo") if imo_candidate(v)), "")
        mmsis = [m for v in values(record, "mmsi") if (m := mmsi_digits(v))]
        if not imo and not mmsis:
            read.skipped += 1  # nothing to match a ship on
            continue
        key = (imo_digits(imo) or re.sub(r"[^0-9a-z]+", "-", imo.lower()).strip("-")) if imo else mmsis[0]
        entity = make("Vessel", f"{prefix}-{key}")
        if imo:
            add_imo(entity, imo)
        names = values(record, "name")
        entity.add("name", names[:1])
        entity.add("alias", [n for n in names[1:] if n != names[0]])
        for role, prop in (("former", "previousName"), ("alias", "alias")):
            for value in values(record, role):
                entity.add(prop, [n for n in _NAME_SPLIT.split(value) if n.lower() not in _PLACEHOLDERS])
        entity.add("flag", values(record, "flag"), quiet=True)
        entity.add("callSign", values(record, "callsign"))
        entity.add("type", values(record, "type"))
        entity.add("buildDate", values(record, "built"), quiet=True)
        entity.add("deadweightTonnage", [_number(v) for v in values(record, "dwt")], quiet=True)
        entity.add("grossRegisteredTonnage", [_number(v) for v in values(record, "gross")], quiet=True)
        entity = read.add(entity, ref)
        eid = entity.id or ""

        for mmsi in mmsis:
            entity.add("mmsi", mmsi)
            note = read.notes.get((eid, "mmsi", mmsi))
            if periods:
                start, end = day(record, "valid_from"), day(record, "valid_to")
                read.note(eid, "mmsi", mmsi, IdentifierNote(
                    valid_from=date.fromisoformat(start) if start and len(start) == 10 else None,
                    valid_to=date.fromisoformat(end) if end and len(end) == 10 else None))
            elif note and note.role == "legacy":
                del read.notes[(eid, "mmsi", mmsi)]  # current in another row wins
        for value in values(record, "legacy_mmsi"):
            legacy = mmsi_digits(value)
            # GUR repeats the current MMSI as "legacy" for many ships: that is no old identity.
            if legacy and legacy not in entity.get("mmsi"):
                entity.add("mmsi", legacy)
                read.note(eid, "mmsi", legacy, IdentifierNote(role="legacy"))

        lists = [p for v in values(record, "list") for p in _LIST_SPLIT.split(v) if p]
        lists += [AUTHORITY_FLAGS[k] for k in flags if any(v.lower() in _TRUE for v in record.get(k, []))]
        programs = [p for v in values(record, "program") for p in _LIST_SPLIT.split(v) if p]
        listed = day(record, "listed")
        if kind == "sanctions":
            for authority in lists or [stem]:
                for program in programs or [authority if lists else None]:
                    designate(read, entity, authority=authority, program=program, start=listed, ref=ref)
        else:
            entity.add("topics", SHADOW_FLEET_TOPIC)
            entity.add("program", lists + programs)
            if listed:
                # No designation on a watch list: keep when the vessel was listed on the record.
                entity.add("createdAt", listed)
    return read

"""FollowTheMoney entities as JSON lines (the OpenSanctions export format)."""

from __future__ import annotations

import json
from pathlib import Path

from followthemoney import ValueEntity
from followthemoney.exc import InvalidData

from shadowtrace.errors import InputError
from shadowtrace.lists.model import ListRead
from shadowtrace.lists.text import open_text


def looks_like(first_line: str) -> bool:
    line = first_line.strip()
    if not line.startswith("{"):
        return False
    try:
        data = json.loads(line)
    except ValueError:
        return False
    return isinstance(data, dict) and "schema" in data and "properties" in data


def read(path: Path, encoding: str | None = None) -> ListRead:
    read = ListRead(format="ftm", files=[path])
    with open_text(path, encoding) as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                data = json.loads(line)
            except ValueError as exc:
                raise InputError(f"not a JSON object: {exc}", where=where,
                                 hint="FollowTheMoney lists hold one entity as JSON per line") from exc
            if not isinstance(data, dict) or "schema" not in data or not data.get("id"):
                raise InputError("entity without id or schema", where=where)
            try:
                entity = ValueEntity.from_dict(data, cleaned=False)
            except (InvalidData, KeyError, TypeError) as exc:
                raise InputError(f"not a FollowTheMoney entity: {exc}", where=where) from exc
            read.add(entity, where)
    return read

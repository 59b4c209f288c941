"""Recognise a list file's format from its content and read it."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from shadowtrace.errors import InputError
from shadowtrace.lists import eu, ftm, ofac, plain
from shadowtrace.lists.model import ListRead

FORMATS = ("ftm", "ofac_sdn", "eu_journal", "plain")
FORMATS_HELP = (
    "ftm (FollowTheMoney JSON lines, as OpenSanctions exports), ofac_sdn (OFAC SDN legacy CSV, "
    "alt.csv aliases beside it), eu_journal (OpenSanctions' CSV of EU regulations, e.g. 833/2014 "
    "Annex XLII), plain (CSV or JSON vessel list with an imo column)"
)
Reader = Callable[..., ListRead]


def _head_text(path: Path, size: int = 64 * 1024) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(size)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", where=str(path)) from exc
    return raw.decode("utf-8", errors="replace").lstrip("\ufeff")


def sniff(path: Path) -> str:
    if not path.is_file():
        raise InputError("no such file", where=str(path), hint="give the path of a list file")
    text = _head_text(path)
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("the file is empty", where=str(path))
    if ftm.looks_like(lines[0]):
        return "ftm"
    if eu.looks_like(lines[0]):
        return "eu_journal"
    if lines[0].lstrip().startswith(("[", "{")):
        try:
            json.loads(_head_text(path, size=1 << 30))
        except ValueError as exc:
            raise InputError(f"not valid JSON: {exc}", where=str(path)) from exc
        return "plain"
    rows = list(csv.reader(io.StringIO("\n".join(lines[:5]))))
    if ofac.looks_like(rows):
        return "ofac_sdn"
    if plain.looks_like(rows) or plain.looks_like_vessel_table(rows):
        return "plain"
    raise InputError(
        "unknown list format",
        where=str(path),
        hint=f"supported formats: {FORMATS_HELP}; give --format to say which",
    )


def read_list(path: Path, fmt: str | None = None, *, encoding: str | None = None,
              kind: str | None = None) -> ListRead:
    fmt = fmt or sniff(path)
    if fmt == "ftm":
        return ftm.read(path, encoding)
    if fmt == "ofac_sdn":
        return ofac.read(path, encoding)
    if fmt == "eu_journal":
        return eu.read(path, encoding)
    if fmt == "plain":
        return plain.read(path, encoding, kind=kind or "watchlist")
    raise InputError(f"unknown list format {fmt!r}", hint=f"supported formats: {FORMATS_HELP}")

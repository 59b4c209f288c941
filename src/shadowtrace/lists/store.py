"""Lists in the store: add (or replace), remove, describe. Each change is one transaction,
so a list that fails to load leaves nothing half-loaded."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from shadowtrace.errors import ConfigError, InputError
from shadowtrace.lists.flatten import entity_rows, identifier_rows, link_rows
from shadowtrace.lists.formats import read_list
from shadowtrace.lists.model import ListRead
from shadowtrace.store.insert import insert_arrow

KINDS = ("sanctions", "watchlist")
_TABLES = ("list_entities", "list_identifiers", "list_links")
_COLUMNS = {
    "list_entities": ["list_id", "entity_id", "schema", "caption", "sanctioned", "topics", "programs",
                      "listed_since", "flag", "ship_type", "source_ref", "properties"],
    "list_identifiers": ["list_id", "entity_id", "kind", "role", "value", "norm", "valid_from",
                         "valid_to"],
    "list_links": ["list_id", "link_id", "kind", "source_id", "target_id", "percent", "role",
                   "start_date", "end_date"],
}


@dataclass(frozen=True)
class ListInfo:
    list_id: int
    name: str
    format: str
    kind: str
    source: str
    fingerprint: str
    loaded_at: dt.datetime
    entities: int
    vessels: int
    links: int
    sanctioned: int = 0
    replaced: bool = False
    unchanged: bool = False


def fingerprint(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    columns = _COLUMNS[table]
    insert_arrow(con, table, pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}))


def get_list(con: duckdb.DuckDBPyConnection, name: str) -> ListInfo | None:
    row = con.execute(
        """SELECT l.list_id, l.name, l.format, l.kind, l.source, l.fingerprint, l.loaded_at,
                  l.entities, l.vessels, l.links,
                  (SELECT count(*) FROM list_entities e WHERE e.list_id = l.list_id AND e.sanctioned)
           FROM lists l WHERE l.name = ?""", [name]).fetchall()
    return ListInfo(*row[0]) if row else None


def all_lists(con: duckdb.DuckDBPyConnection) -> list[ListInfo]:
    names = [r[0] for r in con.execute("SELECT name FROM lists ORDER BY list_id").fetchall()]
    return [info for name in names if (info := get_list(con, name)) is not None]


def add_list(con: duckdb.DuckDBPyConnection, path: Path, name: str, *, fmt: str | None = None,
             encoding: str | None = None, kind: str | None = None, replace: bool = False) -> ListInfo:
    """Read a list file and store it under ``name``; an unchanged file is not reloaded."""
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"unknown list kind {kind!r}", hint=f"use one of {', '.join(KINDS)}")
    if not name.strip():
        raise ConfigError("a list needs a non-empty --name")
    existing = get_list(con, name)
    if existing and not replace:
        raise ConfigError(f"a list named {name!r} is already loaded (from {existing.source})",
                          hint="use `shadowtrace lists refresh NAME`, or --replace, or another --name")
    read = read_list(path, fmt, encoding=encoding, kind=kind)
    print_ = fingerprint(read.files)
    if existing and existing.fingerprint == print_ and existing.format == read.format:
        return ListInfo(**{**existing.__dict__, "unchanged": True})
    return _store(con, read, name, str(path), print_, existing)


def _store(con: duckdb.DuckDBPyConnection, read: ListRead, name: str, source: str, print_: str,
           existing: ListInfo | None) -> ListInfo:
    entities = list(entity_rows(read, 0))
    if not entities:
        raise InputError("the list holds no vessels, companies or people", where=source)
    vessels = sum(1 for e in entities if e[2] == "Vessel")
    sanctioned = sum(1 for e in entities if e[4])
    kind = "sanctions" if sanctioned else "watchlist"
    con.execute("BEGIN TRANSACTION")
    try:
        if existing:
            _delete(con, existing.list_id)
        list_id = existing.list_id if existing else con.execute("SELECT nextval('list_id_seq')").fetchall()[0][0]
        links = [(list_id,) + r[1:] for r in link_rows(read, 0)]
        _insert(con, "list_entities", [(list_id,) + e[1:] for e in entities])
        _insert(con, "list_identifiers", [(list_id,) + r[1:] for r in identifier_rows(read, 0)])
        _insert(con, "list_links", links)
        con.execute(
            "INSERT INTO lists VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [list_id, name, read.format, kind, source, print_, dt.datetime.now(dt.UTC).replace(tzinfo=None),
             len(entities), vessels, len(links)],
        )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    info = get_list(con, name)
    assert info is not None
    return ListInfo(**{**info.__dict__, "replaced": existing is not None})


def _delete(con: duckdb.DuckDBPyConnection, list_id: int) -> None:
    for table in _TABLES + ("screen_matches", "screen_exposures"):
        con.execute(f"DELETE FROM {table} WHERE list_id = ?", [list_id])
    con.execute("DELETE FROM lists WHERE list_id = ?", [list_id])


def remove_list(con: duckdb.DuckDBPyConnection, name: str) -> ListInfo:
    info = get_list(con, name)
    if info is None:
        raise ConfigError(f"no list named {name!r}", hint="`shadowtrace lists show --db FILE` lists them")
    con.execute("BEGIN TRANSACTION")
    try:
        _delete(con, info.list_id)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return info


def refresh_list(con: duckdb.DuckDBPyConnection, name: str) -> ListInfo:
    """Reload a list from the file it was loaded from (skipped when the file is unchanged)."""
    info = get_list(con, name)
    if info is None:
        raise ConfigError(f"no list named {name!r}", hint="`shadowtrace lists show --db FILE` lists them")
    return add_list(con, Path(info.source), name, fmt=info.format, replace=True)

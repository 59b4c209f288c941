"""Every identity an AIS vessel (an MMSI) has used: names, call signs, IMO numbers, ship types,
each with when it was first and last broadcast and one report row that proves it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

import duckdb
import pyarrow as pa
from rigour.territories import lookup_territory

from shadowtrace.engine.base import Engine
from shadowtrace.geo.mid import iso3_for_mmsi
from shadowtrace.identifiers import callsign_key, imo_digits, name_key


@dataclass(frozen=True)
class Used:
    """One value a vessel broadcast, with its time span and evidence ("ingest:line")."""

    value: str
    key: str
    first: datetime
    last: datetime
    reports: int
    evidence: str


@dataclass
class AisIdentity:
    mmsi: int
    names: list[Used] = field(default_factory=list)
    imos: list[Used] = field(default_factory=list)       # check-digit-valid IMO numbers only
    bad_imos: list[Used] = field(default_factory=list)   # broadcast but failing the check digit
    callsigns: list[Used] = field(default_factory=list)
    ship_types: list[Used] = field(default_factory=list)
    first_seen: datetime | None = None
    last_seen: datetime | None = None

    @property
    def flag(self) -> str | None:
        return flag_iso2(self.mmsi)

    def add(self, kind: str, value: str, first: datetime, last: datetime, count: int, evidence: str) -> None:
        """Record one broadcast value (kind: name, imo, callsign, ship_type) and its span."""
        if self.first_seen is None or first < self.first_seen:
            self.first_seen = first
        if self.last_seen is None or last > self.last_seen:
            self.last_seen = last
        if kind == "name":
            if key := name_key(value):
                self.names.append(Used(value, key, first, last, count, evidence))
        elif kind == "imo":
            digits = imo_digits(value)
            (self.imos if digits else self.bad_imos).append(Used(value, digits or value, first, last, count, evidence))
        elif kind == "callsign":
            if key := callsign_key(value):
                self.callsigns.append(Used(value, key, first, last, count, evidence))
        else:
            self.ship_types.append(Used(value, value, first, last, count, evidence))

    def sort(self) -> None:
        for values in (self.names, self.imos, self.bad_imos, self.callsigns, self.ship_types):
            values.sort(key=lambda u: (u.first, u.value))

    @property
    def latest_name(self) -> str | None:
        return max(self.names, key=lambda u: u.last).value if self.names else None


@lru_cache(maxsize=4096)
def flag_iso2(mmsi: int) -> str | None:
    """ISO 3166 alpha-2 (lower case, as FollowTheMoney writes flags) of the MMSI's MID."""
    iso3 = iso3_for_mmsi(mmsi)
    territory = lookup_territory(iso3) if iso3 else None
    return territory.code if territory else None


_VALUES_SQL = """
SELECT mmsi, '{kind}' AS kind, CAST({column} AS VARCHAR) AS value, min(ts) AS first_ts,
       max(ts) AS last_ts, count(*) AS reports, arg_min(ingest_id || ':' || source_line, ts) AS evidence
FROM vessel_reports WHERE {column} IS NOT NULL {where}
GROUP BY mmsi, {column}
"""


def _identity_sql(where: str) -> tuple[str, str]:
    """The per-vessel aggregation over vessel_reports (values) and positions (first and last
    seen): plain SQL that every engine runs (DuckDB here, Spark through the engine layer)."""
    values = " UNION ALL ".join([
        _VALUES_SQL.format(kind="name", column="name", where=where),
        _VALUES_SQL.format(kind="imo", column="imo", where=where + " AND imo <> 0"),
        _VALUES_SQL.format(kind="callsign", column="callsign", where=where),
        _VALUES_SQL.format(kind="ship_type", column="ship_type", where=where),
    ])
    seen = f"SELECT mmsi, min(ts) AS first_ts, max(ts) AS last_ts FROM positions WHERE TRUE {where} GROUP BY mmsi"
    return values, seen


# Per-vessel tables screening reads (TEMP tables of the store's connection): every value each
# vessel broadcast with its span and evidence, the span of its positions, and every MMSI seen.
# Small (rows per vessel and value), so they can come from any engine over any volume.
IDENTITY_VALUES = "ais_identity_values"
IDENTITY_SEEN = "ais_identity_seen"
IDENTITY_VESSELS = "ais_identity_vessels"
_REPORTED_SQL = "SELECT DISTINCT mmsi FROM vessel_reports"


def _has_identity_tables(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
                            [IDENTITY_VALUES]).fetchall()[0][0])


@contextmanager
def identity_tables(con: duckdb.DuckDBPyConnection, engine: Engine | None = None) -> Iterator[None]:
    """The per-vessel identity tables in ``con`` for the duration of the block: computed from the
    store's own tables, or by ``engine`` (DuckDB or Spark over a Parquet dataset) and collected.
    Inside an enclosing block the tables it made are used as they are."""
    if engine is None and _has_identity_tables(con):
        yield
        return
    values, seen = _identity_sql("")
    if engine is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {IDENTITY_VALUES} AS {values}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {IDENTITY_SEEN} AS {seen}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {IDENTITY_VESSELS} AS {_REPORTED_SQL}")
    else:
        for name, query in ((IDENTITY_VALUES, values), (IDENTITY_SEEN, seen), (IDENTITY_VESSELS, _REPORTED_SQL)):
            con.register("_identity_collected", engine.query_arrow(query))
            try:
                con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _identity_collected")
            finally:
                con.unregister("_identity_collected")
    # every vessel: positions' MMSIs and static reports' MMSIs
    con.execute(f"INSERT INTO {IDENTITY_VESSELS} SELECT mmsi FROM {IDENTITY_SEEN} "
                f"EXCEPT SELECT mmsi FROM {IDENTITY_VESSELS}")
    try:
        yield
    finally:
        for name in (IDENTITY_VALUES, IDENTITY_SEEN, IDENTITY_VESSELS):
            con.execute(f"DROP TABLE IF EXISTS {name}")


def read_identities(con: duckdb.DuckDBPyConnection, mmsis: list[int]) -> dict[int, AisIdentity]:
    """The identities of ``mmsis`` from the tables of :func:`identity_tables`."""
    con.execute("CREATE OR REPLACE TEMP TABLE _wanted AS SELECT unnest(?::INTEGER[]) AS mmsi", [mmsis])
    try:
        seen = con.execute(f"SELECT mmsi, first_ts, last_ts FROM {IDENTITY_SEEN} SEMI JOIN _wanted USING (mmsi)")
        seen_rows = seen.fetchall()
        values = con.execute(f"""SELECT mmsi, kind, value, first_ts, last_ts, reports, evidence
                                 FROM {IDENTITY_VALUES} SEMI JOIN _wanted USING (mmsi)""").fetchall()
        return _identities(seen_rows, values)
    finally:
        con.execute("DROP TABLE IF EXISTS _wanted")


def _identities(seen: Iterable[tuple], rows: Iterable[tuple]) -> dict[int, AisIdentity]:
    out: dict[int, AisIdentity] = {}
    for mmsi, first, last in seen:
        out[mmsi] = AisIdentity(mmsi, first_seen=first, last_seen=last)
    for mmsi, kind, value, first, last, count, evidence in rows:
        out.setdefault(mmsi, AisIdentity(mmsi)).add(kind, value, first, last, count, evidence)
    for ident in out.values():
        ident.sort()
    return out


def load_identities(con: duckdb.DuckDBPyConnection, mmsis: list[int] | None = None) -> dict[int, AisIdentity]:
    """Identity history of every vessel (or of ``mmsis``) in the store."""
    where = "AND mmsi IN (SELECT mmsi FROM _wanted)" if mmsis is not None else ""
    if mmsis is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE _wanted AS SELECT unnest(?::INTEGER[]) AS mmsi", [mmsis])
    values, seen = _identity_sql(where)
    out = _identities(con.execute(seen).fetchall(), con.execute(values).fetchall())
    if mmsis is not None:
        con.execute("DROP TABLE IF EXISTS _wanted")
    return out


def engine_identities(engine: Engine, mmsis: list[int] | None = None) -> dict[int, AisIdentity]:
    """What ``load_identities`` gives, with the aggregation run by ``engine`` (DuckDB or Spark,
    e.g. over a large Parquet dataset) and only the per-vessel values (one row per vessel and
    value) collected to the driver, where matching runs."""
    where = ""
    if mmsis is not None:
        engine.register_arrow("_identity_wanted", pa.table({"mmsi": pa.array(mmsis, pa.int32())}))
        where = "AND mmsi IN (SELECT mmsi FROM _identity_wanted)"
    try:
        values, seen = _identity_sql(where)
        seen_rows = _rows(engine.query_arrow(seen))
        value_rows = _rows(engine.query_arrow(values))
    finally:
        if mmsis is not None:
            engine.drop("_identity_wanted")
    return _identities(seen_rows, value_rows)


def _rows(table: pa.Table) -> list[tuple]:
    return list(zip(*(column.to_pylist() for column in table.columns)))

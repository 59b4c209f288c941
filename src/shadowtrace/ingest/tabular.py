"""Readers for tabular AIS: DMA CSV, NOAA MarineCadastre CSV, any CSV or Parquet by mapping.

DuckDB parses the file; every value is read as text first so that one bad value
becomes a reject with a reason instead of failing the whole file.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from shadowtrace.errors import InputError
from shadowtrace.ingest.load import Loader
from shadowtrace.ingest.sources import FORMATS_HELP, Source

CANONICAL = (
    "mmsi", "ts", "lat", "lon", "sog", "cog", "heading", "nav_status", "imo", "name",
    "callsign", "ship_type", "draught", "destination", "eta", "length", "width",
)
REQUIRED = ("mmsi", "ts", "lat", "lon")

DMA_COLUMNS = {
    "ts": "# Timestamp", "mmsi": "MMSI", "lat": "Latitude", "lon": "Longitude",
    "nav_status": "Navigational status", "sog": "SOG", "cog": "COG", "heading": "Heading",
    "imo": "IMO", "callsign": "Callsign", "name": "Name", "ship_type": "Ship type",
    "width": "Width", "length": "Length", "draught": "Draught", "destination": "Destination",
    "eta": "ETA", "mobile": "Type of mobile",
}
NOAA_COLUMNS = {
    "mmsi": "MMSI", "ts": "BaseDateTime", "lat": "LAT", "lon": "LON", "sog": "SOG",
    "cog": "COG", "heading": "Heading", "name": "VesselName", "imo": "IMO",
    "callsign": "CallSign", "ship_type": "VesselType", "nav_status": "Status",
    "length": "Length", "width": "Width", "draught": "Draft",
}
# Column names seen in the wild, for CSVs given without --columns.
ALIASES = {
    "mmsi": ("mmsi", "userid", "user_id", "mmsi_number"),
    "ts": ("ts", "timestamp", "time", "basedatetime", "datetime", "date_time", "# timestamp",
           "timestamp_utc", "time_utc", "msgtime", "received_at", "ais_pos_timestamp"),
    "lat": ("lat", "latitude", "latitude_degrees", "y"),
    "lon": ("lon", "long", "lng", "longitude", "longitude_degrees", "x"),
    "sog": ("sog", "speed", "sog_knots", "speed_over_ground"),
    "cog": ("cog", "course", "cog_degrees", "course_over_ground"),
    "heading": ("heading", "true_heading", "hdg"),
    "imo": ("imo", "imo_number"),
    "name": ("name", "vessel_name", "vesselname", "shipname", "ship_name"),
    "callsign": ("callsign", "call_sign"),
    "draught": ("draught", "draft"),
}
DMA_NAV_STATUS = {
    "under way using engine": 0, "at anchor": 1, "not under command": 2,
    "restricted maneuverability": 3, "restricted manoeuvrability": 3,
    "constrained by her draught": 4, "moored": 5, "aground": 6, "engaged in fishing": 7,
    "under way sailing": 8, "ais-sart": 14, "ais-sart is active": 14, "unknown value": 15,
}
DMA_SHIP_TYPE = {
    "wig": 20, "fishing": 30, "towing": 31, "towing long/wide": 32, "dredging": 33,
    "diving": 34, "military": 35, "sailing": 36, "pleasure": 37, "hsc": 40, "pilot": 50,
    "sar": 51, "tug": 52, "port tender": 53, "anti-pollution": 54, "law enforcement": 55,
    "medical": 58, "passenger": 60, "cargo": 70, "tanker": 80, "other": 90,
}
VESSEL_MOBILE_TYPES = ("class a", "class b")
# Columns the CSV reader parses as numbers for the known layouts (DMA's status and ship type
# are words).
NUMERIC_KEYS = {
    "dma": ("lat", "lon", "sog", "cog", "heading", "draught", "length", "width"),
    "noaa": ("lat", "lon", "sog", "cog", "heading", "draught", "length", "width", "ship_type", "nav_status"),
}
# Tried in order when a time column is neither ISO 8601 nor epoch seconds.
COMMON_TIME_FORMATS = ("%Y%m%d_%H%M%S", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%Y/%m/%d %H:%M:%S")


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]  # canonical name -> column in the file
    ts_format: str | None = None  # strptime format; None: ISO 8601 or epoch seconds


def parse_columns_option(text: str | None) -> dict[str, str]:
    """`mmsi=MMSI,ts=Time,...` to a dict, checking the canonical names."""
    if not text:
        return {}
    out: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        key = key.strip().lower()
        if not sep or not value.strip():
            raise InputError(f"bad --columns item {item!r}", hint="write canonical=column pairs, e.g. mmsi=MMSI,ts=Time,lat=Lat,lon=Lon")
        if key not in CANONICAL:
            raise InputError(f"unknown canonical column {key!r} in --columns", hint=f"known: {', '.join(CANONICAL)}")
        out[key] = value.strip()
    return out


@contextmanager
def _readable_path(source: Source) -> Iterator[str]:
    """A path DuckDB can read: plain and gzip files as they are, others decompressed."""
    if source.compression in (None, "gzip"):
        yield str(source.path)
        return
    with tempfile.TemporaryDirectory(prefix="shadowtrace-") as tmp:
        target = Path(tmp) / Path(source.member or source.path.stem).name
        with source.open() as stream, open(target, "wb") as out:
            shutil.copyfileobj(stream, out, 1 << 20)
        yield str(target)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def stage_tabular(
    con: duckdb.DuckDBPyConnection,
    loader: Loader,
    source: Source,
    fmt: str,
    mapping: Mapping | None,
    encoding: str = "utf-8",
    tick: Callable[[int], None] | None = None,
) -> None:
    """Stage every row of a DMA / NOAA / mapped CSV or Parquet input into the loader."""
    with _readable_path(source) as path:
        tag = f"csv_{loader.ingest_id}"
        if fmt == "parquet":
            relation = f"read_parquet({_lit(path)})"
            header_lines = 0
        else:
            relation = (
                f"read_csv({_lit(path)}, all_varchar = true, header = true, auto_detect = true,"
                f" store_rejects = true, rejects_table = '{tag}_rej', rejects_scan = '{tag}_scan',"
                f" encoding = '{encoding}', null_padding = false, strict_mode = false)"
            )
            header_lines = 1
        try:
            names = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]
        except duckdb.Error as exc:
            raise InputError(f"cannot read as {fmt}: {exc}", where=source.name, hint=FORMATS_HELP) from exc
        columns = _resolve_columns(source, fmt, names, mapping)
        ts_format = mapping.ts_format if mapping else None
        if fmt == "dma":
            ts_format = ts_format or "%d/%m/%Y %H:%M:%S"
        typed: set[str] = set()
        if fmt in ("dma", "noaa") and not (mapping and mapping.columns):
            # Known layouts: let the CSV reader parse numbers and times itself (fast); a row
            # with a bad value is rejected by it with the column named.
            numeric = [k for k in NUMERIC_KEYS[fmt] if k in columns]
            types = {columns[k]: "DOUBLE" for k in numeric}
            types[columns["mmsi"]] = "BIGINT"
            types[columns["ts"]] = "TIMESTAMP"
            spec = ", ".join(f"{_lit(name)}: {_lit(kind)}" for name, kind in types.items())
            stamp = f", timestampformat = {_lit(ts_format)}" if ts_format else ""
            relation = relation[:-1] + f", types = {{{spec}}}{stamp})"
            typed = {*numeric, "mmsi", "ts"}
        exprs = _expressions(columns, fmt, ts_format, typed)
        select = ", ".join(f"{expr} AS {name}" for name, expr in exprs.items())
        if fmt == "dma" and "mobile" in columns:
            select += f", lower(trim({_q(columns['mobile'])})) AS mobile"
        else:
            select += ", CAST(NULL AS VARCHAR) AS mobile"
        # One pass over the file; the rowid of a table filled in input order is the row index.
        with _reading_progress(con, tick, source.size()):
            con.execute(f"CREATE OR REPLACE TEMP TABLE raw_rows AS SELECT {select} FROM {relation}")
        if fmt != "parquet":
            line = _line_expression(con, f"{tag}_rej", header_lines)
            rejects_sql = (
                f"SELECT line, csv_line, 'malformed_row: ' || lower(CAST(error_type AS VARCHAR))"
                f" || coalesce(' in ' || column_name, '') FROM {tag}_rej"
            )
            malformed = con.execute(f"SELECT count(*) FROM {tag}_rej").fetchone()[0]  # type: ignore[index]
        else:
            line, rejects_sql, malformed = "rowid + 1", None, 0
        rows = con.execute("SELECT count(*) FROM raw_rows").fetchone()[0]  # type: ignore[index]
        vessel_filter = f"(mobile IS NULL OR mobile IN {VESSEL_MOBILE_TYPES})"
        for kind, count in con.execute(
            f"SELECT mobile, count(*) FROM raw_rows WHERE NOT {vessel_filter} GROUP BY 1"
        ).fetchall():
            loader.counts.other_by_kind[f"dma {kind}"] += count
        positions_sql = f"""
            SELECT mmsi, ts, lat, lon, sog, cog, heading, nav_status, NULL, {line}, NULL
            FROM raw_rows WHERE {vessel_filter}"""
        reports_sql = None
        if any(k in columns for k in STATIC_KEYS):
            # A report wherever a vessel's static values change (and at its first row).
            # Rows are first reduced to one per vessel, values and hour, so the ordered
            # pass runs over few rows; a change back to earlier values is kept.
            static = "imo, name, callsign, ship_type, length, width, draught, destination, eta"
            reports_sql = f"""
                SELECT mmsi, ts, imo, name, callsign, ship_type, NULL, NULL, NULL, NULL,
                       length, width, draught, destination, eta, NULL, line, NULL, TRUE
                FROM (
                    SELECT *, lag(struct_pack({static})) OVER (PARTITION BY mmsi ORDER BY ts, line)
                              IS DISTINCT FROM struct_pack({static}) AS changed
                    FROM (
                        SELECT mmsi, {static}, min(ts) AS ts, arg_min({line}, ts) AS line
                        FROM raw_rows WHERE {vessel_filter} AND ts IS NOT NULL
                        GROUP BY mmsi, {static}, date_trunc('hour', ts)
                    )
                ) WHERE changed"""
        loader.add_sql(positions_sql, reports_sql, rejects_sql, lines=rows + malformed)
        loader.flush()
        con.execute("DROP TABLE raw_rows")
        if fmt != "parquet":
            con.execute(f"DROP TABLE IF EXISTS {tag}_rej")
            con.execute(f"DROP TABLE IF EXISTS {tag}_scan")
            _fill_reject_text(con, loader.ingest_id, path, encoding, source.compression == "gzip")


@contextmanager
def _reading_progress(
    con: duckdb.DuckDBPyConnection, tick: Callable[[int], None] | None, total: int
) -> Iterator[None]:
    """Report DuckDB's own progress on the running query to a progress callback."""
    if tick is None:
        yield
        return
    con.execute("SET enable_progress_bar = true; SET enable_progress_bar_print = false")
    done = threading.Event()
    reported = 0

    def poll() -> None:
        nonlocal reported
        while not done.wait(0.25):
            percent = con.query_progress()
            if percent > 0:
                now = int(total * min(percent, 100.0) / 100)
                if now > reported:
                    tick(now - reported)
                    reported = now

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
        if total > reported:
            tick(total - reported)
        con.execute("SET enable_progress_bar = false")


STATIC_KEYS = ("imo", "name", "callsign", "ship_type", "draught", "destination", "length", "width")
_CASE_CHAIN_MAX = 64


def _line_expression(con: duckdb.DuckDBPyConnection, rejects: str, header_lines: int) -> str:
    """SQL giving each accepted row its line in the file, skipping lines DuckDB rejected.

    With rejected lines r_1 < r_2 < ..., the j-th one follows g_j = r_j - header - j
    accepted rows, so accepted row n sits on line n + header + #{j : g_j < n}.
    """
    lines = [int(r[0]) for r in con.execute(f"SELECT DISTINCT line FROM {rejects} ORDER BY 1").fetchall()]
    row = "(rowid + 1)"
    if not lines:
        return f"{row} + {header_lines}"
    gaps = [line - header_lines - j for j, line in enumerate(lines, start=1)]
    if len(gaps) <= _CASE_CHAIN_MAX:
        return f"{row} + {header_lines} + " + " + ".join(f"CAST({row} > {g} AS INTEGER)" for g in gaps)
    values = ", ".join(f"({g})" for g in gaps)
    return (
        f"{row} + {header_lines} + (SELECT count(*) FROM (VALUES {values}) AS gaps(g) WHERE g < {row})"
    )


def _fill_reject_text(
    con: duckdb.DuckDBPyConnection, ingest_id: int, path: str, encoding: str, gzipped: bool
) -> None:
    """Put the file's own text into rejects of this ingest that carry only a line number."""
    wanted = {
        int(r[0]) for r in con.execute(
            "SELECT source_line FROM rejects WHERE ingest_id = ? AND raw IS NULL AND source_line IS NOT NULL",
            [ingest_id],
        ).fetchall()
    }
    if not wanted:
        return
    found: list[tuple[str, int]] = []
    last = max(wanted)
    opener = gzip.open if gzipped else open
    with opener(path, "rt", encoding=encoding, errors="replace", newline="") as handle:  # type: ignore[operator]
        for number, text in enumerate(handle, start=1):
            if number in wanted:
                found.append((text.rstrip("\r\n"), number))
            if number >= last:
                break
    table = pa.table({"raw": [t for t, _ in found], "line": [n for _, n in found]})
    con.register("_reject_text", table)
    try:
        con.execute(
            "UPDATE rejects SET raw = t.raw FROM _reject_text t"
            " WHERE rejects.ingest_id = ? AND rejects.source_line = t.line AND rejects.raw IS NULL",
            [ingest_id],
        )
    finally:
        con.unregister("_reject_text")


def _resolve_columns(source: Source, fmt: str, names: list[str], mapping: Mapping | None) -> dict[str, str]:
    lower = {n.lower().strip(): n for n in names}
    if mapping and mapping.columns:
        columns = dict(mapping.columns)
    elif fmt == "dma":
        columns = {k: lower[v.lower()] for k, v in DMA_COLUMNS.items() if v.lower() in lower}
    elif fmt == "noaa":
        columns = {k: lower[v.lower()] for k, v in NOAA_COLUMNS.items() if v.lower() in lower}
    else:
        columns = {}
        for canonical, aliases in ALIASES.items():
            for alias in aliases:
                if alias in lower:
                    columns[canonical] = lower[alias]
                    break
    for canonical, column in columns.items():
        if column not in names:
            raise InputError(
                f"column {column!r} (for {canonical}) is not in the file; columns are: {', '.join(names)}",
                where=source.name,
            )
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise InputError(
            f"missing required column(s) {', '.join(missing)} for format {fmt}; columns are: {', '.join(names)}",
            where=source.name,
            hint="map them with --columns mmsi=COL,ts=COL,lat=COL,lon=COL (and --ts-format if times are not ISO 8601)",
        )
    return columns


def _number(col: str) -> str:
    return f"TRY_CAST(nullif(trim(CAST({_q(col)} AS VARCHAR)), '') AS DOUBLE)"


def _expressions(
    columns: dict[str, str], fmt: str, ts_format: str | None, typed: set[str] | None = None
) -> dict[str, str]:
    typed = typed or set()

    def text(key: str) -> str:
        if key not in columns:
            return "CAST(NULL AS VARCHAR)"
        return f"nullif(trim(CAST({_q(columns[key])} AS VARCHAR)), '')"

    def number(key: str) -> str:
        if key in typed:
            return _q(columns[key])
        return _number(columns[key]) if key in columns else "CAST(NULL AS DOUBLE)"

    ts_col = _q(columns["ts"])
    if "ts" in typed:
        ts = ts_col
    elif ts_format:
        ts = f"try_strptime(CAST({ts_col} AS VARCHAR), {_lit(ts_format)})"
    else:
        epoch = f"TRY_CAST(CAST({ts_col} AS VARCHAR) AS DOUBLE)"
        ts = (
            f"coalesce(TRY_CAST(TRY_CAST({ts_col} AS TIMESTAMPTZ) AS TIMESTAMP),"
            f" TRY_CAST(CAST({ts_col} AS VARCHAR) AS TIMESTAMP),"
            f" CASE WHEN {epoch} BETWEEN 946684800 AND 4102444800 THEN make_timestamp(CAST({epoch} * 1000000 AS BIGINT))"
            f" WHEN {epoch} BETWEEN 946684800000 AND 4102444800000 THEN make_timestamp(CAST({epoch} * 1000 AS BIGINT)) END,"
            + ", ".join(f"try_strptime(CAST({ts_col} AS VARCHAR), {_lit(f)})" for f in COMMON_TIME_FORMATS)
            + ")"
        )
    mmsi = (
        _q(columns["mmsi"]) if "mmsi" in typed
        else f"TRY_CAST(TRY_CAST(nullif(trim(CAST({_q(columns['mmsi'])} AS VARCHAR)), '') AS DOUBLE) AS BIGINT)"
    )
    nav = f"CAST({number('nav_status')} AS INTEGER)"
    ship_type = f"CAST({number('ship_type')} AS INTEGER)"
    imo_text = text("imo")
    imo = f"TRY_CAST(regexp_replace({imo_text}, '^IMO', '', 'i') AS BIGINT)"
    if fmt == "dma":
        nav_map = " ".join(f"WHEN {_lit(k)} THEN {v}" for k, v in DMA_NAV_STATUS.items())
        nav = f"CASE lower({text('nav_status')}) {nav_map} END"
        type_map = " ".join(f"WHEN {_lit(k)} THEN {v}" for k, v in DMA_SHIP_TYPE.items())
        ship_type = f"coalesce(TRY_CAST({text('ship_type')} AS INTEGER), CASE lower({text('ship_type')}) {type_map} END)"
    return {
        "mmsi": mmsi,
        "ts": ts,
        "lat": number("lat"),
        "lon": number("lon"),
        "sog": number("sog"),
        "cog": number("cog"),
        "heading": f"CAST({number('heading')} AS INTEGER)",
        "nav_status": nav,
        "imo": imo,
        "name": text("name"),
        "callsign": text("callsign"),
        "ship_type": ship_type,
        "draught": number("draught"),
        "destination": text("destination"),
        "eta": text("eta"),
        "length": number("length"),
        "width": number("width"),
    }

"""The partitioned Parquet dataset: the store's tables as files any engine can read.

Layout (Hive-style, one folder a UTC day; rows sorted by mmsi, time and source line within
each file, so a vessel's track is a contiguous, ordered run and readers can skip row groups):

    DIR/positions/date=2025-03-01/part-0.parquet
    DIR/vessel_reports/date=2025-03-01/part-0.parquet
    DIR/ingests.parquet, DIR/rejects.parquet     (bookkeeping, one file each)
    DIR/_shadowtrace.json                        (marker: what wrote it, schema version)

Columns and types are the store's (naive UTC timestamps, stored as Parquet INT64 micros, not
INT96). DuckDB reads it through `dataset_views` (`shadowtrace detect --dataset DIR --db FILE`),
Spark through `SparkEngine(dataset=DIR)`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import shutil
import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from shadowtrace.errors import ConfigError
from shadowtrace.store.schema import SCHEMA_VERSION, migrate

DATASET_TABLES = ("positions", "vessel_reports")  # partitioned by date
BOOKKEEPING_TABLES = ("ingests", "rejects")  # one file each
MARKER = "_shadowtrace.json"
ROW_GROUP_ROWS = 256_000  # small enough that a few vessels' rows can be read alone
_ORDER = {"positions": "mmsi, ts, source_line", "vessel_reports": "mmsi, ts, ingest_id, source_line"}


@functools.cache
def _schemas() -> dict[str, pa.Schema]:
    con = duckdb.connect()
    try:
        migrate(con)
        return {t: con.sql(f"SELECT * FROM {t} LIMIT 0").to_arrow_table().schema
                for t in DATASET_TABLES + BOOKKEEPING_TABLES}
    finally:
        con.close()


def empty_table(table: str) -> pa.Table:
    """A table of the store's columns and no rows (a dataset with none of them)."""
    return _schemas()[table].empty_table()


def table_files(root: Path, table: str) -> list[Path]:
    return sorted((Path(root) / table).glob("date=*/*.parquet"))


def is_dataset(root: str | Path) -> bool:
    return (Path(root) / MARKER).is_file()


def check_target(root: str | Path) -> None:
    """Refuse to replace a folder that holds something other than a dataset."""
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())) and not is_dataset(root):
        raise ConfigError(f"{root} exists and is not a shadowtrace dataset",
                          hint="give --to an empty or new folder, or a dataset written before")


def write_dataset(con: duckdb.DuckDBPyConnection, root: str | Path) -> dict[str, int]:
    """Write the store's positions, vessel reports and bookkeeping to `root`, replacing
    what was there once the new copy is complete. Returns rows written by table."""
    root = Path(root)
    check_target(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root.parent, prefix=f".{root.name}.writing-"))
    try:
        counts = {table: _write_partitioned(con, table, staging / table) for table in DATASET_TABLES}
        for table in BOOKKEEPING_TABLES:
            pq.write_table(con.sql(f"SELECT * FROM {table} ORDER BY ingest_id").to_arrow_table(),
                           staging / f"{table}.parquet")
        (staging / MARKER).write_text(json.dumps(
            {"format": "shadowtrace-dataset", "schema_version": SCHEMA_VERSION, "rows": counts},
            indent=1) + "\n")
        if root.exists():  # swap, so a reader never sees half a dataset
            old = root.with_name(f".{root.name}.old-{staging.name[-8:]}")
            root.rename(old)
            staging.rename(root)
            shutil.rmtree(old)
        else:
            staging.rename(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def _write_partitioned(con: duckdb.DuckDBPyConnection, table: str, folder: Path) -> int:
    folder.mkdir(parents=True)
    days = [row[0] for row in con.execute(
        f"SELECT DISTINCT CAST(ts AS DATE) AS day FROM {table} ORDER BY day").fetchall()]
    total = 0
    for day in days:
        part = folder / f"date={day.isoformat()}"
        part.mkdir()
        total += _write_file(
            con, f"SELECT * FROM {table} WHERE ts >= $1 AND ts < $2 ORDER BY {_ORDER[table]}",
            [dt.datetime.combine(day, dt.time()), dt.datetime.combine(day + dt.timedelta(days=1), dt.time())],
            part / "part-0.parquet")
    return total


def append_dataset(con: duckdb.DuckDBPyConnection, root: str | Path, keys: dict[str, str]) -> tuple[dict[str, int], dict[str, dict[int, int]]]:
    """Add the store's positions and vessel reports to the dataset at `root`, rewriting only
    the days they fall on; a row equal on `keys[table]` (columns, NULLs equal) to one already
    there is a duplicate and left out (and counted so in the store's `ingests`). The store's
    bookkeeping (which holds the dataset's, see `load_bookkeeping`) then replaces the
    dataset's, written last: an append stopped half-way
    leaves the ingest unrecorded, and running it again adds only what is still missing.
    Returns the rows now in the dataset by table, and the duplicates left out by table and
    ingest id."""
    root = Path(root)
    totals: dict[str, int] = {}
    duplicates: dict[str, dict[int, int]] = {}
    for table in DATASET_TABLES:
        same = " AND ".join(f"o.{c.strip()} IS NOT DISTINCT FROM n.{c.strip()}" for c in keys[table].split(","))
        duplicates[table] = {}
        days = [row[0] for row in con.execute(
            f"SELECT DISTINCT CAST(ts AS DATE) AS day FROM {table} ORDER BY day").fetchall()]
        for day in days:
            bounds = [dt.datetime.combine(day, dt.time()), dt.datetime.combine(day + dt.timedelta(days=1), dt.time())]
            part = root / table / f"date={day.isoformat()}"
            old = part / "part-0.parquet"
            if old.is_file():  # each new row marked once: already in the day's file or not
                con.execute("CREATE OR REPLACE TEMP TABLE _day_old AS SELECT * FROM read_parquet(?, hive_partitioning = false)",
                            [str(old)])
                con.execute(
                    f"""CREATE OR REPLACE TEMP TABLE _day_new AS
                        SELECT n.*, EXISTS (SELECT 1 FROM _day_old o WHERE o.mmsi = n.mmsi AND o.ts = n.ts AND {same})
                               AS _duplicate
                        FROM {table} n WHERE n.ts >= $1 AND n.ts < $2""", bounds)
                for ingest_id, count in con.execute(
                        "SELECT ingest_id, count(*) FROM _day_new WHERE _duplicate GROUP BY ingest_id").fetchall():
                    duplicates[table][ingest_id] = duplicates[table].get(ingest_id, 0) + count
                merged = "SELECT * FROM _day_old UNION ALL SELECT * EXCLUDE (_duplicate) FROM _day_new WHERE NOT _duplicate"
            else:
                con.execute(f"CREATE OR REPLACE TEMP TABLE _day_new AS SELECT * FROM {table} WHERE ts >= $1 AND ts < $2",
                            bounds)
                merged = "SELECT * FROM _day_new"
            part.mkdir(parents=True, exist_ok=True)
            _write_file(con, f"SELECT * FROM ({merged}) ORDER BY {_ORDER[table]}", [], part / "part-0.parquet")
        con.execute("DROP TABLE IF EXISTS _day_new")
        con.execute("DROP TABLE IF EXISTS _day_old")
        files = table_files(root, table)
        totals[table] = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
        added = {"positions": "positions_added", "vessel_reports": "reports_added"}[table]
        for ingest_id, count in duplicates[table].items():
            con.execute(f"UPDATE ingests SET {added} = {added} - $1, duplicates = duplicates + $1 WHERE ingest_id = $2",
                        [count, ingest_id])
    for table in BOOKKEEPING_TABLES:
        tmp = root / f".{table}.parquet.writing"
        pq.write_table(con.sql(f"SELECT * FROM {table} ORDER BY ingest_id").to_arrow_table(), tmp)
        tmp.replace(root / f"{table}.parquet")
    marker = root / f".{MARKER}.writing"
    marker.write_text(json.dumps(
        {"format": "shadowtrace-dataset", "schema_version": SCHEMA_VERSION, "rows": totals}, indent=1) + "\n")
    marker.replace(root / MARKER)
    return totals, duplicates


def _write_file(con: duckdb.DuckDBPyConnection, query: str, params: list[object], path: Path) -> int:
    """Write `query` to the Parquet file `path` (in row groups of ROW_GROUP_ROWS), replacing it
    only once complete."""
    tmp = path.with_name(f".{path.name}.writing")
    reader = con.sql(query, params=params).to_arrow_reader(ROW_GROUP_ROWS)
    rows = 0
    try:
        with pq.ParquetWriter(tmp, reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                rows += batch.num_rows
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return rows


def load_bookkeeping(con: duckdb.DuckDBPyConnection, root: str | Path) -> None:
    """Copy a dataset's ingests and rejects into an (empty) store, so an ingest into it
    continues the dataset's ingest ids and skips the files the dataset already holds."""
    root = Path(root)
    for table in BOOKKEEPING_TABLES:
        path = root / f"{table}.parquet"
        if path.is_file():
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM read_parquet(?)", [str(path)])
    row = con.execute("SELECT coalesce(max(ingest_id), 0) FROM ingests").fetchone()
    next_id = (int(row[0]) if row else 0) + 1
    con.execute(f"CREATE OR REPLACE SEQUENCE ingest_id_seq START {next_id}")


def dataset_views(con: duckdb.DuckDBPyConnection, root: str | Path) -> None:
    """Make `positions` and `vessel_reports` of the connection read the dataset (temp views
    shadow the store's own tables for this connection only)."""
    root = Path(root)
    if not (root / "positions").is_dir():
        raise ConfigError(f"{root} is not a shadowtrace dataset (no positions/ folder)",
                          hint="write one with: shadowtrace ingest FILES --to DIR")
    for table in DATASET_TABLES:
        if table_files(root, table):
            glob = str(root / table / "date=*" / "*.parquet").replace("'", "''")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {table} AS SELECT * EXCLUDE (date) FROM "
                        f"read_parquet('{glob}', hive_partitioning = true)")
        else:
            con.register("_empty_dataset_table", empty_table(table))
            con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM _empty_dataset_table")
            con.unregister("_empty_dataset_table")

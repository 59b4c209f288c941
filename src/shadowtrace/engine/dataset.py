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
        reader = con.sql(
            f"SELECT * FROM {table} WHERE ts >= $1 AND ts < $2 ORDER BY {_ORDER[table]}",
            params=[dt.datetime.combine(day, dt.time()), dt.datetime.combine(day + dt.timedelta(days=1), dt.time())],
        ).to_arrow_reader(ROW_GROUP_ROWS)
        with pq.ParquetWriter(part / "part-0.parquet", reader.schema, compression="zstd") as writer:
            for batch in reader:
                writer.write_batch(batch, row_group_size=ROW_GROUP_ROWS)
                total += batch.num_rows
    return total


def load_dataset(con: duckdb.DuckDBPyConnection, root: str | Path) -> None:
    """Copy a dataset's rows into an (empty) store, so an ingest can add to it: re-ingesting
    a file already in it adds nothing, new rows are de-duplicated against it."""
    root = Path(root)
    for table in DATASET_TABLES:
        if table_files(root, table):
            con.execute(f"INSERT INTO {table} BY NAME SELECT * EXCLUDE (date) FROM "
                        f"read_parquet(?, hive_partitioning = true)", [str(root / table / "date=*" / "*.parquet")])
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

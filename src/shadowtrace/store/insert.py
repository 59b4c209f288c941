"""Bulk inserts through Arrow: row-by-row INSERTs are slow in DuckDB."""

from __future__ import annotations

import duckdb
import pyarrow as pa


def insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table, *, distinct_on: str | None = None) -> None:
    """Insert ``data`` into ``table`` by column name (``distinct_on``: keep one row per key)."""
    if data.num_rows == 0:
        return
    view = f"_insert_{table}"
    columns = ", ".join(f'"{c}"' for c in data.column_names)
    select = f"SELECT DISTINCT ON ({distinct_on}) {columns}" if distinct_on else f"SELECT {columns}"
    con.register(view, data)
    try:
        con.execute(f"INSERT INTO {table} ({columns}) {select} FROM {view}")
    finally:
        con.unregister(view)

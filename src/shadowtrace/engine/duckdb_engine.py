"""The embedded default engine: DuckDB over the store file (or a Parquet dataset)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from shadowtrace.store import connect

_TYPES = ("DOUBLE", "BIGINT", "INTEGER", "BOOLEAN", "VARCHAR")


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, db: str | Path | None = None, con: duckdb.DuckDBPyConnection | None = None,
                 dataset: str | Path | None = None, memory_limit: str | None = None,
                 temp_directory: str | Path | None = None):
        """On the store `db` (or an open `con`); with `dataset`, positions and vessel reports
        are read from that Parquet dataset instead of the store's tables. `memory_limit`
        (DuckDB's setting, e.g. "8GB") and `temp_directory` (where sorts, joins and temp
        tables spill past it) bound memory on large inputs; unset, DuckDB's defaults hold."""
        if con is None:
            if db is None:
                raise ValueError("DuckDBEngine needs db= or con=")
            con = connect(db)
        self.con = con
        for setting, value in (("memory_limit", memory_limit), ("temp_directory", temp_directory)):
            if value is not None:
                quoted = str(value).replace("'", "''")
                con.execute(f"SET {setting} = '{quoted}'")
        self._functions: set[str] = set()
        if dataset is not None:
            from shadowtrace.engine.dataset import dataset_views

            dataset_views(con, dataset)

    def materialize(self, name: str, query: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {query}")

    def query_arrow(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def register_arrow(self, name: str, table: pa.Table) -> None:
        self.con.register("_incoming_arrow", table)
        try:
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM _incoming_arrow")
        finally:
            self.con.unregister("_incoming_arrow")

    def register_function(
        self, name: str, fn: Callable[..., Any], arg_types: list[str], return_type: str
    ) -> None:
        if name in self._functions:
            return

        def call(*columns: pa.Array) -> pa.Array:
            arrays = [np.asarray(c.to_numpy(zero_copy_only=False)) for c in columns]
            return pa.array(fn(*arrays))

        # DuckDB reads the arity from the Python signature, so give it a fixed one.
        arity = len(arg_types)
        arrow_fn = {
            1: lambda a: call(a),
            2: lambda a, b: call(a, b),
            3: lambda a, b, c: call(a, b, c),
            4: lambda a, b, c, d: call(a, b, c, d),
        }[arity]

        self.con.execute("SELECT 1").fetchall()  # no pending result may be open here
        self.con.create_function(
            name, arrow_fn, [duckdb.sqltype(t) for t in arg_types], duckdb.sqltype(return_type),
            type="arrow", side_effects=False,
        )
        self._functions.add(name)

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def close(self) -> None:
        self.con.close()

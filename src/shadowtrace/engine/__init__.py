"""Execution engines for detector definitions.

Detectors are written once, as SQL in DuckDB's dialect restricted to a portable subset
(window functions, joins, aggregates, STRUCT details) plus a few vectorised functions that
every engine registers (geo look-ups). `get_engine` is the one place that picks an engine:

    get_engine("duckdb", db="store.duckdb")                      # the store's tables
    get_engine("duckdb", db="store.duckdb", dataset="data/")     # a Parquet dataset, events to db
    get_engine("duckdb", db=..., dataset=..., memory_limit="8GB", temp_directory="/tmp/spill")
    get_engine("spark", master="local[2]", dataset="data/")      # the dataset on Spark

Spark runs the same SQL translated by SQLGlot (`shadowtrace.engine.spark_sql`).
"""

from __future__ import annotations

from typing import Any

from shadowtrace.engine.base import Engine
from shadowtrace.errors import ConfigError

ENGINES = ("duckdb", "spark")


def get_engine(name: str = "duckdb", **options: Any) -> Engine:
    """The engine called `name`, connected as `options` say: duckdb takes db=PATH (or con=)
    and optionally dataset=DIR, memory_limit= and temp_directory= (where DuckDB spills past the
    limit); spark takes dataset=DIR, master=URL (default local[*]), conf={...} or session= (an
    existing SparkSession)."""
    if name == "duckdb":
        from shadowtrace.engine.duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    if name == "spark":
        from shadowtrace.engine.spark_engine import SparkEngine

        return SparkEngine(**options)
    raise ConfigError(f"unknown engine {name!r}", hint=f"choose one of: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "get_engine"]

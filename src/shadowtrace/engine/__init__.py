"""Execution engines for detector definitions.

Detectors are written once, as SQL in DuckDB's dialect restricted to a portable subset
(window functions, joins, aggregates, STRUCT details) plus a few vectorised functions that
every engine registers (geo look-ups). `get_engine` is the one place that picks an engine.
"""

from __future__ import annotations

from typing import Any

from shadowtrace.engine.base import Engine
from shadowtrace.errors import ConfigError

ENGINES = ("duckdb",)


def get_engine(name: str = "duckdb", **options: Any) -> Engine:
    """The engine called `name`, connected as `options` say (e.g. db=PATH for duckdb)."""
    if name == "duckdb":
        from shadowtrace.engine.duckdb_engine import DuckDBEngine

        return DuckDBEngine(**options)
    raise ConfigError(f"unknown engine {name!r}", hint=f"choose one of: {', '.join(ENGINES)}")


__all__ = ["ENGINES", "Engine", "get_engine"]

"""The DuckDB store: schema, migrations and connections."""

from shadowtrace.store.schema import SCHEMA_VERSION, connect

__all__ = ["SCHEMA_VERSION", "connect"]

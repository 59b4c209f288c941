"""What a detector may ask of an engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import pyarrow as pa


class Engine(Protocol):
    """A SQL engine holding the canonical tables under their usual names."""

    name: str

    def materialize(self, name: str, query: str) -> None:
        """Run `query` and keep the result as table `name` for later queries."""

    def query_arrow(self, query: str) -> pa.Table:
        """Run `query` and bring the (small) result to the driver as Arrow."""

    def register_arrow(self, name: str, table: pa.Table) -> None:
        """Make a driver-side Arrow table queryable as `name`."""

    def register_function(
        self, name: str, fn: Callable[..., Any], arg_types: list[str], return_type: str
    ) -> None:
        """Register a vectorised function (numpy arrays in, numpy array out)."""

    def drop(self, name: str) -> None:
        """Forget an intermediate table."""

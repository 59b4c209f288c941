"""Apache Spark engine: the same detector SQL, translated (spark_sql.to_spark), over a
partitioned Parquet dataset (`shadowtrace ingest --to DIR`).

Time: the store's timestamps are naive UTC. Spark runs with session time zone UTC, and every
timestamp entering Spark (Parquet columns read as TIMESTAMP_NTZ, driver-side Arrow tables) is
turned into Spark's TIMESTAMP at UTC, so unix_micros and date_trunc see the stored instant;
timestamps coming back are naive UTC again. No wall-clock shift happens anywhere.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shadowtrace.engine.dataset import DATASET_TABLES, empty_table, table_files
from shadowtrace.engine.spark_sql import to_spark
from shadowtrace.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

# Session settings every run needs; user conf may add to them but not change these.
REQUIRED_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.parquet.inferTimestampNTZ.enabled": "false",  # Parquet timestamps as TIMESTAMP
    "spark.sql.caseSensitive": "false",
}
# Defaults for a local run; a cluster's spark-defaults or `conf` may override them.
DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.driver.memory": "2g",
}
_SPARK_TYPES = {"DOUBLE": "double", "BIGINT": "bigint", "INTEGER": "int", "BOOLEAN": "boolean",
                "VARCHAR": "string"}
_ARROW_TYPES = {"DOUBLE": pa.float64(), "BIGINT": pa.int64(), "INTEGER": pa.int32(),
                "BOOLEAN": pa.bool_(), "VARCHAR": pa.string()}


def _session_class() -> type[SparkSession]:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # depends on the installation
        raise ConfigError("the Spark engine needs pyspark",
                          hint="pip install 'shadowtrace[spark]' (and a Java 17+ runtime)") from exc
    return SparkSession


def spark_session(master: str = "local[*]", conf: dict[str, str] | None = None,
                  app_name: str = "shadowtrace") -> SparkSession:
    """A new Spark session set up for shadowtrace, or the active one (kept as its owner set
    it up: only the settings every run needs are applied to it)."""
    SparkSession = _session_class()
    if master.startswith("sc://"):
        return _connect_session(SparkSession, master, conf)
    session = SparkSession.getActiveSession()
    if session is None:
        # Python workers must import shadowtrace and numpy: run them on this interpreter.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        builder = SparkSession.builder.master(master).appName(app_name)
        for key, value in {**DEFAULT_CONF, **(conf or {}), **REQUIRED_CONF}.items():
            builder = builder.config(key, value)
        try:
            session = builder.getOrCreate()
        except Exception as exc:  # the JVM did not start: no Java, or a bad master URL
            raise ConfigError(f"Spark did not start ({master}): {str(exc).splitlines()[0]}",
                              hint="Spark needs a Java 17+ runtime (java on PATH or JAVA_HOME)") from exc
        session.sparkContext.setLogLevel("ERROR")
    for key, value in REQUIRED_CONF.items():
        session.conf.set(key, value)
    return session


def _connect_session(SparkSession: type[SparkSession], url: str, conf: dict[str, str] | None) -> SparkSession:
    """A Spark Connect session (``sc://HOST:PORT``): the server owns the cluster, so only
    session settings apply (the required ones, the shuffle defaults, and the caller's).
    The dataset path is read by the server: it must see the same path."""
    _check_reachable(url)
    try:
        session = SparkSession.builder.remote(url).getOrCreate()
    except ImportError as exc:
        raise ConfigError(f"Spark Connect needs its client libraries: {exc}",
                          hint="pip install 'shadowtrace[spark]' (pyspark[connect])") from exc
    except Exception as exc:  # a bad URL; the server itself is reached on the first query
        raise ConfigError(f"Spark Connect session for {url} failed: {str(exc).splitlines()[0]}",
                          hint="check the URL (sc://HOST:PORT) and that the server runs") from exc
    runtime = {k: v for k, v in DEFAULT_CONF.items() if k.startswith("spark.sql.")}
    try:
        for key, value in {**runtime, **(conf or {}), **REQUIRED_CONF}.items():
            session.conf.set(key, value)
    except Exception as exc:  # the first call that reaches the server
        raise ConfigError(f"Spark Connect server {url} did not answer: {str(exc).splitlines()[0]}",
                          hint="start it (sbin/start-connect-server.sh) or check HOST:PORT") from exc
    return session


class SparkEngine:
    """Runs detector SQL on Spark; intermediate tables are checkpointed temp views."""

    name = "spark"

    def __init__(self, dataset: str | Path | None = None, master: str = "local[*]",
                 session: SparkSession | None = None, conf: dict[str, str] | None = None):
        # Stopped on close only if this engine started it (not a caller's or the active one);
        # a Spark Connect session is this client's alone (stopping it leaves the server up).
        self._owned = session is None and (master.startswith("sc://")
                                           or _session_class().getActiveSession() is None)
        if session is not None:
            for key, value in REQUIRED_CONF.items():
                session.conf.set(key, value)
        self.spark = session if session is not None else spark_session(master, conf)
        self._tables: dict[str, DataFrame] = {}
        self._functions: set[str] = set()
        if dataset is not None:
            self.load_dataset(dataset)

    # -- inputs -------------------------------------------------------------------------
    def load_dataset(self, dataset: str | Path) -> None:
        """Make the dataset's tables (positions, vessel_reports) queryable under their names."""
        root = Path(dataset).resolve()  # absolute: a Spark Connect server has its own working folder
        if not (root / "positions").is_dir():
            raise ConfigError(f"{root} is not a shadowtrace dataset (no positions/ folder)",
                              hint="write one with: shadowtrace ingest FILES --to DIR")
        for table in DATASET_TABLES:
            if not table_files(root, table):
                self.register_arrow(table, empty_table(table))
                continue
            frame = (self.spark.read.option("basePath", str(root / table))
                     .parquet(str(root / table)).drop("date"))
            self._view(table, _as_utc(frame))

    # -- the Engine protocol ------------------------------------------------------------
    def materialize(self, name: str, query: str) -> None:
        # Checkpointed: later steps read it several times, and its plan (lineage) is cut.
        frame = self.spark.sql(to_spark(query)).localCheckpoint(eager=True)
        self._view(name, frame)

    def query_arrow(self, query: str) -> pa.Table:
        table = self.spark.sql(to_spark(query)).toArrow()
        return _naive_utc(table)

    def register_arrow(self, name: str, table: pa.Table) -> None:
        columns = [
            pc.assume_timezone(col, "UTC") if pa.types.is_timestamp(col.type) and col.type.tz is None
            else col
            for col in table.columns
        ]
        table = pa.table(columns, names=table.column_names)
        self._view(name, self.spark.createDataFrame(table))

    def register_function(
        self, name: str, fn: Callable[..., Any], arg_types: list[str], return_type: str
    ) -> None:
        if name in self._functions:
            return
        from pyspark.sql.functions import arrow_udf

        out_type = _ARROW_TYPES[return_type]

        def call(*columns: pa.Array) -> pa.Array:
            # The numpy function DuckDB calls, on the same values: identical results.
            arrays = [np.asarray(c.to_numpy(zero_copy_only=False)) for c in columns]
            return pa.array(fn(*arrays), type=out_type)

        udf = arrow_udf(call, _SPARK_TYPES[return_type])  # scalar, from the type hints
        self.spark.udf.register(name, udf)
        self._functions.add(name)

    def drop(self, name: str) -> None:
        frame = self._tables.pop(name, None)
        self.spark.catalog.dropTempView(name)
        if frame is not None:
            frame.unpersist()

    def close(self) -> None:
        for name in list(self._tables):
            self.drop(name)
        if self._owned:
            self.spark.stop()

    def _view(self, name: str, frame: DataFrame) -> None:
        old = self._tables.pop(name, None)
        frame.createOrReplaceTempView(name)
        self._tables[name] = frame
        if old is not None:
            old.unpersist()


def _as_utc(frame: DataFrame) -> DataFrame:
    """TIMESTAMP_NTZ columns (naive UTC) as TIMESTAMP; with session zone UTC, no shift."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampNTZType, TimestampType

    return frame.select(*[
        F.col(f.name).cast(TimestampType()).alias(f.name) if isinstance(f.dataType, TimestampNTZType)
        else F.col(f.name)
        for f in frame.schema.fields
    ])


def _naive_utc(table: pa.Table) -> pa.Table:
    """Spark hands back TIMESTAMP as timestamp[us, tz=UTC]: the store's naive UTC values."""
    columns = [
        col.cast(pa.timestamp("us")) if pa.types.is_timestamp(col.type) and col.type.tz is not None
        else col
        for col in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def _check_reachable(url: str, timeout_s: float = 10.0) -> None:
    """Fail fast on a Spark Connect URL nobody listens on (the client would retry for minutes)."""
    parsed = urlsplit(url.split(";", 1)[0])
    host, port = parsed.hostname or "localhost", parsed.port or 15002
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
    except OSError as exc:
        raise ConfigError(f"no Spark Connect server at {host}:{port} ({url}): {exc}",
                          hint="start one (Spark's sbin/start-connect-server.sh) or check HOST:PORT") from exc

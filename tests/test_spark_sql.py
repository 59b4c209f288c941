"""Detector SQL translates to Spark SQL (SQLGlot plus shadowtrace's rules); no Spark needed.

Semantic parity (the same events on both engines) is tests/test_spark_parity.py.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

pytest.importorskip("sqlglot", reason="sqlglot comes with the spark extra (pip install -e '.[dev]')")

from shadowtrace.detect.run import detect_events  # noqa: E402
from shadowtrace.engine.duckdb_engine import DuckDBEngine  # noqa: E402
from shadowtrace.engine.spark_sql import TranspileError, to_spark  # noqa: E402
from tests.detect_helpers import T0, line, make_store  # noqa: E402


class RecordingEngine(DuckDBEngine):
    """DuckDB, keeping every statement a detector sends."""

    def __init__(self, db: Path):
        super().__init__(db=db)
        self.statements: list[str] = []

    def materialize(self, name: str, query: str) -> None:
        self.statements.append(query)
        super().materialize(name, query)

    def query_arrow(self, query: str) -> pa.Table:
        self.statements.append(query)
        return super().query_arrow(query)


def test_every_detector_statement_translates(tmp_path: Path) -> None:
    rows = line(244000001, T0, 36.5, 22.6, 36.6, 22.8, 600, every_s=300, sog=8)
    db = make_store(tmp_path / "s.duckdb", rows, [{"mmsi": 244000001, "ts": T0, "imo": 9074729, "name": "X"}])
    engine = RecordingEngine(db)
    try:
        detect_events(engine)
    finally:
        engine.close()
    assert len(engine.statements) > 30
    for sql in engine.statements:
        spark = to_spark(sql)
        assert "EPOCH" not in spark.upper().replace("UNIX_MICROS", ""), spark  # exact micros only
        assert "UNIX_TIMESTAMP" not in spark.upper()
        assert " JSON" not in spark.upper()


def test_epoch_keeps_the_fraction_of_a_second() -> None:
    assert to_spark("SELECT epoch(ts) FROM t") == "SELECT CAST(UNIX_MICROS(ts) AS DOUBLE) / 1e6 FROM t"
    assert to_spark("SELECT epoch_us(ts) FROM t") == "SELECT UNIX_MICROS(ts) FROM t"


def test_decimal_literals_become_doubles() -> None:
    assert to_spark("SELECT 0.5 * x, 2 * x FROM t") == "SELECT CAST(0.5 AS DOUBLE) * x, 2 * x FROM t"


def test_round_with_digits_follows_duckdb() -> None:
    spark = to_spark("SELECT round(x, 2), round(x) FROM t")
    assert "TRANSFORM(ARRAY(CAST(x AS DOUBLE)), _round_x ->" in spark
    assert spark.endswith(", ROUND(x) FROM t")


def test_to_json_keeps_null_fields_and_json_cast_goes() -> None:
    spark = to_spark("SELECT CAST(to_json({'a': NULL, 'b': 1}) AS JSON) FROM t")
    assert spark == ("SELECT TO_JSON(STRUCT(NULL AS a, 1 AS b), MAP('ignoreNullFields', 'false'))"
                     " FROM t")


def test_arg_min_skips_null_values_as_duckdb_does() -> None:
    assert to_spark("SELECT arg_min(a, ts) FILTER (WHERE b) FROM t") == (
        "SELECT MIN_BY(a, ts) FILTER(WHERE (b) AND NOT a IS NULL) FROM t")


def test_ordered_lists_and_their_filters() -> None:
    spark = to_spark("SELECT list(DISTINCT x ORDER BY x) FILTER (WHERE y) FROM t")
    assert spark == ("SELECT CASE WHEN SIZE(ARRAY_SORT(COLLECT_SET(x) FILTER(WHERE y))) > 0"
                     " THEN ARRAY_SORT(COLLECT_SET(x) FILTER(WHERE y)) END FROM t")
    with pytest.raises(TranspileError, match="ORDER BY"):
        to_spark("SELECT list(x) FROM t")
    with pytest.raises(TranspileError, match="own values"):
        to_spark("SELECT list(x ORDER BY y) FROM t")


def test_named_windows_are_inlined_and_refined() -> None:
    spark = to_spark(
        "SELECT lag(a) OVER w, last_value(a IGNORE NULLS) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING"
        " AND CURRENT ROW) FROM t WINDOW w AS (PARTITION BY k ORDER BY ts)"
    )
    assert "WINDOW" not in spark
    assert spark.count("PARTITION BY k ORDER BY ts") == 2
    assert "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW" in spark


def test_unsupported_constructs_raise() -> None:
    with pytest.raises(TranspileError):
        to_spark("SELECT round(x, d) FROM t")
    with pytest.raises(TranspileError):
        to_spark("SELECT FROM WHERE")

"""`shadowtrace ingest ... --to DIR`: the ingest written as a partitioned Parquet dataset.

Every cleaning rule lives in the DuckDB loader, so the rows are loaded into a store first
(the `--db` file if one is given, else a staging store beside DIR that is removed afterwards)
and then written as the dataset (`shadowtrace.engine.dataset`):
- with `--db`, or into a new dataset: the store's tables are written whole and swapped in when
  complete;
- adding to an existing dataset: the staging store gets the dataset's bookkeeping only (ingest
  ids continue, a file already ingested is skipped), and only the days the new rows fall on
  are rewritten, each with the new rows that are not already in it (as a store de-duplicates);
  the ingest's counts of rows added and duplicates are corrected for those.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb

from shadowtrace.engine.dataset import (
    DATASET_TABLES,
    append_dataset,
    check_target,
    is_dataset,
    load_bookkeeping,
    write_dataset,
)
from shadowtrace.ingest.load import POSITION_KEY, REPORT_KEY
from shadowtrace.ingest.run import IngestOptions, IngestReport, ProgressFactory, ingest
from shadowtrace.store import connect


def ingest_to_dataset(
    inputs: list[str],
    root: str | Path,
    options: IngestOptions | None = None,
    progress: ProgressFactory | None = None,
    db: str | Path | None = None,
) -> tuple[IngestReport, dict[str, int]]:
    """Ingest `inputs` and write the result as the dataset at `root`; returns the ingest
    report and the rows written per table."""
    root = Path(root)
    check_target(root)  # before the work, not after
    if db is not None:
        report = ingest(inputs, db, options, progress)
        return report, _export(db, root)
    root.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root.parent, prefix=f".{root.name}.staging-") as tmp:
        staging = Path(tmp) / "staging.duckdb"
        if not is_dataset(root):
            report = ingest(inputs, staging, options, progress)
            return report, _export(staging, root)
        con = connect(staging)
        try:
            load_bookkeeping(con, root)
        finally:
            con.close()
        report = ingest(inputs, staging, options, progress)
        return report, _append(staging, root, report)


def _append(db: Path, root: Path, report: IngestReport) -> dict[str, int]:
    con = connect(db)
    try:
        totals, duplicates = append_dataset(con, root, {"positions": POSITION_KEY, "vessel_reports": REPORT_KEY})
    finally:
        con.close()
    # Rows already in the dataset are known as duplicates only now: correct the report.
    for result in report.results:
        c = result.counts
        for table, added in (("positions", "positions_added"), ("vessel_reports", "reports_added")):
            n = duplicates[table].get(result.ingest_id, 0) if result.ingest_id is not None else 0
            setattr(c, added, getattr(c, added) - n)
            c.duplicates += n
    with duckdb.connect() as reader:  # vessels and span of the whole dataset, as for a store
        row = reader.execute("SELECT count(DISTINCT mmsi), min(ts), max(ts) FROM read_parquet(?, hive_partitioning = false)",
                             [str(root / DATASET_TABLES[0] / "date=*" / "*.parquet")]).fetchone()
    if row:
        report.vessels, report.ts_min, report.ts_max = int(row[0]), row[1], row[2]
    return totals


def _export(db: str | Path, root: Path) -> dict[str, int]:
    con = connect(db)
    try:
        return write_dataset(con, root)
    finally:
        con.close()

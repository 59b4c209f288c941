"""`shadowtrace ingest ... --to DIR`: the ingest written as a partitioned Parquet dataset.

Every cleaning rule lives in the DuckDB loader, so the rows are loaded into a store first
(the `--db` file if one is given, else a staging store beside DIR that is removed afterwards)
and the store's tables are then written as the dataset (`shadowtrace.engine.dataset`). Into a
staging store the existing dataset is loaded first: re-ingesting a file adds nothing and new
rows are de-duplicated against the old, as with a store. The dataset is rewritten whole and
swapped in when complete.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from shadowtrace.engine.dataset import check_target, is_dataset, load_dataset, write_dataset
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
        if is_dataset(root):
            con = connect(staging)
            try:
                load_dataset(con, root)
            finally:
                con.close()
        report = ingest(inputs, staging, options, progress)
        return report, _export(staging, root)


def _export(db: str | Path, root: Path) -> dict[str, int]:
    con = connect(db)
    try:
        return write_dataset(con, root)
    finally:
        con.close()

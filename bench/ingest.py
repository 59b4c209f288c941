"""Ingest speed and memory against same-run baselines.

For each format (DMA CSV, NOAA CSV, NMEA) and size (default 1M and 10M rows) a scenario
is simulated, then, each in a fresh process:
- baseline: DuckDB's bare read_csv of the file into a table of a new DuckDB file (CSV),
  or pyais' bare decode loop over the file (NMEA);
- shadowtrace: `ingest` of the same file into a new store.
Figures go to bench/results/ingest.{json,md}. Targets: CSV within 2x of read_csv, NMEA
no slower than bare pyais. Run: `python bench/ingest.py [--rows 1000000 ...]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import tempfile
from pathlib import Path

from _common import measure, write_results

ROWS_PER_VESSEL_DAY = 1070  # simulator default density (measured), to size scenarios


def simulate_rows(fmt: str, rows: int, folder: Path) -> tuple[Path, int]:
    days = 10.0
    vessels = max(20, round(rows / (ROWS_PER_VESSEL_DAY * days)))
    result = measure(f"""
        from pathlib import Path
        from shadowtrace.simulate import simulate
        r = simulate(Path({str(folder)!r}), vessels={vessels}, days={days}, seed=11, fmt={fmt!r})
        extra = {{"path": str(r.positions_path), "rows": r.rows}}
    """)
    return Path(result["extra"]["path"]), int(result["extra"]["rows"])


def baseline(fmt: str, path: Path, work: Path) -> dict:
    if fmt == "nmea":
        return measure(f"""
            from pyais import FileReaderStream
            decoded = 0
            for message in FileReaderStream({str(path)!r}):
                try:
                    message.decode()
                    decoded += 1
                except Exception:
                    pass
            extra = {{"decoded": decoded}}
        """)
    db = work / "baseline.duckdb"
    return measure(f"""
        import duckdb
        con = duckdb.connect({str(db)!r})
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv({str(path)!r})")
        extra = {{"rows": con.execute("SELECT count(*) FROM t").fetchone()[0]}}
        con.close()
    """)


def ours(path: Path, work: Path) -> dict:
    db = work / "store.duckdb"
    return measure(f"""
        from shadowtrace.ingest import ingest
        report = ingest([{str(path)!r}], {str(db)!r})
        c = report.results[0].counts
        assert report.results[0].status == "complete", report.results[0].error
        extra = {{"positions": c.positions_added, "lines": c.lines}}
    """)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--formats", nargs="+", default=["dma", "noaa", "nmea"])
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        for fmt in args.formats:
            work = Path(tempfile.mkdtemp(prefix=f"bench-ingest-{fmt}-"))
            try:
                path, written = simulate_rows(fmt, rows, work / "scenario")
                base = baseline(fmt, path, work)
                mine = ours(path, work)
                row = {
                    "format": fmt, "rows": written, "file_mb": round(path.stat().st_size / 2**20, 1),
                    "baseline": "pyais decode loop" if fmt == "nmea" else "duckdb read_csv",
                    "baseline_s": round(base["seconds"], 2), "baseline_peak_mb": round(base["peak_mb"]),
                    "shadowtrace_s": round(mine["seconds"], 2), "shadowtrace_peak_mb": round(mine["peak_mb"]),
                    "ratio": round(mine["seconds"] / base["seconds"], 2),
                    "shadowtrace_rows_per_s": round(written / mine["seconds"]),
                    "baseline_rows_per_s": round(written / base["seconds"]),
                }
                results.append(row)
                print(row, flush=True)
            finally:
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
    header = ("| format | rows | file MB | baseline | baseline s | shadowtrace s | ratio | rows/s | "
              "baseline peak MB | shadowtrace peak MB |\n|---|---|---|---|---|---|---|---|---|---|\n")
    lines = "".join(
        f"| {r['format']} | {r['rows']:,} | {r['file_mb']} | {r['baseline']} | {r['baseline_s']} | "
        f"{r['shadowtrace_s']} | {r['ratio']} | {r['shadowtrace_rows_per_s']:,} | "
        f"{r['baseline_peak_mb']} | {r['shadowtrace_peak_mb']} |\n" for r in results
    )
    note = f"\nMeasured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, {platform.python_version()}.\n"
    print(header + lines + note)
    write_results("ingest", results, header + lines + note)


if __name__ == "__main__":
    main()

"""Detector speed against a same-run floor: DuckDB reading the positions sorted by (mmsi, ts).

For each size (default 1M and 10M rows) a DMA scenario is simulated and ingested once;
then, each in a fresh process on a copy of the store:
- floor: `SELECT ... FROM positions ORDER BY mmsi, ts` materialised into a table;
- shadowtrace: every registered detector (track preparation included).
Figures go to bench/results/detect.{json,md}. Targets: within 3x of the floor, and 10M rows
in under 60 s. Run: `python bench/detect.py [--rows 1000000 ...]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import shutil
import tempfile
from pathlib import Path

from _common import measure, write_results
from ingest import simulate_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    args = parser.parse_args()
    results = []
    for rows in args.rows:
        work = Path(tempfile.mkdtemp(prefix="bench-detect-"))
        try:
            path, written = simulate_rows("dma", rows, work / "scenario")
            db = work / "store.duckdb"
            measure(f"""
                from shadowtrace.ingest import ingest
                ingest([{str(path)!r}], {str(db)!r})
            """)
            positions = measure(f"""
                import duckdb
                extra = duckdb.connect({str(db)!r}, read_only=True).execute("SELECT count(*) FROM positions").fetchone()[0]
            """)["extra"]
            floor_db = work / "floor.duckdb"
            shutil.copy(db, floor_db)
            floor = measure(f"""
                import duckdb
                con = duckdb.connect({str(floor_db)!r})
                con.execute("CREATE TEMP TABLE sorted AS SELECT mmsi, ts, lat, lon, sog, cog, heading, ingest_id, source_line FROM positions ORDER BY mmsi, ts")
            """)
            ours = measure(f"""
                from shadowtrace.detect.run import detect_events
                from shadowtrace.engine import get_engine
                engine = get_engine("duckdb", db={str(db)!r})
                report = detect_events(engine)
                extra = {{"events": report.counts, "seconds": {{k: round(v, 2) for k, v in report.seconds.items()}}}}
            """)
            row = {
                "rows": positions, "floor_s": round(floor["seconds"], 2),
                "detect_s": round(ours["seconds"], 2), "ratio": round(ours["seconds"] / floor["seconds"], 2),
                "peak_mb": round(ours["peak_mb"]), "floor_peak_mb": round(floor["peak_mb"]),
                "per_detector_s": ours["extra"]["seconds"], "events": ours["extra"]["events"],
            }
            results.append(row)
            print(row, flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    header = "| positions | floor s (sort by mmsi, ts) | all detectors s | ratio | peak MB |\n|---|---|---|---|---|\n"
    lines = "".join(f"| {r['rows']:,} | {r['floor_s']} | {r['detect_s']} | {r['ratio']} | {r['peak_mb']} |\n" for r in results)
    per = "\nPer detector (seconds):\n\n" + "\n".join(
        f"- {r['rows']:,} rows: " + ", ".join(f"{k} {v}" for k, v in r["per_detector_s"].items()) for r in results
    )
    note = f"\n\nMeasured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, Python {platform.python_version()}.\n"
    print(header + lines + per + note)
    write_results("detect", results, header + lines + per + note)


if __name__ == "__main__":
    main()

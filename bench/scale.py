"""Scaling: every detector on DuckDB and on Spark (local[2]) over 1M, 10M and 100M positions.

For each size a DMA scenario is simulated (shadowtrace.simulate, streaming) and built once into
the partitioned Parquet dataset of `shadowtrace ingest --to DIR` (engine/dataset.py): the CSV is
ingested in slices of `--chunk-rows` rows into a staging store (the real ingest: cleaning,
vessel reports, de-duplication; one ingest per slice, so memory stays that of a 10M-row
ingest), the store is written as the dataset with `write_dataset`, and everything but the
dataset is deleted. Then, each in a fresh process:
- floor: DuckDB reading the dataset's positions sorted by (mmsi, ts) into a table (as
  bench/detect.py's floor);
- duckdb: `detect_events(get_engine("duckdb", db=..., dataset=DIR))`, every detector;
- spark: the same on `get_engine("spark", master="local[2]", dataset=DIR)`, for sizes up to
  `--spark-max-rows` (default 10M; larger ones are recorded as skipped), each run capped by
  `--spark-timeout`.
DuckDB runs with `--memory-limit` and a temp directory under the work folder, so a large run
spills to disk instead of running out of memory. Per step: seconds, peak memory (the process,
and the whole process tree: Spark's JVM and Python workers), peak bytes in the spill folder,
load average before and after, events per type (DuckDB and Spark must agree). The exponent b
of time ~ rows^b is fitted per engine (least squares on log-log). Figures go to
bench/results/scale.{json,md}, rewritten after each size.

Run: `python bench/scale.py [--rows 1000000 10000000 100000000] [--engines duckdb spark]
[--spark-max-rows N] [--keep DIR]` (`--keep DIR` keeps each size's dataset in DIR and reuses
it on the next run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import tempfile
from pathlib import Path
from typing import Any

from _common import measure_tree, write_results
from ingest import simulate_rows

SPARK_CONF = {"spark.sql.shuffle.partitions": "8"}  # the engine's default for a local run


def build_dataset(rows: int, work: Path, chunk_rows: int, memory_limit: str) -> dict[str, Any]:
    """Simulate about `rows` positions and write them as a dataset at work/data."""
    try:
        started = dt.datetime.now()
        csv, written = simulate_rows("dma", rows, work / "scenario")
        simulated = (dt.datetime.now() - started).total_seconds()
        built = _ingest_slices(csv, work, chunk_rows, memory_limit)
    finally:  # only the dataset stays
        for leftover in ("scenario", "staging.duckdb", "staging.duckdb.wal", "spill-build", *(
                p.name for p in work.glob("slice*.csv"))):
            path = work / leftover
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            elif path.exists():
                path.unlink()
    build = {"simulated_rows": written, "simulate_s": round(simulated, 1),
             "ingest_and_write_s": round(built["seconds"], 1), "build_peak_mb": round(built["tree_peak_mb"]),
             "slices": built["extra"]["slices"], "staging_store_mb": round(built["extra"]["store_mb"])}
    (work / "build.json").write_text(json.dumps(build))  # kept with the dataset (--keep)
    return build


def _ingest_slices(csv: Path, work: Path, chunk_rows: int, memory_limit: str) -> dict[str, Any]:
    """Ingest the CSV in slices of `chunk_rows` rows into a staging store, then write the
    store as the dataset work/data."""
    spill = str(work / "spill-build")
    return measure_tree(f"""
        import itertools
        from pathlib import Path
        from shadowtrace.engine.dataset import write_dataset
        from shadowtrace.ingest import ingest
        from shadowtrace.store import connect
        work = Path({str(work)!r})
        db = work / "staging.duckdb"
        slices = 0
        with open({str(csv)!r}, "rb") as src:
            header = src.readline()
            while True:
                lines = list(itertools.islice(src, {chunk_rows}))
                if not lines:
                    break
                part = work / f"slice{{slices:03d}}.csv"
                with open(part, "wb") as out:
                    out.write(header)
                    out.writelines(lines)
                del lines
                result = ingest([str(part)], db).results[0]
                assert result.status == "complete", result.error
                part.unlink()
                slices += 1
        con = connect(db)
        con.execute("SET memory_limit = '{memory_limit}'")
        con.execute("SET temp_directory = '{spill}'")
        counts = write_dataset(con, work / "data")
        con.close()
        extra = {{"counts": counts, "slices": slices, "store_mb": db.stat().st_size / 2**20}}
    """)


def floor_step(data: Path, work: Path, memory_limit: str) -> dict[str, Any]:
    spill = work / "spill-floor"
    spill.mkdir(exist_ok=True)
    return measure_tree(f"""
        from shadowtrace.engine import get_engine
        engine = get_engine("duckdb", db={str(work / "floor.duckdb")!r}, dataset={str(data)!r},
                            memory_limit={memory_limit!r}, temp_directory={str(spill)!r})
        engine.con.execute("CREATE TEMP TABLE sorted AS SELECT mmsi, ts, lat, lon, sog, cog, heading,"
                           " ingest_id, source_line FROM positions ORDER BY mmsi, ts")
        extra = {{"rows": engine.con.execute("SELECT count(*) FROM sorted").fetchone()[0]}}
        engine.close()
    """, watch={"spill": spill})


def duckdb_step(data: Path, work: Path, memory_limit: str) -> dict[str, Any]:
    spill = work / "spill-duckdb"
    spill.mkdir(exist_ok=True)
    return measure_tree(f"""
        from shadowtrace.detect.run import detect_events
        from shadowtrace.engine import get_engine
        engine = get_engine("duckdb", db={str(work / "events.duckdb")!r}, dataset={str(data)!r},
                            memory_limit={memory_limit!r}, temp_directory={str(spill)!r})
        report = detect_events(engine)
        engine.close()
        extra = {{"events": report.counts, "seconds": {{k: round(v, 2) for k, v in report.seconds.items()}}}}
    """, watch={"spill": spill})


def spark_step(data: Path, work: Path, rows: int, driver_memory: str, timeout: float) -> dict[str, Any]:
    local = work / "spark-local"
    local.mkdir(exist_ok=True)
    conf = {**SPARK_CONF, "spark.driver.memory": driver_memory, "spark.local.dir": str(local),
            # about 2M rows a shuffle partition (8 up to 16M rows); adaptive execution coalesces
            "spark.sql.shuffle.partitions": str(max(8, rows // 2_000_000))}
    return measure_tree(f"""
        import sys, time
        from shadowtrace.detect.run import detect_events
        from shadowtrace.engine import get_engine
        engine = get_engine("spark", master="local[2]", dataset={str(data)!r}, conf={conf!r})
        def step(name):  # which step a failure or a timeout came in
            print(f"step {{name}} at {{time.strftime('%H:%M:%S')}}", file=sys.stderr, flush=True)
        report = detect_events(engine, progress=step)
        engine.close()
        extra = {{"events": report.counts, "seconds": {{k: round(v, 2) for k, v in report.seconds.items()}}}}
    """, timeout=timeout, watch={"spill": local}, stderr_log=work / "spark-stderr.log")


def exponent(points: list[tuple[int, float]]) -> float | None:
    """b in seconds ~ a * rows^b, least squares on log-log."""
    if len({r for r, _ in points}) < 2:
        return None
    xs = [math.log(r) for r, _ in points]
    ys = [math.log(s) for _, s in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs), 3)


def load() -> float:
    return round(os.getloadavg()[0], 2)


def run_size(rows: int, args: argparse.Namespace) -> dict[str, Any]:
    if args.keep:
        work = Path(args.keep) / f"rows-{rows}"
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix=f"bench-scale-{rows}-", dir=args.work_dir))
    data = work / "data"
    try:
        if (data / "_shadowtrace.json").is_file():
            build = json.loads((work / "build.json").read_text()) if (work / "build.json").is_file() else {}
            build["reused"] = True
        else:
            build = build_dataset(rows, work, args.chunk_rows, args.memory_limit)
            print(f"{rows:,}: built {build}", flush=True)
        marker = json.loads((data / "_shadowtrace.json").read_text())
        positions = int(marker["rows"]["positions"])
        dataset_mb = sum(f.stat().st_size for f in data.rglob("*.parquet")) / 2**20
        row: dict[str, Any] = {"target_rows": rows, "positions": positions,
                               "vessel_reports": int(marker["rows"]["vessel_reports"]),
                               "dataset_mb": round(dataset_mb), "build": build, "steps": {}}
        plan = [("floor", lambda: floor_step(data, work, args.memory_limit))]
        if "duckdb" in args.engines:
            plan.append(("duckdb", lambda: duckdb_step(data, work, args.memory_limit)))
        skip_spark = "spark" in args.engines and rows > args.spark_max_rows
        if "spark" in args.engines and not skip_spark:
            plan.append(("spark", lambda: spark_step(data, work, positions, args.spark_driver_memory, args.spark_timeout)))
        for name, step in plan:
            before = load()
            try:
                result = step()
            except RuntimeError as exc:  # a failed step is a result too
                result = {"failed": str(exc)[:6000]}
            result["load_before"], result["load_after"] = before, load()
            for folder in ("spill-floor", "spill-duckdb", "spark-local", "floor.duckdb", "floor.duckdb.wal",
                           "events.duckdb", "events.duckdb.wal"):
                path = work / folder
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                elif path.exists():
                    path.unlink()
            row["steps"][name] = summarise(result, row["steps"].get("floor"))
            print(f"{positions:,} {name}: {row['steps'][name]}", flush=True)
        if skip_spark:
            row["steps"]["spark"] = {"skipped": f"skipped: rows > --spark-max-rows {args.spark_max_rows:,}"}
        duck, spark = row["steps"].get("duckdb", {}), row["steps"].get("spark", {})
        if duck.get("events") and spark.get("events"):
            row["events_agree"] = duck["events"] == spark["events"]
        return row
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def summarise(result: dict[str, Any], floor: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {k: result[k] for k in ("load_before", "load_after")}
    if "failed" in result:
        return {**out, "failed": result["failed"]}
    out["seconds"] = round(result["seconds"], 2)
    if result.get("timeout"):
        out["timeout"] = True
    out["peak_mb"] = round(result.get("peak_mb", 0))
    out["tree_peak_mb"] = round(result["tree_peak_mb"])
    out["spill_peak_mb"] = round(result["peak_bytes"].get("spill", 0) / 2**20)
    extra = result.get("extra") or {}
    if floor and "seconds" in floor and not result.get("timeout"):
        out["ratio_to_floor"] = round(result["seconds"] / floor["seconds"], 2)
    if "events" in extra:
        out["events"] = extra["events"]
        out["per_detector_s"] = extra["seconds"]
    return out


def markdown(results: list[dict[str, Any]], fits: dict[str, float | None], machine: str) -> str:
    lines = ["| positions | engine | seconds | peak MB (tree) | spill MB | ratio to floor | "
             "events | load before / after |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        for name, s in r["steps"].items():
            if "skipped" in s or "failed" in s:
                load = f"{s['load_before']} / {s['load_after']}" if "load_before" in s else ""
                lines.append(f"| {r['positions']:,} | {name} | {s.get('skipped') or 'failed'} | | | | | {load} |")
                continue
            seconds = f"> {s['seconds']} (timeout)" if s.get("timeout") else f"{s['seconds']}"
            events = f"{sum(s['events'].values()):,}" if "events" in s else ""
            lines.append(f"| {r['positions']:,} | {name} | {seconds} | {s['tree_peak_mb']:,} | "
                         f"{s['spill_peak_mb']:,} | {s.get('ratio_to_floor', '')} | {events} | "
                         f"{s['load_before']} / {s['load_after']} |")
    text = "\n".join(lines) + "\n\nExponent b of seconds ~ rows^b (least squares on log-log): " + ", ".join(
        f"{k} {v}" for k, v in fits.items()) + "\n"
    for r in results:
        if "events_agree" in r:
            text += f"\n{r['positions']:,} rows: DuckDB and Spark event counts agree: {r['events_agree']}"
        duck = r["steps"].get("duckdb", {})
        if "events" in duck:
            text += (f"\n{r['positions']:,} rows, events by type (DuckDB): "
                     + ", ".join(f"{k} {v:,}" for k, v in duck["events"].items()))
    return text + f"\n\n{machine}\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000, 100_000_000])
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark"], choices=["duckdb", "spark"])
    parser.add_argument("--spark-max-rows", type=int, default=10_000_000)
    parser.add_argument("--spark-timeout", type=float, default=3 * 3600, help="seconds per Spark run")
    parser.add_argument("--spark-driver-memory", default="6g")
    parser.add_argument("--memory-limit", default="8GB", help="DuckDB memory_limit (spills past it)")
    parser.add_argument("--chunk-rows", type=int, default=10_000_000, help="CSV rows per ingest slice")
    parser.add_argument("--keep", help="keep each size's dataset under this folder (and reuse it)")
    parser.add_argument("--work-dir", default=None, help="where temporary work folders go (default: TMPDIR)")
    parser.add_argument("--results", default="scale", help="name of the results files in bench/results")
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for rows in sorted(args.rows):
        results.append(run_size(rows, args))
        fits = {}
        for name in ("floor", "duckdb", "spark"):
            points = [(r["positions"], r["steps"][name]["seconds"]) for r in results
                      if "seconds" in r["steps"].get(name, {}) and not r["steps"][name].get("timeout")]
            fits[name] = exponent(points)
        machine = (f"Measured {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
                   f"{os.cpu_count()} cores, {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 2**30:.0f} GB, "
                   f"Python {platform.python_version()}; DuckDB memory_limit {args.memory_limit}, "
                   f"Spark local[2] with driver memory {args.spark_driver_memory}.")
        text = markdown(results, fits, machine)
        write_results(args.results, [{"exponents": fits, "machine": machine, "args": vars(args)}, *results], text)
        print(text, flush=True)


if __name__ == "__main__":
    main()

"""Live monitoring throughput: messages per second through decode + store + incremental
detection on one core, against bare pyais decoding of the same lines, with memory over time.

A simulated scenario is written as NMEA (tag-block times, as a receiver or an aggregator
sends them) and replayed through `Watcher` from a followed file (no network in the way;
the TCP path adds a socket read per 64 KB). Both measurements run pinned to one CPU
(`taskset -c 0`) in fresh processes; DuckDB gets one thread. Resident memory is sampled
every half second during the replay. Figures go to bench/results/live.{json,md}.

Run: `python bench/live.py [--vessels 1000] [--days 4] [--baseline-lines 300000]`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import write_results

# Global AIS volume: MarineTraffic reports more than half a billion AIS messages a day
# ("A day in numbers", marinetraffic.com/blog); Spire's full feed was about 180 million records
# a day in 2020 (faq.spire.com). We take the larger (docs/performance.md).
GLOBAL_MESSAGES_PER_DAY = 500_000_000

_BASELINE = """
import itertools, pyais
from pyais.stream import FileReaderStream
n = 0
for message in itertools.islice(FileReaderStream({path!r}), {limit}):
    message.decode()
    n += 1
extra = {{"messages": n}}
"""

_WATCH = """
import threading, time
from shadowtrace.live.detect import LiveParams
from shadowtrace.live.watch import Watcher, WatchOptions
from shadowtrace.store import connect

def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

con = connect({db!r})
con.execute("SET threads = 1").fetchall()
watcher = Watcher({db!r}, "file:{path}", con=con, options=WatchOptions(stop_when_idle_s={idle}))
samples = []
done = threading.Event()

def sample():
    while not done.wait(0.5):
        samples.append((watcher.feed.counts.lines, rss_mb()))

threading.Thread(target=sample, daemon=True).start()
t0 = time.perf_counter()
stats = watcher.run()
seconds = time.perf_counter() - t0 - {idle}
done.set()
counts = watcher.feed.counts
run = stats.last_run
extra = {{"seconds": seconds, "lines": counts.lines, "messages": counts.lines - counts.fragments, "positions": counts.positions_added,
          "reports": counts.reports_added, "rejects": counts.rejects, "detect_runs": stats.detect_runs,
          "detect_seconds": stats.detect_seconds, "window_positions": run.positions if run else 0,
          "events": con.execute("SELECT count(*) FROM events").fetchall()[0][0], "samples": samples}}
watcher.close()
"""


def one_core(body: str, timeout: float = 7200) -> dict:
    """Run `body` in a fresh interpreter pinned to CPU 0; returns its `extra` and peak memory."""
    import json

    wrapper = ("import json, resource, time\nstarted = time.perf_counter()\n" + body +
               "\nextra['wall_s'] = time.perf_counter() - started\n"
               "extra['peak_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
               "print('BENCH' + json.dumps(extra))\n")
    command = [sys.executable, "-c", wrapper]
    if shutil.which("taskset"):
        command = ["taskset", "-c", "0", *command]
    run = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-3000:])
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("BENCH")][-1]
    return json.loads(line[5:])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vessels", type=int, default=1000)
    parser.add_argument("--days", type=float, default=4.0)
    parser.add_argument("--baseline-lines", type=int, default=300_000)
    parser.add_argument("--idle", type=float, default=3.0)
    args = parser.parse_args()
    from shadowtrace.simulate import simulate

    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    try:
        result = simulate(work / "scenario", vessels=args.vessels, days=args.days, seed=11, fmt="nmea")
        path = result.positions_path
        with path.open("rb") as fh:
            lines = sum(1 for _ in fh)
        load_before = os.getloadavg()
        base = one_core(_BASELINE.format(path=str(path), limit=args.baseline_lines))
        ours = one_core(_WATCH.format(db=str(work / "live.duckdb"), path=str(path), idle=args.idle))
        load_after = os.getloadavg()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base_rate = base["messages"] / base["wall_s"]
    rate = ours["messages"] / ours["seconds"]
    global_rate = GLOBAL_MESSAGES_PER_DAY / 86400
    samples = ours.pop("samples")
    quarter = [s for s in samples if s[0] >= ours["lines"] * 0.25]
    rss_quarter = quarter[0][1] if quarter else None
    rss_end = samples[-1][1] if samples else None
    row = {
        "lines": lines, "vessels": args.vessels, "days": args.days, "positions": ours["positions"],
        "messages": ours["messages"], "watch_s": round(ours["seconds"], 1), "messages_per_s": round(rate), "detect_runs": ours["detect_runs"],
        "detect_s": round(ours["detect_seconds"], 1), "window_positions_last_run": ours["window_positions"],
        "events": ours["events"], "rejects": ours["rejects"],
        "pyais_messages": base["messages"], "pyais_s": round(base["wall_s"], 1), "pyais_per_s": round(base_rate),
        "ratio_to_pyais": round(rate / base_rate, 2), "global_per_s": round(global_rate),
        "times_global": round(rate / global_rate, 1), "rss_mb_at_25pct": rss_quarter, "rss_mb_end": rss_end,
        "peak_mb": round(ours["peak_mb"]), "load_before": [round(x, 1) for x in load_before],
        "load_after": [round(x, 1) for x in load_after],
        "machine": f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "measured": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    markdown = (
        "| NMEA lines | messages | watch s | messages/s | pyais messages/s | ratio | x global | detect runs | detect s | RSS 25% MB | RSS end MB | peak MB |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {lines:,} | {row['messages']:,} | {row['watch_s']} | {row['messages_per_s']:,} | {row['pyais_per_s']:,} | {row['ratio_to_pyais']} | "
        f"{row['times_global']} | {row['detect_runs']} | {row['detect_s']} | {rss_quarter and round(rss_quarter)} | "
        f"{rss_end and round(rss_end)} | {row['peak_mb']} |\n\n"
        f"RSS samples (lines, MB): {[(n, round(m)) for n, m in samples[:: max(1, len(samples) // 20)]]}\n\n"
        f"Load average before {row['load_before']}, after {row['load_after']}. {row['machine']}, {row['measured']}.\n"
    )
    print(markdown)
    write_results("live", [row | {"samples": samples}], markdown)


if __name__ == "__main__":
    main()

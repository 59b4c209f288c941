"""Detection accuracy on simulated scenarios with seeds the detectors were not tuned on.

For each seed: simulate (NMEA), ingest, run every detector, score against truth.json.
Writes bench/results/accuracy.{json,md}. Run: `python bench/accuracy.py --seeds 101 202 303`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import tempfile
from collections import defaultdict
from pathlib import Path

from _common import write_results
from shadowtrace.detect.run import detect_into_store
from shadowtrace.evaluate import evaluate_store
from shadowtrace.ingest import ingest
from shadowtrace.simulate import simulate


def run_seed(seed: int, vessels: int, days: float, fmt: str) -> dict[str, dict[str, float | int | None]]:
    work = Path(tempfile.mkdtemp(prefix=f"bench-accuracy-{seed}-"))
    try:
        result = simulate(work / "scenario", vessels=vessels, days=days, seed=seed, fmt=fmt)
        db = work / "store.duckdb"
        ingest([str(result.positions_path)], db)
        detect_into_store(db)
        scores = evaluate_store(db, result.truth_path)
        return {name: {"truth": s.truth, "events": s.events, "precision": s.precision, "recall": s.recall}
                for name, s in scores.items()}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--vessels", type=int, default=300)
    parser.add_argument("--days", type=float, default=5.0)
    parser.add_argument("--format", default="nmea")
    args = parser.parse_args()
    per_seed = {}
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for seed in args.seeds:
        scores = run_seed(seed, args.vessels, args.days, args.format)
        per_seed[seed] = scores
        print(seed, scores, flush=True)
        for name, s in scores.items():
            t = totals[name]
            t["truth"] += s["truth"] or 0
            t["events"] += s["events"] or 0
            t["tp_events"] += (s["precision"] or 0) * (s["events"] or 0)
            t["tp_truth"] += (s["recall"] or 0) * (s["truth"] or 0)
    header = "| type | truth | events | precision | recall |\n|---|---|---|---|---|\n"
    lines = ""
    for name, t in sorted(totals.items()):
        precision = t["tp_events"] / t["events"] if t["events"] else None
        recall = t["tp_truth"] / t["truth"] if t["truth"] else None
        lines += (f"| {name} | {int(t['truth'])} | {int(t['events'])} | "
                  f"{'-' if precision is None else f'{precision:.3f}'} | {'-' if recall is None else f'{recall:.3f}'} |\n")
    note = (f"\nSeeds {', '.join(map(str, args.seeds))}; {args.vessels} vessels, {args.days} days each, "
            f"{args.format}; measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.\n")
    print(header + lines + note)
    write_results("accuracy", [{"seed": k, "scores": v} for k, v in per_seed.items()], header + lines + note)


if __name__ == "__main__":
    main()

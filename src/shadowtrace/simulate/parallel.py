"""Sampling and rendering spread over worker processes (fork), with the serial path as the
same code run in-process. Output does not depend on the number of workers: hulls keep their
own random streams, parts are merged in hull order, and batches are written in order.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shadowtrace.simulate.identity import Static
from shadowtrace.simulate.truth import TruthCollector, TruthPart
from shadowtrace.simulate.vessel import Hull, sample
from shadowtrace.simulate.writers import CsvFormat, NmeaFormat, Spool, records

PARALLEL_ROWS = 2_000_000  # below this, start-up and pickling cost about what they save


@dataclass
class Job:
    hulls: list[Hull]
    statics: list[Static]
    shared: set[int]
    seed: int
    t0: float
    t1: float
    nmea: bool
    spool_root: Path
    expected_rows: int
    form: CsvFormat | NmeaFormat


_JOB: Job | None = None  # set before forking; workers inherit it instead of unpickling it


def sample_part(k: int, lo: int, hi: int) -> TruthPart:
    """Sample hulls [lo, hi): spool their reports under ``part<k>`` and return their truth."""
    job = _JOB
    assert job is not None
    truth = TruthCollector(job.statics, job.shared)
    spool = Spool(job.t0, job.t1, job.expected_rows, job.spool_root / f"part{k}")
    for hull in job.hulls[lo:hi]:
        track = sample(hull, job.t0, job.t1, np.random.default_rng([job.seed, 1, hull.idx]))
        truth.add(hull, track)
        spool.add(records(track, job.nmea))
    spool.close()
    return truth.part()


def render(batch: np.ndarray) -> tuple[bytes, int]:
    assert _JOB is not None
    return _JOB.form.render(batch), int((batch["kind"] == 0).sum())


def worker_count(expected_rows: int) -> int:
    forced = os.environ.get("SHADOWTRACE_SIM_WORKERS")
    if forced:
        return max(1, int(forced))
    if expected_rows < PARALLEL_ROWS or "fork" not in mp.get_all_start_methods():
        return 1
    return max(1, min(4, os.cpu_count() or 1))


class Runner:
    """Owns the worker pool (if any) for one simulation."""

    def __init__(self, job: Job, workers: int):
        global _JOB
        _JOB = job
        self.job, self.workers = job, workers
        self.pool = (ProcessPoolExecutor(workers, mp_context=mp.get_context("fork"))
                     if workers > 1 else None)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        global _JOB
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)
        _JOB = None

    def sample(self) -> tuple[list[TruthPart], list[Path]]:
        n = len(self.job.hulls)
        cuts = np.linspace(0, n, self.workers + 1).astype(int)
        spans = [(k, int(cuts[k]), int(cuts[k + 1])) for k in range(self.workers)]
        if self.pool is None:
            parts = [sample_part(*s) for s in spans]
        else:
            parts = [f.result() for f in [self.pool.submit(sample_part, *s) for s in spans]]
        return parts, [self.job.spool_root / f"part{k}" for k, _, _ in spans]

    def render(self, batches: Iterator[np.ndarray]) -> Iterator[tuple[bytes, int]]:
        if self.pool is None:
            for b in batches:
                yield render(b)
            return
        window: deque[Future[tuple[bytes, int]]] = deque()
        for b in batches:
            window.append(self.pool.submit(render, b))
            if len(window) > 3 * self.workers:
                yield window.popleft().result()
        while window:
            yield window.popleft().result()

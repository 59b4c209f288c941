"""Helpers shared by the benchmarks: run a snippet in a fresh interpreter, time it, read its peak memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"

_WRAPPER = """
import json, resource, sys, time
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("BENCH" + json.dumps({{"seconds": elapsed, "peak_mb": peak_mb, "extra": globals().get("extra")}}))
"""


def measure(body: str, timeout: float = 3600) -> dict[str, Any]:
    """Run `body` in a new Python process; seconds exclude interpreter start-up and imports
    done before the body (put imports inside the body to count them)."""
    code = _WRAPPER.format(body=textwrap.dedent(body))
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)
    if run.returncode != 0:
        raise RuntimeError(f"benchmark step failed:\n{run.stderr[-3000:]}")
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("BENCH")][-1]
    return json.loads(line[5:])  # type: ignore[no-any-return]


def write_results(name: str, rows: list[dict[str, Any]], markdown: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(rows, indent=2, default=str))
    path = RESULTS / f"{name}.md"
    path.write_text(markdown)
    return path


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _tree_rss_bytes(root: int) -> int:
    """Resident bytes of process `root` and all its descendants, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            with open(f"/proc/{pid}/statm") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except OSError:
            continue
    return total


def _disk_bytes(folder: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_blocks * 512
            except OSError:
                continue
    return total



def measure_tree(body: str, timeout: float = 3600, watch: dict[str, Path] | None = None,
                 interval: float = 0.5, stderr_log: Path | None = None) -> dict[str, Any]:
    """measure(), plus what a one-process figure misses (Linux): `tree_peak_mb`, the peak
    resident memory of the process and everything it starts (Spark's JVM and its Python
    workers), and `peak_bytes` of each folder in `watch` (e.g. where an engine spills),
    both sampled every `interval` seconds. The step runs in its own process group; past
    `timeout` the whole group is killed and {"timeout": True, ...} is returned. With
    `stderr_log` the step's stderr goes to that file as it runs (a long step's progress and
    its whole failure stay readable if the benchmark itself is stopped)."""
    code = _WRAPPER.format(body=textwrap.dedent(body))
    watch = watch or {}
    peaks = {name: 0 for name in watch}
    tree_peak = 0
    started = time.perf_counter()
    err_file = open(stderr_log, "w+b") if stderr_log else tempfile.TemporaryFile()  # noqa: SIM115
    with tempfile.TemporaryFile() as out, err_file as err:
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=out, stderr=err,
                                start_new_session=True)
        timed_out = False
        try:
            while proc.poll() is None:
                tree_peak = max(tree_peak, _tree_rss_bytes(proc.pid))
                for name, folder in watch.items():
                    peaks[name] = max(peaks[name], _disk_bytes(folder))
                if time.perf_counter() - started > timeout:
                    timed_out = True
                    break
                time.sleep(interval)
        finally:
            if proc.poll() is None:  # timed out, or interrupted: end the step and its children
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        sampled = {"tree_peak_mb": tree_peak / 2**20, "peak_bytes": peaks}
        if timed_out:
            return {"timeout": True, "seconds": time.perf_counter() - started, **sampled}
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0 or "BENCH{" not in stdout:
        raise RuntimeError(f"benchmark step failed ({proc.returncode}):\n{error_summary(stderr)}")
    # Not always at the start of a line: DuckDB's progress bar writes to stdout without one.
    line = stdout[stdout.rindex("BENCH{") + 5:].splitlines()[0]
    return {**json.loads(line), **sampled}


def error_summary(stderr: str, max_lines: int = 12) -> str:
    """A failed step's cause and last words: the first distinct error lines (a JVM's
    "Caused by: ...OutOfMemoryError" sits far above its stack's end), then the tail."""
    causes: list[str] = []
    for line in stderr.splitlines():
        text = line.strip()[:300]
        if ("Error" in text or "Exception" in text or text.startswith("step ")) and not text.startswith("at ") \
                and text not in causes:
            causes.append(text)
    return "\n".join(causes[:max_lines] + ["..."] + causes[-max_lines:] + ["--- tail ---", stderr[-1500:]])

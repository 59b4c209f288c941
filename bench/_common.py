"""Helpers shared by the benchmarks: run a snippet in a fresh interpreter, time it, read its peak memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
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

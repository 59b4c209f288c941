"""Realistic AIS traffic with injected shadow-fleet behaviour and complete ground truth.

``simulate()`` plans every hull (routes on real sea lanes between real ports), samples each
hull's reports in turn, derives the truth events from those reports, and streams the reports
to one time-ordered positions file (DMA CSV, NOAA CSV or tagged NMEA). A sanctions and ownership
list (FollowTheMoney) goes with the traffic, with the vessels screening should find.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from shadowtrace.errors import ConfigError
from shadowtrace.simulate.behaviours import plan
from shadowtrace.simulate.identity import IdentityFactory, Static, StaticRegistry, flag_of
from shadowtrace.simulate.parallel import Job, Runner, worker_count
from shadowtrace.simulate.planner import World
from shadowtrace.simulate.routes import hubs, sts_places
from shadowtrace.simulate.screening import LIST_FILE, TRUTH_FILE, plant_screening, write_list
from shadowtrace.simulate.truth import TruthCollector
from shadowtrace.simulate.vessel import Hull
from shadowtrace.simulate.writers import (
    FILES,
    batches,
    make_format,
    merged_buckets,
    write_positions,
)

UTC = timezone.utc
ROWS_PER_VESSEL_DAY = 1200  # for bucket sizing only

__all__ = ["SimulationResult", "simulate", "FORMATS"]
FORMATS = tuple(FILES)


@dataclass(frozen=True)
class SimulationResult:
    positions_path: Path
    truth_path: Path
    rows: int
    vessels: int
    events: dict[str, int] = field(default_factory=dict)
    vessels_path: Path | None = None
    lists_path: Path | None = None
    screening_truth_path: Path | None = None


def simulate(out_dir: Path, *, vessels: int = 200, days: float = 3.0, seed: int = 0,
             fmt: str = "dma", start: datetime = datetime(2025, 3, 1, tzinfo=UTC),
             progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Write ``vessels`` hulls' AIS reports over ``days`` to ``out_dir`` with ``truth.json``
    (events under the detectors' definitions), ``vessels.json`` (identities and roles),
    ``lists/watchlist.ftm.json`` (sanctions and ownership entities) and
    ``screening_truth.json`` (``{"screening": ...}``: the AIS vessels screening should find).

    The same arguments always give byte-identical files. ``progress`` is called with the
    number of position rows written since the last call.
    """
    if fmt not in FILES:
        raise ConfigError(f"unknown simulation format {fmt!r}", hint=f"use one of {', '.join(FILES)}")
    if vessels < 1 or not days > 0:
        raise ConfigError("--vessels must be >= 1 and --days > 0")
    if start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    t0 = float(int(start.timestamp()))
    t1 = t0 + days * 86400.0
    rng = np.random.default_rng(seed)
    registry = StaticRegistry()
    world = World(t0, t1, rng, IdentityFactory(rng), registry, hubs(), sts_places())
    hull_list, ordinary = plan(world, vessels)
    screening = plant_screening(world, hull_list, ordinary, vessels)
    statics = registry.records
    shared = _shared_mmsis(hull_list, statics)
    positions = out_dir / FILES[fmt]
    expected = int(vessels * days * ROWS_PER_VESSEL_DAY)
    form = make_format(fmt, statics)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".simspool-") as tmp:
        job = Job(hull_list, statics, shared, seed, t0, t1, fmt == "nmea", Path(tmp), expected, form)
        with Runner(job, worker_count(expected)) as runner:
            parts, spools = runner.sample()
            rows = write_positions(positions, form.header, runner.render(batches(merged_buckets(spools))),
                                   progress)
    truth = TruthCollector(statics, shared)
    for part in parts:
        truth.merge(part)
    events = truth.finish()
    truth_path = out_dir / "truth.json"
    truth_path.write_text(json.dumps(events, indent=1) + "\n")
    vessels_path = out_dir / "vessels.json"
    vessels_path.write_text(json.dumps(_vessel_table(hull_list, statics), indent=1) + "\n")
    lists_path = out_dir / LIST_FILE
    write_list(lists_path, screening.entries)
    # Its own file: truth.json stays the event list that `shadowtrace evaluate` reads.
    screening_path = out_dir / TRUTH_FILE
    screening_path.write_text(json.dumps({"screening": screening.truth}, indent=1) + "\n")
    counts = Counter(str(e["type"]) for e in events)
    return SimulationResult(positions, truth_path, rows, len(hull_list), dict(sorted(counts.items())),
                            vessels_path, lists_path, screening_path)


def _shared_mmsis(hulls: list[Hull], statics: list[Static]) -> set[int]:
    owners: dict[int, set[int]] = defaultdict(set)
    for h in hulls:
        for _, sid in h.statics:
            owners[statics[sid].mmsi].add(h.idx)
    return {m for m, hs in owners.items() if len(hs) > 1}


def _vessel_table(hulls: list[Hull], statics: list[Static]) -> list[dict[str, object]]:
    """One entry per MMSI: its first identity, later names, hulls and scenario roles."""
    table: dict[int, dict[str, object]] = {}
    for h in hulls:
        for _, sid in h.statics:
            st = statics[sid]
            entry = table.setdefault(st.mmsi, {
                "mmsi": st.mmsi, "imo": st.imo, "name": st.name, "callsign": st.callsign,
                "flag": flag_of(st.mmsi), "ship_type": st.ship_type, "length": st.length,
                "width": st.width, "names": [], "callsigns": [], "hulls": [], "roles": [],
            })
            for key, value in (("names", st.name), ("callsigns", st.callsign), ("hulls", h.idx)):
                if value not in entry[key]:  # type: ignore[operator]
                    entry[key].append(value)  # type: ignore[union-attr]
            for role in h.roles or ["normal"]:
                if role not in entry["roles"]:  # type: ignore[operator]
                    entry["roles"].append(role)  # type: ignore[union-attr]
    return [table[m] for m in sorted(table)]

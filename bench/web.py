"""Web and API speed: 10M positions, 10k vessels, 20 concurrent clients on loopback.

Targets (the issue): vessel list and vessel detail p95 < 200 ms, a vessel's track over a 30-day
window p95 < 500 ms, under 20 concurrent clients.

1. A store, synthetic and deterministic by --seed (bench/screen.py's builders): a FollowTheMoney
   list of --entities parties, --vessels AIS vessels with 3-5 static reports each, about
   --positions positions (each vessel 20% to 180% of the mean, spaced over --days days, time-
   ordered per vessel and inserted in time order across vessels as a feed is ingested, so NOT
   sorted by MMSI), 0.75 events a vessel; then `screen` so risk scores exist. --keep FILE builds
   it there once and reuses it afterwards; --db FILE reuses an existing store.
2. The real server as users run it: `shadowtrace serve --db DB --port P` (uvicorn, access log on;
   --serve-arg adds arguments, e.g. --serve-arg=--workers --serve-arg=2).
3. Load: a bounded async client (--clients keep-alive HTTP/1.1 connections on asyncio streams, or
   httpx with --client httpx, each sending its next request when the previous one is answered) for --seconds per scenario after a --warmup; latencies are measured
   by the client (connection reuse, queueing in the client included). Scenarios: /api/health (the
   floor of the HTTP stack), the vessel list with a mix of filters and pages, vessel detail
   (half of the picks among the 5% highest scores), tracks over a 30-day window at zoom 5 and 10,
   events in a map box (limit 500).
4. Baseline, same run: the same work as the routes do it, through the library in this process,
   one at a time, no HTTP (for --lib-seconds each, after the server is stopped), on the store
   opened as the server opens it (vessel list and detail: from its in-memory caches).

Figures go to bench/results/web.{json,md}. The machine has 2 cores shared with other jobs; the
server and the load client compete for them: CPU seconds of both and the load average are recorded.
Run: `python bench/web.py [--positions 10000000] [--vessels 10000] [--clients 20] [--seconds 20]
[--keep DB | --db DB] [--only SCENARIO ...] [--serve-arg ARG ...]`.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from _common import write_results
from screen import _MIDS, Names, build_ais, build_list, store_ais

TARGETS_MS = {"vessel list": 200.0, "vessel detail": 200.0, "track 30 d, zoom 5": 500.0,
              "track 30 d, zoom 10": 500.0}
WINDOW = dt.timedelta(days=30)
LIST_NAME = "bench-list"
EVENT_TYPES = ("ais_gap", "encounter", "port_call", "loitering")
SHADOWTRACE = Path(sys.executable).with_name("shadowtrace")


def _load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (serve --workers) so far."""
    total = 0.0
    for one in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{one}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            direct = [int(c) for c in handle.read().split()]
    except FileNotFoundError:
        return []
    return [c for child in direct for c in (child, *_children(child))]


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB."""
    total = 0
    for one in [pid, *_children(pid)]:
        try:
            with open(f"/proc/{one}/status") as handle:
                total += next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))
        except (FileNotFoundError, StopIteration):
            continue
    return round(total / 1024, 1)


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- the store ---------------------------------------------------------------------------


def build_store(db: Path, *, positions: int, vessels: int, entities: int, days: int, seed: int) -> dict[str, Any]:
    """Build the store at ``db`` (list, AIS, events, screening); the seconds of each step."""
    from shadowtrace.lists.store import add_list
    from shadowtrace.screen.run import screen
    from shadowtrace.store import connect

    steps: dict[str, float] = {}
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    try:
        t = time.perf_counter()
        rng = random.Random(seed)
        names = Names(rng)
        list_path = work / "list.ftm.json"
        listed, counts = build_list(rng, names, entities, list_path)
        taken = {k: counts.pop(k) for k in ("imos", "mmsis", "callsigns")}
        mean = positions / vessels
        per_vessel = (max(1, round(mean * 0.2)), round(mean * 1.8) + 1)
        tables, _ = build_ais(rng, names, vessels, listed, taken, seed, days=days, per_vessel=per_vessel,
                              spread=True)
        tables.pop("kinds")
        steps["generate"] = time.perf_counter() - t
        t = time.perf_counter()
        con = connect(db)
        add_list(con, list_path, LIST_NAME)
        con.close()
        steps["list load"] = time.perf_counter() - t
        t = time.perf_counter()
        store_ais(db, tables, order="ts")  # as a time-ordered feed is ingested: not by MMSI
        del tables
        steps["store AIS (ordered by time)"] = time.perf_counter() - t
        t = time.perf_counter()
        screen(connect(db))
        steps["screen"] = time.perf_counter() - t
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {k: round(v, 1) for k, v in steps.items()}


@dataclass
class Sample:
    """What the request generators pick from, read from the store."""

    mmsis: list[int]
    high_risk: list[int]
    flags: list[str]
    totals: dict[str, int]  # vessel list filter combination -> matching vessels
    t_min: dt.datetime
    t_max: dt.datetime
    sizes: dict[str, int]


# The vessel list's filter combinations (the mix the page sends), picked evenly.
FILTER_MIX: list[dict[str, Any]] = [
    {}, {"min_score": 30}, {"min_score": 60}, {"flag": "ru"}, {"flag": "pa"}, {"event_type": "encounter"},
    {"event_type": "port_call", "min_score": 20}, {"list": LIST_NAME}, {"list": LIST_NAME, "flag": "lr"},
    {"ship_type": "tanker", "min_score": 10},
]


def _library_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    out = {("list_name" if k == "list" else k): v for k, v in params.items()}
    return out


def read_sample(db: Path) -> Sample:
    from shadowtrace.store import connect
    from shadowtrace.vessels import query_vessels

    con = connect(db, read_only=True)
    try:
        scored = con.execute("SELECT mmsi FROM risk_scores ORDER BY score DESC, mmsi").fetchall()
        mmsis = [int(r[0]) for r in scored]
        high = mmsis[: max(1, len(mmsis) // 20)]
        t_min, t_max = con.execute("SELECT min(ts), max(ts) FROM positions").fetchall()[0]
        totals = {json.dumps(f, sort_keys=True): query_vessels(con, limit=0, **_library_kwargs(f))[1]
                  for f in FILTER_MIX}
        sizes = {t: int(con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in
                 ("positions", "vessel_reports", "events", "risk_scores", "screen_matches", "list_entities")}
        sizes["vessels"] = int(con.execute("SELECT count(DISTINCT mmsi) FROM positions").fetchall()[0][0])
        # How far the file is from MMSI order: the share of DuckDB row groups (122,880 rows) a
        # single vessel's positions touch, for a few vessels (1.0 = every row group).
        groups = max(1, -(-sizes["positions"] // 122_880))
        touched = con.execute("""
            SELECT avg(g) FROM (SELECT mmsi, count(DISTINCT rowid // 122880) AS g FROM positions
                                WHERE mmsi IN (SELECT mmsi FROM risk_scores ORDER BY mmsi LIMIT 20) GROUP BY mmsi)
        """).fetchall()[0][0]
        sizes["row_groups"] = groups
        sizes["row_groups_per_vessel"] = round(float(touched or 0), 1)
    finally:
        con.close()
    return Sample(mmsis, high, sorted(set(_MIDS.values())), totals, t_min, t_max, sizes)


# --- scenarios: each pick is a URL and the same query as a library call ---------------------


# The URL and the same query as the route makes it, as a call on (cursor, web Store).
Pick = tuple[str, Callable[[Any, Any], Any]]


def _iso(stamp: dt.datetime) -> str:
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _vessel(rng: random.Random, s: Sample) -> int:
    return rng.choice(s.high_risk) if rng.random() < 0.5 else rng.choice(s.mmsis)


def pick_health(rng: random.Random, s: Sample) -> Pick:
    return "/api/health", lambda con, store: store.health()


def pick_list(rng: random.Random, s: Sample) -> Pick:
    filters = rng.choice(FILTER_MIX)
    total = s.totals[json.dumps(filters, sort_keys=True)]
    pages = max(1, -(-total // 50))
    offset = 50 * min(pages - 1, int(rng.paretovariate(1.2)) - 1)  # the first pages most often
    params = {**filters, "limit": 50, "offset": offset}
    kwargs = _library_kwargs(params)
    # As the route does it: the ranking in memory, the page's rows rendered at opening.
    return "/api/vessels?" + urlencode(params), lambda con, store: b",".join(
        [store.caches.list_rows[i] for i in store.vessel_ranking.select(con, positions=store.positions,
                                                                        **kwargs)[0]])


def pick_detail(rng: random.Random, s: Sample) -> Pick:
    from shadowtrace.web.models import VesselSummary

    mmsi = _vessel(rng, s)
    # As the route does it: the summary computed at opening, rendered through the response model.
    return f"/api/vessels/{mmsi}", lambda con, store: VesselSummary.model_validate(
        store.vessels.get(mmsi)).model_dump_json()


def _pick_track(zoom: int) -> Callable[[random.Random, Sample], Pick]:
    def pick(rng: random.Random, s: Sample) -> Pick:
        from shadowtrace.tracks_geo import track_geojson

        mmsi = _vessel(rng, s)
        room = max(0.0, (s.t_max - s.t_min - WINDOW).total_seconds())
        since = (s.t_min + dt.timedelta(seconds=rng.uniform(0, room))).replace(microsecond=0)
        until = since + WINDOW
        params = {"since": _iso(since), "until": _iso(until), "zoom": zoom}
        return (f"/api/vessels/{mmsi}/track?" + urlencode(params),
                lambda con, store: track_geojson(con, mmsi, since=since, until=until, zoom=zoom,
                                                 positions=store.positions, arrays=store.caches.arrays))
    return pick


def pick_events(rng: random.Random, s: Sample) -> Pick:
    from shadowtrace.export import count_events, event_rows, query_events
    from shadowtrace.filters import BBox

    width, height = rng.uniform(5, 60), rng.uniform(5, 40)  # a map view, over the busy area
    lon, lat = rng.uniform(-70, 150 - width), rng.uniform(-45, 65 - height)
    box = (round(lon, 3), round(lat, 3), round(lon + width, 3), round(lat + height, 3))
    bbox = BBox(*box)

    def call(con: Any, store: Any) -> Any:
        count_events(con, bbox=bbox)
        return event_rows(query_events(con, bbox=bbox, limit=500))

    return "/api/events?" + urlencode({"bbox": ",".join(map(str, box)), "limit": 500}), call


SCENARIOS: dict[str, Callable[[random.Random, Sample], Pick]] = {
    "health (HTTP floor)": pick_health,
    "vessel list": pick_list,
    "vessel detail": pick_detail,
    "track 30 d, zoom 5": _pick_track(5),
    "track 30 d, zoom 10": _pick_track(10),
    "events in a bbox (limit 500)": pick_events,
}


def _stats(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"p50": float("nan"), "p95": float("nan"), "p99": float("nan"), "max": float("nan"), "mean": float("nan")}
    values = sorted(latencies)

    def q(p: float) -> float:
        return 1000 * values[min(len(values) - 1, int(round(p * (len(values) - 1))))]

    return {"p50": round(q(0.5), 2), "p95": round(q(0.95), 2), "p99": round(q(0.99), 2),
            "max": round(1000 * values[-1], 2), "mean": round(1000 * sum(values) / len(values), 2)}


# --- load ----------------------------------------------------------------------------------


class RawConnection:
    """One keep-alive HTTP/1.1 connection on asyncio streams: a GET, and the response read by its
    Content-Length (or chunks). A fraction of httpx's CPU per request, which matters when the
    client shares two cores with the server."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, int]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode("ascii"))
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)}
        if "content-length" in headers:
            size = len(await self.reader.readexactly(int(headers["content-length"])))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            size = 0
            while chunk := int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16):
                size += len(await self.reader.readexactly(chunk + 2)) - 2
            await self.reader.readuntil(b"\r\n")
        else:
            size = len(await self.reader.read())
            headers["connection"] = "close"
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, size

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _load_scenario(base: str, pick: Callable[[random.Random, Sample], Pick], sample: Sample, *,
                         clients: int, seconds: float, warmup: float, seed: int,
                         client_kind: str = "raw") -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    size = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    host, port = base.removeprefix("http://").rsplit(":", 1)
    raw = [RawConnection(host, int(port)) for _ in range(clients)]
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:

        async def get(index: int, url: str) -> tuple[int, int]:
            if client_kind == "raw":
                return await asyncio.wait_for(raw[index].get(url), 120)
            response = await client.get(url)
            return response.status_code, len(response.content)

        started = time.perf_counter()
        measure_from = started + warmup
        stop = measure_from + seconds
        last_done = measure_from

        async def worker(index: int) -> None:
            nonlocal size, last_done
            rng = random.Random(seed * 1000 + index)
            while (begin := time.perf_counter()) < stop:
                url, _ = pick(rng, sample)
                try:
                    status, body = await get(index, url)
                except (TimeoutError, httpx.HTTPError, OSError, ValueError, asyncio.IncompleteReadError):
                    status, body = -1, 0
                    raw[index].close()
                done = time.perf_counter()
                if begin >= measure_from:
                    latencies.append(done - begin)
                    statuses[status] += 1
                    size += body
                    last_done = max(last_done, done)

        cpu_client, wall = _own_cpu(), time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        cpu_client, wall = _own_cpu() - cpu_client, time.perf_counter() - wall
        for connection in raw:
            connection.close()
    elapsed = max(1e-9, last_done - measure_from)
    ok = statuses.get(200, 0)
    return {"requests": len(latencies), "errors": len(latencies) - ok, "statuses": dict(statuses),
            "rps": round(len(latencies) / elapsed, 1), **_stats(latencies),
            "mean_kb": round(size / max(1, len(latencies)) / 1024, 1),
            "client_cpu_share": round(cpu_client / wall, 2)}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db: Path, log: Path, serve_args: list[str] = ()) -> tuple[subprocess.Popen, str, float]:
    """The server as users start it (plus ``serve_args``); returns once /api/health answers (and
    how long that took: opening the store includes building its in-memory copies)."""
    import httpx

    started = time.perf_counter()
    port = _free_port()
    with open(log, "w") as handle:  # the child keeps its own copy of the descriptor
        proc = subprocess.Popen([str(SHADOWTRACE), "serve", "--db", str(db), "--port", str(port), *serve_args],
                                stdout=handle, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(base + "/api/health", timeout=30).status_code == 200:
                return proc, base, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("server did not answer /api/health within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_load(db: Path, sample: Sample, names: list[str], *, clients: int, seconds: float, warmup: float,
             seed: int, log: Path, client_kind: str,
             serve_args: list[str] = ()) -> tuple[dict[str, dict[str, Any]], float, float]:
    proc, base, start_s = start_server(db, log, serve_args)
    out: dict[str, dict[str, Any]] = {}
    rss = 0.0
    try:
        for number, name in enumerate(names):
            load_before = _load()
            cpu_server = _cpu_seconds(proc.pid)
            wall = time.perf_counter()
            row = asyncio.run(_load_scenario(base, SCENARIOS[name], sample, clients=clients, seconds=seconds,
                                             warmup=warmup, seed=seed * 100 + number, client_kind=client_kind))
            wall = time.perf_counter() - wall
            row["server_cpu_share"] = round((_cpu_seconds(proc.pid) - cpu_server) / wall, 2)
            row["load_avg"] = {"before": load_before, "after": _load()}
            rss = max(rss, _rss_mb(proc.pid))
            out[name] = row
            print(f"{name}: {json.dumps(row)}", flush=True)
    finally:
        stop_server(proc)
    return out, start_s, rss


# --- library baseline ------------------------------------------------------------------------


def run_library(db: Path, sample: Sample, names: list[str], *, seconds: float, seed: int) -> dict[str, dict[str, Any]]:
    """The same queries through the library, one at a time in this process (no HTTP), on the
    store opened as the server opens it (shadowtrace.web.deps.Store: read-only, with its
    in-memory copies)."""
    from shadowtrace.web.deps import Store

    store = Store(db)
    out: dict[str, dict[str, Any]] = {}
    try:
        for number, name in enumerate(names):
            rng = random.Random(seed * 7 + number)
            cur = store.cursor()
            for _ in range(3):  # warm-up, as the HTTP scenarios have one
                SCENARIOS[name](rng, sample)[1](cur, store)
            latencies: list[float] = []
            stop = time.perf_counter() + seconds
            while time.perf_counter() < stop or len(latencies) < 20:
                _, call = SCENARIOS[name](rng, sample)
                t = time.perf_counter()
                call(cur, store)
                latencies.append(time.perf_counter() - t)
            cur.close()
            out[name] = {"calls": len(latencies), **_stats(latencies),
                         "per_s": round(len(latencies) / sum(latencies), 1)}
            print(f"library {name}: {json.dumps(out[name])}", flush=True)
    finally:
        store.close()
    return out


# --- report ----------------------------------------------------------------------------------


_CLIENTS = {"raw": "keep-alive HTTP/1.1 connections on asyncio streams", "httpx": "httpx.AsyncClient"}


def _markdown(row: dict[str, Any]) -> str:
    sizes, http, lib = row["store"], row["http"], row["library"]
    floor = http.get("health (HTTP floor)")
    lines = [
        f"Store: {sizes['positions']:,} positions of {sizes['vessels']:,} vessels over {row['days']} days "
        f"(inserted in time order: one vessel's positions touch {sizes['row_groups_per_vessel']} of "
        f"{sizes['row_groups']} row groups), {sizes['vessel_reports']:,} static reports, {sizes['events']:,} events, "
        f"a list of {sizes['list_entities']:,} entities ({sizes['screen_matches']:,} matches), "
        f"{sizes['risk_scores']:,} risk scores; seed {row['seed']}.",
        "",
        f"Load: {row['clients']} concurrent clients ({_CLIENTS[row['client']]}, each sends its next request when "
        "answered) on loopback "
        f"against `shadowtrace serve{''.join(' ' + a for a in row['serve_args'])}`, {row['seconds']:g} s per "
        f"scenario after {row['warmup']:g} s of warm-up. Latency in ms as the client saw it. The server answered "
        f"/api/health {row['server_start_s']:g} s after it was started (opening the store builds its in-memory "
        f"copies) and used up to {row['server_rss_mb']:,.0f} MB of memory (resident, all its processes).",
        "",
        "| scenario | requests | req/s | p50 | p95 | p99 | max | errors | target p95 | met | KB/resp |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in http.items():
        target = TARGETS_MS.get(name)
        met = "" if target is None else ("yes" if r["p95"] < target and not r["errors"] else "**no**")
        lines.append(f"| {name} | {r['requests']:,} | {r['rps']:g} | {r['p50']:g} | {r['p95']:g} | {r['p99']:g} | "
                     f"{r['max']:g} | {r['errors']} | {'' if target is None else f'< {target:g}'} | {met} | "
                     f"{r['mean_kb']:g} |")
    lines += [
        "",
        "Baselines, same run: `/api/health` under the same load (the HTTP stack's floor), and the same queries "
        "through the library in one process, one at a time, no HTTP (server stopped). Ratios: p50 over HTTP under "
        "load / library p50 alone; req/s over HTTP / library calls per second alone.",
        "",
        "| scenario | library p50 | library p95 | library calls/s | HTTP p50 / library p50 | HTTP req/s / library calls/s "
        "| HTTP p50 / health p50 |",
        "|---|---|---|---|---|---|---|",
    ]
    def ratio(a: float, b: float | None, digits: int = 1) -> str:
        return f"{a / b:,.{digits}f}" if b else "n/a"

    for name, r in http.items():
        base = lib.get(name)
        if base is None:
            continue
        lines.append(
            f"| {name} | {base['p50']:g} | {base['p95']:g} | {base['per_s']:,.1f} | {ratio(r['p50'], base['p50'])} | "
            f"{ratio(r['rps'], base['per_s'], 2)} | {ratio(r['p50'], floor['p50'] if floor else None)} |")
    lines += [
        "",
        "CPU (share of one core, of 2) during each scenario: " + "; ".join(
            f"{name}: server {r['server_cpu_share']:g}, client {r['client_cpu_share']:g}" for name, r in http.items())
        + ".",
        "",
        f"Load average (1, 5, 15 min): before the run {row['load_avg']['before']}, after {row['load_avg']['after']}; "
        f"{row['cpus']} cores, shared with other jobs (server and load client compete for them).",
        f"Measured {row['measured']} UTC on {platform.machine()}, Python {platform.python_version()}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--positions", type=int, default=10_000_000)
    parser.add_argument("--vessels", type=int, default=10_000)
    parser.add_argument("--entities", type=int, default=10_000, help="parties in the list")
    parser.add_argument("--days", type=int, default=35, help="period the positions cover (>= 30)")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per scenario")
    parser.add_argument("--warmup", type=float, default=3.0, help="unmeasured seconds before each scenario")
    parser.add_argument("--lib-seconds", type=float, default=10.0,
                        help="seconds of library calls per scenario (0: no library baseline)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client", choices=("raw", "httpx"), default="raw",
                        help="load client: HTTP/1.1 on asyncio streams (default) or httpx.AsyncClient")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="run only these scenarios")
    parser.add_argument("--serve-arg", action="append", metavar="ARG",
                        help="an extra argument for `shadowtrace serve` (repeat: --serve-arg=--workers "
                             "--serve-arg=2, --serve-arg=--no-access-log)")
    store_args = parser.add_mutually_exclusive_group()
    store_args.add_argument("--keep", type=Path, help="build the store at this file (reused when it exists)")
    store_args.add_argument("--db", type=Path, help="use this existing store")
    args = parser.parse_args()
    if args.days < 30:
        parser.error("--days must be at least 30 (the track window is 30 days)")

    work = Path(tempfile.mkdtemp(prefix="bench-web-run-"))
    build: dict[str, float] | None = None
    try:
        if args.db:
            db = args.db
            if not db.exists():
                parser.error(f"no store at {db}")
        else:
            db = args.keep or work / "store.duckdb"
            if not db.exists():
                print(f"building the store at {db} ...", flush=True)
                build = build_store(db, positions=args.positions, vessels=args.vessels, entities=args.entities,
                                    days=args.days, seed=args.seed)
                print(f"built: {build}", flush=True)
        sample = read_sample(db)
        print(f"store: {sample.sizes}", flush=True)
        names = args.only or list(SCENARIOS)
        load_before = _load()
        http, start_s, rss = run_load(db, sample, names, clients=args.clients, seconds=args.seconds,
                                      warmup=args.warmup, seed=args.seed, log=work / "server.log",
                                      client_kind=args.client, serve_args=args.serve_arg or [])
        lib = run_library(db, sample, names, seconds=args.lib_seconds, seed=args.seed) if args.lib_seconds > 0 else {}
        load_after = _load()
    finally:
        shutil.rmtree(work, ignore_errors=True)

    row = {
        "positions_asked": args.positions, "vessels_asked": args.vessels, "entities": args.entities,
        "days": (sample.t_max - sample.t_min).days + 1, "seed": args.seed, "clients": args.clients,
        "seconds": args.seconds, "warmup": args.warmup, "client": args.client, "store": sample.sizes, "build_s": build,
        "server_start_s": round(start_s, 1), "server_rss_mb": rss, "serve_args": args.serve_arg or [],
        "http": http, "library": lib, "targets_ms": TARGETS_MS,
        "met": {name: http[name]["p95"] < target and not http[name]["errors"]
                for name, target in TARGETS_MS.items() if name in http},
        "load_avg": {"before": load_before, "after": load_after}, "cpus": os.cpu_count(),
        "measured": f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M}",
    }
    md = _markdown(row)
    print(md)
    write_results("web", [row], md)


if __name__ == "__main__":
    main()

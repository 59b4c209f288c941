"""Live monitoring: a replayed feed gives the batch events (same ids) and the expected alerts,
through dropped connections, junk mid-stream and a SIGKILL."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from shadowtrace.detect.run import detect_into_store
from shadowtrace.ingest import ingest
from shadowtrace.lists.store import add_list
from shadowtrace.live.alerts import AlertParams
from shadowtrace.live.detect import LiveParams
from shadowtrace.live.sinks import JsonLinesSink
from shadowtrace.live.watch import Watcher, WatchOptions
from shadowtrace.store import connect
from tests.live_replay import ReplayServer

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ais_positions"
REAL_FILE = REAL / "amsa_risky_exact-earth-augmented-3.txt"  # epoch column, port calls, identity changes
REF = re.compile(r'"\d+:\d+"')


def events(db: Path, *, ongoing: bool | None = False) -> dict[str, tuple]:
    """Events by id (evidence references left out: they name each store's own ingest)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            """SELECT event_id, type, mmsi, other_mmsi, start, "end", round(lat, 6), round(lon, 6),
                      confidence, CAST(details AS VARCHAR),
                      coalesce(CAST(json_extract(details, '$.ongoing') AS BOOLEAN), FALSE)
               FROM events""").fetchall()
    finally:
        con.close()
    return {r[0]: (*r[1:9], REF.sub('"ref"', r[9])) for r in rows if ongoing is None or r[10] == ongoing}


def one(db: Path, sql: str) -> object:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def batch_store(path: Path, tmp: Path) -> Path:
    db = tmp / "batch.duckdb"
    ingest([str(path)], db)
    detect_into_store(db)
    return db


# --- a real feed, and a simulated one with faults ---------------------------------------


def test_real_feed_over_tcp_gives_the_batch_events(tmp_path: Path) -> None:
    batch = batch_store(REAL_FILE, tmp_path)
    lines = REAL_FILE.read_text(encoding="latin-1").splitlines()
    server = ReplayServer(lines, chunk_lines=300)
    try:
        watcher = Watcher(tmp_path / "live.duckdb", server.url,
                          options=WatchOptions(commit_every_s=0.05, detect_every_s=0.5, stop_when_idle_s=2))
        stats = watcher.run()
        watcher.close()
    finally:
        server.close()
    live = tmp_path / "live.duckdb"
    assert stats.detect_runs >= 1 and stats.positions_added == one(batch, "SELECT count(*) FROM positions")
    assert one(live, "SELECT count(*) FROM vessel_reports") == one(batch, "SELECT count(*) FROM vessel_reports")
    expected = events(batch)
    assert len(expected) > 40 and events(live) == expected


@pytest.fixture(scope="module")
def watched(scenario, screened, tmp_path_factory: pytest.TempPathFactory):
    """The simulated scenario replayed over TCP into a store holding its list: three dropped
    connections (one cutting a sentence in half) and junk lines mid-stream."""
    result, _ = scenario
    lines = result.positions_path.read_text(encoding="latin-1").splitlines()
    n = len(lines)
    junk = {n // 5: ["this is not NMEA", "!AIVDM,1,1,,A,13aGmP0P00PD;88MD5MTDww@2<0L,0*00"],
            n // 2: ["\\c:1740787200*00\\!AIVDM,1,1,,B,", "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"],
            (3 * n) // 4: ["!AIVDM,2,2,7,A,000000000,2*23"]}
    server = ReplayServer(lines, drop_after=(n // 3, (2 * n) // 3, n - 10), cut="!AIVDM,1,1,,A,15Mv5v?P00IS0",
                          garbage=junk, chunk_lines=2000)
    root = tmp_path_factory.mktemp("live")
    db = root / "live.duckdb"
    con = connect(db)
    add_list(con, result.lists_path, "sim")
    add_list(con, _watchlist(result.truth_path, scenario[1], root / "watch.csv"), "watch", kind="watchlist")
    out = io.StringIO()
    windows: list[tuple[dt.datetime, dt.datetime]] = []  # (window start, newest data) per run
    try:
        watcher = Watcher(db, server.url, con=con, sinks=[JsonLinesSink(out)],
                          on_cycle=lambda w: windows.append((w.stats.last_run.window_start, w.stats.last_run.data_now)),
                          options=WatchOptions(commit_every_s=0.2, detect_every_s=5, screen_every_s=0,
                                               stop_when_idle_s=3),
                          live=LiveParams(window_hours=12))
        watcher.source.backoff.first_s = 0.05
        stats = watcher.run()
        source = watcher.source.stats.as_dict()
        watcher.close()
    finally:
        server.close()
    return {"db": db, "stats": stats, "source": source, "stdout": out.getvalue(), "server": server, "windows": windows,
            "result": result, "batch": scenario[1], "screened": screened, "junk": junk}


def _watchlist(truth_path: Path, batch: Path, out: Path) -> Path:
    """An analyst's watchlist (plain CSV) of the vessels the scenario has go dark or meet."""
    truth = json.loads(truth_path.read_text())
    rows = truth["events"] if isinstance(truth, dict) else truth
    mmsis = sorted({m for e in rows if e["type"] in ("ais_gap", "encounter")
                    for m in (e.get("mmsi"), e.get("other_mmsi")) if m})
    con = duckdb.connect(str(batch), read_only=True)
    try:
        known = dict(con.execute(
            """SELECT mmsi, list(DISTINCT imo)[1] FROM vessel_reports
               WHERE imo IS NOT NULL AND list_contains($m, mmsi) GROUP BY mmsi""", {"m": mmsis}).fetchall())
    finally:
        con.close()
    lines = ["imo,mmsi,name"] + [f"{imo},{mmsi},WATCHED {mmsi}" for mmsi, imo in sorted(known.items())]
    assert len(lines) >= 3
    out.write_text("\n".join(lines) + "\n")
    return out


def test_dropped_connections_lose_nothing(watched) -> None:
    db, batch = watched["db"], watched["batch"]
    assert watched["source"]["connects"] == 4 and watched["source"]["drops"] == 3
    assert watched["server"].connections == 4
    for table in ("positions", "vessel_reports"):
        assert one(db, f"SELECT count(*) FROM {table}") == one(batch, f"SELECT count(*) FROM {table}")
    assert one(db, "SELECT count(*) FROM (SELECT DISTINCT mmsi, ts, lat, lon FROM positions)") == \
        one(db, "SELECT count(*) FROM positions")


def test_junk_is_rejected_and_counted(watched) -> None:
    db = watched["db"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        reasons = Counter(dict(con.execute("SELECT reason, count(*) FROM rejects GROUP BY 1").fetchall()))
        raws = {r[0] for r in con.execute("SELECT raw FROM rejects").fetchall()}
        counted = con.execute("SELECT rejects, other_messages FROM ingests").fetchall()[0]
    finally:
        con.close()
    assert "this is not NMEA" in raws and "!AIVDM,1,1,,A,15Mv5v?P00IS0" in raws  # the cut sentence
    assert reasons["bad_checksum"] >= 1 and reasons["no_sentence"] >= 1 and reasons["no_checksum"] >= 2
    assert reasons["orphan_fragment"] >= 1
    assert counted[0] == sum(reasons.values()) and counted[1] >= 1  # the $GPGGA line is counted, not stored


def test_live_events_are_the_batch_events(watched) -> None:
    expected = events(watched["batch"])
    live = events(watched["db"])
    # The 3-day scenario arrives faster than real time: runs come every 12 h of data (the
    # window), each reaching back half a window before the newest data of the run before.
    windows = watched["windows"]
    assert len(windows) >= 4
    for (_, before), (start, now) in zip(windows, windows[1:]):
        assert start <= min(now - dt.timedelta(hours=12), before - dt.timedelta(hours=6))
    assert set(live) == set(expected)
    assert live == expected
    assert Counter(e[0] for e in expected.values()).keys() >= {"ais_gap", "encounter", "loitering", "port_call"}


def test_ongoing_gaps_are_vessels_still_dark(watched) -> None:
    db = watched["db"]
    con = duckdb.connect(str(db), read_only=True)
    try:
        newest = con.execute("SELECT max(ts) FROM positions").fetchall()[0][0]
        rows = con.execute(
            """SELECT e.mmsi, e.start, e."end", (SELECT max(ts) FROM positions p WHERE p.mmsi = e.mmsi)
               FROM events e WHERE json_extract(details, '$.ongoing')::BOOLEAN""").fetchall()
    finally:
        con.close()
    assert rows
    for mmsi, start, end, last in rows:  # followed while the last fix is in the window (18 h here)
        assert start == last and end <= newest and (end - start).total_seconds() >= 6 * 3600, mmsi
        assert end == newest or (newest - last).total_seconds() > 18 * 3600, mmsi


def test_alerts_are_the_expected_ones(watched) -> None:
    db, screened = watched["db"], watched["screened"]
    live_con = duckdb.connect(str(db), read_only=True)
    try:
        listed = {r[0] for r in live_con.execute("SELECT DISTINCT mmsi FROM screen_matches").fetchall()}
        live_sim = set(live_con.execute("""SELECT mmsi, entity_id FROM screen_matches JOIN lists USING (list_id)
                                           WHERE name = 'sim'""").fetchall())
        watched_names = {r[0] for r in live_con.execute(
            "SELECT DISTINCT mmsi FROM screen_matches JOIN lists USING (list_id) WHERE name = 'watch'").fetchall()}
    finally:
        live_con.close()
    con = duckdb.connect(str(screened), read_only=True)
    try:
        assert live_sim == set(con.execute("SELECT mmsi, entity_id FROM screen_matches").fetchall())
        assert len(watched_names) >= 2
        rows = con.execute(
            """SELECT event_id, type, mmsi, other_mmsi, CAST(json_extract(details, '$.sanctioned_terminal') AS BOOLEAN)
               FROM events""").fetchall()
        appear = con.execute(
            """SELECT mmsi, ts FROM (SELECT mmsi, ts, lag(ts) OVER (PARTITION BY mmsi ORDER BY ts, source_line) AS prev
                                   FROM positions WHERE list_contains($m, mmsi))
               WHERE prev IS NULL OR epoch(ts) - epoch(prev) >= 6 * 3600""", {"m": sorted(listed)}).fetchall()
    finally:
        con.close()
    rule_of = {"ais_gap": "listed_dark", "encounter": "listed_sts", "identity_change": "listed_identity",
               "identity_conflict": "listed_identity"}
    expected = set()
    for event_id, kind, mmsi, other, terminal in rows:
        rule = "listed_terminal" if kind == "port_call" and terminal else rule_of.get(kind)
        for side in (mmsi, other):
            if rule and side in listed and (side == mmsi or kind == "encounter"):
                expected.add((rule, side, event_id))
    expected |= {("listed_appeared", mmsi, ts.isoformat()) for mmsi, ts in appear}
    con = duckdb.connect(str(db), read_only=True)
    try:
        ongoing = {r[0] for r in con.execute(
            "SELECT event_id FROM events WHERE json_extract(details, '$.ongoing')::BOOLEAN").fetchall()}
        got = con.execute("SELECT rule, mmsi, event_id, ts, alert_id FROM alerts").fetchall()
    finally:
        con.close()
    got_keys = {(r, m, e if e is not None else ts.isoformat()) for r, m, e, ts, _ in got}
    ongoing_alerts = {k for k in got_keys if k[2] in ongoing}
    assert ongoing_alerts <= {k for k in got_keys if k[0] == "listed_dark"}
    assert got_keys - ongoing_alerts == expected
    assert {k[0] for k in expected} >= {"listed_appeared", "listed_dark", "listed_sts"}
    # every planted listed vessel is announced when it appears
    truth = json.loads(watched["result"].screening_truth_path.read_text())["screening"]
    planted = {v["mmsi"] for v in truth["listed"] + truth["renamed_listed"]}
    assert planted <= {m for r, m, _ in got_keys if r == "listed_appeared"}
    # the JSON lines on stdout are the stored alerts, once each
    printed = [json.loads(line) for line in watched["stdout"].splitlines()]
    assert sorted(a["alert_id"] for a in printed) == sorted(r[4] for r in got)
    assert all(a["message"] and a["ts"].endswith("Z") for a in printed)


def test_watchlist_filter_and_area(watched, tmp_path: Path) -> None:
    """A restart on the same store raises nothing new; a misspelt watchlist is an error."""
    from shadowtrace.errors import ConfigError

    db = tmp_path / "copy.duckdb"
    shutil.copy(watched["db"], db)
    with pytest.raises(ConfigError, match="no such list"):
        Watcher(db, "tcp://127.0.0.1:9", alerts=AlertParams(watchlists=("nope",)))


# --- SIGKILL and restart -------------------------------------------------------------------


def _watch_cmd(db: Path, feed: Path) -> list[str]:
    return [sys.executable, "-m", "shadowtrace", "watch", "--source", f"file:{feed}", "--db", str(db),
            "--commit-every", "0.1", "--detect-every", "0.5", "--stop-when-idle", "3", "--quiet"]


def test_sigkill_and_restart_lose_and_duplicate_nothing(tmp_path: Path) -> None:
    batch = batch_store(REAL_FILE, tmp_path)
    lines = REAL_FILE.read_bytes().splitlines(keepends=True)
    feed = tmp_path / "feed.nmea"
    feed.write_bytes(b"")
    db = tmp_path / "live.duckdb"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_watch_cmd(db, feed), stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    written = 0

    def append(until: int) -> None:
        nonlocal written
        with feed.open("ab") as out:
            while written < until:
                out.write(b"".join(lines[written:written + 100]))
                out.flush()
                written += 100
                time.sleep(0.05)

    # Wait for the watcher to be up (start-up takes seconds on a loaded machine), feed it half,
    # and kill it once something is committed: the store or its write-ahead log has grown.
    assert proc.stderr is not None
    started = proc.stderr.readline().decode()
    assert "watching" in started, started + proc.stderr.read().decode()
    wal = db.with_name(db.name + ".wal")
    size_at_start = db.stat().st_size

    def committed_something() -> bool:
        return (wal.exists() and wal.stat().st_size > 0) or db.stat().st_size > size_at_start

    append(len(lines) // 2)
    deadline = time.monotonic() + 60
    while not committed_something() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(1.0)  # some more commits and detection runs happen
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    committed = one(db, "SELECT count(*) FROM positions")
    assert 0 < committed < one(batch, "SELECT count(*) FROM positions")  # killed mid-stream
    writer = threading.Thread(target=append, args=(len(lines),))
    writer.start()
    again = subprocess.run(_watch_cmd(db, feed), capture_output=True, text=True, env=env, timeout=300)
    writer.join()
    assert again.returncode == 0, again.stderr
    assert one(db, "SELECT count(*) FROM positions") == one(batch, "SELECT count(*) FROM positions")
    assert one(db, "SELECT count(*) FROM vessel_reports") == one(batch, "SELECT count(*) FROM vessel_reports")
    assert one(db, "SELECT count(*) FROM (SELECT DISTINCT ingest_id, source_line FROM positions)") == \
        one(db, "SELECT count(*) FROM positions")
    assert one(db, "SELECT count(*) FROM ingests") == 1 and one(db, "SELECT status FROM ingests") == "stopped"
    assert events(db) == events(batch)


def test_bad_sources_are_clear_errors(tmp_path: Path) -> None:
    from shadowtrace.errors import ConfigError
    from shadowtrace.live.sources import SourceSpec

    for text, message in (("http://x:1", "unknown kind"), ("tcp://host", "needs a port"), ("udp://:0", "needs a port"),
                          ("file:", "names no file")):
        with pytest.raises(ConfigError, match=message):
            SourceSpec.parse(text)
    run = subprocess.run([sys.executable, "-m", "shadowtrace", "watch", "--source", f"file:{tmp_path / 'none.nmea'}",
                          "--db", str(tmp_path / "x.duckdb")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2 and "no file" in run.stderr


# --- sources and sinks ---------------------------------------------------------------------


def test_udp_source_and_area_filter(tmp_path: Path) -> None:
    """Datagrams of sentences are read as lines; alerts outside --area are not raised."""
    import socket

    from shadowtrace.live.alerts import Area

    lines = REAL_FILE.read_text(encoding="latin-1").splitlines()[:400]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    watcher = Watcher(tmp_path / "udp.duckdb", f"udp://127.0.0.1:{port}",
                      options=WatchOptions(commit_every_s=0.05, detect_every_s=0.2, stop_when_idle_s=1.5),
                      area=Area("100,-50,120,-40"))

    def send() -> None:
        time.sleep(0.5)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            for i in range(0, len(lines), 20):
                out.sendto(("\r\n".join(lines[i:i + 20]) + "\r\n").encode("latin-1"), ("127.0.0.1", port))
                time.sleep(0.002)

    sender = threading.Thread(target=send)
    sender.start()
    watcher.run()
    sender.join()
    received = watcher.feed.counts.lines
    watcher.close()
    assert received == 400  # loopback UDP in small bursts loses nothing
    assert one(tmp_path / "udp.duckdb", "SELECT count(*) FROM positions") > 0
    area = Area("170,-10,-170,10")  # across the antimeridian
    assert area.contains(0, 179.5) and area.contains(0, -175) and not area.contains(0, 0)
    polygon = tmp_path / "area.geojson"
    polygon.write_text(json.dumps({"type": "Feature", "geometry": {
        "type": "Polygon", "coordinates": [[[20, 54], [30, 54], [30, 60], [20, 60], [20, 54]]]}}))
    assert Area(str(polygon)).contains(57, 25) and not Area(str(polygon)).contains(50, 25)


def test_webhook_retries_until_delivered(tmp_path: Path) -> None:
    """A receiver failing twice (503) gets the alert on the third attempt; one refusing it (400)
    is not retried; a dead one fails after the attempts, and each outcome is recorded."""
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from shadowtrace.live.sinks import Delivery, WebhookSink

    received: list[dict] = []
    answers = iter([503, 503, 200, 400])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            code = next(answers)
            if code == 200:
                received.append(json.loads(body))
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    done: list[Delivery] = []
    url = f"http://127.0.0.1:{server.server_port}/hook"
    sink = WebhookSink(url, done.append, first_delay_s=0.05)
    sink.send({"alert_id": "a1", "rule": "listed_dark", "mmsi": 273000000})
    sink.send({"alert_id": "a2", "rule": "listed_sts", "mmsi": 273000001})
    sink.close()
    server.shutdown()
    with socket_free_port() as port:
        dead = WebhookSink(f"http://127.0.0.1:{port}/", done.append, max_attempts=3, first_delay_s=0.01)
        dead.send({"alert_id": "a3"})
        dead.close()
    assert [r["alert_id"] for r in received] == ["a1"]
    assert [(d.alert_id, d.status, d.attempts) for d in done] == [("a1", "delivered", 3), ("a2", "failed", 1),
                                                                   ("a3", "failed", 3)]
    assert done[1].last_error == "HTTP 400" and "Connection" in (done[2].last_error or "")


class socket_free_port:
    """A local port nobody listens on (bound, then closed)."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        pass

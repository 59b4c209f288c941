"""`shadowtrace watch`: a live feed into the store, detection as it arrives, alerts out."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from shadowtrace.cli_common import DbOption, err_console, fail
from shadowtrace.errors import ConfigError, ShadowtraceError


def watch(
    source: Annotated[str, typer.Option("--source", help="tcp://HOST:PORT (connect), udp://:PORT (listen) or file:PATH (follow).")],
    db: DbOption = Path("shadowtrace.duckdb"),
    area: Annotated[Optional[str], typer.Option("--area", help="Alert only here: minlon,minlat,maxlon,maxlat or a GeoJSON polygon file.")] = None,
    watchlist: Annotated[Optional[list[str]], typer.Option("--watchlist", help="Alert on vessels matched to this loaded list (repeatable; default: every list).")] = None,
    min_risk: Annotated[Optional[float], typer.Option("--min-risk", help="Also alert any event of a vessel with at least this risk score (0-100).")] = None,
    webhook: Annotated[Optional[list[str]], typer.Option("--webhook", help="POST each alert as JSON to this URL, with retries (repeatable).")] = None,
    serve: Annotated[bool, typer.Option("--serve", help="Also serve the workbench, with live alerts, from this process.")] = False,
    host: Annotated[str, typer.Option(help="With --serve: address to listen on (beyond loopback it needs SHADOWTRACE_TOKEN).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="With --serve: port.")] = 8000,
    window_hours: Annotated[float, typer.Option(help="Detection window: events ending this long before the newest data are settled.")] = 48.0,
    detect_every: Annotated[float, typer.Option(help="Seconds between detection runs while data arrives.")] = 30.0,
    screen_every: Annotated[float, typer.Option(help="Seconds between re-screenings when new static data arrived.")] = 300.0,
    commit_every: Annotated[float, typer.Option(help="Seconds between commits to the store.")] = 1.0,
    memory_limit: Annotated[str, typer.Option(help="DuckDB memory (store pages, detection window); it spills to disk beyond.")] = "1GB",
    stop_when_idle: Annotated[Optional[float], typer.Option(help="Stop after this many seconds without data (replays).")] = None,
    config: Annotated[Optional[Path], typer.Option("--config", help="TOML file with [detector] tables of parameters.")] = None,
    param: Annotated[Optional[list[str]], typer.Option("--param", help="Override a detector parameter: detector.field=value (repeatable).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No status line on stderr.")] = False,
) -> None:
    """Watch a live NMEA feed: store it, detect as it arrives, print alerts as JSON lines."""
    from shadowtrace.detect.config import build_params
    from shadowtrace.live.alerts import AlertParams, Area
    from shadowtrace.live.detect import LiveParams
    from shadowtrace.live.sinks import Broadcast, JsonLinesSink, WebhookSink
    from shadowtrace.live.watch import Watcher, WatchOptions

    server = None
    try:
        if window_hours < 12:
            raise ConfigError("--window-hours below 12 would cut events the detectors need whole",
                              hint="keep the default 48, or at least twice the longest detector threshold")
        sinks: list[Any] = [JsonLinesSink()]
        con = None
        if serve:
            broadcast = Broadcast()
            sinks.append(broadcast)
            server, con = _start_server(db, broadcast, host, port)
        watcher = Watcher(
            db, source, con=con,
            options=WatchOptions(commit_every_s=commit_every, detect_every_s=detect_every,
                                 screen_every_s=screen_every, stop_when_idle_s=stop_when_idle,
                                 memory_limit=memory_limit),
            live=LiveParams(window_hours=window_hours), params=build_params(config, param),
            alerts=AlertParams(watchlists=tuple(watchlist or ()), min_risk=min_risk),
            area=Area(area) if area else None, sinks=sinks)
        if server is not None:
            store = server.config.app.state.store
            watcher.on_cycle = lambda _w: store.refresh()
        for url in webhook or []:
            sinks.append(WebhookSink(url, watcher.deliveries.put))
    except ShadowtraceError as exc:
        if server is not None:
            server.should_exit = True
        fail(exc)

    def stop(signum: int, _frame: object) -> None:
        watcher.stop_event.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    status = None if quiet else threading.Thread(target=_status, args=(watcher,), daemon=True)
    if status is not None:
        status.start()
    err_console.print(f"watching {watcher.spec.name} into {db} (Ctrl+C to stop)", highlight=False)
    try:
        stats = watcher.run()
    except ShadowtraceError as exc:
        fail(exc)
    finally:
        if server is not None:
            server.should_exit = True
        watcher.close()
    counts = watcher.feed.counts
    err_console.print(
        f"stopped: {counts.lines:,} lines, {stats.positions_added:,} positions added, "
        f"{counts.rejects:,} rejected, {stats.detect_runs} detection runs, {stats.alerts} alerts"
        + (f", {len(stats.errors)} detection runs failed (see above)" if stats.errors else ""),
        highlight=False)


def _status(watcher: Any) -> None:
    """One status line every few seconds on stderr (stdout carries the alerts)."""
    while not watcher.stop_event.wait(5):
        counts = watcher.feed.counts
        source = watcher.source.stats.as_dict()
        run = watcher.stats.last_run
        state = "connected" if source["connected"] else f"disconnected ({source['last_error'] or 'waiting'})"
        err_console.print(
            f"{time.strftime('%H:%M:%S')} {state}: {counts.lines:,} lines, {counts.positions_added:,} positions, "
            f"{counts.rejects:,} rejected, {watcher.stats.alerts} alerts"
            + (f"; last detection {run.seconds:.1f} s over {run.positions:,} positions" if run else ""),
            highlight=False)


def _start_server(db: Path, broadcast: Any, host: str, port: int) -> tuple[Any, Any]:
    """The workbench in a thread of this process, over the store the watcher writes: returns
    the server and a connection for the watcher (DuckDB lets one process write a store, so
    both go through one database instance)."""
    from shadowtrace.cli_serve import TOKEN_ENV, allowed_hosts, check_bind
    from shadowtrace.store import connect

    token = os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    try:
        import uvicorn

        from shadowtrace.web import create_app
        from shadowtrace.web.deps import Store
    except ImportError as exc:
        raise ConfigError(f"--serve needs the web extra ({exc.name} is missing)",
                          hint="pip install 'shadowtrace[web]'") from exc
    connect(db).close()  # create or migrate the store first
    # No in-memory copy of the positions: it would be rebuilt after every detection run.
    store = Store(db, read_only=False, cache_rows=0)
    app = create_app(db, token, allowed_hosts=allowed_hosts(host, token), store=store, broadcast=broadcast)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", server_header=False,
                            proxy_headers=False, limit_concurrency=64)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # the watcher owns them
    threading.Thread(target=server.run, name="web", daemon=True).start()
    shown = f"[{host}]" if ":" in host else host
    err_console.print(f"open the workbench: http://{shown}:{port}/ (alerts appear live)", highlight=False)
    assert store.con is not None
    con = store.con.cursor()
    con.execute("USE store; SET TimeZone = 'UTC'")
    return server, con

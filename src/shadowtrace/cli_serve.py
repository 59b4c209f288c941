"""`shadowtrace serve`: the web workbench and read-only API over a store."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from shadowtrace.cli_common import DbOption, console, fail
from shadowtrace.errors import ConfigError, ShadowtraceError

TOKEN_ENV = "SHADOWTRACE_TOKEN"
WORKER_ENV = "SHADOWTRACE_SERVE_WORKER"  # serve --workers: what each worker process opens
MIN_TOKEN_LENGTH = 16
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False  # a host name could resolve anywhere


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token that is hard to guess."""
    if is_loopback(host):
        return
    if not token:
        raise ConfigError(f"--host {host} would expose the store to the network without a token",
                          hint=f"set {TOKEN_ENV} to a long random secret (e.g. `export {TOKEN_ENV}="
                               "$(python -c 'import secrets; print(secrets.token_urlsafe(24))')`), "
                               "or keep the default --host 127.0.0.1")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_LENGTH} characters",
                          hint="use a long random secret, e.g. from `python -c 'import secrets; "
                               "print(secrets.token_urlsafe(24))'`")


def allowed_hosts(host: str, token: str | None) -> list[str] | None:
    """Without a token only loopback names may appear in the Host header (DNS rebinding);
    with one, the token is the guard and any name the server is reached by will do."""
    return None if token else [*LOOPBACK_NAMES, host.strip("[]").lower()]


def worker_app() -> Any:
    """The app of each worker process of `serve --workers N` (uvicorn imports it by name; the
    parent passes the store and the bind address in the environment, the token stays there)."""
    from shadowtrace.web import create_app

    settings = json.loads(os.environ[WORKER_ENV])
    token = os.environ.get(TOKEN_ENV) or None
    return create_app(Path(settings["db"]), token, allowed_hosts=allowed_hosts(settings["host"], token))


def _check_store(db: Path) -> None:
    """What opening the store would refuse (missing, not a store, an old schema), without the
    in-memory copies: the workers make those."""
    from shadowtrace.overview import require_current_schema
    from shadowtrace.store import connect

    con = connect(db, read_only=True)
    try:
        require_current_schema(con, db)
    finally:
        con.close()


def serve(
    db: DbOption = Path("shadowtrace.duckdb"),
    host: Annotated[str, typer.Option(help="Address to listen on; beyond loopback it needs SHADOWTRACE_TOKEN.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=16, help="Server processes; each opens the store and keeps "
                                                            "its own in-memory copies (memory times N).")] = 1,
    access_log: Annotated[bool, typer.Option("--access-log/--no-access-log",
                                             help="Log a line for every request.")] = True,
) -> None:
    """Serve the web workbench and a read-only JSON API over the store (open the printed URL)."""
    token = os.environ.get(TOKEN_ENV) or None
    try:
        check_bind(host, token)
        try:
            import uvicorn

            from shadowtrace.web import create_app
        except ImportError as exc:
            raise ConfigError(f"serve needs the web extra ({exc.name} is missing)",
                              hint="pip install 'shadowtrace[web]'") from exc
        if workers == 1:
            app: Any = create_app(db, token, allowed_hosts=allowed_hosts(host, token))
        else:
            _check_store(db)
            os.environ[WORKER_ENV] = json.dumps({"db": str(Path(db).resolve()), "host": host})
            app = f"{__name__}:worker_app"
    except ShadowtraceError as exc:
        fail(exc)
    shown = f"[{host}]" if ":" in host else host
    console.print(f"open the workbench: http://{shown}:{port}/", highlight=False)
    if token:
        console.print(f"  first visit: http://{shown}:{port}/?token=<{TOKEN_ENV}> (sets a cookie)", highlight=False)
    console.print("  the store is open read-only; stop the server (Ctrl+C) before ingest, detect or screen",
                  highlight=False)
    # uvicorn takes httptools and uvloop when they are installed (the web extra brings them).
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False,
                limit_concurrency=64, access_log=access_log,
                **({"factory": True, "workers": workers} if workers > 1 else {}))

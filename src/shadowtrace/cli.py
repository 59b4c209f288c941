"""The `shadowtrace` command line: one small function per command over the library."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from shadowtrace.errors import ShadowtraceError

app = typer.Typer(
    help="Shadow-fleet monitoring from AIS data: ingest, detect, screen, rank, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[Path, typer.Option("--db", help="DuckDB store file (created if missing).")]


def _fail(exc: ShadowtraceError) -> None:
    err_console.print(f"[red]error:[/red] {exc.user_message()}", highlight=False)
    raise typer.Exit(2)


def _parse_time(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ShadowtraceError(f"--time {text!r} is not an ISO 8601 time", hint="e.g. --time 2024-01-01T00:00:00Z") from exc
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.timezone.utc)


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, globs or .gz/.zip/.bz2 archives.")],
    db: DbOption = Path("shadowtrace.duckdb"),
    fmt: Annotated[Optional[str], typer.Option("--format", help="nmea|dma|noaa|csv|parquet (default: detect).")] = None,
    columns: Annotated[Optional[str], typer.Option(help="Column mapping for csv/parquet: mmsi=COL,ts=COL,lat=COL,lon=COL,...")] = None,
    ts_format: Annotated[Optional[str], typer.Option("--ts-format", help="strptime format of the time column, e.g. %d/%m/%Y %H:%M.")] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Reception time (ISO 8601) for NMEA sentences that carry none.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")] = False,
) -> None:
    """Load AIS data into the store; prints what was read, kept, dropped and why."""
    from shadowtrace.ingest import IngestOptions
    from shadowtrace.ingest import ingest as run_ingest
    from shadowtrace.ingest.tabular import parse_columns_option
    from shadowtrace.summary import print_ingest

    try:
        options = IngestOptions(
            fmt=fmt, columns=parse_columns_option(columns), ts_format=ts_format,
            default_time=_parse_time(time),
        )
        with _progress(quiet) as factory:
            report = run_ingest(paths, db, options, progress=factory)
    except ShadowtraceError as exc:
        _fail(exc)
        return
    if not quiet:
        print_ingest(report, console)
    else:
        for failed in report.failed:
            err_console.print(f"failed: {failed.error}", highlight=False)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Folder for the positions file and truth.json.")],
    vessels: Annotated[int, typer.Option(help="Number of vessels.")] = 200,
    days: Annotated[float, typer.Option(help="Days of traffic.")] = 3.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    fmt: Annotated[str, typer.Option("--format", help="dma|noaa|nmea")] = "dma",
) -> None:
    """Write realistic AIS traffic with injected shadow-fleet behaviour and its ground truth."""
    from shadowtrace.simulate import simulate as run_simulate

    try:
        with _progress(False) as factory:
            tick = factory("simulating", 0) if factory else None
            result = run_simulate(out, vessels=vessels, days=days, seed=seed, fmt=fmt, progress=tick)
    except ShadowtraceError as exc:
        _fail(exc)
        return
    console.print(f"wrote {result.rows:,} position rows for {result.vessels} vessels to {result.positions_path}")
    console.print(f"ground truth: {result.truth_path} ({sum(result.events.values())} events)")
    for kind, count in sorted(result.events.items()):
        console.print(f"  {kind:<20} {count:>6}")


class _progress:
    """Context manager yielding a factory of progress callbacks (or None when quiet)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar: Progress | None = None

    def __enter__(self) -> Callable[[str, int], Callable[[int], None]] | None:
        if self.quiet:
            return None
        self.bar = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
            TimeRemainingColumn(), console=err_console, transient=True,
        )
        self.bar.start()

        def factory(name: str, total: int) -> Callable[[int], None]:
            assert self.bar is not None
            task = self.bar.add_task(Path(name).name[-40:], total=total or None)
            return lambda advance: self.bar.advance(task, advance) if self.bar else None

        return factory

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def main() -> None:  # pragma: no cover - console entry
    app()


if __name__ == "__main__":  # pragma: no cover
    main()

"""The `shadowtrace` command line: one small function per command over the library."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

from shadowtrace.cli_common import DbOption, console, err_console
from shadowtrace.cli_common import fail as _fail
from shadowtrace.cli_screen import lists_app, report, screen, vessels
from shadowtrace.cli_serve import serve
from shadowtrace.cli_watch import watch
from shadowtrace.errors import ShadowtraceError

app = typer.Typer(
    help="Shadow-fleet monitoring from AIS data: ingest, detect, screen, rank, report.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


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
    db: Annotated[Optional[Path], typer.Option("--db", help="DuckDB store file (default shadowtrace.duckdb; with --to only if given).")] = None,
    to: Annotated[Optional[Path], typer.Option("--to", help="Also write the store as a partitioned Parquet dataset (by date) to this folder.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="nmea|dma|noaa|csv|parquet (default: detect).")] = None,
    columns: Annotated[Optional[str], typer.Option(help="Column mapping for csv/parquet: mmsi=COL,ts=COL,lat=COL,lon=COL,...")] = None,
    ts_format: Annotated[Optional[str], typer.Option("--ts-format", help="strptime format of the time column, e.g. %d/%m/%Y %H:%M.")] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Reception time (ISO 8601) for NMEA sentences that carry none.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar or tables.")] = False,
    _exit: bool = typer.Option(True, hidden=True),
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
            if to is None:
                report = run_ingest(paths, db or Path("shadowtrace.duckdb"), options, progress=factory)
            else:
                from shadowtrace.ingest.dataset import ingest_to_dataset

                report, rows = ingest_to_dataset(paths, to, options, progress=factory, db=db)
    except ShadowtraceError as exc:
        _fail(exc)
        return
    if not quiet:
        print_ingest(report, console)
        if to is not None:
            console.print(f"dataset {to}: {rows['positions']:,} positions, {rows['vessel_reports']:,} vessel reports")
    else:
        for failed in report.failed:
            err_console.print(f"failed: {failed.error}", highlight=False)
    if report.failed and _exit:
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


ParamOption = Annotated[Optional[list[str]], typer.Option("--param", help="Override a detector parameter: detector.field=value (repeatable).")]
ConfigOption = Annotated[Optional[Path], typer.Option("--config", help="TOML file with [detector] tables of parameters.")]


def _run_detect(db: Path | None, config: Path | None, param: list[str] | None, only: list[str] | None,
                quiet: bool, *, engine: str = "duckdb", dataset: Path | None = None,
                out: Path | None = None, spark_master: str | None = None) -> None:
    from shadowtrace.detect.config import build_params
    from shadowtrace.engine.runner import run_detect
    from shadowtrace.summary import print_detect

    params = build_params(config, param)
    if engine == "duckdb" and db is None:
        db = Path("shadowtrace.duckdb")
    with console.status("detecting", spinner="dots") if not quiet else contextlib.nullcontext() as status:
        def tick(name: str) -> None:
            if status is not None:
                status.update(f"detecting {name}")
        report = run_detect(engine, db=db, dataset=dataset, out=out, master=spark_master,
                            params=params, only=only, progress=tick)
    if not quiet:
        print_detect(report, console)


@app.command()
def detect(
    db: Annotated[Optional[Path], typer.Option("--db", help="DuckDB store file (default shadowtrace.duckdb with --engine duckdb); events are kept there.")] = None,
    config: ConfigOption = None,
    param: ParamOption = None,
    only: Annotated[Optional[list[str]], typer.Option("--only", help="Run only these detectors.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (embedded) or spark.")] = "duckdb",
    dataset: Annotated[Optional[Path], typer.Option("--dataset", help="Read positions from this Parquet dataset (ingest --to DIR); needed by spark.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Also write the events as Parquet, one file per detector, to this folder.")] = None,
    spark_master: Annotated[Optional[str], typer.Option("--spark-master", help="Spark master URL (default local[*]).")] = None,
) -> None:
    """Run every behaviour detector over the store (or a dataset) and keep their events."""
    try:
        _run_detect(db, config, param, only, quiet, engine=engine, dataset=dataset, out=out,
                    spark_master=spark_master)
    except ShadowtraceError as exc:
        _fail(exc)


@app.command()
def detectors(
    markdown: Annotated[bool, typer.Option("--markdown", help="Print the catalogue as Markdown (docs/detectors.md).")] = False,
) -> None:
    """List the detectors with their parameters, defaults and sources."""
    from shadowtrace.detect.catalogue import markdown as catalogue_markdown

    text = catalogue_markdown()
    if markdown:
        typer.echo(text, nl=False)
    else:
        from rich.markdown import Markdown

        console.print(Markdown(text))


@app.command()
def run(
    paths: Annotated[list[str], typer.Argument(help="Files, folders, globs or archives.")],
    db: DbOption = Path("shadowtrace.duckdb"),
    fmt: Annotated[Optional[str], typer.Option("--format")] = None,
    time: Annotated[Optional[str], typer.Option("--time")] = None,
    config: ConfigOption = None,
    param: ParamOption = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False,
) -> None:
    """Ingest then detect, in one go."""
    ingest(paths, db=db, to=None, fmt=fmt, columns=None, ts_format=None, time=time, quiet=quiet, _exit=False)
    try:
        _run_detect(db, config, param, None, quiet)
    except ShadowtraceError as exc:
        _fail(exc)


@app.command()
def events(
    db: DbOption = Path("shadowtrace.duckdb"),
    type_: Annotated[Optional[list[str]], typer.Option("--type", help="Event type(s).")] = None,
    mmsi: Annotated[Optional[int], typer.Option(help="Vessel (either side of an encounter).")] = None,
    since: Annotated[Optional[str], typer.Option(help="Events ending at or after this time (ISO 8601).")] = None,
    until: Annotated[Optional[str], typer.Option(help="Events starting at or before this time.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv|json|geojson|parquet")] = "csv",
    out: Annotated[Optional[Path], typer.Option("--out", help="File to write (default: stdout).")] = None,
) -> None:
    """Export events: csv to stdout by default."""
    from shadowtrace.export import query_events, write_events
    from shadowtrace.store import connect

    try:
        con = connect(db, read_only=True)
        try:
            table = query_events(con, types=type_, mmsi=mmsi,
                                 since=_naive(_parse_time(since)), until=_naive(_parse_time(until)))
        finally:
            con.close()
        write_events(table, fmt, out)
    except ShadowtraceError as exc:
        _fail(exc)


@app.command()
def evaluate(
    truth: Annotated[Path, typer.Option("--truth", help="Ground-truth JSON (from simulate).")],
    db: DbOption = Path("shadowtrace.duckdb"),
    slack_hours: Annotated[float, typer.Option(help="Time slack when matching.")] = 2.0,
    show: Annotated[int, typer.Option(help="Unmatched rows to list per type.")] = 3,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the scores as JSON.")] = None,
) -> None:
    """Precision and recall of stored events against a ground-truth file."""
    from shadowtrace.evaluate import evaluate_store
    from shadowtrace.summary import print_scores, scores_json

    try:
        scores = evaluate_store(db, truth, slack_hours=slack_hours)
    except ShadowtraceError as exc:
        _fail(exc)
        return
    print_scores(scores, console, show)
    if out:
        out.write_text(scores_json(scores))


app.add_typer(lists_app, name="lists")
app.command()(screen)
app.command()(vessels)
app.command()(report)
app.command()(serve)
app.command()(watch)


def _naive(stamp: dt.datetime | None) -> dt.datetime | None:
    return None if stamp is None else stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)


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


def main() -> None:
    """Console entry: unexpected errors are reported in one line, the traceback only with
    SHADOWTRACE_DEBUG=1."""
    import os

    try:
        app()
    except ShadowtraceError as exc:
        _fail(exc)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:
        if os.environ.get("SHADOWTRACE_DEBUG"):
            raise
        err_console.print(
            f"[red]internal error:[/red] {type(exc).__name__}: {exc}\n"
            "  hint: rerun with SHADOWTRACE_DEBUG=1 for the traceback, and report it",
            highlight=False,
        )
        raise SystemExit(3) from None


if __name__ == "__main__":
    main()

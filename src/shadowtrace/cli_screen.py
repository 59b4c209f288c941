"""Commands over lists, screening, ranking and dossiers (registered on the main app)."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from shadowtrace.cli_common import DbOption, console, fail
from shadowtrace.errors import ConfigError, ShadowtraceError

lists_app = typer.Typer(help="Sanctions and watch lists in the store: add, show, refresh, remove.",
                        no_args_is_help=True)


def _print_list(info: object, verb: str) -> None:
    console.print(
        f"{verb} list [bold]{info.name}[/bold] ({info.format}, {info.kind}): {info.entities:,} entities, "  # type: ignore[attr-defined]
        f"{info.vessels:,} vessels, {info.sanctioned:,} designated, {info.links:,} links",  # type: ignore[attr-defined]
        highlight=False)


@lists_app.command("add")
def lists_add(
    path: Annotated[Optional[Path], typer.Argument(help="List file (FtM JSON lines, OFAC sdn.csv, EU journal CSV, plain CSV/JSON).")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Name to store the list under (default: the built-in list's name).")] = None,
    db: DbOption = Path("shadowtrace.duckdb"),
    builtin: Annotated[Optional[str], typer.Option("--builtin", help="Load a list shipped with shadowtrace instead of PATH: eu-annex-xlii.")] = None,
    fmt: Annotated[Optional[str], typer.Option("--format", help="ftm|ofac_sdn|eu_journal|plain (default: detect).")] = None,
    encoding: Annotated[Optional[str], typer.Option(help="Text encoding (default UTF-8; OFAC files latin-1).")] = None,
    kind: Annotated[Optional[str], typer.Option(help="For plain lists: sanctions|watchlist (default watchlist).")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace a list of the same name.")] = False,
) -> None:
    """Load a sanctions or watch list (format detected from the content)."""
    from shadowtrace.lists.builtin import builtin_path
    from shadowtrace.lists.store import add_list
    from shadowtrace.store import connect

    try:
        if (path is None) == (builtin is None):
            raise ConfigError("give a list file or --builtin NAME", hint="e.g. `shadowtrace lists add --builtin eu-annex-xlii`")
        if builtin is not None:
            path, name = builtin_path(builtin), name or builtin
        if not name:
            raise ConfigError("a list needs --name", hint="e.g. --name eu-annex-xlii")
        assert path is not None
        con = connect(db)
        try:
            info = add_list(con, path, name, fmt=fmt, encoding=encoding, kind=kind, replace=replace)
        finally:
            con.close()
    except ShadowtraceError as exc:
        fail(exc)
    _print_list(info, "unchanged" if info.unchanged else "replaced" if info.replaced else "loaded")
    if not info.unchanged:
        console.print("run `shadowtrace screen --db FILE` to screen vessels against it")


@lists_app.command("show")
def lists_show(db: DbOption = Path("shadowtrace.duckdb")) -> None:
    """The lists in the store, with versions (source fingerprint, load time)."""
    from shadowtrace.lists.store import all_lists
    from shadowtrace.store import connect

    try:
        con = connect(db, read_only=True)
        infos = all_lists(con)
        con.close()
    except ShadowtraceError as exc:
        fail(exc)
    table = Table(title="lists")
    for column in ("name", "format", "kind", "entities", "vessels", "designated", "links", "loaded at", "fingerprint", "source"):
        table.add_column(column, justify="right" if column in ("entities", "vessels", "designated", "links") else "left")
    for i in infos:
        table.add_row(i.name, i.format, i.kind, f"{i.entities:,}", f"{i.vessels:,}", f"{i.sanctioned:,}",
                      f"{i.links:,}", f"{i.loaded_at:%Y-%m-%d %H:%M}", i.fingerprint[:12], i.source)
    console.print(table)


@lists_app.command("refresh")
def lists_refresh(name: Annotated[str, typer.Argument(help="List name.")],
                  db: DbOption = Path("shadowtrace.duckdb")) -> None:
    """Reload a list from its source file (nothing happens when the file is unchanged)."""
    from shadowtrace.lists.store import refresh_list
    from shadowtrace.store import connect

    try:
        con = connect(db)
        try:
            info = refresh_list(con, name)
        finally:
            con.close()
    except ShadowtraceError as exc:
        fail(exc)
    _print_list(info, "unchanged" if info.unchanged else "refreshed")


@lists_app.command("remove")
def lists_remove(name: Annotated[str, typer.Argument(help="List name.")],
                 db: DbOption = Path("shadowtrace.duckdb")) -> None:
    """Remove a list and its screening matches."""
    from shadowtrace.lists.store import remove_list
    from shadowtrace.store import connect

    try:
        con = connect(db)
        try:
            info = remove_list(con, name)
        finally:
            con.close()
    except ShadowtraceError as exc:
        fail(exc)
    console.print(f"removed list {info.name}; rerun `shadowtrace screen` to update the ranking", highlight=False)


ParamOption = Annotated[Optional[list[str]], typer.Option("--param", help="Override a parameter: section.field=value, sections match|screen|risk (repeatable).")]
ConfigOption = Annotated[Optional[Path], typer.Option("--config", help="TOML file with [match], [screen], [risk] tables.")]


def screen(
    db: DbOption = Path("shadowtrace.duckdb"),
    config: ConfigOption = None,
    param: ParamOption = None,
    top: Annotated[int, typer.Option(help="Vessels to show after screening.")] = 10,
    params_markdown: Annotated[bool, typer.Option("--params-markdown", help="Print the parameter tables (for docs/screening.md) and stop.")] = False,
    engine: Annotated[str, typer.Option("--engine", help="duckdb (embedded) or spark: where the per-vessel identities are aggregated.")] = "duckdb",
    dataset: Annotated[Optional[Path], typer.Option("--dataset", help="Read positions and static reports from this Parquet dataset (ingest --to DIR); needed by spark.")] = None,
    spark_master: Annotated[Optional[str], typer.Option("--spark-master", help="Spark master URL or Spark Connect URL sc://HOST:PORT (default local[*]).")] = None,
) -> None:
    """Match every AIS vessel to the lists, find ownership and contact exposure, score risk.

    Lists and events are read from the store (--db); vessels from the store or, with
    --dataset, from a Parquet dataset, aggregated by DuckDB or Spark (--engine)."""
    if params_markdown:
        from shadowtrace.screen.catalogue import markdown

        sys.stdout.write(markdown() + "\n")
        return
    from shadowtrace.engine.runner import run_screen
    from shadowtrace.screen.config import build_screen_params
    from shadowtrace.store import connect

    try:
        params = build_screen_params(config, param)
        with console.status(f"screening vessels against lists ({engine})"):
            summary = run_screen(db, engine, dataset=dataset, master=spark_master, match_params=params["match"],
                                 screen_params=params["screen"], risk_params=params["risk"])
        con = connect(db)
        try:
            if dataset is not None:
                from shadowtrace.engine.dataset import dataset_views

                dataset_views(con, dataset)  # names and IMOs of the ranked vessels
            from shadowtrace.vessels import ranked_vessels

            rows = ranked_vessels(con, top=top) if top > 0 else []
        finally:
            con.close()
    except ShadowtraceError as exc:
        fail(exc)
    exposures = ", ".join(f"{k} {v}" for k, v in sorted(summary.exposures.items())) or "none"
    console.print(f"screened {summary.vessels:,} vessels: {summary.matched_vessels:,} matched to list entries "
                  f"({summary.listed_vessels:,} designated), exposures: {exposures}; "
                  f"{summary.scored:,} with a risk score above 0", highlight=False)
    if rows:
        console.print(_vessel_table(rows))


def _vessel_table(rows: list[dict]) -> Table:
    table = Table(title="vessels by risk")
    for column in ("#", "MMSI", "name", "IMO", "flag", "score", "top reasons"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left",
                         overflow="fold", max_width=70 if column == "top reasons" else None)
    for row in rows:
        reasons = "\n".join(f"{r['points']:>4.0f}  {r['text']}" for r in row["reasons"][:3])
        table.add_row(str(row["rank"]), str(row["mmsi"]), row["name"] or "", str(row["imo"] or ""),
                      (row["flag"] or "").upper(), f"{row['score']:.0f}", reasons)
    return table


def vessels(
    db: DbOption = Path("shadowtrace.duckdb"),
    top: Annotated[int, typer.Option(help="How many vessels.")] = 20,
    min_score: Annotated[float, typer.Option(help="Only vessels scoring at least this.")] = 0.0,
    fmt: Annotated[str, typer.Option("--format", help="table|csv|json")] = "table",
    out: Annotated[Optional[Path], typer.Option("--out", help="File to write (default: stdout).")] = None,
) -> None:
    """Vessels ranked by risk score with their top reasons."""
    from shadowtrace.store import connect
    from shadowtrace.vessels import ranked_vessels

    try:
        if fmt not in ("table", "csv", "json"):
            raise ConfigError(f"unknown format {fmt!r}", hint="use table, csv or json")
        con = connect(db, read_only=True)
        try:
            rows = ranked_vessels(con, top=top, min_score=min_score)
        finally:
            con.close()
    except ShadowtraceError as exc:
        fail(exc)
    if fmt == "table":
        if out:
            with open(out, "w", encoding="utf-8") as handle:
                from rich.console import Console

                Console(file=handle, width=160).print(_vessel_table(rows))
        else:
            console.print(_vessel_table(rows))
        return
    if fmt == "json":
        text = json.dumps(rows, indent=1, default=str) + "\n"
    else:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["rank", "mmsi", "name", "imo", "flag", "ship_type", "score", "lists", "reasons"])
        for r in rows:
            writer.writerow([r["rank"], r["mmsi"], r["name"] or "", r["imo"] or "", r["flag"] or "",
                             r["ship_type"] if r["ship_type"] is not None else "", r["score"], r["lists"] or "",
                             " | ".join(f"{x['points']:g}: {x['text']}" for x in r["reasons"])])
        text = buffer.getvalue()
    if out:
        out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


def report(
    vessel: Annotated[Optional[str], typer.Argument(help="MMSI, IMO number or name of the vessel.")] = None,
    db: DbOption = Path("shadowtrace.duckdb"),
    rank: Annotated[Optional[int], typer.Option(help="Instead of VESSEL: the vessel at this risk rank (1 = highest).")] = None,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("dossier.html"),
    pdf: Annotated[bool, typer.Option("--pdf", help="Also render the dossier to PDF.")] = False,
) -> None:
    """Write a self-contained evidence dossier (HTML, optionally PDF) for one vessel."""
    from shadowtrace.report.dossier import write_dossier
    from shadowtrace.store import connect
    from shadowtrace.vessels import find_vessel, ranked_vessels

    try:
        if (vessel is None) == (rank is None):
            raise ConfigError("give either VESSEL or --rank", hint="e.g. `shadowtrace report 273414440` or `--rank 1`")
        con = connect(db, read_only=True)
        try:
            if rank is not None:
                rows = ranked_vessels(con, top=1, offset=max(0, rank - 1))
                if not rows:
                    raise ConfigError(f"no vessel at rank {rank}")
                mmsi = rows[0]["mmsi"]
            else:
                mmsi = find_vessel(con, vessel or "")
            written = write_dossier(con, mmsi, out, pdf=pdf)
        finally:
            con.close()
    except ShadowtraceError as exc:
        fail(exc)
    console.print(f"dossier for MMSI {mmsi} written to {written}", highlight=False)

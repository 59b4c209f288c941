"""Human-readable summaries of library results (rich tables), shared by CLI and reports."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from shadowtrace.detect.run import DetectReport
from shadowtrace.evaluate import TypeScore
from shadowtrace.ingest import IngestReport


def ingest_tables(report: IngestReport) -> list[Table]:
    per_source = Table(title="Ingested sources", title_justify="left")
    for column in ("source", "format", "status", "lines", "positions", "new", "reports",
                   "other", "rejects", "duplicates"):
        per_source.add_column(column, justify="left" if column in ("source", "format", "status") else "right")
    for r in report.results:
        c = r.counts
        per_source.add_row(
            _short(r.source), r.fmt or "?", r.status, f"{c.lines:,}", f"{c.positions_read:,}",
            f"{c.positions_added:,}", f"{c.reports_read:,}", f"{c.other_messages:,}",
            f"{c.rejects:,}", f"{c.duplicates:,}",
        )
    total = report.total()
    totals = Table(title="Ingest summary", title_justify="left", show_header=False)
    totals.add_column("what")
    totals.add_column("count", justify="right")
    span = (
        f"{report.ts_min:%Y-%m-%d %H:%M:%S} .. {report.ts_max:%Y-%m-%d %H:%M:%S} UTC"
        if report.ts_min else "-"
    )
    for label, value in (
        ("rows read (lines or CSV rows)", f"{total.lines:,}"),
        ("positions read / added", f"{total.positions_read:,} / {total.positions_added:,}"),
        ("vessel reports read / added", f"{total.reports_read:,} / {total.reports_added:,}"
         + (f" (+{total.derived_reports:,} from position rows)" if total.derived_reports else "")),
        ("duplicates dropped", f"{total.duplicates:,}"),
        ("other messages", f"{total.other_messages:,}"),
        ("multi-sentence fragments joined", f"{total.fragments:,}"),
        ("rejects", f"{total.rejects:,}"),
        ("vessels in store", f"{report.vessels:,}"),
        ("time range in store", span),
    ):
        totals.add_row(label, value)
    tables = [per_source, totals]
    if total.rejects_by_reason:
        reasons = Table(title="Rejects by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("rows", justify="right")
        for reason, count in total.rejects_by_reason.most_common():
            reasons.add_row(reason, f"{count:,}")
        tables.append(reasons)
    if total.other_by_kind:
        other = Table(title="Other messages by kind", title_justify="left")
        other.add_column("kind")
        other.add_column("count", justify="right")
        for kind, count in total.other_by_kind.most_common(12):
            other.add_row(kind, f"{count:,}")
        tables.append(other)
    return tables


def print_ingest(report: IngestReport, console: Console) -> None:
    for table in ingest_tables(report):
        console.print(table)
    for failed in report.failed:
        console.print(f"[red]failed[/red] {failed.error}")
    for r in report.results:
        if r.status == "partial":
            console.print(f"[yellow]partial[/yellow] {r.source}: {r.error}")


def _short(name: str, width: int = 40) -> str:
    """The file name (and archive member); folders are in the ingests table."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return name if len(name) <= width else "…" + name[-(width - 1):]


def print_detect(report: DetectReport, console: Console) -> None:
    table = Table(title="Events detected", title_justify="left")
    table.add_column("type")
    table.add_column("events", justify="right")
    table.add_column("seconds", justify="right")
    for name, count in report.counts.items():
        table.add_row(name, f"{count:,}", f"{report.seconds[name]:.1f}")
    table.add_row("(track preparation)", "", f"{report.seconds.get('tracks', 0):.1f}")
    console.print(table)


def print_scores(scores: dict[str, TypeScore], console: Console, show: int = 3) -> None:
    table = Table(title="Detection accuracy against ground truth", title_justify="left")
    for column in ("type", "truth", "events", "precision", "recall"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for name, s in scores.items():
        table.add_row(name, str(s.truth), str(s.events),
                      "-" if s.precision is None else f"{s.precision:.3f}",
                      "-" if s.recall is None else f"{s.recall:.3f}")
    console.print(table)
    for name, s in scores.items():
        for row in s.unmatched_events[:show]:
            console.print(f"[yellow]unmatched {name}[/yellow] mmsi={row['mmsi']} other={row.get('other_mmsi')} {row['start']}..{row['end']}", highlight=False)
        for row in s.missed_truth[:show]:
            console.print(f"[red]missed {name}[/red] mmsi={row['mmsi']} other={row.get('other_mmsi')} {row['start']}..{row['end']}", highlight=False)


def scores_json(scores: dict[str, TypeScore]) -> str:
    import json

    return json.dumps({
        name: {"truth": s.truth, "events": s.events, "precision": s.precision, "recall": s.recall,
               "unmatched_events": s.unmatched_events, "missed_truth": s.missed_truth}
        for name, s in scores.items()
    }, indent=1, default=str)

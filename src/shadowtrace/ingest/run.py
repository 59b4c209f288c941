"""Orchestrates one ingest: sources -> reader -> loader -> ingests row."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from shadowtrace.errors import InputError, ShadowtraceError
from shadowtrace.ingest.load import LoadCounts, Loader
from shadowtrace.ingest.nmea import NmeaReader, epoch_us
from shadowtrace.ingest.sources import (
    FORMATS,
    FORMATS_HELP,
    Source,
    expand,
    head_lines,
    sniff_format,
    text_encoding,
)
from shadowtrace.ingest.tabular import Mapping, stage_tabular
from shadowtrace.store import connect

ProgressFactory = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True)
class IngestOptions:
    fmt: str | None = None  # None: detect from content
    columns: dict[str, str] = field(default_factory=dict)
    ts_format: str | None = None
    default_time: dt.datetime | None = None  # reception time for NMEA lines without one


@dataclass
class SourceResult:
    source: str
    fmt: str | None
    status: str  # complete | skipped (already ingested) | partial | failed
    counts: LoadCounts = field(default_factory=LoadCounts)
    error: str | None = None
    ingest_id: int | None = None


@dataclass
class IngestReport:
    results: list[SourceResult] = field(default_factory=list)
    vessels: int = 0
    ts_min: dt.datetime | None = None
    ts_max: dt.datetime | None = None

    @property
    def failed(self) -> list[SourceResult]:
        return [r for r in self.results if r.status == "failed"]

    def total(self) -> LoadCounts:
        total = LoadCounts()
        for r in self.results:
            c = r.counts
            for name in ("lines", "blank_lines", "fragments", "positions_read", "positions_added",
                         "reports_read", "reports_added", "derived_reports", "duplicates", "rejects"):
                setattr(total, name, getattr(total, name) + getattr(c, name))
            total.rejects_by_reason.update(c.rejects_by_reason)
            total.other_by_kind.update(c.other_by_kind)
        return total


def ingest(
    inputs: list[str],
    db: str | Path,
    options: IngestOptions | None = None,
    progress: ProgressFactory | None = None,
) -> IngestReport:
    """Ingest files, folders, globs and archives into the store at `db`.

    A source that cannot be read is reported as failed with its reason; the others
    still load. Re-ingesting a source already loaded adds nothing.
    """
    options = options or IngestOptions()
    if options.fmt is not None and options.fmt not in FORMATS:
        raise InputError(f"unknown --format {options.fmt!r}", hint=FORMATS_HELP)
    sources = expand(inputs)
    con = connect(db)
    report = IngestReport()
    try:
        for source in sources:
            report.results.append(_ingest_source(con, source, options, progress))
        row = con.execute("SELECT count(DISTINCT mmsi), min(ts), max(ts) FROM positions").fetchone()
        if row:
            report.vessels, report.ts_min, report.ts_max = int(row[0]), row[1], row[2]
    finally:
        con.close()
    return report


def _ingest_source(
    con: duckdb.DuckDBPyConnection, source: Source, options: IngestOptions,
    progress: ProgressFactory | None,
) -> SourceResult:
    result = SourceResult(source.name, options.fmt, "failed")
    try:
        lines = head_lines(source)
        fmt = options.fmt or sniff_format(source, lines)
        result.fmt = fmt
        fingerprint = source.fingerprint()
        previous = con.execute(
            "SELECT ingest_id, status FROM ingests WHERE fingerprint = ? ORDER BY ingest_id DESC LIMIT 1",
            [fingerprint],
        ).fetchone()
        if previous and previous[1] in ("complete", "partial"):
            result.status, result.ingest_id = "skipped", int(previous[0])
            return result
        if previous:  # an interrupted earlier run: remove its rows and start over
            _forget(con, int(previous[0]))
        default_us = None
        if options.default_time is not None:
            stamp = options.default_time
            if stamp.tzinfo is not None:
                stamp = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
            default_us = int((stamp - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
        if fmt == "nmea" and default_us is None and not _any_time_in(lines):
            raise InputError(
                "these NMEA sentences carry no reception time (no tag block c:, $PGHP line or epoch column)",
                where=source.name,
                hint="pass --time 2024-01-01T00:00:00Z to stamp them, or ingest a file with timestamps",
            )
        ingest_id = _start(con, source, fingerprint, fmt)
        result.ingest_id = ingest_id
        loader = Loader(con, ingest_id, source.name)
        result.counts = loader.counts
        partial = None
        if fmt == "nmea":
            partial = _read_nmea(source, loader, default_us, progress)
        else:
            mapping = Mapping(options.columns, options.ts_format) if options.columns or options.ts_format else None
            encoding = "utf-8" if fmt == "parquet" else text_encoding(source)
            tick = progress(source.name, source.size()) if progress else None
            stage_tabular(con, loader, source, fmt, mapping, encoding, tick)
        loader.flush()
        result.status = "partial" if partial else "complete"
        result.error = partial
        _finish(con, ingest_id, result.status)
    except ShadowtraceError as exc:
        result.error = exc.user_message()
    except duckdb.Error as exc:
        result.error = f"{source.name}: the database refused the data: {exc}"
    return result


def _any_time_in(lines: list[str]) -> bool:
    for line in lines[:2000]:
        text = line.strip()
        if text.startswith("\\") and "c:" in text.split("\\")[1]:
            return True
        if text.startswith("$PGHP"):
            return True
        star = text.find("*")
        if star > 0:
            for item in text[star + 3 :].split(","):
                if item.strip().isdigit() and epoch_us(item.strip()) is not None:
                    return True
        bang = text.find("!")
        if bang > 0 and (epoch_us(text[:bang].strip(" ,")) is not None):
            return True
    return False


def _read_nmea(source: Source, loader: Loader, default_us: int | None,
               progress: ProgressFactory | None) -> str | None:
    """Stream NMEA lines into the loader; returns a note if the input ended early."""
    reader = NmeaReader(default_ts_us=default_us)
    stream = source.open()
    position = _position_of(stream)
    tick = progress(source.name, source.size()) if progress else None
    done = 0

    def advance(_: int) -> None:
        nonlocal done
        if tick is not None:
            now = position()
            tick(max(0, now - done))
            done = now

    text = io.TextIOWrapper(stream, encoding="latin-1", newline=None)  # type: ignore[arg-type]
    try:
        for batch in reader.read(text, progress=advance):
            loader.add(batch)
    finally:
        with contextlib.suppress(EOFError, OSError, zlib.error):
            text.close()
    if reader.broken is not None:
        return f"input ended early after line {loader.counts.lines - 1}: {reader.broken}"
    return None


def _position_of(stream: Any) -> Callable[[], int]:
    """Bytes consumed of the stored (compressed) input, for progress."""
    for attr in ("fileobj", "_fp", "_fileobj"):
        inner = getattr(stream, attr, None)
        if inner is not None and hasattr(inner, "tell"):
            return inner.tell  # type: ignore[no-any-return]
    return stream.tell  # type: ignore[no-any-return]


def _start(con: duckdb.DuckDBPyConnection, source: Source, fingerprint: str, fmt: str) -> int:
    row = con.execute(
        """INSERT INTO ingests (ingest_id, source, fingerprint, format, status, started_at)
           VALUES (nextval('ingest_id_seq'), ?, ?, ?, 'running', now() AT TIME ZONE 'UTC')
           RETURNING ingest_id""",
        [source.name, fingerprint, fmt],
    ).fetchone()
    assert row is not None
    return int(row[0])


def _finish(con: duckdb.DuckDBPyConnection, ingest_id: int, status: str) -> None:
    con.execute(
        """UPDATE ingests SET status = ?, finished_at = now() AT TIME ZONE 'UTC',
               vessels = (SELECT count(DISTINCT mmsi) FROM positions WHERE ingest_id = ?),
               ts_min = (SELECT min(ts) FROM positions WHERE ingest_id = ?),
               ts_max = (SELECT max(ts) FROM positions WHERE ingest_id = ?)
           WHERE ingest_id = ?""",
        [status, ingest_id, ingest_id, ingest_id, ingest_id],
    )


def _forget(con: duckdb.DuckDBPyConnection, ingest_id: int) -> None:
    con.execute("BEGIN TRANSACTION")
    for table in ("positions", "vessel_reports", "rejects", "ingests"):
        con.execute(f"DELETE FROM {table} WHERE ingest_id = ?", [ingest_id])
    con.execute("COMMIT")

"""Live ingest: lines from a source into the store, committed in small transactions.

Every commit stores the positions, vessel reports and rejects read since the last one and,
in the same transaction, how far the source got (`watch_state`), so a watcher killed at any
moment restarts where its last commit ended: nothing committed is lost or stored twice. Each
source keeps one `ingests` row across restarts and its lines are numbered on from where they
stopped, so evidence references (`ingest_id:source_line`) stay unique.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from shadowtrace.ingest.batch import Batch
from shadowtrace.ingest.load import LoadCounts, Loader
from shadowtrace.ingest.nmea import NmeaReader
from shadowtrace.live.sources import Chunk, SourceSpec

LIVE_STATUS = "watching"


@dataclass
class Resume:
    """Where a source starts reading: byte offset (files) and the number of its last line."""

    ingest_id: int
    byte_offset: int
    lines: int


def resume_point(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> Resume:
    """The source's saved progress, or a new ingests row for a source never watched."""
    found = con.execute("SELECT ingest_id, byte_offset, lines FROM watch_state WHERE source = ?",
                        [spec.name]).fetchall()
    if found:
        row = found[0]
        con.execute("UPDATE ingests SET status = ?, finished_at = NULL WHERE ingest_id = ?",
                    [LIVE_STATUS, row[0]]).fetchall()
        return Resume(int(row[0]), int(row[1]), int(row[2]))
    created = con.execute(
        """INSERT INTO ingests (ingest_id, source, fingerprint, format, status, started_at)
           VALUES (nextval('ingest_id_seq'), ?, ?, 'nmea', ?, now() AT TIME ZONE 'UTC')
           RETURNING ingest_id""",
        [spec.name, f"live:{spec.name}", LIVE_STATUS],
    ).fetchall()[0]
    assert created is not None
    return Resume(int(created[0]), 0, 0)


def _seed_counts(con: duckdb.DuckDBPyConnection, ingest_id: int, counts: LoadCounts) -> None:
    """Counters continue from the ingests row (a restart adds to them)."""
    row = con.execute(
        """SELECT lines_read, positions_read, positions_added, reports_read, reports_added,
                  duplicates, fragments, blank_lines FROM ingests WHERE ingest_id = ?""",
        [ingest_id]).fetchall()
    if not row:
        return
    row = row[0]
    (counts.lines, counts.positions_read, counts.positions_added, counts.reports_read,
     counts.reports_added, counts.duplicates, counts.fragments, counts.blank_lines) = (int(v or 0) for v in row)
    for reason, n in con.execute("SELECT reason, count(*) FROM rejects WHERE ingest_id = ? GROUP BY reason",
                                 [ingest_id]).fetchall():
        counts.rejects_by_reason[reason] = int(n)
    counts.rejects = sum(counts.rejects_by_reason.values())


class LiveIngest:
    """Decodes chunks as they arrive and commits them on demand."""

    def __init__(self, con: duckdb.DuckDBPyConnection, spec: SourceSpec):
        self.con = con
        self.spec = spec
        self.resume = resume_point(con, spec)
        self.loader = Loader(con, self.resume.ingest_id, spec.name)
        _seed_counts(con, self.resume.ingest_id, self.loader.counts)
        self.reader = NmeaReader()
        self.next_line = self.resume.lines + 1
        self.staged_lines = 0
        self.newest_us: int | None = None  # newest position time committed or staged
        self._offsets: dict[int, int] = {}  # line number -> byte offset after it (files)
        self._committed_offset = self.resume.byte_offset
        self._committed_line = self.resume.lines
        self._batches: list[Batch] = []

    @property
    def ingest_id(self) -> int:
        return self.resume.ingest_id

    @property
    def counts(self) -> LoadCounts:
        return self.loader.counts

    def add(self, chunk: Chunk) -> None:
        """Decode a chunk now (lines without a time of their own get its reception time)."""
        first = self.next_line
        self.reader.default_ts_us = chunk.received_us
        batch = self.reader.read_lines(chunk.lines, first)
        self.next_line += len(chunk.lines)
        self.staged_lines += len(chunk.lines)
        if chunk.offsets is not None:
            for i, offset in enumerate(chunk.offsets):
                self._offsets[first + i] = offset
        self._keep(batch)

    def _keep(self, batch: Batch) -> None:
        if batch.positions.num_rows:
            newest = pc.max(batch.positions["ts"]).as_py()
            if newest is not None:
                stamp = int((newest - dt.datetime(1970, 1, 1)).total_seconds() * 1_000_000)
                self.newest_us = stamp if self.newest_us is None else max(self.newest_us, stamp)
        self._batches.append(batch)

    def commit(self, *, final: bool = False) -> list[pa.Table]:
        """Store what was read, and the source's progress, in one transaction; returns the
        positions read (as staged, before cleaning). `final` also flushes what waits for more
        lines."""
        if self.newest_us is not None:
            self._keep(self.reader.release_stale(self.newest_us))
        if final:
            self._keep(self.reader.finish())
        self.con.execute("SELECT 1").fetchall()  # no pending result may be open for register()
        committed = [batch.positions for batch in self._batches]
        self.loader.add_many(self._batches)
        self._batches = []
        last_line = self.next_line - 1
        pending = None if final else self.reader.pending_first_line()
        resume_line = last_line if pending is None else pending - 1
        if self.spec.kind != "file":
            resume_line, resume_offset = last_line, 0  # a stream cannot be re-read: lines just go on
        elif resume_line <= self._committed_line:
            resume_line, resume_offset = self._committed_line, self._committed_offset
        else:
            resume_offset = self._offsets[resume_line]

        def save(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(
                """INSERT OR REPLACE INTO watch_state VALUES (?, ?, ?, ?, now() AT TIME ZONE 'UTC')""",
                [self.spec.name, self.ingest_id, resume_offset, max(resume_line, 0)])

        self.loader.flush(before_commit=save)
        self._committed_offset, self._committed_line = resume_offset, resume_line
        self._offsets = {k: v for k, v in self._offsets.items() if k > resume_line}
        self.staged_lines = 0
        return committed

    def close(self) -> None:
        """Mark the source stopped (its progress stays for the next start)."""
        self.con.execute(
            """UPDATE ingests SET status = 'stopped', finished_at = now() AT TIME ZONE 'UTC',
                   vessels = (SELECT count(DISTINCT mmsi) FROM positions WHERE ingest_id = ?),
                   ts_min = (SELECT min(ts) FROM positions WHERE ingest_id = ?),
                   ts_max = (SELECT max(ts) FROM positions WHERE ingest_id = ?)
               WHERE ingest_id = ?""",
            [self.ingest_id] * 4)


"""Every real sample ingests, its counts reconcile, and re-ingesting adds nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from shadowtrace.ingest import IngestOptions, ingest
from tests.conftest import FIXED_TIME, SHARED, shared

# Samples whose layout needs telling: (file, options)
NEEDS_MAPPING = {
    "movingpandas_evergiven_boat-positions.csv": IngestOptions(
        columns={"mmsi": "ID", "ts": "ais_pos_timestamp", "lat": "latitude", "lon": "longitude"},
        ts_format="%d/%m/%Y %H:%M",
    ),
    # most of this feed has no timestamps at all
    "amsa_risky_ais.txt.gz": IngestOptions(default_time=FIXED_TIME),
}
NOT_AIS = {"PROVENANCE.md", "kystverket_Ais1000Lines.LICENSE.txt", "noaa_MarineCadastre_CSV_schema.json"}


def position_samples() -> list[str]:
    folder = SHARED / "ais_positions"
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                  and p.name not in NOT_AIS)


@pytest.mark.parametrize("name", position_samples())
def test_real_sample_reconciles_and_is_idempotent(tmp_path: Path, name: str) -> None:
    source = shared("ais_positions", name)
    db = tmp_path / "real.duckdb"
    options = NEEDS_MAPPING.get(name, IngestOptions())
    first = ingest([str(source)], db, options)
    assert not first.failed, first.failed[0].error
    result = first.results[0]
    c = result.counts
    assert c.lines > 0
    # Every input line or row is accounted for exactly once.
    assert c.lines == (
        c.positions_read + c.reports_read + c.other_messages + c.rejects + c.fragments + c.blank_lines
    ), c
    con = duckdb.connect(str(db), read_only=True)
    stored = con.execute("SELECT count(*) FROM positions").fetchone()[0]
    rejects = con.execute("SELECT count(*) FROM rejects").fetchone()[0]
    row = con.execute("SELECT positions_added, rejects, status FROM ingests").fetchone()
    con.close()
    assert stored == c.positions_added == row[0]
    assert rejects == c.rejects == row[1]
    assert row[2] == "complete"
    again = ingest([str(source)], db, options)
    assert again.results[0].status == "skipped"
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM positions").fetchone()[0] == stored
    con.close()


def test_overlapping_inputs_keep_one_copy(tmp_path: Path) -> None:
    """A file and a copy with extra lines: the shared lines are stored once."""
    source = shared("ais_positions", "kystverket_Ais1000Lines.nm4")
    lines = source.read_text(encoding="latin-1").splitlines(keepends=True)
    first_part = tmp_path / "part1.nm4"
    overlapping = tmp_path / "part2.nm4"
    first_part.write_text("".join(lines[:600]), encoding="latin-1")
    overlapping.write_text("".join(lines[400:]), encoding="latin-1")
    whole_db, split_db = tmp_path / "whole.duckdb", tmp_path / "split.duckdb"
    ingest([str(source)], whole_db)
    report = ingest([str(first_part), str(overlapping)], split_db)
    assert report.results[1].counts.duplicates > 0
    query = "SELECT mmsi, ts, lat, lon, sog, cog, heading FROM positions ORDER BY ALL"
    with duckdb.connect(str(whole_db), read_only=True) as a, duckdb.connect(str(split_db), read_only=True) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        assert a.execute("SELECT count(*) FROM vessel_reports").fetchone() == b.execute(
            "SELECT count(*) FROM vessel_reports").fetchone()


def test_malformed_feeds_land_in_rejects_with_reasons(tmp_path: Path) -> None:
    db = tmp_path / "messy.duckdb"
    messy = shared("ais_positions", "knapply_maritime_20181101.log")
    gfw = shared("ais_decoder_vectors", "gfw_ais_tools_malformed")
    report = ingest([str(messy), str(gfw)], db, IngestOptions(default_time=FIXED_TIME))
    assert not report.failed, [r.error for r in report.failed]
    with duckdb.connect(str(db), read_only=True) as con:
        reasons = dict(con.execute("SELECT reason, count(*) FROM rejects GROUP BY reason").fetchall())
        sources = {r[0] for r in con.execute("SELECT DISTINCT source FROM rejects").fetchall()}
        blank = con.execute("SELECT count(*) FROM rejects WHERE reason IS NULL OR reason = ''").fetchone()[0]
    assert blank == 0
    assert {"no_sentence", "bad_checksum"} <= set(reasons), reasons
    assert any(r.startswith("decode_error") or r in ("incomplete_multipart", "orphan_fragment") for r in reasons)
    assert any("errors.nmea" in s for s in sources)
    assert any("bad-type5" in s for s in sources)

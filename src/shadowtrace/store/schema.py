"""Canonical tables of the DuckDB store and their migrations.

The schema is documented in docs/data-model.md; keep the two in step.
Timestamps are naive TIMESTAMP values in UTC (portable to Spark and Parquet).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from shadowtrace.errors import StoreError

SCHEMA_VERSION = 4

# Each migration brings the store from version i to i + 1.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS schema_version (
        version INTEGER NOT NULL,
        applied_at TIMESTAMP NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
    );
    CREATE SEQUENCE IF NOT EXISTS ingest_id_seq START 1;
    CREATE TABLE IF NOT EXISTS ingests (
        ingest_id INTEGER PRIMARY KEY,
        source VARCHAR NOT NULL,          -- path as given (inside an archive: archive!member)
        fingerprint VARCHAR NOT NULL,     -- sha256 of the decompressed content
        format VARCHAR NOT NULL,
        status VARCHAR NOT NULL,          -- running | complete
        started_at TIMESTAMP NOT NULL,
        finished_at TIMESTAMP,
        lines_read BIGINT DEFAULT 0,      -- input lines (NMEA) or data rows (CSV, Parquet)
        positions_read BIGINT DEFAULT 0,  -- valid position reports read, duplicates included
        positions_added BIGINT DEFAULT 0,
        reports_read BIGINT DEFAULT 0,    -- valid static/voyage reports read
        reports_added BIGINT DEFAULT 0,
        duplicates BIGINT DEFAULT 0,      -- exact duplicates dropped (within input or already stored)
        other_messages BIGINT DEFAULT 0,  -- messages that are neither positions nor vessel reports
        fragments BIGINT DEFAULT 0,       -- extra sentences of multi-sentence messages
        blank_lines BIGINT DEFAULT 0,
        rejects BIGINT DEFAULT 0,
        other_by_kind JSON,               -- e.g. {"type 4": 12, "$GPGGA": 3}
        vessels INTEGER,
        ts_min TIMESTAMP,
        ts_max TIMESTAMP
    );
    CREATE TABLE IF NOT EXISTS positions (
        mmsi INTEGER NOT NULL,
        ts TIMESTAMP NOT NULL,
        lat DOUBLE NOT NULL,
        lon DOUBLE NOT NULL,
        sog REAL,                          -- knots; NULL when not available (102.3)
        cog REAL,                          -- degrees; NULL when not available (360)
        heading SMALLINT,                  -- degrees; NULL when not available (511)
        nav_status TINYINT,                -- ITU-R M.1371 code; NULL when 15 (not defined)
        msg_type TINYINT,                  -- AIS message type, NULL for CSV sources
        ingest_id INTEGER NOT NULL,        -- where it came from ...
        source_line BIGINT NOT NULL,       -- ... and at which line / row (1-based)
        raw VARCHAR                        -- raw NMEA sentence(s), NULL for tabular sources
    );
    CREATE TABLE IF NOT EXISTS vessel_reports (
        mmsi INTEGER NOT NULL,
        ts TIMESTAMP NOT NULL,
        imo INTEGER,
        name VARCHAR,
        callsign VARCHAR,
        ship_type SMALLINT,
        to_bow SMALLINT,
        to_stern SMALLINT,
        to_port SMALLINT,
        to_starboard SMALLINT,
        length_m REAL,
        width_m REAL,
        draught REAL,                      -- metres; NULL when 0 (not available)
        destination VARCHAR,
        eta VARCHAR,                       -- as broadcast, MM-DDTHH:MMZ (no year in AIS)
        msg_type TINYINT,
        ingest_id INTEGER NOT NULL,
        source_line BIGINT NOT NULL,
        raw VARCHAR
    );
    CREATE TABLE IF NOT EXISTS rejects (
        ingest_id INTEGER NOT NULL,
        source VARCHAR NOT NULL,
        source_line BIGINT,
        raw VARCHAR,
        reason VARCHAR NOT NULL
    );
    """,
    # 2: behaviour events (the contract between detection and everything after it)
    """
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR PRIMARY KEY,   -- hash of type, vessel, counterpart and start: stable across reruns
    type VARCHAR NOT NULL,
    mmsi INTEGER NOT NULL,
    other_mmsi INTEGER,
    start TIMESTAMP NOT NULL,
    "end" TIMESTAMP NOT NULL,
    lat DOUBLE,
    lon DOUBLE,
    confidence DOUBLE NOT NULL,
    details JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS detect_runs (
    run_at TIMESTAMP NOT NULL,
    engine VARCHAR NOT NULL,
    detector VARCHAR NOT NULL,
    params JSON NOT NULL,
    events INTEGER NOT NULL,
    seconds DOUBLE NOT NULL
);
    """,
    # 3: sanctions and watch lists, screening results, risk scores
    """
CREATE SEQUENCE IF NOT EXISTS list_id_seq START 1;
CREATE TABLE IF NOT EXISTS lists (
    list_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    format VARCHAR NOT NULL,          -- ftm | ofac_sdn | eu_journal | plain
    kind VARCHAR NOT NULL,            -- sanctions | watchlist | registry (entries as designations or not)
    source VARCHAR NOT NULL,
    fingerprint VARCHAR NOT NULL,     -- sha256 of the file(s) read
    loaded_at TIMESTAMP NOT NULL,
    entities INTEGER NOT NULL,
    vessels INTEGER NOT NULL,
    links INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS list_entities (
    list_id INTEGER NOT NULL,
    entity_id VARCHAR NOT NULL,
    schema VARCHAR NOT NULL,          -- FollowTheMoney schema: Vessel, Company, Person, ...
    caption VARCHAR,
    sanctioned BOOLEAN NOT NULL,      -- designated by this list (not just mentioned)
    topics VARCHAR[],                 -- FollowTheMoney topics: sanction, mare.shadow, ...
    programs VARCHAR[],
    listed_since DATE,
    flag VARCHAR,                     -- ISO 3166 alpha-2, lower case
    ship_type VARCHAR,
    source_ref VARCHAR,               -- file:line of the list row
    properties JSON NOT NULL,         -- the entity as loaded (FollowTheMoney properties)
    PRIMARY KEY (list_id, entity_id)
);
CREATE TABLE IF NOT EXISTS list_identifiers (
    list_id INTEGER NOT NULL,
    entity_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- imo | mmsi | name | callsign
    role VARCHAR NOT NULL,            -- name: primary | alias | previous | weak; others: current | legacy
    value VARCHAR NOT NULL,           -- as listed
    norm VARCHAR NOT NULL,            -- normalised for matching
    valid_from DATE,
    valid_to DATE
);
CREATE TABLE IF NOT EXISTS list_links (
    list_id INTEGER NOT NULL,
    link_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,            -- ownership | directorship | operator | manager
    source_id VARCHAR NOT NULL,       -- owner, director, operator
    target_id VARCHAR NOT NULL,       -- asset, organisation, vessel
    percent DOUBLE,                   -- ownership share when the list gives it
    role VARCHAR,
    start_date DATE,
    end_date DATE
);
CREATE TABLE IF NOT EXISTS screen_matches (
    match_id VARCHAR PRIMARY KEY,     -- hash of vessel, list and entity: stable across reruns
    mmsi INTEGER NOT NULL,
    list_id INTEGER NOT NULL,
    entity_id VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    matched_on VARCHAR[] NOT NULL,    -- imo, mmsi, name, callsign, flag, ship_type
    explanation JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS screen_exposures (
    exposure_id VARCHAR PRIMARY KEY,
    mmsi INTEGER NOT NULL,
    kind VARCHAR NOT NULL,            -- ownership | sts_with_listed | sanctioned_terminal
    list_id INTEGER,
    entity_id VARCHAR,                -- the sanctioned party reached
    percent DOUBLE,                   -- aggregated ownership share, NULL when unknown
    event_id VARCHAR,                 -- the event behind a contact exposure
    details JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS risk_scores (
    mmsi INTEGER PRIMARY KEY,
    score DOUBLE NOT NULL,            -- 0..100
    reasons JSON NOT NULL,            -- [{feature, points, text, evidence}], largest first
    computed_at TIMESTAMP NOT NULL
);
    """,
    # 4: live monitoring: where each watched source got to, alerts and their deliveries
    """
CREATE TABLE IF NOT EXISTS watch_state (
    source VARCHAR PRIMARY KEY,       -- as given to watch --source
    ingest_id INTEGER NOT NULL,       -- the ingests row its positions carry
    byte_offset BIGINT NOT NULL,      -- file sources: where reading resumes
    lines BIGINT NOT NULL,            -- lines committed so far (source_line of the last one)
    updated_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR PRIMARY KEY,     -- hash of rule and event (or vessel and time): stable across restarts
    rule VARCHAR NOT NULL,            -- listed_appeared | listed_dark | listed_sts | listed_terminal | listed_identity | risk
    mmsi INTEGER NOT NULL,
    event_id VARCHAR,                 -- the event behind it, if any
    ts TIMESTAMP NOT NULL,            -- when it happened (data time, UTC)
    lat DOUBLE,
    lon DOUBLE,
    raised_at TIMESTAMP NOT NULL,     -- when the watcher raised it (wall clock, UTC)
    message VARCHAR NOT NULL,
    details JSON NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_deliveries (
    alert_id VARCHAR NOT NULL,
    target VARCHAR NOT NULL,          -- webhook URL
    status VARCHAR NOT NULL,          -- delivered | failed
    attempts INTEGER NOT NULL,
    last_error VARCHAR,
    finished_at TIMESTAMP NOT NULL
);
    """,
]


def _current_version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or exists[0] == 0:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the store to SCHEMA_VERSION; returns the version found before."""
    found = _current_version(con)
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"store has schema version {found}, this shadowtrace knows up to {SCHEMA_VERSION}",
            hint="upgrade shadowtrace, or use a new --db file",
        )
    for version in range(found, SCHEMA_VERSION):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(_MIGRATIONS[version])
            con.execute("INSERT INTO schema_version (version) VALUES (?)", [version + 1])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
    return found


def connect(path: str | Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating if needed) a shadowtrace DuckDB store."""
    path = Path(path)
    if read_only and not path.exists():
        raise StoreError(f"no store at {path}", hint="run `shadowtrace ingest ... --db FILE` first")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open store {path}: {exc}") from exc
    con.execute("SET TimeZone = 'UTC'")  # text times without a zone are UTC
    if not read_only:
        migrate(con)
    elif _current_version(con) == 0:
        raise StoreError(f"{path} is not a shadowtrace store")
    con.execute("SELECT 1").fetchall()  # leave no open result: relations refuse to start while one is
    return con

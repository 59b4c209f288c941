"""List readers (OFAC SDN CSV, EU journal CSV, plain CSV/JSON vessel lists) on the real samples,
loaded through the store; and bad files get a clear error and leave nothing behind."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from shadowtrace.errors import InputError
from shadowtrace.lists import ofac, plain
from shadowtrace.lists import store as list_store
from shadowtrace.lists.formats import read_list, sniff
from shadowtrace.lists.store import add_list
from shadowtrace.store.schema import connect
from tests.conftest import shared

EU = "eu_reg833_annexXLII_opensanctions"
GUR = "androm2018_shadow_fleet_analysis"
SETHC5 = "sethc5_shadow_fleet_tracker"


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):  # type: ignore[no-untyped-def,type-arg]
    row = con.execute(sql, params or []).fetchone()
    assert row is not None
    return row[0]


def _list_id(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return int(_one(con, "SELECT list_id FROM lists WHERE name = ?", [name]))


def _counts(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    return tuple(_one(con, f"SELECT count(*) FROM {t}")
                 for t in ("lists", "list_entities", "list_identifiers", "list_links"))


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """One store with every sample list loaded once (reading them takes a few seconds)."""
    files = {
        "eu": (shared("sanctions", EU, "eu_32014R0833_consolidated.csv"), None),
        "eu-amend": (shared("sanctions", EU, "eu_32026R1848_amendment.csv"), None),
        "ofac": (shared("sanctions", "ofac_sdn_2021", "ofac_sdn.csv"), None),
        "gur": (shared("sanctions", GUR, "gur_vessels_master.csv"), "watchlist"),
        "by-imo": (shared("sanctions", GUR, "sanctions_by_imo.csv"), "sanctions"),
        "sethc5-ofac": (shared("sanctions", SETHC5, "ofac_sdn_vessels.json"), "sanctions"),
        "sethc5-tracker": (shared("sanctions", SETHC5, "shadow_fleet_tracker_data.json"), None),
        "ftm-mmsi": (shared("sanctions", "ftm_shadowfleet_owners", "vessel_mmsi.csv"), None),
    }
    connection = connect(tmp_path_factory.mktemp("lists") / "s.duckdb")
    for name, (path, kind) in files.items():
        add_list(connection, path, name, kind=kind)
    yield connection
    connection.close()


@pytest.mark.parametrize(("parts", "expected"), [
    ((EU, "eu_32014R0833_consolidated.csv"), "eu_journal"),
    ((EU, "eu_32026R1848_amendment.csv"), "eu_journal"),
    ((EU, "eu_32017R1509_dprk_consolidated.csv"), "eu_journal"),
    (("ofac_sdn_2021", "ofac_sdn.csv"), "ofac_sdn"),
    ((GUR, "gur_vessels_master.csv"), "plain"),
    ((GUR, "sanctions_by_imo.csv"), "plain"),
    ((GUR, "detected_vessels_baltic_feb_oct_2025.csv"), "plain"),
    (("ftm_shadowfleet_owners", "vessels.csv"), "plain"),
    ((SETHC5, "ofac_sdn_vessels.json"), "plain"),
    ((SETHC5, "shadow_fleet_tracker_data.json"), "plain"),
])
def test_sniff_picks_the_format(parts: tuple[str, str], expected: str) -> None:
    assert sniff(shared("sanctions", *parts)) == expected


def test_eu_annex_xlii(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "eu")
    rows = con.execute("""SELECT count(*), count(*) FILTER (WHERE sanctioned),
                                 count(listed_since), min(listed_since), max(listed_since)
                          FROM list_entities WHERE list_id = ? AND schema = 'Vessel'
                            AND list_contains(programs, 'EU-RUS Annex XLII')""", [lid]).fetchone()
    assert rows is not None
    assert rows[:3] == (633, 633, 633)
    assert str(rows[3]) == "2024-06-25"
    imos = con.execute("""SELECT count(*), count(DISTINCT norm), count(*) FILTER (WHERE role = 'current')
                          FROM list_identifiers WHERE list_id = ? AND kind = 'imo'
                            AND entity_id LIKE 'eu-32014R0833-XLII-%'""", [lid]).fetchone()
    assert imos == (633, 632, 633)
    # the other annexes (companies, ports) are read too; ports (Asset) are no parties
    assert _one(con, "SELECT count(*) FROM list_entities WHERE list_id = ? AND schema = 'LegalEntity'", [lid]) > 1000
    assert _one(con, "SELECT kind FROM lists WHERE list_id = ?", [lid]) == "sanctions"


def test_eu_amendment_ex_names_become_previous_names(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "eu-amend")
    names = con.execute("""SELECT i.role, i.value FROM list_identifiers i JOIN list_identifiers m
                           USING (list_id, entity_id)
                           WHERE list_id = ? AND m.kind = 'imo' AND m.norm = '9290397'
                             AND i.kind = 'name' ORDER BY i.role""", [lid]).fetchall()
    assert ("previous", "KRITI VIGOR") in names and ("primary", "STORMBRINGER") in names
    # amendment rows take the framework act's ids, as the next consolidated file will
    assert _one(con, "SELECT count(*) FROM list_entities WHERE list_id = ? AND entity_id = 'eu-32014R0833-XLII-629'", [lid]) == 1
    assert _one(con, "SELECT count(*) FROM list_entities WHERE list_id = ? AND schema = 'Vessel'", [lid]) == 42


def test_ofac_sdn_2021(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "ofac")
    assert _one(con, "SELECT count(*) FROM list_entities WHERE list_id = ? AND schema = 'Vessel'", [lid]) == 406
    with_imo = _one(con, """SELECT count(DISTINCT entity_id) FROM list_identifiers
                            WHERE list_id = ? AND kind = 'imo' AND role = 'current'""", [lid])
    assert with_imo >= 399
    # 8,976 rows less 277 aircraft
    assert _one(con, "SELECT entities FROM lists WHERE list_id = ?", [lid]) == 8976 - 277
    artavil = con.execute("""SELECT role, value FROM list_identifiers
                             WHERE list_id = ? AND entity_id = 'ofac-15036' AND kind = 'name'""", [lid]).fetchall()
    assert ("previous", "ABADAN") in artavil  # fka in ofac_alt.csv
    assert ("previous", "ALPHA") in artavil  # f.k.a. in the remarks
    entity = con.execute("""SELECT flag, ship_type, programs FROM list_entities
                            WHERE list_id = ? AND entity_id = 'ofac-15036'""", [lid]).fetchone()
    assert entity == ("ir", "Crude/Oil Products Tanker", ["IRAN"])
    assert con.execute("""SELECT norm FROM list_identifiers WHERE list_id = ? AND entity_id = 'ofac-15036'
                          AND kind IN ('imo', 'mmsi') ORDER BY kind""", [lid]).fetchall() == [("9187629",), ("572469210",)]
    # "NITC" as Vess_owner is an a.k.a. of NATIONAL IRANIAN TANKER COMPANY (ofac-15117)
    owners = con.execute("""SELECT DISTINCT source_id FROM list_links WHERE list_id = ? AND kind = 'ownership'""",
                         [lid]).fetchall()
    assert ("ofac-15117",) in owners
    assert _one(con, "SELECT count(*) FROM list_entities WHERE list_id = ? AND schema = 'Person'", [lid]) == 4620


def test_ofac_finds_the_alt_file_beside_it(tmp_path: Path) -> None:
    alt = ofac.alt_file(shared("sanctions", "ofac_sdn_2021", "ofac_sdn.csv"))
    assert alt is not None and alt.name == "ofac_alt.csv"
    (tmp_path / "sdn.csv").write_text("", encoding="latin-1")
    assert ofac.alt_file(tmp_path / "sdn.csv") is None
    (tmp_path / "alt.csv").write_text("", encoding="latin-1")
    assert ofac.alt_file(tmp_path / "sdn.csv") == tmp_path / "alt.csv"


def test_gur_list(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "gur")
    assert _one(con, "SELECT vessels FROM lists WHERE list_id = ?", [lid]) == 1414
    assert _one(con, "SELECT kind FROM lists WHERE list_id = ?", [lid]) == "watchlist"
    assert _one(con, """SELECT count(*) FROM list_entities WHERE list_id = ?
                        AND list_contains(topics, 'mare.shadow') AND NOT sanctioned""", [lid]) == 1414
    invalid = con.execute("""SELECT value FROM list_identifiers WHERE list_id = ? AND kind = 'imo'
                             AND role = 'invalid' ORDER BY value""", [lid]).fetchall()
    assert invalid == [("RS 130280",), ("RS 150443",)]
    legacy = con.execute("""SELECT entity_id, norm FROM list_identifiers
                            WHERE list_id = ? AND kind = 'mmsi' AND role = 'legacy'""", [lid]).fetchall()
    assert len(legacy) > 200
    assert ("gur-vessels-master-9321691", "626244000") in legacy  # BARQ
    # the GUR scrape repeats many current MMSIs as legacy ones: those stay current
    assert _one(con, """SELECT count(*) FROM list_identifiers WHERE list_id = ? AND kind = 'mmsi'
                        AND entity_id = 'gur-vessels-master-7612448'""", [lid]) == 1
    previous = {r[0] for r in con.execute("""SELECT norm FROM list_identifiers WHERE list_id = ?
        AND entity_id = 'gur-vessels-master-9224453' AND kind = 'name' AND role = 'previous'""", [lid]).fetchall()}
    assert previous == {"SCF KHIBINY", "MERCURY 1", "BERLINA", "LIN", "MARS A"}
    # scrape artefacts ("Flags (former)", "Call sign" in value cells) are not identifiers
    assert _one(con, """SELECT count(*) FROM list_identifiers WHERE list_id = ?
                        AND norm IN ('FLAGS FORMER', 'CALLSIGN', 'VESSELNAME')""", [lid]) == 0
    # two ships have no IMO but an MMSI: kept, keyed by MMSI
    assert _one(con, "SELECT count(*) FROM list_entities WHERE list_id = ? AND entity_id = 'gur-vessels-master-375311000'",
                [lid]) == 1


def test_boolean_authority_columns(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "by-imo")
    counts = con.execute("""SELECT count(*) FILTER (WHERE list_contains(programs, 'OFAC')),
                                   count(*) FILTER (WHERE list_contains(programs, 'UK')),
                                   count(*) FILTER (WHERE list_contains(programs, 'EU')),
                                   count(*) FILTER (WHERE sanctioned)
                            FROM list_entities WHERE list_id = ?""", [lid]).fetchone()
    assert counts == (1491, 660, 670, 1901)  # as PROVENANCE.md counts them


def test_sethc5_json(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "sethc5-ofac")
    assert _one(con, "SELECT vessels FROM lists WHERE list_id = ?", [lid]) == 1449  # 1,450 entries, one IMO twice
    row = con.execute("""SELECT programs, listed_since, flag, ship_type FROM list_entities
                         WHERE list_id = ? AND entity_id = 'ofac-sdn-vessels-9187629'""", [lid]).fetchone()
    assert row is not None
    assert row[0] == ["IRAN"] and str(row[1]) == "2026-03-20" and row[2:] == ("ir", "Crude/Oil Products Tanker")
    # call signs sit in a nested "vessel_info" object
    assert _one(con, "SELECT count(*) FROM list_identifiers WHERE list_id = ? AND kind = 'callsign'", [lid]) > 800
    tracker = _list_id(con, "sethc5-tracker")
    assert _one(con, "SELECT vessels FROM lists WHERE list_id = ?", [tracker]) == 2073
    assert _one(con, "SELECT count(*) FROM list_identifiers WHERE list_id = ? AND role = 'invalid'", [tracker]) == 61


def test_mmsi_periods(con: duckdb.DuckDBPyConnection) -> None:
    lid = _list_id(con, "ftm-mmsi")
    row = con.execute("""SELECT role, valid_from, valid_to FROM list_identifiers WHERE list_id = ?
                         AND entity_id = 'vessel-mmsi-8727941' AND kind = 'mmsi'""", [lid]).fetchone()
    assert row is not None
    assert (row[0], str(row[1]), str(row[2])) == ("current", "2012-10-16", "2024-08-31")


def test_plain_rows_merge_skip_and_dates(tmp_path: Path) -> None:
    path = tmp_path / "my list.csv"
    path.write_text(
        "IMO Number;Vessel Name;MMSI;Former MMSI;Aliases;Program;Designation Date\n"
        "9187629;ARTAVIL;572469210;;;IRAN;20.3.2026\n"
        "9187629;ARTAVIL;;271000001;ALPHA | ABADAN;NPWMD;\n"
        ";NO IDENTIFIERS;;;;;\n"
        "unknown;;;;;;\n"
        "9187628;BAD CHECK DIGIT;;;;;\n",
        encoding="utf-8",
    )
    assert sniff(path) == "plain"
    read = plain.read(path, kind="sanctions")
    assert read.skipped == 2
    vessel = read.entities["my-list-9187629"]
    assert sorted(vessel.get("mmsi")) == ["271000001", "572469210"]
    assert read.notes[("my-list-9187629", "mmsi", "271000001")].role == "legacy"
    assert sorted(vessel.get("alias")) == ["ABADAN", "ALPHA"]
    sanctions = [e for e in read.entities.values()
                 if e.schema.name == "Sanction" and e.get("entity") == [vessel.id]]
    assert {(s.first("authority"), s.first("program"), s.first("startDate")) for s in sanctions} == {
        ("my list", "IRAN", "2026-03-20"), ("my list", "NPWMD", None)}
    # a failing check digit is kept as listed (flatten stores it with role "invalid")
    assert read.entities["my-list-9187628"].get("imoNumber") == ["9187628"]


def test_plain_watchlist_records_listing_date(tmp_path: Path) -> None:
    path = tmp_path / "watch.json"
    path.write_text(json.dumps([{"imo": 9187629, "name": "ARTAVIL", "listed_since": "2025-05-01",
                                 "sanctions_sources": ["ofac", "tankertrackers"]}]), encoding="utf-8")
    read = plain.read(path)
    vessel = read.entities["watch-9187629"]
    assert vessel.get("topics") == ["mare.shadow"]
    assert vessel.get("createdAt") == ["2025-05-01"]
    assert sorted(vessel.get("program")) == ["ofac", "tankertrackers"]
    assert not [e for e in read.entities.values() if e.schema.name == "Sanction"]


def test_iso_dates() -> None:
    assert plain.iso_date("25.6.2024") == "2024-06-25"
    assert plain.iso_date("12 March 2022") == "2022-03-12"
    assert plain.iso_date("26 Feb. 2011") == "2011-02-26"
    assert plain.iso_date("03/20/2026", month_first=True) == "2026-03-20"
    assert plain.iso_date("2012-10-16 00:19:03+00:00") == "2012-10-16"
    assert plain.iso_date("2011") == "2011"
    assert plain.iso_date("31.2.2024") is None
    assert plain.iso_date("soon") is None


# --- bad files -------------------------------------------------------------------------------

def _load_fails(tmp_path: Path, path: Path, match: str, **kwargs: str) -> InputError:
    con = connect(tmp_path / "s.duckdb")
    try:
        with pytest.raises(InputError, match=match) as info:
            add_list(con, path, "bad", **kwargs)
        assert _counts(con) == (0, 0, 0, 0)
    finally:
        con.close()
    return info.value


def test_unknown_format(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Dear reader,\nthis is not a list of ships.\n", encoding="utf-8")
    error = _load_fails(tmp_path, path, "unknown list format")
    assert "ofac_sdn" in (error.hint or "")


def test_latin1_csv_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("imo,name\n9187629,CAFÉ MARÍA\n".encode("latin-1"))
    error = _load_fails(tmp_path, path, "not UTF-8")
    assert "--encoding" in (error.hint or "") and error.where == f"{path}:2"
    read = read_list(path, encoding="latin-1")
    assert read.entities["latin-9187629"].get("name") == ["CAFÉ MARÍA"]


def test_csv_without_imo_column(tmp_path: Path) -> None:
    path = tmp_path / "names.csv"
    path.write_text("vessel,flag\nARTAVIL,Iran\n", encoding="utf-8")
    _load_fails(tmp_path, path, "missing IMO column")
    error = _load_fails(tmp_path, path, "missing IMO column", fmt="plain")
    assert "vessel, flag" in error.message and "imo_number" in (error.hint or "")


@pytest.mark.parametrize("text", ['[{"imo": 9187629, "name": "ARTAVIL"}, {"imo": 91', '{"vessels": [1, 2]}', "[]"])
def test_bad_json(tmp_path: Path, text: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(text, encoding="utf-8")
    _load_fails(tmp_path, path, "JSON")
    with pytest.raises(InputError, match="JSON"):
        plain.read(path)


def test_ofac_with_a_broken_row(tmp_path: Path) -> None:
    path = tmp_path / "sdn.csv"
    path.write_text('1,"SHIP","vessel","IRAN",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n'
                    '2,"OTHER","vessel","IRAN"\n', encoding="latin-1")
    error = _load_fails(tmp_path, path, "expected 12 cells", fmt="ofac_sdn")
    assert error.where == f"{path}:2"


def test_failed_store_leaves_nothing_half_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gur = shared("sanctions", GUR, "detected_vessels_baltic_feb_oct_2025.csv")
    by_imo = shared("sanctions", "ftm_shadowfleet_owners", "sanctions.csv")
    con = connect(tmp_path / "s.duckdb")
    try:
        add_list(con, gur, "gur")
        before = _counts(con)
        real_insert = list_store._insert

        def failing(connection: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:  # type: ignore[type-arg]
            if table == "list_identifiers":
                raise RuntimeError("disk full")
            real_insert(connection, table, rows)

        monkeypatch.setattr(list_store, "_insert", failing)
        with pytest.raises(RuntimeError):
            add_list(con, by_imo, "by-imo", kind="sanctions")
        with pytest.raises(RuntimeError):
            add_list(con, by_imo, "gur", replace=True)  # a failed replace keeps the old list
        assert _counts(con) == before
        assert _one(con, "SELECT source FROM lists") == str(gur)
    finally:
        con.close()

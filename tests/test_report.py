"""The vessel dossier: one self-contained, escaped HTML page (and a PDF) from a real store.

The store is built the way a user builds one: NMEA (encoded with pyais, tag-block times) is
ingested, every detector runs, a small FollowTheMoney list is loaded and screening runs.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from pyais.encode import encode_dict

from shadowtrace.detect.run import detect_into_store
from shadowtrace.errors import ConfigError
from shadowtrace.ingest import ingest
from shadowtrace.lists.store import add_list
from shadowtrace.report import render_dossier, write_dossier
from shadowtrace.report.figures import build_map
from shadowtrace.screen.run import screen
from shadowtrace.store import connect
from shadowtrace.vessels import vessel_profile

LISTED = 613000001  # Cameroon MID; on the test list, meets OTHER at sea
OTHER = 667000002
T0 = int(dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp())
XSS = "<script>alert(1)</script>"


def _imo(six: int) -> int:
    digits = [int(c) for c in str(six)]
    return six * 10 + sum(d * w for d, w in zip(digits, range(7, 1, -1))) % 10


IMO = _imo(941234)


def _tagged(epoch: int, sentence: str) -> str:
    body = f"s:test,c:{epoch}"
    check = 0
    for ch in body.encode():
        check ^= ch
    return f"\\{body}*{check:02X}\\{sentence}"


def _leg(t0: int, a: tuple[float, float], b: tuple[float, float], minutes: int, sog: float,
         step: int = 120) -> list[tuple[int, float, float, float]]:
    n = minutes * 60 // step
    return [(t0 + i * step, a[0] + (b[0] - a[0]) * i / n, a[1] + (b[1] - a[1]) * i / n, sog) for i in range(n)]


def _nmea(path: Path) -> Path:
    """Two tankers meet in the open Ionian Sea for 5 hours (encounter + loitering); the listed
    one reports a lower draught afterwards (draught change at sea)."""
    lines: list[tuple[int, str]] = []
    tracks = {
        LISTED: _leg(T0, (34.70, 19.60), (35.0, 20.0), 120, 13.0)
        + _leg(T0 + 7200, (35.0, 20.0), (35.003, 20.004), 300, 0.3)
        + _leg(T0 + 25200, (35.003, 20.004), (35.3, 20.4), 120, 13.0),
        OTHER: _leg(T0 + 30, (35.30, 19.60), (35.0015, 20.0), 120, 13.0)
        + _leg(T0 + 7230, (35.0015, 20.0), (35.0045, 20.004), 300, 0.3)
        + _leg(T0 + 25230, (35.0045, 20.004), (34.7, 20.4), 120, 13.0),
    }
    for mmsi, points in tracks.items():
        for t, lat, lon, sog in points:
            msg: dict[str, Any] = {"type": 1, "mmsi": mmsi, "lat": lat, "lon": lon, "speed": sog, "course": 45.0,
                   "heading": 45, "second": t % 60}
            lines += [(t, _tagged(t, s)) for s in encode_dict(msg, sentence_type="VDM")]
    statics = {LISTED: ("TEST VOYAGER", IMO, "TJAB1"), OTHER: ("OTHER SHIP", 0, "9LAB2")}
    for k in range(18):
        for offset, (mmsi, (name, imo, callsign)) in enumerate(statics.items()):
            t = T0 + 600 + k * 1800 + offset * 45
            draught = 9.0 if mmsi == LISTED and k * 1800 > 7 * 3600 else 16.5
            msg = {"type": 5, "mmsi": mmsi, "imo": imo, "callsign": callsign, "shipname": name,
                   "ship_type": 80, "draught": draught, "destination": "SEA", "to_bow": 200,
                   "to_stern": 50, "to_port": 20, "to_starboard": 20, "ais_version": 1}
            lines += [(t, _tagged(t, s)) for s in encode_dict(msg, sentence_type="VDM")]
    lines.sort(key=lambda item: item[0])  # stable: fragments of one message stay in order
    path.write_text("".join(line + "\n" for _, line in lines))
    return path


def _list(path: Path) -> Path:
    """The listed tanker, with an XSS payload in its caption, owned through a holding by two
    sanctioned parties: one with an unknown share, one with a minority share."""
    entities = [
        {"id": "v1", "schema": "Vessel", "properties": {
            "name": [f"{XSS} Voyager"], "imoNumber": [f"IMO{IMO}"], "mmsi": [str(LISTED)],
            "callSign": ["TJAB1"], "topics": ["sanction"]}},
        {"id": "c1", "schema": "Company", "properties": {"name": ["Voyager Holding <b>Ltd</b>"]}},
        {"id": "c2", "schema": "Company", "properties": {"name": ["Parent Unknown Share"], "topics": ["sanction"]}},
        {"id": "p1", "schema": "Person", "properties": {"name": ["Minority Owner"], "topics": ["sanction"]}},
        {"id": "o1", "schema": "Ownership", "properties": {"owner": ["c1"], "asset": ["v1"], "percentage": ["100"]}},
        {"id": "o2", "schema": "Ownership", "properties": {"owner": ["c2"], "asset": ["c1"]}},
        {"id": "o3", "schema": "Ownership", "properties": {"owner": ["p1"], "asset": ["c1"], "percentage": ["30"]}},
    ]
    path.write_text("".join(json.dumps(e) + "\n" for e in entities))
    return path


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    db = root / "s.duckdb"
    result = ingest([str(_nmea(root / "meet.nmea"))], db)
    assert not result.failed
    detect_into_store(db)
    con = connect(db)
    try:
        add_list(con, _list(root / "list.ftm.json"), "test list")
        screen(con)
    finally:
        con.close()
    return db


@pytest.fixture
def con(store: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(store)
    yield con
    con.close()


class Page(HTMLParser):
    """What the checks need from a page: every tag with its attributes, ids, text by tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self.code: list[str] = []
        self.scripts: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.tags.append((tag, values))
        if "id" in values:
            self.ids.add(values["id"])
        self._stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        while self._stack and self._stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._stack and self._stack[-1] == "code":
            self.code.append(data)
        if self._stack and self._stack[-1] == "script":
            self.scripts.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def assert_self_contained(page: Page) -> None:
    for tag, attrs in page.tags:
        for name in ("src", "href", "xlink:href", "srcset", "data", "action"):
            value = attrs.get(name, "")
            assert "http" not in value.lower() and "//" not in value, (tag, name, value)
        if tag == "link":
            assert "stylesheet" not in attrs.get("rel", ""), attrs
        if tag == "script":
            assert "src" not in attrs, attrs
        assert "url(http" not in attrs.get("style", "").replace(" ", "")
    hrefs = [a["href"] for t, a in page.tags if "href" in a]
    assert all(h.startswith("#") for h in hrefs), hrefs
    missing = [h for h in hrefs if h[1:] not in page.ids]
    assert not missing, f"links to anchors that do not exist: {missing}"


def test_dossier_is_complete_self_contained_and_escaped(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    out = write_dossier(con, LISTED, tmp_path / "dossier.html")
    html = out.read_text(encoding="utf-8")
    page = parse(html)
    profile = vessel_profile(con, LISTED)
    assert_self_contained(page)
    assert "<style>" in html and "@media print" in html

    text = "".join(page.text)
    assert "TEST VOYAGER" in text and str(LISTED) in text and str(IMO) in text
    assert "Cameroon" in text and "Made with Natural Earth" in text

    # Every event, match and exposure has its anchor; events of each kind are present.
    kinds = {e["type"] for e in profile["events"]}
    assert {"encounter", "loitering"} <= kinds
    for event in profile["events"]:
        assert f"event-{event['event_id']}" in page.ids
    assert profile["matches"] and all(f"match-{m['match_id']}" in page.ids for m in profile["matches"])
    assert len([x for x in profile["exposures"] if x["kind"] == "ownership"]) == 2
    assert all(f"exposure-{x['exposure_id']}" in page.ids for x in profile["exposures"])
    assert "percent unknown" in text and "owned 30% by" in text and "owned 100% by" in text
    # Risk reasons link to their evidence.
    hrefs = {a["href"] for t, a in page.tags if t == "a"}
    assert any(h.startswith("#match-") for h in hrefs) and any(h.startswith("#event-") for h in hrefs)

    # The raw NMEA behind the events, with its file and line.
    raws = {r["raw"] for rows in profile["evidence_rows"].values() for r in rows if r["raw"]}
    assert raws and raws <= set(page.code)
    assert any("!AIVDM" in r for r in raws)
    assert "meet.nmea:" in text

    # The map: a track polyline with points, markers, land within the view.
    polylines = [a["points"].split() for t, a in page.tags if t == "polyline"]
    assert polylines and max(len(p) for p in polylines) >= 2
    assert sum(1 for t, a in page.tags if t == "circle" and a.get("fill", "").startswith("#")) >= len(kinds)
    assert any(t == "path" and a.get("d", "").startswith("M") for t, a in page.tags)

    # List text is untrusted: the payload arrives as text, never as markup.
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS in text and "<b>Ltd</b>" not in html and "Voyager Holding <b>Ltd</b>" in text
    assert not any("alert" in s for s in page.scripts)
    assert sum(1 for t, _ in page.tags if t == "script") <= 1  # only the tiny print helper
    assert len(html) < 1_500_000


def test_counterpart_sees_the_sts_with_the_listed_vessel(con: duckdb.DuckDBPyConnection) -> None:
    profile = vessel_profile(con, OTHER)
    html = render_dossier(profile, generated_at=dt.datetime(2025, 3, 5, 12, 0, tzinfo=dt.UTC))
    page = parse(html)
    assert_self_contained(page)
    text = "".join(page.text)
    assert [x["kind"] for x in profile["exposures"]] == ["sts_with_listed"]
    assert f"exposure-{profile['exposures'][0]['exposure_id']}" in page.ids
    assert f"MMSI {LISTED}" in text  # the encounter was recorded on the other vessel
    assert "2025-03-05 12:00 UTC" in text
    assert XSS not in html


def test_vessel_with_nothing_says_none() -> None:
    profile: dict[str, Any] = {"mmsi": 273000009, "name": None, "imo": None, "flag": "ru", "first_seen": None,
               "last_seen": None, "risk": None, "identity_history": [], "matches": [], "exposures": [],
               "events": [], "evidence_rows": {},
               "track": {"ts": [], "lat": [], "lon": [], "sog": [], "total_positions": 0}}
    html = render_dossier(profile)
    page = parse(html)
    assert_self_contained(page)
    text = "".join(page.text)
    assert "273000009" in text and "Russia" in text
    assert text.count("None") >= 6
    assert not any(t == "polyline" for t, _ in page.tags)


def test_map_splits_a_track_at_the_antimeridian() -> None:
    track: dict[str, Any] = {"lat": [50.0, 50.5, 51.0, 51.5], "lon": [179.0, 179.8, -179.6, -179.0]}
    fig = build_map(track, [])
    assert fig is not None and len(fig.track) == 2
    assert build_map({"lat": [], "lon": []}, []) is None


def test_pdf(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    pytest.importorskip("weasyprint")
    out = write_dossier(con, LISTED, tmp_path / "dossier.html", pdf=True)
    assert out == tmp_path / "dossier.pdf"
    assert out.read_bytes().startswith(b"%PDF")
    assert (tmp_path / "dossier.html").exists()  # the HTML goes next to it


def test_pdf_without_weasyprint_says_how_to_install(con: duckdb.DuckDBPyConnection, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import now raises ImportError
    with pytest.raises(ConfigError) as info:
        write_dossier(con, LISTED, tmp_path / "d.pdf", pdf=True)
    assert "shadowtrace[pdf]" in str(info.value)
    assert not (tmp_path / "d.pdf").exists()

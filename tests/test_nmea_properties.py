"""Property-based tests of the NMEA path: random and mutated input never crashes it,
every line is accounted for, and the bulk decoder agrees with pyais."""

from __future__ import annotations

import io
from pathlib import Path

import pyais
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shadowtrace.ingest import IngestOptions, ingest
from shadowtrace.ingest.ais_fast import decode_positions
from shadowtrace.ingest.nmea import NmeaReader
from tests.conftest import FIXED_TIME

ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"
SEEDS = [
    "\\s:rEV02,c:1334337317*58\\!AIVDM,1,1,,B,19NWuLhuRb5QHfCpPcwj`26B0<02,0*5F",
    "!AIVDM,1,1,,A,15N1u<PP1FJuvSRHOE6QIwwh0HQ6,0*30,1325394060",
    "!AIVDM,2,1,1,A,55?MbV02;H;s<HtKR20EHE:0@T4@Dn2222222216L961O5Gf0NSQEp6ClRp8,0*1C",
    "!AIVDM,2,2,1,A,88888888880,2*25",
    "$PGHP,1,2010,6,11,11,46,11,390,231,45,992190934,1,2B*5B",
    "!AIVDM,1,1,,A,B3KLehP0B@LTN6`Vl;rrBE063P06,0*5A",
    "!AIVDM,1,1,,A,H42O55i18tMET00000000000000,2*6D",
    "!AIVDM,1,1,,B,H42O55lti4hhhilD3nink000?050,0*40",
    "!AIVDM,1,1,,A,K3KLehP0rPTJ10Qr,0*2A",
    "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
]


def nmea_checksum(body: str) -> str:
    value = 0
    for ch in body:
        value ^= ord(ch)
    return f"{value:02X}"


@st.composite
def mutated_line(draw: st.DrawFn) -> str:
    line = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["delete", "insert", "truncate", "replace", "noise"]))
        if not line:
            break
        at = draw(st.integers(0, len(line) - 1))
        if action == "delete":
            line = line[:at] + line[at + 1 :]
        elif action == "insert":
            line = line[:at] + draw(st.characters(codec="latin-1")) + line[at:]
        elif action == "truncate":
            line = line[:at]
        elif action == "replace":
            line = line[:at] + draw(st.sampled_from(ARMOUR + ",*\\!$")) + line[at + 1 :]
        else:
            line = draw(st.text(st.characters(codec="latin-1", exclude_characters="\r\n"), max_size=80))
    return line


lines_strategy = st.lists(mutated_line() | st.text(max_size=60), min_size=1, max_size=40)


def _reconcile(lines: list[str], default_us: int | None) -> None:
    reader = NmeaReader(default_ts_us=default_us, batch_lines=7)
    text = "\n".join(line.replace("\r", "").replace("\n", "") for line in lines) + "\n"
    total = dict(lines=0, positions=0, reports=0, other=0, rejects=0, fragments=0, blank=0)
    for batch in reader.read(io.StringIO(text)):
        total["lines"] += batch.lines
        total["positions"] += batch.positions.num_rows
        derived = sum(1 for d in batch.reports.column("derived").to_pylist() if d)
        total["reports"] += batch.reports.num_rows - derived
        total["other"] += sum(batch.other_by_kind.values())
        total["rejects"] += batch.rejects.num_rows
        total["fragments"] += batch.fragments
        total["blank"] += batch.blank_lines
        reasons = batch.rejects.column("reason").to_pylist()
        assert all(reasons), "every reject has a reason"
    accounted = sum(v for k, v in total.items() if k != "lines")
    assert total["lines"] == accounted == text.count("\n"), total


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines_strategy, st.booleans())
def test_reader_never_raises_and_accounts_for_every_line(lines: list[str], stamped: bool) -> None:
    _reconcile(lines, 1_700_000_000_000_000 if stamped else None)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(mutated_line(), min_size=1, max_size=30))
def test_ingest_of_mutated_files_never_fails_and_reconciles(tmp_path_factory, lines: list[str]) -> None:  # type: ignore[no-untyped-def]
    folder: Path = tmp_path_factory.mktemp("mutated")
    path = folder / "feed.nmea"
    # at least one well-formed, timed sentence so that the file is recognised as NMEA
    path.write_text(SEEDS[0] + "\n" + "\n".join(lines) + "\n", encoding="latin-1")
    report = ingest([str(path)], folder / "db.duckdb", IngestOptions(fmt="nmea", default_time=FIXED_TIME))
    result = report.results[0]
    assert result.status == "complete", result.error
    c = result.counts
    assert c.lines == c.positions_read + c.reports_read + c.other_messages + c.rejects + c.fragments + c.blank_lines


def _armour(bits: str) -> str:
    return "".join(ARMOUR[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


@st.composite
def position_payload(draw: st.DrawFn) -> str:
    msg_type = draw(st.sampled_from([1, 2, 3, 18, 27]))
    length = 96 if msg_type == 27 else 168
    rest = draw(st.integers(0, (1 << (length - 6)) - 1))
    bits = f"{msg_type:06b}" + f"{rest:0{length - 6}b}"
    return _armour(bits)


@settings(max_examples=500, deadline=None)
@given(st.lists(position_payload(), min_size=1, max_size=20))
def test_bulk_decoder_agrees_with_pyais(payloads: list[str]) -> None:
    ours = decode_positions(payloads)
    for i, payload in enumerate(payloads):
        body = f"AIVDM,1,1,,A,{payload},0"
        msg = pyais.decode(f"!{body}*{nmea_checksum(body)}").asdict()
        assert ours["msg_type"][i] == msg["msg_type"]
        assert ours["mmsi"][i] == msg["mmsi"]
        assert abs(ours["lat"][i] - msg["lat"]) < 1e-6
        assert abs(ours["lon"][i] - msg["lon"]) < 1e-6
        assert abs(ours["sog"][i] - msg["speed"]) < 1e-6
        assert abs(ours["cog"][i] - msg["course"]) < 1e-6
        if "heading" in msg:
            assert ours["heading"][i] == msg["heading"]
        if "status" in msg:
            assert ours["nav_status"][i] == int(msg["status"])


SIXBIT_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -./"


@st.composite
def static_payload(draw: st.DrawFn) -> tuple[str, int]:
    """A type 5 or 24 payload whose text fields hold no '@' except as trailing padding."""

    def text_bits(chars: int) -> str:
        word = draw(st.text(SIXBIT_TEXT, max_size=chars))
        codes = [("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?").index(c) for c in word]
        codes += [0] * (chars - len(codes))
        return "".join(f"{c:06b}" for c in codes)

    def number(width: int) -> str:
        return f"{draw(st.integers(0, (1 << width) - 1)):0{width}b}"

    if draw(st.booleans()):
        bits = ("000101" + number(2) + number(30) + number(2) + number(30) + text_bits(7)
                + text_bits(20) + number(8) + number(9) + number(9) + number(6) + number(6)
                + number(4) + number(4) + number(5) + number(5) + number(6) + number(8)
                + text_bits(20) + number(1) + "0")
        fill = 2
        bits += "00"
    elif draw(st.booleans()):
        bits = "011000" + number(2) + number(30) + "00" + text_bits(20)
        fill = 0
    else:
        bits = ("011000" + number(2) + number(30) + "01" + number(8) + text_bits(3) + number(4)
                + number(20) + text_bits(7) + number(9) + number(9) + number(6) + number(6) + "000000")
        fill = 0
    return _armour(bits), fill


@settings(max_examples=300, deadline=None)
@given(static_payload())
def test_static_decoder_agrees_with_pyais(case: tuple[str, int]) -> None:
    from shadowtrace.ingest.ais_fast import decode_static

    payload, fill = case
    ours = decode_static(payload, fill)
    assert ours is not None
    body = f"AIVDM,1,1,,A,{payload},{fill}"
    theirs = pyais.decode(f"!{body}*{nmea_checksum(body)}").asdict()
    assert ours["mmsi"] == theirs["mmsi"]
    for key in ("imo", "to_bow", "to_stern", "to_port", "to_starboard"):
        if key in theirs:
            assert ours[key] == theirs[key], key
    if "draught" in theirs:
        assert abs(float(ours["draught"]) - theirs["draught"]) < 1e-9  # type: ignore[arg-type]
    for ours_key, their_key in (("name", "shipname"), ("callsign", "callsign"), ("destination", "destination")):
        if their_key in theirs:
            assert ours[ours_key] == (theirs[their_key].strip() or None), their_key
    # pyais folds codes its enum does not name into a neighbour; compare the named ones
    from pyais.constants import ShipType

    if "ship_type" in theirs and ours["ship_type"] in ShipType._value2member_map_:
        assert ours["ship_type"] == int(theirs["ship_type"])

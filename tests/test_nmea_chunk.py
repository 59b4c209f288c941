"""The chunk path of the NMEA reader (nmea_chunk) against the per-line path it replaces:
the same batches, row for row and in the same order, on the real samples, on hand-made
awkward lines, and on random mixes of them cut into chunks anywhere; and the bulk static
decoder against the per-message one."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shadowtrace.ingest import ais_fast
from shadowtrace.ingest.batch import Batch
from shadowtrace.ingest.nmea import NmeaReader
from tests.conftest import SHARED, shared

DEFAULT_US = 1_700_000_000_000_000
ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


def checksum(body: str) -> str:
    value = 0
    for ch in body:
        value ^= ord(ch)
    return f"{value:02X}"


def vdm(fields: str, tag: str | None = None, after: str = "", bad: bool = False) -> str:
    """!AIVDM sentence with its checksum (or a wrong one), an optional tag block and text
    after the checksum."""
    body = "AIVDM," + fields
    given = checksum(body) if not bad else f"{int(checksum(body), 16) ^ 1:02X}"
    block = f"\\{tag}*00\\" if tag is not None else ""
    return f"{block}!{body}*{given}{after}"


POS1 = "13a>1`0P1r2VUC4GdNqo45d00000"
POS18 = "B3KLehP0B@LTN6`Vl;rrBE063P06"
POS27 = "K3KLehP0rPTJ10Qr"
T5 = "58W5>N02=uEqT`P;Dh0puH61HDqAE8D00000001DJHWHD40HtCASl`3lQ1DT" + "h0000000000"
T24A, T24B = "H42O55i18tMET00000000000000", "H42O55lti4hhhilD3nink000?050"


def t5_parts(seq: str, total: int = 2, payload: str = T5) -> list[str]:
    """Fields of a type 5 message cut into `total` fragments."""
    size = -(-len(payload) // total)
    pieces = [payload[i * size : (i + 1) * size] for i in range(total)]
    return [
        f"{total},{num},{seq},A,{piece},{2 if num == total else 0}"
        for num, piece in enumerate(pieces, 1)
    ]


def c_tag(seconds: int) -> str:
    return f"s:test,c:{seconds}"


# Lines that each exercise one rule; the random tests mix and cut them.
PART1, PART2 = t5_parts("3")
EDGES = [946_684_800, 4_102_444_800, 946_684_800_000, 4_102_444_800_000]  # of epoch_us
AWKWARD = [
    vdm(f"1,1,,A,{POS1},0", c_tag(1_700_000_100)),
    vdm(f"1,1,,B,{POS18},0", c_tag(1_700_000_100_250)),  # milliseconds
    vdm(f"1,1,,B,{POS27},0", "c:1700000100.75"),  # a fraction
    vdm(f"1,1,,A,{POS1},0", "s:a,c:x,c:1700000101"),  # the first c: with digits
    vdm(f"1,1,,A,{POS1},0", "xc:1700000130,c:1700000131"),  # c: must start a field
    vdm(f"1,1,,A,{POS1},0", "c:12"),  # implausible: as if there were no tag time
    vdm(f"1,1,,A,{POS1},0", "g:1,c:00001700000102"),
    vdm(f"1,1,,A,{POS1},0", "c:1234567890123456789"),
    vdm(f"1,1,,A,{POS1},0", "s:a!b,c:1700000103"),  # a '!' in the tag block
    vdm(f"1,1,,A,{POS1},0"),  # no time: $PGHP, else the default
    vdm(f"1,1,,A,{POS1},0", after=",1700000104"),  # epoch column after the checksum
    vdm(f"1,1,,A,{POS1},0", after=", 1700000105123"),
    vdm(f"1,1,,A,{POS1},0", c_tag(1_700_000_106), bad=True),
    vdm(f"1,1,1,*,{POS1},0", c_tag(1_700_000_107)),  # odd channel
    vdm(f"1,1,,A,{POS1[:-1]},0", c_tag(1_700_000_108)),  # not the fast path's length
    vdm(f"1,1,,A,{POS1},2", c_tag(1_700_000_108)),  # fill bits
    vdm(f"1,1,,A,{T5},2", c_tag(1_700_000_109)),  # type 5 in one sentence
    vdm(f"1,1,,A,{T5[:60]},2", c_tag(1_700_000_109)),  # too short for type 5
    vdm(f"1,1,,B,{T24A},2", c_tag(1_700_000_110)),
    vdm(f"1,1,,B,{T24B},0", c_tag(1_700_000_111)),
    vdm(f"1,1,,B,{T24B},0", c_tag(1_700_002_000)),  # too late to pair
    vdm(PART1, c_tag(1_700_000_112)),
    vdm(PART2, c_tag(1_700_000_112)),
    vdm(PART1),
    vdm(PART2),
    vdm(PART2, c_tag(1_700_000_113), bad=True),
    vdm(PART1, c_tag(1_700_000_113), bad=True),
    *(vdm(part, c_tag(1_700_000_114)) for part in t5_parts("4", 3)),
    vdm(t5_parts("5")[0], c_tag(1_700_000_115)),  # another message's first part
    vdm("2,3,7,A,,0", c_tag(1_700_000_116)),  # number above total
    vdm("2,1,7,A,,0", c_tag(1_700_000_116)),  # empty payload
    vdm(f"1,2,,A,{POS1},0", c_tag(1_700_000_116)),
    vdm(f"2,2,,A,{POS1},0", c_tag(1_700_000_116)).replace("AIVDM", "AIVDO"),
    "$PGHP,1,2023,11,14,22,13,20,500,231,45,992190934,1,2B*5B",
    "$PGHP,1,2023,11,14,22,13,21,0,231,45,992190934,1,2B*5B",
    "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
    "1700000120 " + vdm(f"1,1,,A,{POS1},0"),  # epoch before the sentence
    "2023-11-14T22:13:30Z," + vdm(f"1,1,,A,{POS18},0"),
    "\\c:1700000121*00\\\\s:x*00\\" + vdm(f"1,1,,A,{POS1},0"),  # two tag blocks
    "\\c:1700000122*00" + vdm(f"1,1,,A,{POS1},0"),  # broken tag block
    vdm(f"1,1,,A,{POS1},0", c_tag(1_700_000_123)).replace("13a", "13é"),  # not ASCII
    vdm(f"1,1,,A,{POS1},0", "s:é,c:1700000124"),
    vdm(f"1,1,,é,{POS1},0", c_tag(1_700_000_132)),  # a channel of two bytes in UTF-8
    vdm(PART1.replace(",A,", ",é,"), c_tag(1_700_000_133)),
    vdm(PART2.replace(",A,", ",é,"), c_tag(1_700_000_133)),
    "!AIVDM,1,1,,A,13a>1`0P1r2VUC4GdNqo45d00000,0",
    "junk",
    "\\",
    "",
    "   ",
    "# a comment",
    "\t" + vdm(f"1,1,,A,{POS18},0", c_tag(1_700_000_125)) + "  ",
    *(vdm(f"1,1,,A,{POS1},0", f"c:{edge + step}") for edge in EDGES for step in (-1, 0, 1)),
]
ENDINGS = ["\n", "\r\n"]


def assert_same(new: list[Batch | int | None], old: list[Batch | int | None]) -> None:
    assert len(new) == len(old)
    for i, (a, b) in enumerate(zip(new, old)):
        if not isinstance(a, Batch) or not isinstance(b, Batch):
            assert a == b, (i, a, b)
            continue
        for name in ("positions", "reports", "rejects"):
            x, y = getattr(a, name), getattr(b, name)
            assert x.schema == y.schema and x.to_pylist() == y.to_pylist(), (i, name)
        assert (a.lines, a.blank_lines, a.fragments, a.other_by_kind) == (
            b.lines, b.blank_lines, b.fragments, b.other_by_kind), i


def read_stream(text: str, chunked: bool, batch_lines: int = 200_000) -> list[Batch | int | None]:
    reader = NmeaReader(default_ts_us=DEFAULT_US, batch_lines=batch_lines, chunked=chunked,
                        min_chunk=1)
    return list(reader.read(io.StringIO(text, newline=None)))


def read_chunks(
    lines: list[str], sizes: list[int], chunked: bool, min_chunk: int = 1
) -> list[Batch | int | None]:
    """As the live feed reads: chunks with their own reception time, pending state carried
    over, stale type 24 parts released now and then, the rest flushed at the end. Chunks
    shorter than min_chunk are read line by line."""
    reader = NmeaReader(chunked=chunked, min_chunk=min_chunk)
    out: list[Batch | int | None] = []
    at, k = 0, 0
    while at < len(lines):
        size = sizes[k % len(sizes)]
        reader.default_ts_us = DEFAULT_US + at * 1_000_000
        out.append(reader.read_lines(lines[at : at + size], at + 1))
        out.append(reader.pending_first_line())
        if k % 3 == 2:
            out.append(reader.release_stale(1_700_001_000_000_000))
        at, k = at + size, k + 1
    out.append(reader.finish())
    return out


def check(lines: list[str], sizes: list[int], batch_lines: int = 200_000) -> None:
    old = read_chunks(lines, sizes, False)
    assert_same(read_chunks(lines, sizes, True), old)
    assert_same(read_chunks(lines, sizes, True, min_chunk=10), old)  # both ways in one reader
    text = "".join(lines)
    assert_same(read_stream(text, True, batch_lines), read_stream(text, False, batch_lines))


# -- real samples -----------------------------------------------------------------------
def samples() -> list[str]:
    names = []
    for folder in ("ais_positions", "ais_decoder_vectors"):
        root = SHARED / folder
        if root.exists():
            names += sorted(
                str(p.relative_to(SHARED)) for p in root.rglob("*")
                if p.is_file() and not p.name.startswith(".") and p.suffix != ".md"
            )
    return names


def sample_lines(path: Path) -> list[str]:
    """The lines as ingest reads them: latin-1, universal newlines."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="latin-1", newline=None) as text:
        return text.readlines()


@pytest.mark.parametrize("name", samples())
def test_real_sample_reads_the_same(name: str) -> None:
    lines = sample_lines(shared(*Path(name).parts))
    check(lines, [3500, 101] if len(lines) <= 10_000 else [3500], batch_lines=1000)


def test_simulated_feed_reads_the_same(tmp_path: Path) -> None:
    from shadowtrace.simulate import simulate

    result = simulate(tmp_path / "sim", vessels=10, days=1, seed=11, fmt="nmea")
    lines = sample_lines(result.positions_path)
    check(lines, [3500, 977, 1])


# -- hand-made awkward lines ------------------------------------------------------------
def test_each_awkward_line_alone_and_all_together() -> None:
    for line in AWKWARD:
        check([line + "\n"], [1])
    for ending in ENDINGS:
        lines = [line + ending for line in AWKWARD]
        check(lines, [len(lines)])
        check(lines, [1])
        check(lines, [2, 3, 5], batch_lines=4)


def test_fragments_and_type24_across_chunk_boundaries() -> None:
    p1, p2 = (vdm(part, c_tag(1_700_000_200)) + "\n" for part in t5_parts("1"))
    a = vdm(f"1,1,,B,{T24A},2", c_tag(1_700_000_201)) + "\n"
    b = vdm(f"1,1,,B,{T24B},0", c_tag(1_700_000_202)) + "\n"
    pghp = "$PGHP,1,2023,11,14,22,13,20,500,231,45,992190934,1,2B*5B\n"
    untimed = [vdm(part) + "\n" for part in t5_parts("2")]
    other_seq = vdm(t5_parts("6")[1], c_tag(1_700_000_203)) + "\n"
    other_channel = vdm(t5_parts("1")[1].replace(",A,", ",B,"), c_tag(1_700_000_203)) + "\n"
    lines = [p1, p2, p1, a, p2, pghp, *untimed, b, p2, p1, p1, p2, pghp, untimed[0], pghp,
             untimed[1], p1, other_seq, p1, other_channel, p2, p1]
    for size in range(1, len(lines) + 1):
        check(lines, [size])


def test_many_open_fragments_are_abandoned_alike() -> None:
    # With more than eight messages waiting, a completed one makes the reader drop those
    # waiting for over 50 lines: their second parts then come as orphans.
    parts = [[vdm(p, c_tag(1_700_000_300)) + "\n" for p in t5_parts(str(seq))] for seq in range(10)]
    filler = [vdm(f"1,1,,A,{POS1},0", c_tag(1_700_000_301)) + "\n"] * 60
    waiting = [first for first, _ in parts[1:]]
    late = [second for _, second in parts[1:]]
    for completed in (parts[0], [parts[0][0], filler[0], parts[0][1]]):  # consecutive or not
        lines = waiting + filler + completed + late
        check(lines, [len(lines)])
        check(lines, [7, 50])


# -- random mixes cut anywhere ----------------------------------------------------------
@st.composite
def mutated(draw: st.DrawFn) -> str:
    """An awkward line, sometimes with a character changed, dropped or added."""
    line = draw(st.sampled_from(AWKWARD))
    if line and draw(st.booleans()) and draw(st.booleans()):
        at = draw(st.integers(0, len(line) - 1))
        change = draw(st.sampled_from(["replace", "delete", "insert"]))
        char = draw(st.sampled_from(ARMOUR + ",*\\!$ c:.é\r"))
        if change == "replace":
            line = line[:at] + char + line[at + 1 :]
        elif change == "delete":
            line = line[:at] + line[at + 1 :]
        else:
            line = line[:at] + char + line[at:]
    return line.replace("\n", "") + draw(st.sampled_from(ENDINGS))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(mutated(), min_size=1, max_size=60),
    sizes=st.lists(st.integers(1, 25), min_size=1, max_size=6),
    batch_lines=st.integers(1, 40),
)
def test_random_mixes_in_random_chunks_read_the_same(
    lines: list[str], sizes: list[int], batch_lines: int
) -> None:
    check(lines, sizes, batch_lines)


stamp = st.one_of(
    st.sampled_from(EDGES) | st.sampled_from([edge + step for edge in EDGES for step in (-1, 1)]),
    st.integers(946_684_790, 4_102_444_810),  # around the plausible seconds
    st.integers(946_684_790_000, 4_102_444_810_000),  # and milliseconds
    st.integers(0, 10**20),
).map(str)
tag_field = st.one_of(
    st.builds("{}c:{}{}".format, st.sampled_from(["", "x", "c", "!"]), stamp,
              st.sampled_from(["", ".5", ".", ".25x", "0", "00000000"])),
    st.text(alphabet="c:0123456789.,sx!*", max_size=10),
)


@settings(max_examples=200, deadline=None)
@given(tags=st.lists(st.lists(tag_field, max_size=4).map(",".join), min_size=1, max_size=20))
def test_tag_block_times_read_the_same(tags: list[str]) -> None:
    lines = [vdm(f"1,1,,A,{POS1},0", tag) + "\n" for tag in tags]
    check(lines, [len(lines)])


# -- bulk static decoding ---------------------------------------------------------------
@st.composite
def static_payload(draw: st.DrawFn) -> tuple[str, int]:
    kind = draw(st.sampled_from("5H"))
    length = draw(st.sampled_from([1, 26, 27, 28, 60, 70, 71, 72, 75]))
    # often only '0' ('@', the end of a text) and 'P' (a space), as around text fields
    alphabet = draw(st.sampled_from([ARMOUR, "0P", "0PA", ARMOUR + "~é"]))
    body = draw(st.text(alphabet=alphabet, min_size=length - 1, max_size=length - 1))
    return kind + body, draw(st.integers(0, 5))


@settings(max_examples=200, deadline=None)
@given(st.lists(static_payload(), min_size=1, max_size=20))
def test_bulk_static_decoding_matches_one_by_one(items: list[tuple[str, int]]) -> None:
    payloads, fills = [p for p, _ in items], [f for _, f in items]
    assert ais_fast.decode_static_many(payloads, fills) == [
        ais_fast.decode_static(p, f) for p, f in items
    ]

"""Chunk path of the NMEA reader: the common line shapes of a whole chunk are matched,
checksummed and timed at once (Arrow, numpy), so that only what depends on the order of
lines (fragment pairing, `$PGHP` time carry-over, unusual lines) is left to a Python loop
in `NmeaReader`.

The shapes are those of `nmea._COMMON` and `nmea._FRAGMENT`, and only ASCII lines are
matched here: on ASCII, RE2 and Python's `re` agree on these patterns. Every field of a
matching line then sits at a place fixed by its commas, so the fields are cut with numpy
rather than captured by the regular expression (capturing is several times slower in RE2
than matching). Any other line is left to the per-line path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from shadowtrace.ingest import ais_fast
from shadowtrace.ingest.ais_fast import substrings

# nmea._COMMON and nmea._FRAGMENT in one: total and number are told apart afterwards.
_SHAPE = (
    r"^(?:\\[^\\]*\\)?![A-Z]{2}VD[MO],[1-9],[1-9],\d?,[^,]?,[0-9:;<=>?@A-W`a-w]*,\d"
    r"\*[0-9A-Fa-f]{2}.*$"
)

# What each line is to the loop. SECOND: part 2 of a PAIR, read with it.
BLANK, GENERAL, FAST, FRAGMENT, PAIR, SECOND = 0, 1, 2, 3, 4, 5
_BACKSLASH, _BANG, _COMMA, _ZERO = ord("\\"), ord("!"), ord(","), ord("0")

_HEX = np.full(256, -1, np.int16)
for _digit in "0123456789abcdefABCDEF":
    _HEX[ord(_digit)] = int(_digit, 16)
_FAST_LENGTH = np.zeros(256, np.int64)  # payload length of the fast path, by first character
for _kind, _length in ais_fast.FAST_LENGTHS.items():
    _FAST_LENGTH[ord(_kind)] = _length

# One event for the ordered loop: line index, kind, checksum ok, tag-block time, time from
# after the checksum, then for fragments: total, number, sequence id, channel, sentence,
# and for a pair the next line's tag-block time, time after the checksum and sentence, and
# the message's payload.
Event = tuple[int, int, bool, int | None, int | None, str, str, str, str, str, int | None,
              int | None, str, str]


@dataclass
class FastRows:
    """Single-sentence position lines for the bulk decoder, one array entry per line."""

    source_line: np.ndarray  # int64
    ts: np.ndarray  # int64 epoch microseconds, where has_ts
    has_ts: np.ndarray  # bool
    ok: np.ndarray  # bool: the checksum matches
    payload: pa.Array
    raw: pa.Array

    @staticmethod
    def concat(blocks: list[FastRows]) -> FastRows:
        """All blocks as one, in line order (the order the per-line path adds them in)."""
        rows = FastRows(
            np.concatenate([b.source_line for b in blocks]),
            np.concatenate([b.ts for b in blocks]),
            np.concatenate([b.has_ts for b in blocks]),
            np.concatenate([b.ok for b in blocks]),
            pa.concat_arrays([b.payload for b in blocks]),
            pa.concat_arrays([b.raw for b in blocks]),
        )
        if np.all(rows.source_line[1:] > rows.source_line[:-1]):
            return rows  # the usual case: chunks, each in order, one after the other
        order = np.argsort(rows.source_line, kind="stable")
        return rows.take(order)

    def take(self, rows: np.ndarray) -> FastRows:
        at = pa.array(rows)
        return FastRows(self.source_line[rows], self.ts[rows], self.has_ts[rows], self.ok[rows],
                        self.payload.take(at), self.raw.take(at))


@dataclass
class ChunkScan:
    """What the vectorised pass found in a chunk, for the ordered loop."""

    texts: list[str]  # each line stripped
    blank_lines: int
    events: Iterator[Event]  # lines the loop must see, in order
    fast: np.ndarray  # line indices of fast-path position lines
    _fast_rows: FastRows  # their rows; times still missing where the loop supplies them

    def fast_rows(self, first_line_no: int, times: dict[int, int | None]) -> FastRows:
        """The fast-path rows, with the times the loop found (line index -> time)."""
        rows = self._fast_rows
        rows.source_line = self.fast + first_line_no
        if times:
            at = np.searchsorted(self.fast, np.fromiter(times, np.int64, len(times)))
            values = list(times.values())
            rows.ts[at] = [0 if v is None else v for v in values]
            rows.has_ts[at] = [v is not None for v in values]
        return rows


@dataclass(frozen=True)
class Clock:
    """The per-line path's time rules: a tag block's time, the time in the text after the
    checksum (each called once per distinct text), and epoch_us of many integers at once."""

    tag: Callable[[str], int | None]
    trailing: Callable[[str], int | None]
    integers: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def scan(lines: list[str], clock: Clock) -> ChunkScan | None:
    """Match, checksum and time a chunk; None when it cannot be held in Arrow (then the
    per-line path reads it)."""
    texts = [line.strip() for line in lines]
    try:
        strings = pa.array(texts, pa.string())
    except (pa.ArrowException, UnicodeError):
        return None
    if not isinstance(strings, pa.StringArray):
        return None
    n = len(texts)
    data, starts = ais_fast.string_bytes(strings)
    data = np.append(data, np.zeros(16, np.uint8))  # reads just past a line stay in bounds
    line_start, line_end = starts[:-1], starts[1:]
    first = data[line_start]
    blank = (line_end == line_start) | (first == ord("#"))
    matched = np.asarray(pc.match_substring_regex(strings, _SHAPE))
    matched &= np.asarray(pc.string_is_ascii(strings)) & ~blank
    rows = np.nonzero(matched)[0]

    # Fields of the matching lines from byte positions; arrays from here on are by matching line.
    at = line_start[rows]
    tagged = first[rows] == _BACKSLASH
    bang = at.copy()  # the sentence's '!': after the tag block, which holds no backslash
    bang[tagged] = _next(data, _BACKSLASH, at[tagged] + 1) + 1
    total, num = data[bang + 7].astype(np.int64) - 48, data[bang + 9].astype(np.int64) - 48
    commas = np.flatnonzero(data == _COMMA)
    after_kind = np.searchsorted(commas, bang)  # the comma after xxVDM: fields end at the next
    seq_end, channel_end, payload_end = (commas[after_kind + k] for k in (3, 4, 5))
    fill, star = data[payload_end + 1], payload_end + 2
    payload_len = payload_end - channel_end - 1
    given = _HEX[data[star + 1]] * 16 + _HEX[data[star + 2]]

    is_fast = (total == 1) & (num == 1) & (payload_len > 0)
    is_fast &= (_FAST_LENGTH[data[channel_end + 1]] == payload_len) & (fill == _ZERO)
    is_fragment = total >= 2
    kind = np.where(blank, BLANK, GENERAL).astype(np.int8)
    kind[rows[is_fast]] = FAST
    kind[rows[is_fragment]] = FRAGMENT

    # Checksums: XOR over each body, one reduceat over (start, end) bounds (bodies are
    # disjoint and in order; the odd segments between them are not used). A single-sentence
    # line counts from its first '!' on (nmea._common_line), a fragment from its sentence's;
    # they differ only when the tag block holds a '!'.
    body_start = np.where(is_fast, _next(data, _BANG, at), bang) + 1
    ok = np.zeros(n, bool)
    if len(rows):
        bounds = np.column_stack([body_start, star]).ravel()
        ok[rows] = np.bitwise_xor.reduceat(data, bounds)[::2] == given

    # Parts 1 and 2 of a two-sentence message on consecutive lines, checksums good: one event.
    same_key = (data[bang[1:] + 11] == data[bang[:-1] + 11]) & (
        data[seq_end[1:] + 1] == data[seq_end[:-1] + 1]
    )  # seq and channel are at most one character: compare the first bytes (or commas)
    pair = np.zeros(len(rows), bool)
    pair[:-1] = (
        (rows[1:] == rows[:-1] + 1) & same_key & (total[:-1] == 2) & (num[:-1] == 1)
        & (total[1:] == 2) & (num[1:] == 2) & ok[rows[:-1]] & ok[rows[1:]]
    )
    kind[rows[pair]] = PAIR
    kind[rows[pair] + 1] = SECOND

    # Times: a tag block's, and for lines without one the text after the checksum.
    def per_line(values: np.ndarray) -> np.ndarray:  # matching lines' values, 0 elsewhere
        full = np.zeros(n, np.int64)
        full[rows] = values
        return full

    ctime, has_ctime = np.zeros(n, np.int64), np.zeros(n, bool)
    ctime[rows[tagged]], has_ctime[rows[tagged]] = _tag_times(
        data, at[tagged] + 1, bang[tagged] - 1, clock
    )
    untimed = rows[~has_ctime[rows]]
    trail, has_trail = np.zeros(n, np.int64), np.zeros(n, bool)
    trail[untimed], has_trail[untimed] = _mapped(
        substrings(data, per_line(star + 3)[untimed], line_end[untimed]), clock.trailing
    )

    # What the loop needs of each line it sees (and of the line after, for a pair); fields
    # are empty for the lines it reads itself.
    loop = np.nonzero(
        (kind == GENERAL) | (kind == FRAGMENT) | (kind == PAIR) | ((kind == FAST) & ~has_ctime)
    )[0]
    after = np.minimum(loop + 1, n - 1)

    def field(begin: np.ndarray, end: np.ndarray, lines: np.ndarray = loop) -> list[str]:
        return substrings(data, per_line(begin)[lines], per_line(end)[lines]).to_pylist()

    payload_from, payload_to = per_line(channel_end + 1), per_line(payload_end)

    digits = [str(d) for d in range(10)]
    events = zip(
        loop.tolist(),
        kind[loop].tolist(),
        ok[loop].tolist(),
        _optional(ctime[loop], has_ctime[loop]),
        _optional(trail[loop], has_trail[loop]),
        [digits[d] for d in per_line(total)[loop].tolist()],
        [digits[d] for d in per_line(num)[loop].tolist()],
        field(bang + 11, seq_end),
        field(seq_end + 1, channel_end),
        field(bang, star + 3),
        _optional(ctime[after], has_ctime[after]),
        _optional(trail[after], has_trail[after]),
        field(bang, star + 3, after),
        pc.binary_join_element_wise(  # a pair's payload
            substrings(data, payload_from[loop], payload_to[loop]),
            substrings(data, payload_from[after], payload_to[after]),
            "",
        ).to_pylist(),
    )

    fast = rows[is_fast]
    fast_rows = FastRows(
        fast,
        ctime[fast],
        has_ctime[fast],
        ok[fast],
        substrings(data, channel_end[is_fast] + 1, payload_end[is_fast]),
        strings.take(pa.array(fast)),
    )
    return ChunkScan(texts, int(blank.sum()), events, fast, fast_rows)


_MAX_DIGITS = 15  # an integer this long is exact as a double, as epoch_us reads it
# _PLACES[w]: the place value of each of the first w digits of a number w digits long
_PLACES = np.array(
    [[10 ** (w - 1 - j) if j < w else 0 for j in range(_MAX_DIGITS)]
     for w in range(_MAX_DIGITS + 2)],
    np.int64,
)


def _tag_times(
    data: np.ndarray, begin: np.ndarray, end: np.ndarray, clock: Clock
) -> tuple[np.ndarray, np.ndarray]:
    """Time of each tag block data[begin:end] as nmea._tag_us reads it: the first c: at the
    start or after a comma that is followed by digits. Whole numbers are read here, others
    (a fraction, very many digits) by clock.tag."""
    values, valid = np.zeros(len(begin), np.int64), np.zeros(len(begin), bool)
    stamp = np.flatnonzero((data[:-1] == ord("c")) & (data[1:] == ord(":")))
    # A tag block starts after a backslash and holds none: "at its start" is "after one".
    before = data[stamp - 1]
    stamp = stamp[_is_digit(data[stamp + 2]) & ((before == _COMMA) | (before == _BACKSLASH))]
    if not len(stamp) or not len(begin):
        return values, valid
    first = np.searchsorted(stamp, begin)
    digits_at = stamp[np.minimum(first, len(stamp) - 1)] + 2
    found = (first < len(stamp)) & (digits_at < end)
    # Where the digits end: the first non-digit of a window one longer than a whole number
    # read here (the padding after the chunk keeps the window inside `data`).
    window = data[digits_at[:, None] + np.arange(_MAX_DIGITS + 2)].astype(np.int64) - 48
    is_digit = (window >= 0) & (window <= 9)
    is_digit[:, -1] = False
    width = np.argmin(is_digit, axis=1)
    after = digits_at + width
    fraction = (data[after] == ord(".")) & _is_digit(data[after + 1])
    short = width <= _MAX_DIGITS
    whole = np.flatnonzero(found & ~fraction & short)
    number = (window[whole, :_MAX_DIGITS] * _PLACES[width[whole]]).sum(axis=1)
    values[whole], valid[whole] = clock.integers(number)
    rest = np.flatnonzero(found & (fraction | ~short))
    if len(rest):
        values[rest], valid[rest] = _mapped(substrings(data, begin[rest], end[rest]), clock.tag)
    return values, valid


def _is_digit(chars: np.ndarray) -> np.ndarray:
    return (chars - np.uint8(48)) < 10  # wraps below '0'


def _next(data: np.ndarray, byte: int, after: np.ndarray) -> np.ndarray:
    """Position of the first `byte` at or after each position (one is known to exist)."""
    found = np.flatnonzero(data == byte)
    return found[np.searchsorted(found, after)] if len(after) else after


def _mapped(
    strings: pa.Array, convert: Callable[[str], int | None]
) -> tuple[np.ndarray, np.ndarray]:
    """convert() of each string, called once per distinct value: (values, valid)."""
    if not len(strings):
        return np.zeros(0, np.int64), np.zeros(0, bool)
    encoded = pc.dictionary_encode(strings)
    converted = [convert(value) for value in encoded.dictionary.to_pylist()]
    values = np.array([0 if v is None else v for v in converted], np.int64)
    valid = np.array([v is not None for v in converted], bool)
    indices = np.asarray(encoded.indices, np.int64)
    return values[indices], valid[indices]


def _optional(values: np.ndarray, valid: np.ndarray) -> list[int | None]:
    return [v if ok else None for v, ok in zip(values.tolist(), valid.tolist())]

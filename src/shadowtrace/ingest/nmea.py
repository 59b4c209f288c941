"""Reader for raw NMEA 0183 AIS sentences (!xxVDM / !xxVDO, any talker).

Reception time comes, in order of preference, from an NMEA 4.0 tag block
(`\\c:epoch*hh\\`), a preceding Gatehouse `$PGHP` sentence, an epoch column after
the checksum, an epoch or ISO time before the sentence, or the caller's default.
Multi-sentence messages are reassembled; type 24 parts A and B are joined into one
vessel report. Single-sentence position reports are decoded in bulk (ais_fast),
everything else by pyais.

Lines are read a chunk at a time (nmea_chunk): the common shapes are matched, checksummed
and timed for the whole chunk at once, and one loop in line order does what depends on
order. The per-line path (`chunked=False`) is the reference it must agree with, and reads
whatever the chunk path leaves to it.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, TextIO

import numpy as np
import pyais
import pyarrow as pa

from shadowtrace.ingest import ais_fast, nmea_chunk
from shadowtrace.ingest.batch import POSITION_STAGE, REJECT_STAGE, REPORT_STAGE, Batch

EPOCH = dt.datetime(1970, 1, 1)
_MIN_S, _MAX_S = 946_684_800, 4_102_444_800  # plausible epoch seconds: 2000..2100
POSITION_TYPES = {1, 2, 3, 18, 19, 27}
REPORT_TYPES = {5, 19, 24}
TYPE24_PAIRING_S = 600  # parts A and B of one vessel further apart than this stay separate
MULTIPART_MAX_LINES = 50  # a fragment not completed within this many lines is abandoned
CHUNK_LINES = 8192  # lines read() hands to the chunk path at once (cache-sized)
# The chunk path keeps decoded static reports for the chunks after (vessels repeat theirs
# unchanged every few minutes), up to this many, then drops them all at once.
STATICS_KEPT = 4096


def epoch_us(value: str) -> int | None:
    """Epoch seconds or milliseconds (possibly fractional) to microseconds, if plausible."""
    try:
        number = float(value)
    except ValueError:
        return None
    if _MIN_S <= number <= _MAX_S:
        return int(round(number * 1_000_000))
    if _MIN_S * 1000 <= number <= _MAX_S * 1000:
        return int(round(number * 1000))
    return None


def _epoch_us_integers(numbers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """epoch_us of many whole numbers (below 2**53, exact as doubles): (values, valid)."""
    seconds = (numbers >= _MIN_S) & (numbers <= _MAX_S)
    millis = (numbers >= _MIN_S * 1000) & (numbers <= _MAX_S * 1000)
    return np.where(seconds, numbers * 1_000_000, numbers * 1000), seconds | millis


def _trailing_us(trailing: str) -> int | None:
    """An epoch column after the checksum: the first numeric field that is a plausible time."""
    for item in trailing.split(","):
        item = item.strip()
        if item and item[0].isdigit():
            value = epoch_us(item)
            if value is not None:
                return value
    return None


def _iso_us(value: str) -> int | None:
    try:
        stamp = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return int((stamp - EPOCH).total_seconds() * 1_000_000)


def _pghp_us(fields: list[str]) -> int | None:
    """$PGHP,1,yyyy,mm,dd,hh,mi,ss,ms,... (Gatehouse) to epoch microseconds."""
    try:
        if fields[1] != "1":
            return None
        year, month, day, hour, minute, second, milli = (int(f) for f in fields[2:9])
        stamp = dt.datetime(year, month, day, hour, minute, second, milli * 1000)
    except (ValueError, IndexError):
        return None
    return int((stamp - EPOCH).total_seconds() * 1_000_000)


# Optional tag block, then !xxVDM/VDO,1,1,seq,channel,payload,fill*hh and anything after.
_COMMON = re.compile(
    r"(?:\\([^\\]*)\\)?![A-Z]{2}VD[MO],1,1,\d?,[^,]?,([0-9:;<=>?@A-W`a-w]+),(\d)\*([0-9A-Fa-f]{2})(.*)"
)
# The same for one fragment of a multi-sentence message.
_FRAGMENT = re.compile(
    r"(?:\\([^\\]*)\\)?(!(([A-Z]{2}VD[MO]),([2-9]),([1-9]),(\d?),([^,]?),[0-9:;<=>?@A-W`a-w]*,\d)\*([0-9A-Fa-f]{2}))(.*)"
)
_TAG_TIME = re.compile(r"(?:^|,)c:(\d+(?:\.\d+)?)")


def _tag_us(tag: str) -> int | None:
    """A tag block's time as the fast paths read it: its first c: field with digits."""
    stamp = _TAG_TIME.search(tag)
    return epoch_us(stamp.group(1)) if stamp is not None else None


_CLOCK = nmea_chunk.Clock(_tag_us, _trailing_us, _epoch_us_integers)


def _parse_tag_block(tag: str) -> dict[str, str]:
    body = tag.split("*", 1)[0]
    out: dict[str, str] = {}
    for item in body.split(","):
        key, sep, value = item.partition(":")
        if sep:
            out[key] = value
    return out


def _xor(text: str) -> int:
    """XOR of all bytes (the NMEA checksum), folding one big integer in halves: a few
    big-integer operations in C instead of a Python step per character."""
    data = text.encode("latin-1")
    width = 1
    while width < len(data):
        width *= 2
    value = int.from_bytes(data.rjust(width, b"\0"), "big")
    while width > 1:
        width //= 2
        value = (value >> (8 * width)) ^ (value & ((1 << (8 * width)) - 1))
    return value


@dataclass
class _Pending:
    """Fragments of one multi-sentence message being reassembled."""

    total: int
    sentences: list[str]
    lines: list[int]
    raws: list[str]
    ts: int | None
    started: int


@dataclass
class NmeaReader:
    """Turns a text stream of NMEA lines into staging batches."""

    default_ts_us: int | None = None
    batch_lines: int = 200_000
    broken: BaseException | None = None
    chunked: bool = True  # False: the per-line reference path
    min_chunk: int = 128  # fewer lines than this are read line by line (cheaper for so few)
    _pghp_us: int | None = None
    _multipart: dict[tuple[str, str], _Pending] = field(default_factory=dict)
    _type24a: dict[int, tuple[dict[str, Any], int, str]] = field(default_factory=dict)
    # decode_static results of the chunk path, by (payload, fill)
    _statics: dict[tuple[str, int], dict[str, object]] = field(default_factory=dict)

    def read(self, stream: TextIO, progress: Any = None) -> Iterator[Batch]:
        """Batches of staged rows; a stream that breaks off (truncated archive) ends the
        reading, keeps what came before, and leaves the cause in `self.broken`."""
        builder = self._builder()
        line_no = 0
        chunk: list[str] = []
        # A chunk never crosses a batch boundary, so batches end where the per-line path's do.
        room = min(CHUNK_LINES, self.batch_lines) if self.chunked else 1
        try:
            for line in stream:
                chunk.append(line)
                if len(chunk) < room:
                    continue
                lines, chunk = chunk, []
                self._lines(lines, line_no + 1, builder)
                line_no += len(lines)
                if builder.lines >= self.batch_lines:
                    if progress is not None:
                        progress(builder.lines)
                    yield builder.build()
                    builder = self._builder()
                if self.chunked:
                    room = min(CHUNK_LINES, self.batch_lines - builder.lines)
            lines, chunk = chunk, []
            self._lines(lines, line_no + 1, builder)
            line_no += len(lines)
        except (EOFError, OSError, zlib.error) as exc:
            lines, chunk = chunk, []  # what was read before the break still counts
            self._lines(lines, line_no + 1, builder)
            line_no += len(lines)
            self.broken = exc
            builder.reject(line_no + 1, "", f"truncated_input: {type(exc).__name__}")
            builder.lines += 1
        self._flush_pending(builder)
        if progress is not None:
            progress(builder.lines)
        yield builder.build()

    def read_lines(self, lines: list[str], first_line_no: int) -> Batch:
        """One batch from a chunk of a live stream. Fragments and type 24 parts waiting for
        their other half carry over to the next chunk (see `pending_first_line`)."""
        builder = self._builder()
        self._lines(lines, first_line_no, builder)
        return builder.build()

    def finish(self) -> Batch:
        """What is still waiting (unfinished fragments are rejected, lone type 24 parts
        reported), as at the end of a file."""
        builder = self._builder()
        self._flush_pending(builder)
        return builder.build()

    def release_stale(self, now_us: int) -> Batch:
        """Report type 24 part A messages whose part B can no longer pair (older than
        TYPE24_PAIRING_S before `now_us`), as the end of a file would."""
        builder = self._builder()
        for mmsi, (row, line_no, raw) in list(self._type24a.items()):
            if row["ts"] < now_us - TYPE24_PAIRING_S * 1_000_000:
                del self._type24a[mmsi]
                builder.report(row, line_no, raw)
        return builder.build()

    def pending_first_line(self) -> int | None:
        """The first line of anything still waiting for more lines: reading must resume
        there after a restart for nothing to be lost."""
        firsts = [p.lines[0] for p in self._multipart.values()]
        firsts += [line_no for _, line_no, _ in self._type24a.values()]
        return min(firsts) if firsts else None

    def _builder(self) -> _BatchBuilder:
        """A builder for the next batch; the chunk path's share the decoded static reports."""
        if len(self._statics) > STATICS_KEPT:
            self._statics.clear()
        return _BatchBuilder(self._statics if self.chunked else None)

    # -- a chunk of lines -----------------------------------------------------------
    def _lines(self, lines: list[str], first_line_no: int, out: _BatchBuilder) -> None:
        """Read lines numbered from first_line_no: the chunk path when it can, else line by line."""
        chunk = self.chunked and len(lines) >= max(1, self.min_chunk)
        scan = nmea_chunk.scan(lines, _CLOCK) if chunk else None
        if scan is None:
            for offset, line in enumerate(lines):
                self._line(line, first_line_no + offset, out)
            return
        out.lines += len(lines)
        out.blank_lines += scan.blank_lines
        texts = scan.texts
        fast_times: dict[int, int | None] = {}
        # Only what depends on order: pairing state, $PGHP times, lines of other shapes.
        for (i, kind, ok, ctime, trail, total, num, seq, channel, sentence,
             ctime2, trail2, sentence2, payload) in scan.events:
            line_no = first_line_no + i
            if kind == nmea_chunk.GENERAL:
                self._sentence(lines[i], line_no, out)
            elif kind == nmea_chunk.FAST:  # no tag-block time: as _fast_time
                fast_times[i] = self._carried_time(trail)
            elif kind == nmea_chunk.PAIR:  # both lines' times, in order: a $PGHP time goes once
                ts = ctime if ctime is not None else self._carried_time(trail)
                ts2 = ctime2 if ctime2 is not None else self._carried_time(trail2)
                self._pair(seq, channel, [sentence, sentence2], line_no, [texts[i], texts[i + 1]],
                           ts if ts is not None else ts2, payload, out)
            elif not ok:  # a fragment, as _common_fragment
                out.reject(line_no, texts[i], "bad_checksum")
            else:
                ts = ctime if ctime is not None else self._carried_time(trail)
                self._fragment(total, num, seq, channel, sentence, line_no, texts[i], ts, out)
        out.fast_blocks.append(scan.fast_rows(first_line_no, fast_times))

    def _carried_time(self, trailing_us: int | None) -> int | None:
        """_time_of for a line without tag-block time or prefix, its trailing time given."""
        if self._pghp_us is not None:
            value, self._pghp_us = self._pghp_us, None
            return value
        return trailing_us if trailing_us is not None else self.default_ts_us

    # -- one line -------------------------------------------------------------------
    def _line(self, line: str, line_no: int, out: _BatchBuilder) -> None:
        out.lines += 1
        self._sentence(line, line_no, out)

    def _sentence(self, line: str, line_no: int, out: _BatchBuilder) -> None:
        text = line.strip()
        if not text or text[0] == "#":  # blank line or comment
            out.blank_lines += 1
            return
        if self._common_line(text, line_no, out):
            return
        tags: dict[str, str] = {}
        # NMEA 4.0 tag blocks: \tag,tag*hh\ before the sentence (there may be several).
        while text.startswith("\\"):
            end = text.find("\\", 1)
            if end < 0:
                out.reject(line_no, text, "broken_tag_block")
                return
            tags.update(_parse_tag_block(text[1:end]))
            text = text[end + 1 :]
        start = min((i for i in (text.find("!"), text.find("$")) if i >= 0), default=-1)
        if start < 0:
            out.reject(line_no, line.rstrip("\r\n"), "no_sentence")
            return
        prefix = text[:start].strip().rstrip(",")
        text = text[start:]
        star = text.find("*")
        if star < 0 or len(text) < star + 3:
            out.reject(line_no, line.rstrip("\r\n"), "no_checksum")
            return
        body, given = text[1:star], text[star + 1 : star + 3]
        trailing = text[star + 3 :]
        fields = body.split(",")
        kind = fields[0]
        if body.startswith("PGHP"):
            self._pghp_us = _pghp_us(fields)
            out.other_by_kind["$PGHP"] += 1
            return
        if len(kind) != 5 or kind[2:] not in ("VDM", "VDO") or text[0] != "!":
            out.other_by_kind[text[0] + kind[:8]] += 1
            return
        ts = self._time_of(tags, prefix, trailing)
        raw = line.strip()
        if len(fields) != 7:
            out.reject(line_no, raw, "wrong_field_count")
            return
        _, total_s, num_s, seq, channel, payload, fill = fields
        if total_s == "1" and num_s == "1":
            if ais_fast.fast_path(payload, fill) and ais_fast.valid_chars(payload):
                out.fast(line_no, ts, body, given, payload, raw)
                return
            if not _checksum_ok(body, given):
                out.reject(line_no, raw, "bad_checksum")
                return
            self._decode([text[: star + 3]], [line_no], [raw], ts, out)
            return
        if not _checksum_ok(body, given):
            out.reject(line_no, raw, "bad_checksum")
            return
        self._fragment(total_s, num_s, seq, channel, text[: star + 3], line_no, raw, ts, out)

    def _common_line(self, text: str, line_no: int, out: _BatchBuilder) -> bool:
        """The common case in one regular expression: an optional tag block and one
        single-sentence position report of standard length. False: use the general path."""
        match = _COMMON.fullmatch(text)
        if match is None:
            return self._common_fragment(text, line_no, out)
        tag, payload, fill, given, trailing = match.groups()
        if not ais_fast.fast_path(payload, fill):
            return False
        ts = self._fast_time(tag, trailing)
        body = text[text.index("!") + 1 : match.start(4) - 1]
        out.fast(line_no, ts, body, given, payload, text)
        return True

    def _common_fragment(self, text: str, line_no: int, out: _BatchBuilder) -> bool:
        """A well-formed fragment of a multi-sentence message, tag block optional."""
        match = _FRAGMENT.fullmatch(text)
        if match is None:
            return False
        tag, sentence, body, _kind, total, num, seq, channel, given, trailing = match.groups()
        if not _checksum_ok(body, given):
            out.reject(line_no, text, "bad_checksum")
            return True
        ts = self._fast_time(tag, trailing)
        self._fragment(total, num, seq, channel, sentence, line_no, text, ts, out)
        return True

    def _fast_time(self, tag: str | None, trailing: str) -> int | None:
        """Reception time of a fast-path line: its tag block's c:, else as _time_of."""
        value = _tag_us(tag) if tag is not None else None
        return value if value is not None else self._time_of({}, "", trailing)

    def _time_of(self, tags: dict[str, str], prefix: str, trailing: str) -> int | None:
        if "c" in tags:
            value = epoch_us(tags["c"])
            if value is not None:
                return value
        if self._pghp_us is not None:
            value, self._pghp_us = self._pghp_us, None
            return value
        value = _trailing_us(trailing)
        if value is not None:
            return value
        if prefix:
            value = epoch_us(prefix) if prefix[0].isdigit() and prefix.isdigit() else None
            if value is None:
                value = _iso_us(prefix)
            if value is not None:
                return value
        return self.default_ts_us

    # -- multi-sentence messages ----------------------------------------------------
    def _fragment(
        self,
        total_s: str,
        num_s: str,
        seq: str,
        channel: str,
        sentence: str,
        line_no: int,
        raw: str,
        ts: int | None,
        out: _BatchBuilder,
    ) -> None:
        try:
            total, num = int(total_s), int(num_s)
        except ValueError:
            out.reject(line_no, raw, "bad_fragment_numbers")
            return
        if not 1 <= num <= total <= 9:
            out.reject(line_no, raw, "bad_fragment_numbers")
            return
        key = (seq, channel)
        pending = self._multipart.get(key)
        if num == 1:
            if pending is not None:  # a new message started before the old one finished
                self._abandon(key, out)
            self._multipart[key] = _Pending(total, [sentence], [line_no], [raw], ts, line_no)
            return
        if pending is None or pending.total != total or len(pending.sentences) != num - 1:
            if pending is not None:
                self._abandon(key, out)
            out.reject(line_no, raw, "orphan_fragment")
            return
        pending.sentences.append(sentence)
        pending.lines.append(line_no)
        pending.raws.append(raw)
        if pending.ts is None:
            pending.ts = ts
        if num == total:
            del self._multipart[key]
            out.fragments += total - 1
            self._decode(pending.sentences, pending.lines, pending.raws, pending.ts, out)
        self._abandon_stale(line_no, out)

    def _pair(
        self, seq: str, channel: str, sentences: list[str], line_no: int, raws: list[str],
        ts: int | None, payload: str, out: _BatchBuilder,
    ) -> None:
        """_fragment of part 1 (line_no) and part 2 (the next line) of a two-sentence message."""
        key = (seq, channel)
        if key in self._multipart:  # a new message started before the old one finished
            self._abandon(key, out)
        out.fragments += 1
        self._decode(sentences, [line_no, line_no + 1], raws, ts, out, payload)
        self._abandon_stale(line_no + 1, out)

    def _abandon_stale(self, line_no: int, out: _BatchBuilder) -> None:
        """Stale fragments elsewhere are abandoned lazily."""
        if len(self._multipart) > 8:
            for old_key, old in list(self._multipart.items()):
                if line_no - old.started > MULTIPART_MAX_LINES:
                    self._abandon(old_key, out)

    def _abandon(self, key: tuple[str, str], out: _BatchBuilder) -> None:
        pending = self._multipart.pop(key)
        for line_no, raw in zip(pending.lines, pending.raws):
            out.reject(line_no, raw, "incomplete_multipart")

    def _flush_pending(self, out: _BatchBuilder) -> None:
        for key in list(self._multipart):
            self._abandon(key, out)
        for row, line_no, raw in self._type24a.values():
            out.report(row, line_no, raw)
        self._type24a.clear()

    # -- decoding through pyais -----------------------------------------------------
    def _decode(
        self, sentences: list[str], lines: list[int], raws: list[str], ts: int | None,
        out: _BatchBuilder, payload: str | None = None,
    ) -> None:
        """One message from its sentences (`payload`: theirs joined, when known)."""
        raw = "\n".join(raws)
        line_no = lines[0]
        if ts is None:
            out.reject(line_no, raw, "missing_time")
            out.fragments -= len(lines) - 1
            for extra_line, extra_raw in zip(lines[1:], raws[1:]):
                out.reject(extra_line, extra_raw, "missing_time")
            return
        if payload is None:
            payload = "".join(s.split(",")[5] for s in sentences)
        if payload[:1] in ("5", "H"):
            fill = sentences[-1].split(",")[6].split("*")[0]
            fill_bits = int(fill) if fill.isdigit() else 0
            key, known = (payload, fill_bits), out.statics
            static = known.get(key) if known is not None else None
            if static is None:
                if known is not None and ais_fast.type5_fits(payload, fill_bits):
                    out.defer_static(key, ts, line_no, raw)  # decoded with the others at build()
                    return
                static = ais_fast.decode_static(payload, fill_bits)
                if static is not None and known is not None:
                    known[key] = static
            if static is not None:
                report = _static_row(static, ts)
                if report["msg_type"] == 24:
                    self._type24(report, line_no, raw, out)
                else:
                    out.report(report, line_no, raw)
                return
        try:
            msg = pyais.decode(*sentences, error_if_checksum_invalid=False)
            data = msg.asdict()
        except Exception as exc:  # pyais raises many types; each becomes a reject reason
            out.fragments -= len(lines) - 1
            reason = f"decode_error: {type(exc).__name__}"
            for each_line, each_raw in zip(lines, raws):
                out.reject(each_line, each_raw, reason)
            return
        msg_type = int(data.get("msg_type", 0))
        if msg_type in POSITION_TYPES:
            out.position(data, msg_type, ts, line_no, raw)
        if msg_type in REPORT_TYPES:
            report = _report_row(data, msg_type, ts)
            _raw_static_fields(report, payload, msg_type)
            if msg_type == 24:
                self._type24(report, line_no, raw, out)
            elif msg_type == 5:
                out.report(report, line_no, raw)
            else:  # type 19 carries both a position and static data
                out.report(report, line_no, raw, counted=False)
        if msg_type not in POSITION_TYPES and msg_type not in REPORT_TYPES:
            out.other_by_kind[f"type {msg_type}"] += 1

    def _type24(self, report: dict[str, Any], line_no: int, raw: str, out: _BatchBuilder) -> None:
        mmsi = report["mmsi"]
        if report.pop("_part") == 0:
            previous = self._type24a.pop(mmsi, None)
            if previous is not None:
                out.report(*previous)
            self._type24a[mmsi] = (report, line_no, raw)
            return
        part_a = self._type24a.get(mmsi)
        if part_a is not None and abs(report["ts"] - part_a[0]["ts"]) <= TYPE24_PAIRING_S * 1e6:
            del self._type24a[mmsi]
            report["name"] = part_a[0]["name"]
            out.fragments += 1
            out.report(report, line_no, part_a[2] + "\n" + raw)
            return
        out.report(report, line_no, raw)


def _static_row(static: dict[str, object], ts: int) -> dict[str, Any]:
    report = dict(static)  # the report's fields, and part
    report["ts"], report["_part"] = ts, report.pop("part")
    return report


def _raw_static_fields(report: dict[str, Any], payload: str, msg_type: int) -> None:
    """Re-read ship type and text fields from the bits, where pyais normalises them."""
    if report["ship_type"] is not None and msg_type in ais_fast.SHIP_TYPE_OFFSET:
        report["ship_type"] = ais_fast.unsigned_field(payload, ais_fast.SHIP_TYPE_OFFSET[msg_type], 8)
    part = report["_part"] if msg_type == 24 else None
    for name, (start, chars) in ais_fast.TEXT_FIELDS.get((msg_type, part), {}).items():
        report[name] = ais_fast.text_field(payload, start, chars)


def _checksum_ok(body: str, given: str) -> bool:
    try:
        return _xor(body) == int(given, 16)
    except ValueError:
        return False


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).replace("@", " ").strip()
    return text or None


def _report_row(data: dict[str, Any], msg_type: int, ts: int) -> dict[str, Any]:
    eta = None
    if msg_type == 5:
        month, day, hour, minute = (data.get(k) for k in ("month", "day", "hour", "minute"))
        if month and day:
            eta = f"{month:02d}-{day:02d}T{hour or 0:02d}:{minute or 0:02d}Z"
    ship_type = data.get("ship_type")
    return {
        "mmsi": int(data["mmsi"]),
        "ts": ts,
        "imo": data.get("imo"),
        "name": _text(data.get("shipname")),
        "callsign": _text(data.get("callsign")),
        "ship_type": int(ship_type) if ship_type is not None else None,
        "to_bow": data.get("to_bow"),
        "to_stern": data.get("to_stern"),
        "to_port": data.get("to_port"),
        "to_starboard": data.get("to_starboard"),
        "draught": data.get("draught"),
        "destination": _text(data.get("destination")),
        "eta": eta,
        "msg_type": msg_type,
        "_part": data.get("partno"),
    }


class _BatchBuilder:
    """Collects rows; decodes the fast-path payloads, and the type 5 reports the chunk path
    defers, in bulk at build()."""

    def __init__(self, statics: dict[tuple[str, int], dict[str, object]] | None = None) -> None:
        # decode_static results by (payload, fill), shared with the reader; None: each static
        # report is decoded at once (the per-line path)
        self.statics = statics
        self._deferred: list[tuple[int, tuple[str, int], int]] = []  # report index, key, time
        self.lines = 0
        self.blank_lines = 0
        self.fragments = 0
        self.other_by_kind: Counter[str] = Counter()
        self.rejects: dict[str, list[Any]] = {"source_line": [], "raw": [], "reason": []}
        self.fast_rows: dict[str, list[Any]] = {
            "source_line": [], "ts": [], "body": [], "given": [], "payload": [], "raw": []
        }
        self.fast_blocks: list[nmea_chunk.FastRows] = []  # from the chunk path
        self.positions: dict[str, list[Any]] = {name: [] for name in POSITION_STAGE.names}
        # (row, source line, raw, derived) per report; columns are made at build()
        self.reports: list[tuple[dict[str, Any], int, str, bool]] = []

    def reject(self, line_no: int, raw: str, reason: str) -> None:
        self.rejects["source_line"].append(line_no)
        self.rejects["raw"].append(raw)
        self.rejects["reason"].append(reason)

    def fast(self, line_no: int, ts: int | None, body: str, given: str, payload: str, raw: str) -> None:
        rows = self.fast_rows
        rows["source_line"].append(line_no)
        rows["ts"].append(ts)
        rows["body"].append(body)
        rows["given"].append(given)
        rows["payload"].append(payload)
        rows["raw"].append(raw)

    def position(self, data: dict[str, Any], msg_type: int, ts: int, line_no: int, raw: str) -> None:
        status = data.get("status")
        row = {
            "mmsi": int(data["mmsi"]),
            "ts": ts,
            "lat": data.get("lat"),
            "lon": data.get("lon"),
            "sog": data.get("speed"),
            "cog": data.get("course"),
            "heading": data.get("heading"),
            "nav_status": int(status) if status is not None else None,
            "msg_type": msg_type,
            "source_line": line_no,
            "raw": raw,
        }
        for name, value in row.items():
            self.positions[name].append(value)

    def report(self, row: dict[str, Any], line_no: int, raw: str, counted: bool = True) -> None:
        self.reports.append((row, line_no, raw, not counted))

    def defer_static(self, key: tuple[str, int], ts: int, line_no: int, raw: str) -> None:
        """A type 5 report to decode at build(), with all others, in its place."""
        self._deferred.append((len(self.reports), key, ts))
        self.reports.append(({}, line_no, raw, False))

    def _decode_deferred(self) -> None:
        if not self._deferred or self.statics is None:
            return
        statics = self.statics
        new = list(dict.fromkeys(key for _, key, _ in self._deferred if key not in statics))
        decoded = ais_fast.decode_static_many([p for p, _ in new], [f for _, f in new])
        for key, static in zip(new, decoded):
            assert static is not None, key  # each key passed type5_fits
            statics[key] = static
        for index, key, ts in self._deferred:
            _, line_no, raw, derived = self.reports[index]
            self.reports[index] = (_static_row(statics[key], ts), line_no, raw, derived)
        self._deferred = []

    def _report_columns(self) -> dict[str, list[Any]]:
        rows = [row for row, _, _, _ in self.reports]
        columns = {
            "source_line": [line_no for _, line_no, _, _ in self.reports],
            "raw": [raw for _, _, raw, _ in self.reports],
            "derived": [derived for _, _, _, derived in self.reports],
        }
        for name in REPORT_STAGE.names:
            if name not in columns:
                columns[name] = list(map(dict.get, rows, repeat(name)))
        return columns

    def _listed_fast(self) -> nmea_chunk.FastRows:
        """The fast rows added line by line, checksums computed in bulk."""
        rows = self.fast_rows
        bodies = rows["body"]
        joined = np.frombuffer("".join(bodies).encode("latin-1"), dtype=np.uint8)
        offsets = np.cumsum([0] + [len(b) for b in bodies[:-1]])
        computed = np.bitwise_xor.reduceat(joined, offsets)
        given = np.array([int(g, 16) if _is_hex(g) else -1 for g in rows["given"]])
        return nmea_chunk.FastRows(
            np.array(rows["source_line"], np.int64),
            np.array([0 if t is None else t for t in rows["ts"]], np.int64),
            np.array([t is not None for t in rows["ts"]], bool),
            computed == given,
            pa.array(rows["payload"], pa.string()),
            pa.array(rows["raw"], pa.string()),
        )

    def _fast_tables(self) -> pa.Table:
        blocks = [block for block in self.fast_blocks if len(block.source_line)]
        if self.fast_rows["payload"]:
            blocks.append(self._listed_fast())
        if not blocks:
            return POSITION_STAGE.empty_table()
        rows = nmea_chunk.FastRows.concat(blocks)
        ok = rows.ok
        keep = ok & rows.has_ts
        for i in np.nonzero(~keep)[0].tolist():
            reason = "bad_checksum" if not ok[i] else "missing_time"
            self.reject(int(rows.source_line[i]), rows.raw[i].as_py(), reason)
        if not keep.all():
            rows = rows.take(np.nonzero(keep)[0])
        decoded = ais_fast.decode_positions(rows.payload)
        nav = decoded["nav_status"]
        return pa.table(
            {
                "mmsi": decoded["mmsi"],
                "ts": pa.array(rows.ts, pa.int64()).cast(pa.timestamp("us")),
                "lat": decoded["lat"],
                "lon": decoded["lon"],
                "sog": decoded["sog"],
                "cog": decoded["cog"],
                "heading": decoded["heading"].astype(np.int32),
                "nav_status": pa.array(nav.astype(np.int32), mask=nav < 0),
                "msg_type": decoded["msg_type"].astype(np.int32),
                "source_line": rows.source_line,
                "raw": rows.raw,
            },
            schema=POSITION_STAGE,
        )

    def build(self) -> Batch:
        self._decode_deferred()
        fast = self._fast_tables()
        if self.positions["mmsi"]:  # decoded by pyais, after the bulk-decoded ones
            positions = pa.concat_tables([fast, _table(self.positions, POSITION_STAGE)])
        else:
            positions = fast
        return Batch(
            positions=positions,
            reports=_table(self._report_columns(), REPORT_STAGE),
            rejects=pa.table(self.rejects, schema=REJECT_STAGE),
            lines=self.lines,
            blank_lines=self.blank_lines,
            fragments=self.fragments,
            other_by_kind=self.other_by_kind,
        )


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


def _table(columns: dict[str, list[Any]], schema: pa.Schema) -> pa.Table:
    arrays = {}
    for name in schema.names:
        if name == "ts":  # epoch microseconds
            arrays[name] = pa.array(columns[name], pa.int64()).cast(pa.timestamp("us"))
        else:
            arrays[name] = pa.array(columns[name], schema.field(name).type)
    return pa.table(arrays, schema=schema)

"""Reader for raw NMEA 0183 AIS sentences (!xxVDM / !xxVDO, any talker).

Reception time comes, in order of preference, from an NMEA 4.0 tag block
(`\\c:epoch*hh\\`), a preceding Gatehouse `$PGHP` sentence, an epoch column after
the checksum, an epoch or ISO time before the sentence, or the caller's default.
Multi-sentence messages are reassembled; type 24 parts A and B are joined into one
vessel report. Single-sentence position reports are decoded in bulk (ais_fast),
everything else by pyais.
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

import numpy as np
import pyais
import pyarrow as pa

from shadowtrace.ingest import ais_fast
from shadowtrace.ingest.batch import POSITION_STAGE, REJECT_STAGE, REPORT_STAGE, Batch

EPOCH = dt.datetime(1970, 1, 1)
_MIN_S, _MAX_S = 946_684_800, 4_102_444_800  # plausible epoch seconds: 2000..2100
POSITION_TYPES = {1, 2, 3, 18, 19, 27}
REPORT_TYPES = {5, 19, 24}
TYPE24_PAIRING_S = 600  # parts A and B of one vessel further apart than this stay separate
MULTIPART_MAX_LINES = 50  # a fragment not completed within this many lines is abandoned


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
    _pghp_us: int | None = None
    _multipart: dict[tuple[str, str], _Pending] = field(default_factory=dict)
    _type24a: dict[int, tuple[dict[str, Any], int, str]] = field(default_factory=dict)

    def read(self, stream: TextIO, progress: Any = None) -> Iterator[Batch]:
        """Batches of staged rows; a stream that breaks off (truncated archive) ends the
        reading, keeps what came before, and leaves the cause in `self.broken`."""
        builder = _BatchBuilder()
        line_no = 0
        try:
            for line in stream:
                line_no += 1
                self._line(line, line_no, builder)
                if builder.lines >= self.batch_lines:
                    if progress is not None:
                        progress(builder.lines)
                    yield builder.build()
                    builder = _BatchBuilder()
        except (EOFError, OSError, zlib.error) as exc:
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
        builder = _BatchBuilder()
        for offset, line in enumerate(lines):
            self._line(line, first_line_no + offset, builder)
        return builder.build()

    def finish(self) -> Batch:
        """What is still waiting (unfinished fragments are rejected, lone type 24 parts
        reported), as at the end of a file."""
        builder = _BatchBuilder()
        self._flush_pending(builder)
        return builder.build()

    def release_stale(self, now_us: int) -> Batch:
        """Report type 24 part A messages whose part B can no longer pair (older than
        TYPE24_PAIRING_S before `now_us`), as the end of a file would."""
        builder = _BatchBuilder()
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

    # -- one line -------------------------------------------------------------------
    def _line(self, line: str, line_no: int, out: _BatchBuilder) -> None:
        out.lines += 1
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
        if tag is not None:
            stamp = _TAG_TIME.search(tag)
            if stamp is not None:
                value = epoch_us(stamp.group(1))
                if value is not None:
                    return value
        return self._time_of({}, "", trailing)

    def _time_of(self, tags: dict[str, str], prefix: str, trailing: str) -> int | None:
        if "c" in tags:
            value = epoch_us(tags["c"])
            if value is not None:
                return value
        if self._pghp_us is not None:
            value, self._pghp_us = self._pghp_us, None
            return value
        for item in trailing.split(","):
            item = item.strip()
            if item and item[0].isdigit():
                value = epoch_us(item)
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
        # stale fragments elsewhere are abandoned lazily
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
        out: _BatchBuilder,
    ) -> None:
        raw = "\n".join(raws)
        line_no = lines[0]
        if ts is None:
            out.reject(line_no, raw, "missing_time")
            out.fragments -= len(lines) - 1
            for extra_line, extra_raw in zip(lines[1:], raws[1:]):
                out.reject(extra_line, extra_raw, "missing_time")
            return
        payload = "".join(s.split(",")[5] for s in sentences)
        if payload[:1] in ("5", "H"):
            fill = sentences[-1].split(",")[6].split("*")[0]
            static = ais_fast.decode_static(payload, int(fill) if fill.isdigit() else 0)
            if static is not None:
                report = {k: static[k] for k in _STATIC_KEYS}
                report["ts"], report["_part"] = ts, static["part"]
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


_STATIC_KEYS = (
    "mmsi", "imo", "name", "callsign", "ship_type", "to_bow", "to_stern", "to_port",
    "to_starboard", "draught", "destination", "eta", "msg_type",
)


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
    """Collects rows column-wise; decodes the fast-path payloads in bulk at build()."""

    def __init__(self) -> None:
        self.lines = 0
        self.blank_lines = 0
        self.fragments = 0
        self.other_by_kind: Counter[str] = Counter()
        self.rejects: dict[str, list[Any]] = {"source_line": [], "raw": [], "reason": []}
        self.fast_rows: dict[str, list[Any]] = {
            "source_line": [], "ts": [], "body": [], "given": [], "payload": [], "raw": []
        }
        self.positions: dict[str, list[Any]] = {name: [] for name in POSITION_STAGE.names}
        self.reports: dict[str, list[Any]] = {name: [] for name in REPORT_STAGE.names}
        self._report_columns = list(self.reports.items())

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
        extra = {"source_line": line_no, "raw": raw, "derived": not counted}
        for name, column in self._report_columns:
            column.append(extra[name] if name in extra else row.get(name))

    def _fast_tables(self) -> pa.Table:
        rows = self.fast_rows
        if not rows["payload"]:
            return POSITION_STAGE.empty_table()
        bodies = rows["body"]
        joined = np.frombuffer("".join(bodies).encode("latin-1"), dtype=np.uint8)
        offsets = np.cumsum([0] + [len(b) for b in bodies[:-1]])
        computed = np.bitwise_xor.reduceat(joined, offsets)
        given = np.array([int(g, 16) if _is_hex(g) else -1 for g in rows["given"]])
        ok = computed == given
        no_time = np.array([t is None for t in rows["ts"]])
        keep = ok & ~no_time
        for i in np.nonzero(~keep)[0]:
            self.reject(rows["source_line"][i], rows["raw"][i], "bad_checksum" if not ok[i] else "missing_time")
        idx = np.nonzero(keep)[0]
        decoded = ais_fast.decode_positions([rows["payload"][i] for i in idx])
        nav = decoded["nav_status"]
        return pa.table(
            {
                "mmsi": decoded["mmsi"],
                "ts": pa.array(np.array([rows["ts"][i] for i in idx], dtype=np.int64), pa.int64()).cast(pa.timestamp("us")),
                "lat": decoded["lat"],
                "lon": decoded["lon"],
                "sog": decoded["sog"],
                "cog": decoded["cog"],
                "heading": decoded["heading"].astype(np.int32),
                "nav_status": pa.array(nav.astype(np.int32), mask=nav < 0),
                "msg_type": decoded["msg_type"].astype(np.int32),
                "source_line": np.array([rows["source_line"][i] for i in idx], dtype=np.int64),
                "raw": pa.array([rows["raw"][i] for i in idx], pa.string()),
            },
            schema=POSITION_STAGE,
        )

    def build(self) -> Batch:
        fast = self._fast_tables()
        slow_positions = _table(self.positions, POSITION_STAGE)
        positions = pa.concat_tables([fast, slow_positions]) if slow_positions.num_rows else fast
        return Batch(
            positions=positions,
            reports=_table(self.reports, REPORT_STAGE),
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

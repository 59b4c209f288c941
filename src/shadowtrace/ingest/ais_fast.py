"""Vectorised decoding of the common single-sentence position reports.

Position reports (types 1, 2, 3, 18 and 27) are most of any AIS feed. Decoding them
one by one in Python caps ingest far below what DuckDB can store, so a batch of
payloads of the standard length is decoded at once with numpy. Every other message
(and any payload of unusual length) goes through pyais. A property test checks that
both give the same values.

Static reports (types 5 and 24) are decoded one at a time from one big integer
(decode_static) or many at once from six-bit value matrices (decode_static_many), with
the same results.
"""

from __future__ import annotations

import base64
import re

import numpy as np
import pyarrow as pa

# Payload lengths (6-bit characters) of the standard single-sentence messages.
FAST_LENGTHS = {"1": 28, "2": 28, "3": 28, "B": 28, "K": 16}


def fast_path(payload: str, fill: str) -> bool:
    """True when the payload can be decoded by decode_positions."""
    return bool(payload) and FAST_LENGTHS.get(payload[0]) == len(payload) and fill == "0"


def _six(raw: np.ndarray) -> np.ndarray:
    """Six-bit values (int64) of an (n, chars) matrix of armouring characters."""
    values = raw.astype(np.int64) - 48
    return np.where(values > 40, values - 8, values)


def string_bytes(strings: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of an Arrow string array and each string's start in them."""
    if strings.type != pa.string():
        strings = strings.cast(pa.string())
    n = len(strings)
    _, offsets, data = strings.buffers()
    starts = np.frombuffer(offsets, np.int32, count=n + 1, offset=4 * strings.offset)
    chars = np.frombuffer(data, np.uint8) if data is not None else np.zeros(0, np.uint8)
    return chars, starts.astype(np.int64)


def substrings(data: np.ndarray, begin: np.ndarray, end: np.ndarray) -> pa.StringArray:
    """data[begin[i]:end[i]] for every i, as an Arrow string array (ASCII bytes)."""
    lengths = end - begin
    offsets = np.zeros(len(begin) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    index = np.repeat(begin - offsets[:-1], lengths) + np.arange(offsets[-1])
    return pa.StringArray.from_buffers(
        len(begin), pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(data[index]))
    )


def _field(values: np.ndarray, start: int, width: int, signed: bool = False) -> np.ndarray:
    """Bits start..start+width-1 of each row of six-bit values: a field of up to 30 bits
    spans at most six characters, so it is those characters' value, shifted and masked."""
    first, last = start // 6, (start + width - 1) // 6
    value = values[:, first].copy()
    for char in range(first + 1, last + 1):
        value = (value << 6) | values[:, char]
    value = (value >> (6 * (last + 1) - start - width)) & ((1 << width) - 1)
    if signed:
        value = np.where(value >= (1 << (width - 1)), value - (1 << width), value)
    return value


_VALID_PAYLOAD = re.compile(r"[0-W`-w]*").fullmatch


def valid_chars(payload: str) -> bool:
    """Every character is a legal six-bit armouring character."""
    return _VALID_PAYLOAD(payload) is not None


def decode_positions(payloads: list[str] | pa.Array) -> dict[str, np.ndarray]:
    """Decode fast-path payloads (a list or an Arrow string array); returns column arrays
    in input order.

    Values are the raw AIS values scaled to units (degrees, knots); the
    "not available" codes are left for the loader to turn into NULL.
    """
    if not isinstance(payloads, pa.Array):
        payloads = pa.array(payloads, pa.string())
    n = len(payloads)
    # Characters straight from the Arrow buffers: no Python string per row.
    data, starts = string_bytes(payloads)
    firsts = data[starts[:-1]] if n else np.zeros(0, np.uint8)
    out = {
        "msg_type": np.zeros(n, np.int16),
        "mmsi": np.zeros(n, np.int64),
        "lat": np.zeros(n, np.float64),
        "lon": np.zeros(n, np.float64),
        "sog": np.zeros(n, np.float64),
        "cog": np.zeros(n, np.float64),
        "heading": np.full(n, 511, np.int16),
        "nav_status": np.full(n, -1, np.int16),  # -1: the message has no status field
    }
    for kind in ("1", "2", "3", "B", "K"):
        idx = np.nonzero(firsts == ord(kind))[0]
        if idx.size == 0:
            continue
        length = FAST_LENGTHS[kind]
        values = _six(data[starts[idx, None] + np.arange(length)])
        out["msg_type"][idx] = _field(values, 0, 6)
        out["mmsi"][idx] = _field(values, 8, 30)
        if kind in "123":
            out["nav_status"][idx] = _field(values, 38, 4)
            out["sog"][idx] = _field(values, 50, 10) / 10.0
            out["lon"][idx] = _field(values, 61, 28, signed=True) / 600000.0
            out["lat"][idx] = _field(values, 89, 27, signed=True) / 600000.0
            out["cog"][idx] = _field(values, 116, 12) / 10.0
            out["heading"][idx] = _field(values, 128, 9)
        elif kind == "B":
            out["sog"][idx] = _field(values, 46, 10) / 10.0
            out["lon"][idx] = _field(values, 57, 28, signed=True) / 600000.0
            out["lat"][idx] = _field(values, 85, 27, signed=True) / 600000.0
            out["cog"][idx] = _field(values, 112, 12) / 10.0
            out["heading"][idx] = _field(values, 124, 9)
        else:  # type 27, long-range broadcast: coarse units, no heading
            out["nav_status"][idx] = _field(values, 40, 4)
            out["lon"][idx] = _field(values, 44, 18, signed=True) / 600.0
            out["lat"][idx] = _field(values, 62, 17, signed=True) / 600.0
            out["sog"][idx] = _field(values, 79, 6)
            out["cog"][idx] = _field(values, 85, 9)
    return out


def unsigned_field(payload: str, start: int, width: int) -> int | None:
    """One unsigned field of an armoured payload, None when the payload is too short."""
    nbits = 6 * len(payload)
    if start + width > nbits or not valid_chars(payload):
        return None
    return (_payload_int(payload) >> (nbits - start - width)) & ((1 << width) - 1)


# Bit offset of the 8-bit ship type field; pyais maps codes it does not know to 0,
# so the raw value is read here to keep reserved codes (e.g. 38) as broadcast.
SHIP_TYPE_OFFSET = {5: 232, 19: 263, 24: 40}

_SIXBIT_ASCII = "@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_ !\"#$%&'()*+,-./0123456789:;<=>?"

# Text fields (bit offset, characters) of the static messages, by type (24: by part).
TEXT_FIELDS: dict[tuple[int, int | None], dict[str, tuple[int, int]]] = {
    (5, None): {"callsign": (70, 7), "name": (112, 20), "destination": (302, 20)},
    (19, None): {"name": (143, 20)},
    (24, 0): {"name": (40, 20)},
    (24, 1): {"callsign": (90, 7)},
}


def text_field(payload: str, start: int, chars: int) -> str | None:
    """A six-bit text field, ended by the first '@' (as gpsd reads it) or by the end of a
    short payload, trimmed."""
    nbits = 6 * len(payload)
    chars = min(chars, (nbits - start) // 6)
    if chars <= 0 or not valid_chars(payload):
        return None
    return _text(_payload_int(payload), nbits, start, chars)


# --- static and voyage reports (types 5 and 24) ------------------------------------
# One payload becomes one Python integer (via octal: two octal digits per six-bit
# character, converted in C), so each field is a shift and a mask.
_OCTAL = str.maketrans(
    {chr(c): f"{(c - 48 if c - 48 <= 40 else c - 56):02o}" for c in [*range(48, 88), *range(96, 120)]}
)


def _payload_int(payload: str) -> int:
    return int(payload.translate(_OCTAL), 8)


# base64 also packs six bits a character: encode the field's bytes, then rename the letters.
_B64_TO_SIXBIT = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", _SIXBIT_ASCII
)


def _text(value: int, nbits: int, start: int, chars: int) -> str | None:
    field = (value >> (nbits - start - 6 * chars)) & ((1 << (6 * chars)) - 1)
    padded = (chars + 3) // 4 * 4  # whole 24-bit groups
    field <<= 6 * (padded - chars)
    letters = base64.b64encode(field.to_bytes(padded * 3 // 4, "big")).decode("ascii")
    text = letters[:chars].translate(_B64_TO_SIXBIT)
    return text.split("@", 1)[0].strip() or None


def decode_static(payload: str, fill: int) -> dict[str, object] | None:
    """Decode a type 5 or type 24 payload; None when it is not one of standard length."""
    if not payload or not valid_chars(payload):
        return None
    nbits = 6 * len(payload)
    value = _payload_int(payload)

    def field(start: int, width: int) -> int:
        return (value >> (nbits - start - width)) & ((1 << width) - 1)

    kind = payload[0]
    if kind == "5" and nbits - fill >= 424:
        month, day, hour, minute = field(274, 4), field(278, 5), field(283, 5), field(288, 6)
        return {
            "msg_type": 5, "mmsi": field(8, 30), "imo": field(40, 30),
            "callsign": _text(value, nbits, 70, 7), "name": _text(value, nbits, 112, 20),
            "ship_type": field(232, 8), "to_bow": field(240, 9), "to_stern": field(249, 9),
            "to_port": field(258, 6), "to_starboard": field(264, 6),
            "eta": f"{month:02d}-{day:02d}T{hour:02d}:{minute:02d}Z" if month and day else None,
            "draught": field(294, 8) / 10.0, "destination": _text(value, nbits, 302, 20),
            "part": None,
        }
    if kind == "H" and nbits - fill >= 160:
        part = field(38, 2)
        base = {"msg_type": 24, "mmsi": field(8, 30), "part": part, "imo": None, "eta": None,
                "draught": None, "destination": None}
        if part == 0:
            return {**base, "name": _text(value, nbits, 40, 20), "callsign": None,
                    "ship_type": None, "to_bow": None, "to_stern": None, "to_port": None,
                    "to_starboard": None}
        if part == 1 and nbits - fill >= 162:
            return {**base, "name": None, "ship_type": field(40, 8),
                    "callsign": _text(value, nbits, 90, 7), "to_bow": field(132, 9),
                    "to_stern": field(141, 9), "to_port": field(150, 6),
                    "to_starboard": field(156, 6)}
    return None


# --- many static reports at once ----------------------------------------------------
_SIXBIT_CODES = np.frombuffer(_SIXBIT_ASCII.encode("ascii"), np.uint8)
_STATIC_CHARS = {"5": 71, "H": 27}  # characters holding every field read: bits 422 and 162
ETA_FIELDS = ((274, 4), (278, 5), (283, 5), (288, 6))  # type 5: month, day, hour, minute


def _sixbit(payloads: list[str], chars: int) -> np.ndarray:
    """Six-bit values of the first `chars` characters of each payload."""
    raw = np.frombuffer("".join(p[:chars] for p in payloads).encode("ascii"), np.uint8)
    return _six(raw.reshape(-1, chars))


def _texts(values: np.ndarray, start: int, chars: int) -> list[str | None]:
    """A six-bit text field of every row, cut at the first '@' and trimmed as `_text` does
    (the six-bit alphabet has no whitespace but the space)."""
    first, shift = divmod(start, 6)
    letters = values[:, first : first + chars]
    if shift:
        after = values[:, first + 1 : first + chars + 1]
        letters = ((letters << 6 | after) >> (6 - shift)) & 63
    codes = _SIXBIT_CODES[letters]
    # The text runs from the first to the last non-space character before the first '@'.
    shown = (np.cumsum(codes == ord("@"), axis=1) == 0) & (codes != ord(" "))
    column = np.arange(chars)
    begin = np.where(shown, column, chars).min(axis=1)
    end = np.maximum(begin, np.where(shown, column + 1, 0).max(axis=1))
    row = np.arange(len(codes)) * chars
    texts = substrings(codes.ravel(), row + begin, row + end).to_pylist()
    return [text or None for text in texts]


def type5_fits(payload: str, fill: int) -> bool:
    """decode_static reads this payload as a type 5 report (it does not return None)."""
    return payload[:1] == "5" and 6 * len(payload) - fill >= 424 and valid_chars(payload)


def decode_static_many(payloads: list[str], fills: list[int]) -> list[dict[str, object] | None]:
    """decode_static of each (payload, fill), the fields cut for all messages of a type at
    once instead of from one big integer per message: same values, same None cases."""
    out: list[dict[str, object] | None] = [None] * len(payloads)
    rows: dict[str, list[int]] = {"5": [], "H": []}
    for i, (payload, fill) in enumerate(zip(payloads, fills)):
        if type5_fits(payload, fill):
            rows["5"].append(i)
        elif payload[:1] == "H" and 6 * len(payload) - fill >= 160 and valid_chars(payload):
            rows["H"].append(i)
    if rows["5"]:
        _fill_type5(out, rows["5"], payloads)
    if rows["H"]:
        _fill_type24(out, rows["H"], payloads, fills)
    return out


def _ints(values: np.ndarray, fields: dict[str, tuple[int, int]]) -> dict[str, list[int]]:
    return {name: _field(values, start, width).tolist() for name, (start, width) in fields.items()}


def _rows(out: list[dict[str, object] | None], rows: list[int], columns: dict[str, list]) -> None:
    keys = tuple(columns)
    for i, row in zip(rows, zip(*columns.values())):
        out[i] = dict(zip(keys, row))


def _fill_type5(out: list[dict[str, object] | None], rows: list[int], payloads: list[str]) -> None:
    values = _sixbit([payloads[i] for i in rows], _STATIC_CHARS["5"])
    n = len(rows)
    ints = _ints(values, {
        "mmsi": (8, 30), "imo": (40, 30), "ship_type": (232, 8), "to_bow": (240, 9),
        "to_stern": (249, 9), "to_port": (258, 6), "to_starboard": (264, 6),
    })
    when = (_field(values, start, width).tolist() for start, width in ETA_FIELDS)
    eta = [
        f"{month:02d}-{day:02d}T{hour:02d}:{minute:02d}Z" if month and day else None
        for month, day, hour, minute in zip(*when)
    ]
    _rows(out, rows, {
        "msg_type": [5] * n, **ints, "callsign": _texts(values, 70, 7),
        "name": _texts(values, 112, 20), "eta": eta,
        "draught": (_field(values, 294, 8) / 10.0).tolist(),
        "destination": _texts(values, 302, 20), "part": [None] * n,
    })


def _fill_type24(
    out: list[dict[str, object] | None], rows: list[int], payloads: list[str], fills: list[int]
) -> None:
    values = _sixbit([payloads[i] for i in rows], _STATIC_CHARS["H"])
    ints = _ints(values, {
        "mmsi": (8, 30), "part": (38, 2), "ship_type": (40, 8), "to_bow": (132, 9),
        "to_stern": (141, 9), "to_port": (150, 6), "to_starboard": (156, 6),
    })
    name, callsign = _texts(values, 40, 20), _texts(values, 90, 7)
    for j, i in enumerate(rows):
        part = ints["part"][j]
        base = {"msg_type": 24, "mmsi": ints["mmsi"][j], "part": part, "imo": None, "eta": None,
                "draught": None, "destination": None}
        if part == 0:
            out[i] = {**base, "name": name[j], "callsign": None, "ship_type": None,
                      "to_bow": None, "to_stern": None, "to_port": None, "to_starboard": None}
        elif part == 1 and 6 * len(payloads[i]) - fills[i] >= 162:
            out[i] = {**base, "name": None, "ship_type": ints["ship_type"][j],
                      "callsign": callsign[j], "to_bow": ints["to_bow"][j],
                      "to_stern": ints["to_stern"][j], "to_port": ints["to_port"][j],
                      "to_starboard": ints["to_starboard"][j]}

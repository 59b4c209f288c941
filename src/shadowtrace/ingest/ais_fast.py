"""Vectorised decoding of the common single-sentence position reports.

Position reports (types 1, 2, 3, 18 and 27) are most of any AIS feed. Decoding them
one by one in Python caps ingest far below what DuckDB can store, so a batch of
payloads of the standard length is decoded at once with numpy. Every other message
(and any payload of unusual length) goes through pyais. A property test checks that
both give the same values.
"""

from __future__ import annotations

import base64
import re

import numpy as np

# Payload lengths (6-bit characters) of the standard single-sentence messages.
FAST_LENGTHS = {"1": 28, "2": 28, "3": 28, "B": 28, "K": 16}


def fast_path(payload: str, fill: str) -> bool:
    """True when the payload can be decoded by decode_positions."""
    return bool(payload) and FAST_LENGTHS.get(payload[0]) == len(payload) and fill == "0"


def _bits(payloads: list[str], length: int) -> np.ndarray:
    """(n, length*6) uint8 bit matrix of equally long armoured payloads."""
    raw = np.frombuffer("".join(payloads).encode("ascii"), dtype=np.uint8).reshape(-1, length)
    values = raw - 48
    values = np.where(values > 40, values - 8, values).astype(np.uint8)
    bits = np.unpackbits(values[:, :, None], axis=2)[:, :, 2:]  # keep the low six bits
    return bits.reshape(len(payloads), length * 6)


def _field(bits: np.ndarray, start: int, width: int, signed: bool = False) -> np.ndarray:
    weights = (1 << np.arange(width - 1, -1, -1, dtype=np.int64)).astype(np.int64)
    value = bits[:, start : start + width].astype(np.int64) @ weights
    if signed:
        value = np.where(value >= (1 << (width - 1)), value - (1 << width), value)
    return value


_VALID_PAYLOAD = re.compile(r"[0-W`-w]*").fullmatch


def valid_chars(payload: str) -> bool:
    """Every character is a legal six-bit armouring character."""
    return _VALID_PAYLOAD(payload) is not None


def decode_positions(payloads: list[str]) -> dict[str, np.ndarray]:
    """Decode fast-path payloads; returns column arrays in input order.

    Values are the raw AIS values scaled to units (degrees, knots); the
    "not available" codes are left for the loader to turn into NULL.
    """
    n = len(payloads)
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
    kinds = np.array([p[0] for p in payloads]) if n else np.array([], dtype="<U1")
    for kind in ("1", "2", "3", "B", "K"):
        idx = np.nonzero(kinds == kind)[0]
        if idx.size == 0:
            continue
        bits = _bits([payloads[i] for i in idx], FAST_LENGTHS[kind])
        out["msg_type"][idx] = _field(bits, 0, 6)
        out["mmsi"][idx] = _field(bits, 8, 30)
        if kind in "123":
            out["nav_status"][idx] = _field(bits, 38, 4)
            out["sog"][idx] = _field(bits, 50, 10) / 10.0
            out["lon"][idx] = _field(bits, 61, 28, signed=True) / 600000.0
            out["lat"][idx] = _field(bits, 89, 27, signed=True) / 600000.0
            out["cog"][idx] = _field(bits, 116, 12) / 10.0
            out["heading"][idx] = _field(bits, 128, 9)
        elif kind == "B":
            out["sog"][idx] = _field(bits, 46, 10) / 10.0
            out["lon"][idx] = _field(bits, 57, 28, signed=True) / 600000.0
            out["lat"][idx] = _field(bits, 85, 27, signed=True) / 600000.0
            out["cog"][idx] = _field(bits, 112, 12) / 10.0
            out["heading"][idx] = _field(bits, 124, 9)
        else:  # type 27, long-range broadcast: coarse units, no heading
            out["nav_status"][idx] = _field(bits, 40, 4)
            out["lon"][idx] = _field(bits, 44, 18, signed=True) / 600.0
            out["lat"][idx] = _field(bits, 62, 17, signed=True) / 600.0
            out["sog"][idx] = _field(bits, 79, 6)
            out["cog"][idx] = _field(bits, 85, 9)
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

"""Vectorised decoding of the common single-sentence position reports.

Position reports (types 1, 2, 3, 18 and 27) are most of any AIS feed. Decoding them
one by one in Python caps ingest far below what DuckDB can store, so a batch of
payloads of the standard length is decoded at once with numpy. Every other message
(and any payload of unusual length) goes through pyais. A property test checks that
both give the same values.
"""

from __future__ import annotations

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


def valid_chars(payload: str) -> bool:
    return all(48 <= ord(c) <= 87 or 96 <= ord(c) <= 119 for c in payload)


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
    first, last = start // 6, (start + width - 1) // 6
    if last >= len(payload):
        return None
    value = 0
    for char in payload[first : last + 1]:
        code = ord(char) - 48
        value = (value << 6) | (code - 8 if code > 40 else code)
    shift = (last + 1) * 6 - (start + width)
    return (value >> shift) & ((1 << width) - 1)


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
    """A six-bit text field, ended by the first '@' (as gpsd reads it), trimmed."""
    out = []
    for i in range(chars):
        code = unsigned_field(payload, start + 6 * i, 6)
        if code is None or code == 0:
            break
        out.append(_SIXBIT_ASCII[code])
    text = "".join(out).strip()
    return text or None

"""NMEA 0183 output: AIS message 1/3 and 5 payloads bit-packed with numpy.

Every line carries an NMEA 4.0 tag block ``\\s:sim,c:<epoch>*hh\\``. Position lines have a fixed
width (71 bytes), so a batch is one uint8 matrix. Message 5 payloads depend only on the static
record, so they are packed once for all records (pyais is the reference in the tests).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from shadowtrace.simulate.identity import Static
from shadowtrace.simulate.render import WordTable, digits

_HEX = np.frombuffer(b"0123456789ABCDEF", np.uint8)
# Bit width of each message 1 field, in order; 168 bits = 28 six-bit characters.
_TYPE1_BITS = (6, 2, 30, 4, 8, 10, 1, 28, 27, 12, 9, 6, 2, 3, 1, 19)
_TAG_PREFIX = b"s:sim,c:"
_WORD = 42  # bits per accumulator word: 7 characters, fits uint64 with room to spare


def _xor(b: bytes) -> int:
    x = 0
    for ch in b:
        x ^= ch
    return x


def _hex2(x: np.ndarray) -> np.ndarray:
    return np.stack([_HEX[x >> 4], _HEX[x & 15]], axis=1)


def sixbit(values: list[np.ndarray], widths: tuple[int, ...]) -> np.ndarray:
    """Pack integer fields (two's complement for negatives) MSB-first and armour them as
    six-bit ASCII: (n, total_bits / 6) payload characters."""
    total = sum(widths)
    n = len(values[0])
    acc = [np.zeros(n, np.uint64) for _ in range(-(-total // _WORD))]
    pos = 0
    for v, w in zip(values, widths):
        v = np.asarray(v).astype(np.int64).astype(np.uint64) & np.uint64((1 << w) - 1)
        a = pos
        while a < pos + w:  # split the field where it crosses an accumulator word
            j = a // _WORD
            b = min(pos + w, (j + 1) * _WORD)
            part = (v >> np.uint64(pos + w - b)) & np.uint64((1 << (b - a)) - 1)
            acc[j] |= part << np.uint64((j + 1) * _WORD - b)
            a = b
        pos += w
    chars = []
    for j, word in enumerate(acc):
        for k in range(_WORD // 6):
            if (j * _WORD + 6 * k) < total:
                chars.append((word >> np.uint64(_WORD - 6 - 6 * k)) & np.uint64(63))
    c = np.stack(chars, axis=1).astype(np.uint8)
    return np.where(c < 40, c + 48, c + 56).astype(np.uint8)


def type1_payload(msg_type: np.ndarray, mmsi: np.ndarray, nav: np.ndarray, sog: np.ndarray,
                  lon: np.ndarray, lat: np.ndarray, cog: np.ndarray, heading: np.ndarray,
                  second: np.ndarray) -> np.ndarray:
    """(n, 28) payload characters of AIS position reports (ROT not available, no RAIM)."""
    n = len(mmsi)
    zero = np.zeros(n, np.int64)
    values = [
        msg_type, zero, mmsi, nav, np.full(n, -128), np.minimum(np.rint(sog * 10), 1022),
        zero, np.rint(lon * 600_000), np.rint(lat * 600_000), np.rint(cog * 10) % 3600,
        heading, second, zero, zero, zero, zero,
    ]
    return sixbit(values, _TYPE1_BITS)


def tag_blocks(t: np.ndarray) -> np.ndarray:
    """(n, 23) ``\\s:sim,c:<10-digit epoch>*hh\\`` tag blocks."""
    n = len(t)
    d = digits(t, 10)
    x = np.bitwise_xor.reduce(d, axis=1) ^ _xor(_TAG_PREFIX)
    out = np.empty((n, 23), np.uint8)
    out[:, 0] = 92
    out[:, 1:9] = np.frombuffer(_TAG_PREFIX, np.uint8)
    out[:, 9:19] = d
    out[:, 19] = 42
    out[:, 20:22] = _hex2(x)
    out[:, 22] = 92
    return out


def position_lines(t: np.ndarray, channel: np.ndarray, payload: np.ndarray) -> np.ndarray:
    """(n, 72) complete tagged ``!AIVDM`` lines with checksums and newlines (last byte NUL)."""
    n = len(t)
    chan = np.where(channel, 66, 65).astype(np.uint8)  # 'B' / 'A'
    x = np.bitwise_xor.reduce(payload, axis=1) ^ _xor(b"AIVDM,1,1,,,,0") ^ chan
    out = np.zeros((n, 72), np.uint8)
    out[:, :23] = tag_blocks(t)
    out[:, 23:35] = np.frombuffer(b"!AIVDM,1,1,,", np.uint8)
    out[:, 35] = chan
    out[:, 36] = 44
    out[:, 37:65] = payload
    out[:, 65:68] = np.frombuffer(b",0*", np.uint8)
    out[:, 68:70] = _hex2(x)
    out[:, 70] = 10
    return out


_TYPE5_BITS = (6, 2, 30, 2, 30, 42, 120, 8, 9, 9, 6, 6, 4, 4, 5, 5, 6, 8, 120, 1, 1, 2)


def _text_bits(texts: list[str], chars: int) -> list[np.ndarray]:
    """AIS six-bit text: '@'-padded, upper case; one int array per character."""
    codes = np.zeros((len(texts), chars), np.int64)
    for i, text in enumerate(texts):
        raw = np.frombuffer(text.upper()[:chars].encode("ascii", "replace"), np.uint8).astype(np.int64)
        codes[i, : raw.size] = np.where(raw >= 64, raw - 64, raw) & 63
    return [codes[:, k] for k in range(chars)]


def type5_payloads(statics: list[Static]) -> list[str]:
    """Message 5 payloads (71 characters, 2 fill bits) of every static record at once."""
    n = len(statics)
    col = lambda f: np.array([f(s) for s in statics], np.int64)  # noqa: E731
    eta = [dt.datetime.fromtimestamp(s.eta, dt.timezone.utc) if s.eta is not None else None for s in statics]
    values = [np.full(n, 5), np.zeros(n), col(lambda s: s.mmsi), np.zeros(n), col(lambda s: s.imo or 0)]
    values += _text_bits([s.callsign for s in statics], 7) + _text_bits([s.name for s in statics], 20)
    values += [col(lambda s: s.ship_type), col(lambda s: s.a), col(lambda s: s.b), col(lambda s: s.c),
               col(lambda s: s.d), np.ones(n),
               np.array([e.month if e else 0 for e in eta]), np.array([e.day if e else 0 for e in eta]),
               np.array([e.hour if e else 24 for e in eta]), np.array([e.minute if e else 60 for e in eta]),
               col(lambda s: int(round(s.draught * 10))).clip(0, 255)]
    values += _text_bits([s.destination for s in statics], 20) + [np.zeros(n), np.zeros(n), np.zeros(n)]
    # Text fields are one 6-bit value per character.
    widths = _TYPE5_BITS[:5] + (6,) * 27 + _TYPE5_BITS[7:18] + (6,) * 20 + _TYPE5_BITS[19:]
    chars = sixbit(values, widths)
    return [bytes(r).decode() for r in chars]


def _sentence(body: str) -> str:
    return f"!{body}*{_xor(body.encode()):02X}"


class Type5Cache:
    """Message 5 sentence pairs for every static record, rendered once with sequence id 0;
    per report only the sequence digit and the checksum are patched (both vectorised)."""

    SEQ_COL = 11  # "!AIVDM,2,1," is 11 characters, the sequence id follows

    def __init__(self, statics: list[Static]):
        payloads = type5_payloads(statics)
        self.parts = []
        for frag, lo, hi, fill in ((1, 0, 60, 0), (2, 60, 71, 2)):
            lines = [_sentence(f"AIVDM,2,{frag},0,A,{p[lo:hi]},{fill}") + "\n" for p in payloads]
            # XOR of each body without its sequence digit ('0' = 48).
            base = np.array([int(ln[-3:-1], 16) ^ 48 for ln in lines], np.uint8)
            ends = np.array([len(ln) for ln in lines], np.int64)
            self.parts.append((WordTable(lines).bytes, base, ends))

    def lines(self, t: np.ndarray, sid: np.ndarray, seq: np.ndarray) -> np.ndarray:
        """(n, w) bytes: tag block + first sentence + newline + tag block + second + newline."""
        tb = tag_blocks(t)
        digit = (48 + seq).astype(np.uint8)
        rows = np.arange(len(sid))
        blocks = []
        for table, base, ends in self.parts:
            mat = table[sid]
            mat[:, self.SEQ_COL] = digit
            x = base[sid] ^ digit
            end = ends[sid]
            mat[rows, end - 3] = _HEX[x >> 4]
            mat[rows, end - 2] = _HEX[x & 15]
            blocks += [tb, mat]
        return np.hstack(blocks)

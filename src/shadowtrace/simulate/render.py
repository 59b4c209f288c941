"""Vectorised text rendering: every row is laid out in fixed-width fields padded with NUL
bytes, then all NULs are dropped in one pass. Fields are whole 8-byte words looked up in
tables (numbers by value, vessel text by static record), so a batch of rows costs a few
gathers per column instead of Python work per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import cache

import numpy as np

_LUT3 = np.array([[48 + i // 100, 48 + i // 10 % 10, 48 + i % 10] for i in range(1000)], np.uint8)
_POW10 = 10 ** np.arange(19, dtype=np.int64)


def _words(width: int) -> int:
    return (width + 7) // 8


def digits(v: np.ndarray, width: int, *, pad: bool = True) -> np.ndarray:
    """(n, width) ASCII digits of non-negative ints (< 10**width); leading zeros become NUL
    unless ``pad`` (the last digit always stays)."""
    v = np.asarray(v, np.int64)
    if width <= 9:  # 32-bit division is much faster
        v = v.astype(np.int32)
    out = np.empty((len(v), (width + 2) // 3 * 3), np.uint8)
    rest = v
    for g in range((width + 2) // 3 - 1, -1, -1):
        out[:, 3 * g:3 * g + 3] = _LUT3[rest % 1000]
        rest = rest // 1000
    out = out[:, -width:]
    if not pad and width > 1:
        lead = v[:, None] < _POW10[width - 1:0:-1][None, :].astype(v.dtype)
        out[:, :-1][lead] = 0
    return out


class Row:
    """Builds an (n, words) uint64 row matrix field by field."""

    def __init__(self, n: int):
        self.n = n
        self.parts: list[np.ndarray] = []

    def words(self, block: np.ndarray) -> Row:
        self.parts.append(block)
        return self

    def text(self, text: str) -> Row:
        return self.words(np.broadcast_to(WordTable([text]).words[0], (self.n, _words(len(text)))))

    def render(self) -> bytes:
        mat = np.hstack(self.parts) if len(self.parts) > 1 else self.parts[0]
        # bytes.translate drops NULs ~3x faster than numpy boolean indexing.
        return np.ascontiguousarray(mat).tobytes().translate(None, b"\0")


class WordTable:
    """Strings as NUL-padded rows of 8-byte words; index the rows with per-report ids."""

    def __init__(self, strings: Sequence[str | bytes] | np.ndarray):
        if isinstance(strings, np.ndarray):
            mat = np.zeros((len(strings), _words(strings.shape[1]) * 8), np.uint8)
            mat[:, : strings.shape[1]] = strings
        else:
            raw = [s.encode() if isinstance(s, str) else s for s in strings]
            lens = np.array([len(s) for s in raw], np.int64)
            width = _words(int(lens.max(initial=1)) or 1) * 8
            mat = np.zeros((len(raw), width), np.uint8)
            rows = np.repeat(np.arange(len(raw)), lens)
            cols = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
            mat[rows, cols] = np.frombuffer(b"".join(raw), np.uint8)
        self.bytes = mat
        self.words = mat.view(np.uint64)

    def __getitem__(self, idx: np.ndarray) -> np.ndarray:
        return self.words[idx]


def _clock_table(sep: str = ":") -> WordTable:
    s = np.arange(86400)
    c = np.frombuffer(sep.encode(), np.uint8)[0]
    mat = np.hstack([digits(s // 3600, 2), np.full((86400, 1), c, np.uint8), digits(s // 60 % 60, 2),
                     np.full((86400, 1), c, np.uint8), digits(s % 60, 2)])
    return WordTable(mat)


@cache
def clock_table() -> WordTable:
    return _clock_table()


@cache
def fraction_table(decimals: int, suffix: str = ",") -> WordTable:
    """Fraction digits of every value 0 .. 10**decimals - 1 followed by ``suffix``."""
    n = 10**decimals
    mat = np.hstack([digits(np.arange(n), decimals),
                     np.broadcast_to(np.frombuffer(suffix.encode(), np.uint8), (n, len(suffix)))])
    return WordTable(mat)


@cache
def whole_table(limit: int) -> WordTable:
    """``"-180."`` .. ``"180."`` at index value + limit, and ``"-0."`` at index 2 * limit + 1."""
    return WordTable([f"{k}." for k in range(-limit, limit + 1)] + ["-0."])


@cache
def tenths_table(limit: int, suffix: str = ",") -> WordTable:
    """``"12.3,"`` for every tenth 0 .. limit / 10."""
    return WordTable([f"{k // 10}.{k % 10}{suffix}" for k in range(limit + 1)])


@cache
def int_table(limit: int, unknown: int | None = None, unknown_text: str = "") -> WordTable:
    """Integers 0 .. limit as text; ``unknown`` renders as ``unknown_text``."""
    return WordTable([unknown_text if k == unknown else str(k) for k in range(limit + 1)])


def decimal(row: Row, x: np.ndarray, decimals: int, limit: int) -> Row:
    """Signed fixed-point number with ``decimals`` digits and a trailing comma, by lookup."""
    scale = 10**decimals
    scaled = np.rint(np.abs(np.asarray(x, float)) * scale).astype(np.int64)
    whole = scaled // scale
    frac = scaled - whole * scale
    neg = np.asarray(x) < 0
    idx = np.where(neg, -whole, whole) + limit
    idx = np.where(neg & (whole == 0) & (frac > 0), 2 * limit + 1, idx)
    return row.words(whole_table(limit)[idx]).words(fraction_table(decimals)[frac])


def timestamp(row: Row, t: np.ndarray, date_fmt: str) -> Row:
    """Date (``date_fmt``, rendered once per distinct day) followed by HH:MM:SS."""
    day = t // 86400
    uniq, inv = np.unique(day, return_inverse=True)
    days = WordTable([dt.datetime.fromtimestamp(int(d) * 86400, dt.timezone.utc).strftime(date_fmt)
                      for d in uniq])
    return row.words(days[inv]).words(clock_table()[t % 86400])

"""Flag state from an MMSI's Maritime Identification Digits (ITU-R M.585 MID table)."""

from __future__ import annotations

import csv
from functools import lru_cache

from shadowtrace.geo import data_path


@lru_cache(maxsize=1)
def _rows() -> dict[int, tuple[str, str | None]]:
    with open(data_path("mid.csv"), newline="", encoding="utf-8") as f:
        return {int(r["mid"]): (r["flag"], r["iso3"] or None) for r in csv.DictReader(f)}


def mid_table() -> dict[int, str]:
    """MID -> flag name (ITU's name without the formal '(Republic of)' style parentheses)."""
    return {mid: flag for mid, (flag, _) in _rows().items()}


def mid_of(mmsi: int) -> int | None:
    """The MID of a ship station MMSI (9 digits, first digit 2-7), else None.

    Coast stations (00), groups (0), SAR aircraft (111), AIS-SART (970), MOB (972), EPIRB (974)
    and craft associated with a parent ship (98) carry no ship flag, so they give None.
    """
    try:
        mmsi = int(mmsi)
    except (TypeError, ValueError):
        return None
    if not 200_000_000 <= mmsi <= 799_999_999:
        return None
    return mmsi // 1_000_000


def flag_for_mmsi(mmsi: int) -> str | None:
    """Flag state name for a ship MMSI, or None when the MID is unallocated or not a ship's."""
    mid = mid_of(mmsi)
    row = _rows().get(mid) if mid is not None else None
    return row[0] if row else None


def iso3_for_mmsi(mmsi: int) -> str | None:
    """ISO 3166-1 alpha-3 of the flag (territories get their own code), or None."""
    mid = mid_of(mmsi)
    row = _rows().get(mid) if mid is not None else None
    return row[1] if row else None

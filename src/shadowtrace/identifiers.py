"""Normalised ship identifiers: IMO numbers, MMSIs, call signs and names.

Lists and AIS spell the same ship differently ("M/T Eagle S", "EAGLE-S", "Игл С"); screening
compares the forms made here. IMO validation is rigour's (ship check digit only: company
numbers use another scheme), prefix removal and transliteration too.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rigour.ids.imo import IMO
from rigour.names.prefix import remove_obj_prefixes
from rigour.text.translit import ascii_text

_SPLIT_ALNUM = re.compile(r"(?<=[A-Z])(?=\d)|(?<=\d)(?=[A-Z])")
_NON_ALNUM = re.compile(r"[^A-Z0-9]+")
_EX_NAME = re.compile(r"\(\s*(?:EX|FORMERLY|F/K/A|FKA|A\.K\.A\.|AKA)[\s.:-]+([^)]*)\)", re.IGNORECASE)
_ROMAN = {"II": "2", "III": "3", "IV": "4", "V": "5", "VI": "6", "VII": "7", "VIII": "8",
          "IX": "9", "X": "10", "XI": "11", "XII": "12"}
# Words that say what a ship is, not which ship it is.
_GENERIC = {"TANKER", "OIL", "THE", "OF"}


def imo_digits(value: object) -> str | None:
    """Seven-digit ship IMO number if ``value`` holds one with a valid check digit."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if text.isdigit() and len(text) < 7:
        text = text.zfill(7)
    if not IMO.is_valid_vessel(text):
        return None
    normal = IMO.normalize(text)
    return normal[3:] if normal else None


def mmsi_digits(value: object) -> str | None:
    """Nine-digit MMSI, or None when ``value`` is not one."""
    if value is None:
        return None
    text = re.sub(r"\D", "", str(value))
    return text if len(text) == 9 and text[0] != "0" else None


def callsign_key(value: object) -> str | None:
    if value is None:
        return None
    text = _NON_ALNUM.sub("", ascii_text(str(value)).upper())
    return text or None


def split_former_names(name: str) -> tuple[str, list[str]]:
    """'STORMBRINGER (ex KRITI VIGOR)' -> ('STORMBRINGER', ['KRITI VIGOR'])."""
    former: list[str] = []
    for match in _EX_NAME.finditer(name):
        former.extend(part.strip() for part in re.split(r"[,;/]", match.group(1)) if part.strip())
    return _EX_NAME.sub("", name).strip(), former


@lru_cache(maxsize=200_000)
def name_key(value: str | None) -> str:
    """Comparable form of a vessel name: ASCII, upper case, no type prefix, no punctuation,
    letters and digits split ('ASTROL1' -> 'ASTROL 1'), Roman numerals as digits."""
    if not value:
        return ""
    text = ascii_text(value).upper().strip()
    text = remove_obj_prefixes(text)
    text = _NON_ALNUM.sub(" ", text)
    text = _SPLIT_ALNUM.sub(" ", text)
    tokens = text.split()
    out = []
    for i, token in enumerate(tokens):
        if token in _ROMAN and (len(token) > 1 or i == len(tokens) - 1) and i > 0:
            token = _ROMAN[token]
        elif token == "I" and i == len(tokens) - 1 and i > 0:
            token = "1"
        out.append(token)
    return " ".join(out)


def name_numbers(key: str) -> tuple[str, ...]:
    """The numbers in a name key, sorted ('SCF 2 KHIBINY' -> ('2',)); names of sister ships
    differ only there, so they must agree for a name match."""
    return tuple(sorted(t.lstrip("0") or "0" for t in key.split() if t.isdigit()))


def name_tokens(key: str) -> list[str]:
    """Tokens used to block candidate pairs: words of two or more letters, not generic."""
    return [t for t in key.split() if len(t) >= 2 and not t.isdigit() and t not in _GENERIC]

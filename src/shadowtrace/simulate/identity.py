"""Vessel identities: MMSI with a flag's MID, IMO numbers with check digits, names, call signs.

Static data changes over a voyage (draught, destination) and for shadow-fleet reasons (renames,
reflagging), so each hull points at a timeline of immutable :class:`Static` records.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.resources import files

import numpy as np

# MID -> (flag, call-sign prefix). Shadow-fleet tankers favour the open and "grey" registries.
FLAGS: dict[int, tuple[str, str]] = {
    273: ("Russia", "UB"),
    636: ("Liberia", "D5"),
    538: ("Marshall Islands", "V7"),
    352: ("Panama", "3E"),
    620: ("Comoros", "D6"),
    613: ("Cameroon", "TJ"),
    667: ("Sierra Leone", "9L"),
    511: ("Palau", "T8"),
    312: ("Belize", "V3"),
    341: ("St Kitts and Nevis", "V4"),
    577: ("Vanuatu", "YJ"),
    218: ("Germany", "DC"),
    248: ("Malta", "9H"),
    240: ("Greece", "SV"),
    209: ("Cyprus", "5B"),
    477: ("Hong Kong", "VR"),
    563: ("Singapore", "9V"),
    271: ("Turkey", "TC"),
    244: ("Netherlands", "PB"),
    457: ("Mongolia", "JV"),
    671: ("Togo", "5V"),
    572: ("Tuvalu", "T2"),
}
# MID -> ISO 3166-1 alpha-2 (lower case, as FollowTheMoney writes countries) for list entries.
ISO2: dict[int, str] = {
    273: "ru", 636: "lr", 538: "mh", 352: "pa", 620: "km", 613: "cm", 667: "sl", 511: "pw",
    312: "bz", 341: "kn", 577: "vu", 218: "de", 248: "mt", 240: "gr", 209: "cy", 477: "hk",
    563: "sg", 271: "tr", 244: "nl", 457: "mn", 671: "tg", 572: "tv",
}
MAINSTREAM_MIDS = (636, 538, 352, 248, 240, 209, 477, 563, 218, 244, 271)
SHADOW_MIDS = (620, 613, 667, 511, 312, 341, 577, 273, 457, 671, 572, 636, 352)
# MIDs in the European 2xx block that ITU has not allocated to any administration.
UNALLOCATED_MIDS = (221, 222, 223, 284, 288, 293)

WORDS_A = (
    "OCEAN", "SEA", "BLUE", "NORTH", "GOLDEN", "SILVER", "GRAND", "STAR", "PACIFIC", "BALTIC",
    "AEGEAN", "ARCTIC", "CORAL", "EMERALD", "ROYAL", "NOBLE", "SWIFT", "BRIGHT", "LUNA", "NOVA",
)
WORDS_B = (
    "SPIRIT", "PIONEER", "GLORY", "TRADER", "VOYAGER", "HORIZON", "DAWN", "BREEZE", "PRIDE",
    "FORTUNE", "LEGEND", "QUEEN", "EXPRESS", "VENTURE", "PEARL", "WAVE", "ENERGY", "ARROW",
)

NAV_UNDERWAY, NAV_ANCHOR, NAV_RESTRICTED, NAV_MOORED = 0, 1, 3, 5


@dataclass(frozen=True)
class Static:
    """One version of what a hull broadcasts about itself (AIS message 5 fields)."""

    mmsi: int
    imo: int | None
    name: str
    callsign: str
    ship_type: int
    a: int  # metres from the GNSS antenna to the bow
    b: int  # ... to the stern
    c: int  # ... to port
    d: int  # ... to starboard
    draught: float
    destination: str
    eta: int | None  # epoch seconds

    @property
    def length(self) -> int:
        return self.a + self.b

    @property
    def width(self) -> int:
        return self.c + self.d

    def but(self, **changes: object) -> Static:
        return replace(self, **changes)


def imo_check_digit(six: int) -> int:
    """IMO check digit of the first six digits: sum of digit * (7..2) mod 10."""
    digits = [int(ch) for ch in f"{six:06d}"]
    return sum(d * w for d, w in zip(digits, (7, 6, 5, 4, 3, 2))) % 10


def imo_valid(imo: int) -> bool:
    return 1_000_000 <= imo <= 9_999_999 and imo_check_digit(imo // 10) == imo % 10


def flag_of(mmsi: int) -> str | None:
    entry = FLAGS.get(mmsi // 1_000_000)
    return entry[0] if entry else None


@lru_cache(maxsize=1)
def real_listed_imos() -> frozenset[int]:
    """IMO numbers of the real vessels on the shipped lists: simulated hulls never take one, so
    a simulated scenario screened against a real list matches nothing by accident."""
    text = files("shadowtrace.lists").joinpath("data", "eu_annex_xlii.csv").read_text(encoding="utf-8")
    return frozenset(int(r["imoNumber"]) for r in csv.DictReader(io.StringIO(text)) if r["imoNumber"].isdigit())


class IdentityFactory:
    """Hands out unique MMSIs, IMOs, names and call signs from one random stream."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.mmsis: set[int] = set()
        self.imos: set[int] = set()
        self.names: set[str] = set()

    def mmsi(self, mid: int) -> int:
        while True:
            # Ship station MMSIs of big ships usually end in zeros; keep a mix.
            tail = int(self.rng.integers(0, 1_000_000))
            if self.rng.random() < 0.6:
                tail = tail // 1000 * 1000
            value = mid * 1_000_000 + tail
            if value not in self.mmsis:
                self.mmsis.add(value)
                return value

    def imo(self, valid: bool = True) -> int:
        while True:
            # Mostly 9xxxxxx (built since the late 1980s); older 7/8xxxxxx hulls for big fleets.
            lo = 900_000 if len(self.imos) < 50_000 else 700_000
            six = int(self.rng.integers(lo, 1_000_000))
            check = imo_check_digit(six)
            if not valid:
                check = (check + int(self.rng.integers(1, 10))) % 10
            value = six * 10 + check
            if value not in self.imos and value not in real_listed_imos():
                self.imos.add(value)
                return value

    def name(self) -> str:
        for attempt in range(1_000_000):
            a = WORDS_A[int(self.rng.integers(len(WORDS_A)))]
            b = WORDS_B[int(self.rng.integers(len(WORDS_B)))]
            # Plain names first; numbered ones as the plain ones run out (large fleets).
            text = f"{a} {b}" if self.rng.random() < 0.7 and attempt < 5 else f"{a} {b} {int(self.rng.integers(1, 1000))}"
            if text not in self.names:
                self.names.add(text)
                return text
        raise RuntimeError("ship names exhausted")

    def callsign(self, mid: int) -> str:
        prefix = FLAGS.get(mid, ("", "X" + "ABCDEFGH"[mid % 8]))[1]
        letters = "".join(self.rng.choice(list("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"), 4))
        return (prefix + letters)[:7]

    def static(self, *, tanker: bool, mid: int, valid_imo: bool = True) -> Static:
        rng = self.rng
        if tanker:
            length = int(rng.choice([183, 228, 244, 250, 274, 333]))
            ship_type = int(rng.choice([80, 80, 84, 89]))
        else:
            length = int(rng.choice([140, 170, 190, 229, 294, 366]))
            ship_type = int(rng.choice([70, 70, 71, 79]))
        width = {140: 22, 170: 27, 183: 32, 190: 30, 228: 32, 229: 32, 244: 42, 250: 44,
                 274: 48, 294: 32, 333: 60, 366: 51}[length]
        a = int(round(length * rng.uniform(0.78, 0.88)))
        c = int(round(width * rng.uniform(0.4, 0.6)))
        return Static(
            mmsi=self.mmsi(mid), imo=self.imo(valid_imo), name=self.name(),
            callsign=self.callsign(mid), ship_type=ship_type, a=a, b=length - a, c=c,
            d=width - c, draught=0.0, destination="", eta=None,
        )


def draughts(static: Static) -> tuple[float, float]:
    """(ballast, laden) draught in metres for a hull of this size."""
    laden = round(min(22.0, 6.0 + static.length * 0.032), 1)
    ballast = round(laden * 0.55, 1)
    return ballast, laden


class StaticRegistry:
    """Deduplicated list of static records; writers index into it by id."""

    def __init__(self) -> None:
        self.records: list[Static] = []
        self._ids: dict[Static, int] = {}

    def add(self, static: Static) -> int:
        sid = self._ids.get(static)
        if sid is None:
            sid = self._ids[static] = len(self.records)
            self.records.append(static)
        return sid

    def rewrite(self, sid: int, static: Static) -> None:
        """Replace record ``sid`` in place (every hull pointing at it then broadcasts ``static``)."""
        del self._ids[self.records[sid]]
        self.records[sid] = static
        self._ids[static] = sid

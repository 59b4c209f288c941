"""Sanctions and ownership lists that go with the simulated traffic, and which AIS vessels
screening should find.

The planted vessels are ordinary traders picked after the whole scenario is planned, so every
track (theirs included) is the one it would be without the lists and the event truth does not
change; only static fields change where a plant needs it (a look-alike's name, a renamed
vessel that no longer sends its IMO), and they change for the hull's whole timeline.

Entities stay plain (schema, id, properties) until written, so followthemoney, slow to import,
is loaded only by :func:`write_list`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from shadowtrace.simulate.identity import (
    ISO2,
    SHADOW_MIDS,
    WORDS_A,
    WORDS_B,
    IdentityFactory,
    Static,
    StaticRegistry,
)
from shadowtrace.simulate.planner import World
from shadowtrace.simulate.vessel import Hull

LIST_FILE = "lists/watchlist.ftm.json"
TRUTH_FILE = "screening_truth.json"
SHARE = 0.04  # of --vessels for each kind: 5 of each at 120 vessels
UNRELATED_MIN = 3
AUTHORITY, PROGRAM = "Simulated Council", "SIM-RUS"
TANKER = "Crude Oil Tanker"
KINDS = ("listed", "renamed_listed", "owned_by_listed", "lookalikes")

# Words never broadcast, so list-only vessels resemble no AIS vessel by accident.
_LIST_A = ("VOLGA", "KAMA", "NEVA", "AMUR", "LENA", "ONEGA", "LADOGA", "TAIMYR", "YAMAL", "SAKHALIN")
_LIST_B = ("PROSPECT", "MARINER", "NAVIGATOR", "CARRIER", "TITAN", "SHIPPER")
# A near spelling of each second name word, for look-alikes ("SEA FORTUNE" / "SEA FORTUNA").
_NEAR_B = {
    "SPIRIT": "SPIRE", "PIONEER": "PIONIER", "GLORY": "GLORIA", "TRADER": "TRADERS",
    "VOYAGER": "VOYAGE", "HORIZON": "HORIZONTE", "DAWN": "DAWNING", "BREEZE": "BREEZY",
    "PRIDE": "PRIME", "FORTUNE": "FORTUNA", "LEGEND": "LEGACY", "QUEEN": "QUEENS",
    "EXPRESS": "EMPRESS", "VENTURE": "VENTURA", "PEARL": "PEARLS", "WAVE": "WAVES",
    "ENERGY": "ENERGIA", "ARROW": "ARROWS",
}
_COMPANY = ("AURORA", "MERIDIAN", "CASPIAN", "NEPTUNE", "POLARIS", "ZENITH", "ALTAIR", "SIRIUS",
            "TRITON", "KESTREL", "BOREAS", "SELENE")
# The ownership chain from the vessel up: a one-ship company, a holding, the listed parent.
_LAYERS = (("SHIPPING LTD", "mh", "100"), ("MARITIME HOLDINGS FZE", "ae", "60"),
           ("ENERGY TRADING JSC", "ru", "75"))
_FIRST = ("IVAN", "SERGEI", "DMITRY", "ALEXEI", "OLEG", "NIKOLAI", "ANDREI", "PAVEL")
_LAST = ("PETROV", "SOKOLOV", "VOLKOV", "ORLOV", "KOZLOV", "MOROZOV", "LEBEDEV", "POPOV")


@dataclass(frozen=True)
class Entry:
    """One FollowTheMoney entity before it is built."""

    schema: str
    id: str
    props: dict[str, list[str]]


@dataclass
class Screening:
    entries: list[Entry] = field(default_factory=list)
    truth: dict[str, object] = field(default_factory=dict)


def _base(name: str) -> str:
    """The two words of a generated ship name without its number ("NOVA PEARL 12" -> "NOVA PEARL")."""
    return " ".join(name.split()[:2])


def _tanker(st: Static) -> bool:
    return 80 <= st.ship_type <= 89


class _Planter:
    def __init__(self, world: World, hulls: list[Hull]):
        self.rng = world.rng
        self.ids: IdentityFactory = world.ids
        self.reg: StaticRegistry = world.registry
        self.t0 = world.t0
        self.entries: list[Entry] = []
        self.serial: Counter[str] = Counter()
        names = {self.reg.records[sid].name for h in hulls for _, sid in h.statics}
        self.base_count = Counter(_base(n) for n in names)
        self.bases = set(self.base_count)  # broadcast or listed: taken for new near-names

    # --- helpers ----------------------------------------------------------------------
    def static(self, hull: Hull) -> Static:
        return self.reg.records[hull.statics[0][1]]

    def restate(self, hull: Hull, **changes: object) -> None:
        """Change fields in every static record of ``hull`` (its own: ordinary traders share
        none), so the change holds for the whole run and no identity change appears."""
        for sid in dict.fromkeys(sid for _, sid in hull.statics):
            self.reg.rewrite(sid, self.reg.records[sid].but(**changes))

    def next_id(self, kind: str) -> str:
        self.serial[kind] += 1
        return f"sim-{kind}-{self.serial[kind]}"

    def add(self, schema: str, eid: str, **props: str | int | list[str] | None) -> str:
        clean = {k: v if isinstance(v, list) else [str(v)] for k, v in props.items() if v is not None}
        self.entries.append(Entry(schema, eid, clean))
        return eid

    def sanction(self, eid: str) -> None:
        days = int(self.rng.integers(30, 1000))
        start = dt.datetime.fromtimestamp(self.t0, dt.timezone.utc).date() - dt.timedelta(days=days)
        self.add("Sanction", self.next_id("sanction"), entity=eid, authority=AUTHORITY,
                 program=PROGRAM, startDate=start.isoformat(), reason="Transport of Russian crude oil")

    def pick(self, words: tuple[str, ...]) -> str:
        return words[int(self.rng.integers(len(words)))]

    def fresh_name(self, a_words: tuple[str, ...], b_words: tuple[str, ...]) -> str:
        """A name whose two words no AIS or list name uses yet (numbered if they run out)."""
        for _ in range(200):
            text = f"{self.pick(a_words)} {self.pick(b_words)}"
            if text not in self.bases and text not in self.ids.names:
                break
        else:
            while text in self.ids.names:
                text = f"{_base(text)} {int(self.rng.integers(1, 1000))}"
        self.ids.names.add(text)
        self.bases.add(_base(text))
        return text

    # --- the kinds --------------------------------------------------------------------
    def listed(self, hull: Hull) -> dict[str, object]:
        st = self.static(hull)
        eid = self.add("Vessel", f"sim-vessel-{st.imo}", name=st.name, imoNumber=st.imo,
                       mmsi=st.mmsi, flag=ISO2.get(st.mmsi // 1_000_000), callSign=st.callsign,
                       type=TANKER, topics="sanction")
        self.sanction(eid)
        hull.roles.append("listed")
        return {"mmsi": st.mmsi, "imo": st.imo, "entity_id": eid}

    def renamed(self, hull: Hull, imo_broadcast: bool) -> dict[str, object]:
        """Listed under an old name and MMSI; AIS now sends a new name and MMSI (the hull's).
        With the IMO broadcast the old identity differs in everything else (reflagged); without
        it the list knows the new name as an alias and the call sign and flag are unchanged."""
        st = self.static(hull)
        mid = st.mmsi // 1_000_000
        old_name = self.fresh_name(WORDS_A, WORDS_B)
        alias: str | None = None
        if imo_broadcast:
            old_mid = int(self.rng.choice([m for m in SHADOW_MIDS if m != mid]))
            callsign = self.ids.callsign(old_mid)
        else:
            old_mid, callsign, alias = mid, st.callsign, st.name
            self.restate(hull, imo=None)
        eid = self.add("Vessel", f"sim-vessel-{st.imo}", name=old_name, alias=alias,
                       imoNumber=st.imo, mmsi=self.ids.mmsi(old_mid), flag=ISO2.get(old_mid),
                       callSign=callsign, type=TANKER, topics="sanction")
        self.sanction(eid)
        hull.roles.append("renamed_listed")
        return {"mmsi": st.mmsi, "imo": st.imo, "entity_id": eid, "ais_name": st.name,
                "listed_name": old_name, "imo_broadcast": imo_broadcast}

    def owned(self, hull: Hull) -> dict[str, object]:
        """Unlisted itself; owned 100% by A, A 60% by B, B 75% by the listed company C."""
        st = self.static(hull)
        vid = self.add("Vessel", f"sim-vessel-{st.imo}", name=st.name, imoNumber=st.imo)
        path, asset = [vid], vid
        for k, (suffix, country, pct) in enumerate(_LAYERS):
            top = k == len(_LAYERS) - 1
            cid = self.add("Company", self.next_id("co"), name=self.company_name(suffix),
                           jurisdiction=country, topics="sanction" if top else None)
            if top:
                self.sanction(cid)
            self.add("Ownership", self.next_id("own"), owner=cid, asset=asset, percentage=pct,
                     role="Shareholder")
            path.append(cid)
            asset = cid
        person = self.add("Person", self.next_id("person"),
                          name=f"{self.pick(_FIRST)} {self.pick(_LAST)}", nationality="ru")
        self.add("Directorship", self.next_id("dir"), director=person, organization=path[-1],
                 role="Director")
        hull.roles.append("owned_by_listed")
        return {"mmsi": st.mmsi, "imo": st.imo, "entity_id": vid, "path": path}

    def company_name(self, suffix: str) -> str:
        """A company name no entry has yet (numbered once the words run out)."""
        taken = {n for e in self.entries if e.schema == "Company" for n in e.props["name"]}
        free = [w for w in _COMPANY if f"{w} {suffix}" not in taken]
        if free:
            return f"{self.pick(tuple(free))} {suffix}"
        n = 2
        while f"{_COMPANY[0]} {n} {suffix}" in taken:
            n += 1
        return f"{_COMPANY[0]} {n} {suffix}"

    def lookalike_name(self, listed: str, k: int) -> str:
        """Close to ``listed`` but another ship: its second word spelt nearly the same (even
        ``k``) or its number added or changed (odd ``k``, and whenever the near one is taken)."""
        words = listed.split()
        number = words[2] if len(words) > 2 else ""
        near = _NEAR_B.get(words[1])
        if k % 2 == 0 and near is not None and f"{words[0]} {near}" not in self.bases:
            text = f"{words[0]} {near} {number}".strip()
            if text not in self.ids.names:
                self.bases.add(_base(text))
                self.ids.names.add(text)
                return text
        m = 2
        while f"{words[0]} {words[1]} {m}" in self.ids.names or str(m) == number:
            m += 1
        text = f"{words[0]} {words[1]} {m}"
        self.ids.names.add(text)
        return text

    def lookalike(self, hull: Hull, target: Hull, target_id: str, k: int) -> dict[str, object]:
        name = self.lookalike_name(self.static(target).name, k)
        self.restate(hull, name=name)
        hull.roles.append("hard_negative_lookalike")
        st = self.static(hull)
        return {"mmsi": st.mmsi, "imo": st.imo, "ais_name": name, "resembles_entity_id": target_id}

    def unrelated(self) -> None:
        """A sanctioned tanker that is nowhere in the AIS."""
        mid = int(self.rng.choice(SHADOW_MIDS))
        imo = self.ids.imo()
        eid = self.add("Vessel", f"sim-vessel-{imo}", name=self.fresh_name(_LIST_A, _LIST_B),
                       imoNumber=imo, mmsi=self.ids.mmsi(mid), flag=ISO2.get(mid),
                       callSign=self.ids.callsign(mid), type=TANKER, topics="sanction")
        self.sanction(eid)


def plant_screening(world: World, hulls: list[Hull], ordinary: list[Hull], vessels: int) -> Screening:
    """Choose the planted vessels among the ``ordinary`` traders, adjust their statics and build
    the list entries and the screening truth. Draws only from ``world``'s stream after all
    planning, so nothing planned before changes."""
    p = _Planter(world, hulls)
    want = max(1, round(vessels * SHARE))
    # Renamed needs two to have both halves (IMO broadcast or not).
    quota = {"listed": want, "renamed_listed": max(2, want), "owned_by_listed": want}
    order = [ordinary[int(i)] for i in world.rng.permutation(len(ordinary))]
    # Preferably names that are the only broadcast ones of their two words, so the only
    # near-names in the AIS are the planted look-alikes (large runs run out of such names).
    tankers = [h for h in order if _tanker(p.static(h))]
    pool = sorted(tankers, key=lambda h: p.base_count[_base(p.static(h).name)] > 1)
    chosen: dict[str, list[Hull]] = {k: [] for k in quota}
    while pool and any(len(chosen[k]) < quota[k] for k in quota):
        for kind in quota:  # round robin: a small run still gets one of each
            if pool and len(chosen[kind]) < quota[kind]:
                chosen[kind].append(pool.pop(0))
    listed = [p.listed(h) for h in chosen["listed"]]
    renamed = [p.renamed(h, imo_broadcast=i % 2 == 0) for i, h in enumerate(chosen["renamed_listed"])]
    owned = [p.owned(h) for h in chosen["owned_by_listed"]]
    taken = {h.idx for hs in chosen.values() for h in hs}
    # Tankers first: the hardest look-alike is the same kind of ship.
    rest = sorted((h for h in order if h.idx not in taken), key=lambda h: not _tanker(p.static(h)))
    lookalikes = []
    for k in range(want if listed else 0):
        target = chosen["listed"][k % len(listed)]
        mid = p.static(target).mmsi // 1_000_000
        hull = next((h for h in rest if p.static(h).mmsi // 1_000_000 != mid), None)
        if hull is None:
            break
        rest.remove(hull)
        lookalikes.append(p.lookalike(hull, target, str(listed[k % len(listed)]["entity_id"]), k))
    for _ in range(max(UNRELATED_MIN, want)):
        p.unrelated()
    truth: dict[str, object] = {"listed": listed, "renamed_listed": renamed, "owned_by_listed": owned,
                                "lookalikes": lookalikes, "lists": [LIST_FILE]}
    return Screening(p.entries, truth)


def write_list(path: Path, entries: list[Entry]) -> None:
    """FollowTheMoney entities as JSON lines (one ``to_dict()`` a line), values cleaned by
    followthemoney (IMO numbers become ``IMO1234567``)."""
    from followthemoney import model  # about 2 s to import: only here

    lines = []
    for e in entries:
        proxy = model.make_entity(e.schema)
        proxy.id = e.id
        for prop, values in e.props.items():
            proxy.add(prop, values)
        lines.append(json.dumps(proxy.to_dict(), ensure_ascii=False, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


__all__ = ["KINDS", "LIST_FILE", "TRUTH_FILE", "Entry", "Screening", "plant_screening", "write_list"]

"""Scenario recipes: ordinary traffic, injected shadow-fleet behaviour and hard negatives.

Each recipe plans whole hulls (itinerary + overlays); ground truth is later derived from what
was actually sampled, so a recipe only has to make its behaviour happen, not describe it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import numpy as np

from shadowtrace.geo.land import is_on_land, is_well_inland
from shadowtrace.geo.nearest import nearest_port
from shadowtrace.simulate.identity import (
    MAINSTREAM_MIDS,
    NAV_ANCHOR,
    NAV_RESTRICTED,
    NAV_UNDERWAY,
    SHADOW_MIDS,
    UNALLOCATED_MIDS,
    Static,
)
from shadowtrace.simulate.planner import Builder, H, World, far_apart, pick_lane
from shadowtrace.simulate.routes import KN, M_PER_DEG, Place, lane, nearest_places, offset
from shadowtrace.simulate.vessel import Hull, Jump, Sail, drift_offset

# Deep-inland airports: where GNSS spoofing has put ships (well beyond any coast margin).
INLAND = ((55.972, 37.415), (40.472, -3.561), (40.128, 32.995), (52.366, 13.503),
          (49.010, 2.548), (52.166, 20.967), (53.882, 28.031), (48.354, 11.786),
          (48.110, 16.570), (47.437, 19.256), (24.958, 46.699), (35.416, 51.152),
          (30.112, 31.400), (28.556, 77.100), (40.080, 116.585), (33.262, 44.235))



@lru_cache(maxsize=1)
def _inland() -> list[tuple[float, float]]:
    """The airports whose whole spoofing circle (0.8 km) is beyond the detectors' 5 km coast
    margin in the shipped land mask (lakes near some airports disqualify them)."""
    lat, lon = np.array([p[0] for p in INLAND]), np.array([p[1] for p in INLAND])
    return [p for p, ok in zip(INLAND, is_well_inland(lat, lon, margin_km=7.0)) if ok]


# Share of vessels per recipe (pairs count twice); each gets at least one from 50 vessels.
QUOTA: dict[str, float] = {
    "sts": 0.03, "dark_sts": 0.015, "loiter": 0.03, "dark_gap": 0.04, "teleport": 0.02,
    "land": 0.01, "clone": 0.01, "rename": 0.02, "reflag": 0.02, "invalid": 0.03,
    "terminal": 0.05, "passing": 0.02, "short_gap": 0.04, "slow": 0.02, "port_cluster": 0.01,
    "glitch": 0.02,
}
HULLS_PER = {"sts": 2, "dark_sts": 2, "clone": 2, "passing": 2, "port_cluster": 3}
MIN_COUNT = {"invalid": 2, "terminal": 2}


class Scenario:
    def __init__(self, world: World):
        self.w, self.rng = world, world.rng
        self.hulls: list[Hull] = []
        self.sts_slots: dict[str, int] = {}

    # --- helpers ----------------------------------------------------------------------
    def new(self, role: str, *, tanker: bool = True, shadow: bool = False, valid_imo: bool = True,
            mid: int | None = None) -> tuple[Hull, Static]:
        rng = self.rng
        hull = Hull(len(self.hulls), roles=[role] if role else [])
        hull.heading_bias = float(rng.normal(0, 2.0))
        hull.heading_known = bool(rng.random() > 0.05)
        if mid is None:
            mids = SHADOW_MIDS if shadow else MAINSTREAM_MIDS
            mid = int(mids[int(rng.integers(len(mids)))])
        static = self.w.ids.static(tanker=tanker, mid=mid, valid_imo=valid_imo)
        self.hulls.append(hull)
        return hull, static

    def builder(self, hull: Hull, static: Static, place: Place, laden: bool | None = None) -> Builder:
        laden = bool(self.rng.random() < 0.5) if laden is None else laden
        return Builder(self.w, hull, static, place, laden)

    def leg_hull(self, role: str, at: float, cruise_s: float, *, kn: float | None = None,
                 **kw: object) -> tuple[Builder, Sail]:
        """A trader whose sea leg is cruising from ``at`` for at least ``cruise_s`` seconds."""
        hull, static = self.new(role, **kw)  # type: ignore[arg-type]
        w = self.w
        at = min(max(at, w.t0 + 0.5 * H), max(w.t0 + 0.5 * H, w.t1 - cruise_s - 0.5 * H))
        speed = (kn or 12.5) * KN
        a, b, _ = pick_lane(self.w, speed * (cruise_s + 3 * H))
        bld = self.builder(hull, static, a)
        if kn is not None:
            bld.kn = kn
        bld.port_stay(float(self.rng.uniform(6, 24)) * H)
        leg = bld.sail(b)
        assert leg is not None
        lo = leg.t0 + leg.ta + 0.5 * H
        hi = max(lo, leg.t1 - leg.td - cruise_s - 0.5 * H)
        bld.shift(at - float(self.rng.uniform(lo, hi)))
        bld.trade(self.w.t1 + H)
        return bld, leg

    def trader(self, role: str = "", **kw: object) -> Hull:
        hull, static = self.new(role, **kw)  # type: ignore[arg-type]
        place = self.w.hubs[int(self.rng.integers(len(self.w.hubs)))]
        bld = self.builder(hull, static, place)
        bld.port_stay(float(self.rng.uniform(4, 30)) * H)
        first = bld.t
        nxt = bld.next_port()
        if nxt is not None:
            bld.sail(nxt)
        bld.shift(self.w.t0 - float(self.rng.uniform(0, bld.t if nxt else first)))
        bld.trade(self.w.t1 + H)
        if not role and self.rng.random() < 0.3:
            self._reception_gaps(hull)
        bld.finish()
        return hull

    def _reception_gaps(self, hull: Hull) -> None:
        """Minutes-long holes while cruising: coverage, not intent."""
        for seg in hull.segments:
            if isinstance(seg, Sail) and seg.tc > 3 * H and self.rng.random() < 0.6:
                a = seg.t0 + seg.ta + float(self.rng.uniform(0.5, seg.tc / H - 1.5)) * H
                if self.w.t0 < a < self.w.t1:
                    hull.silent.append((a, a + float(self.rng.uniform(3, 40)) * 60))

    def _pos_at(self, leg: Sail, t: float) -> tuple[float, float]:
        la, lo, _, _ = leg.pos(np.array([t]))
        return float(la[0]), float(lo[0])

    # --- shadow-fleet behaviour ---------------------------------------------------------
    def sts(self, dark: bool = False) -> None:
        """Two tankers meet at a known STS hub, lie alongside 3-10 h; cargo moves across."""
        w, rng = self.w, self.rng
        area = w.sts[int(rng.integers(len(w.sts)))]
        k = self.sts_slots.get(area.key, 0)
        self.sts_slots[area.key] = k + 1
        r, ang = 2500.0 * np.sqrt(k % 24), np.radians(137.5 * k)
        slot = offset(area.lat, area.lon, r * np.cos(ang), r * np.sin(ang))
        origins = [p for p in nearest_places(area, w.hubs, 6) if lane(p, area) is not None]
        if not origins:
            return
        role = "dark_sts" if dark else "sts"
        giver_h, giver_s = self.new(role, shadow=True)
        recv_h, recv_s = self.new(role, shadow=True)
        giver_h.roles.append("sts_giver")
        recv_h.roles.append("sts_receiver")
        e = w.when(0.12, 0.4)
        delta = float(rng.uniform(0.5, 1.5)) * H
        # A dark transfer lasts long enough for the visible partner to loiter >= 4 h.
        along = float(rng.uniform(4 if dark else 3, 10)) * H
        speed = float(rng.uniform(0.05, 0.25)) * KN
        course = float(rng.uniform(0, 2 * np.pi))
        drift = (speed * np.cos(course), speed * np.sin(course))
        swing = (float(rng.uniform(20, 50)), float(rng.uniform(5, 10)) * H, float(rng.uniform(0, 6.28)))
        sep = float(rng.uniform(80, 250))
        side = float(rng.uniform(0, 2 * np.pi))
        rslot = offset(slot[0], slot[1], sep * np.cos(side), sep * np.sin(side))
        nav = int(rng.choice([NAV_UNDERWAY, NAV_ANCHOR, NAV_RESTRICTED]))
        plans = ((giver_h, giver_s, True, e, slot), (recv_h, recv_s, False, e + delta, rslot))
        builders = []
        for hull, static, laden, arrive, ref in plans:
            origin = origins[int(rng.integers(len(origins)))]
            bld = self.builder(hull, static, origin, laden)
            bld.port_stay(float(rng.uniform(4, 20)) * H, cargo=False)
            dt = arrive - e
            # Where the partner pair has drifted to by this arrival.
            north, east = drift_offset(dt, drift, swing)
            end = offset(ref[0], ref[1], north, east)
            bld.sail(area, end=end)
            bld.shift(arrive - bld.t)
            builders.append((bld, ref))
        depart_r = e + delta + along
        depart_g = depart_r + float(rng.uniform(0.3, 1.5)) * H
        for (bld, ref), leave in zip(builders, (depart_g, depart_r)):
            bld.stay(leave - bld.t, in_port=False, nav=nav, drift=drift, ref=(e, ref[0], ref[1]), swing=swing)
            bld.place = area
            nxt = bld.next_port()
            if nxt is not None:
                bld.sail(nxt)
        dark_b = builders[1][0] if dark else None  # the second to arrive goes dark alongside
        for (bld, _), leave in zip(builders, (depart_g, depart_r)):
            bld.laden = not bld.laden
            report = leave + float(rng.uniform(0.5, 3.0)) * H
            if bld is dark_b:
                off = e + delta + float(rng.uniform(0.3, 0.6)) * H
                on = max(leave + float(rng.uniform(1.0, 3.0)) * H, off + 7 * H)
                bld.hull.silent.append((off, on))
                bld.hull.roles.append("dark_party")
                report = on + float(rng.uniform(0.2, 1.0)) * H
            bld.static_at(report, draught=bld.draught())
            bld.trade(w.t1 + H)
            bld.finish()

    def loiter(self) -> None:
        """Stop and drift for hours at sea, far from any port, then carry on."""
        w, rng = self.w, self.rng
        for _ in range(30):
            a, b, route = pick_lane(w, 150_000)
            s = np.arange(30_000.0, route.length - 30_000.0, 5_000.0)
            if not s.size:
                continue
            la, lo, _ = route.at(s)
            dist, _ = nearest_port(la, lo)
            ok = np.flatnonzero((dist > 25_000) & ~is_on_land(la, lo))
            if ok.size:
                break
        else:
            return
        sl = float(s[ok[int(rng.integers(ok.size))]])
        hull, static = self.new("loiter", shadow=bool(rng.random() < 0.7))
        bld = self.builder(hull, static, a)
        bld.port_stay(float(rng.uniform(6, 24)) * H)
        bld.static_at(bld.t - 0.5 * H, destination="FOR ORDERS", eta=None)
        bld.leg(route, 0.0, sl, dest=None)
        bld.shift(w.when(0.1, 0.45) - bld.t)
        speed, course = float(rng.uniform(0.1, 0.8)) * KN, float(rng.uniform(0, 2 * np.pi))
        bld.stay(float(rng.uniform(5, 14)) * H, in_port=False, nav=int(rng.choice([NAV_UNDERWAY, NAV_ANCHOR])),
                 drift=(speed * np.cos(course), speed * np.sin(course)))
        bld.leg(route, sl, route.length, dest=b)
        bld.trade(w.t1 + H)
        bld.finish()

    def dark_gap(self) -> None:
        """AIS switched off for 7-20 h while under way; it comes back further along."""
        dur = min(float(self.rng.uniform(7, 20)) * H, 0.6 * self.w.period)
        bld, _ = self.leg_hull("dark_gap", self.w.when(0.1, 0.9) - dur / 2, dur + H, shadow=True)
        start = self._cruise_time(bld.hull, dur)
        if start is not None:
            bld.hull.silent.append((start, start + dur))
        bld.finish()

    def _cruise_time(self, hull: Hull, need: float) -> float | None:
        """Start of a window of ``need`` seconds inside a cruising leg, inside the period;
        None (and the hull demoted to ordinary traffic) when no leg is long enough."""
        w = self.w
        for seg in hull.segments:
            if not isinstance(seg, Sail):
                continue
            lo = max(seg.t0 + seg.ta + 0.5 * H, w.t0 + 0.5 * H)
            hi = min(seg.t1 - seg.td - 0.5 * H, w.t1 - 0.5 * H) - need
            if hi > lo:
                return float(self.rng.uniform(lo, hi))
        hull.roles.clear()
        return None

    def teleport(self, on_land: bool = False) -> None:
        """GNSS spoofing: reported positions leave the true track, then come back."""
        rng = self.rng
        dur = float(rng.uniform(6, 15)) * 60 if on_land else float(rng.uniform(0.3, 2.5)) * H
        role = "land_spoof" if on_land else "teleport"
        bld, _ = self.leg_hull(role, self.w.when(0.15, 0.8), dur + H, shadow=True)
        start = self._cruise_time(bld.hull, dur)
        leg = bld.hull.segment_at(start) if start is not None else None
        if start is None or not isinstance(leg, Sail):
            bld.finish()
            return
        here, there = self._pos_at(leg, start), self._pos_at(leg, start + dur)
        if on_land:
            cands = sorted(_inland(), key=lambda p: far_apart(here[0], here[1], *p))
        else:  # elsewhere on its own lane (water), behind it or well ahead
            d0, _ = leg.dist(np.array([start]))
            s = leg.s0 + float(d0[0])
            along = [s - float(rng.uniform(100_000, 200_000)),
                     s + float(rng.uniform(150_000, 250_000)) + dur * leg.vc]
            cands = [(float(la), float(lo)) for la, lo, _ in
                     (leg.route.at(x) for x in along if 0 <= x <= leg.route.length)]
            cands += sorted(((p.lat, p.lon) for p in self.w.hubs), key=lambda p: far_apart(here[0], here[1], *p))
        # Far enough from the whole true stretch that every jump is > 10 km at > 50 kn.
        target = next((p for p in cands if min(far_apart(*here, *p), far_apart(*there, *p)) > 60_000), None)
        if target is None:
            bld.hull.roles.clear()
        else:
            bld.hull.jumps.append(Jump(start, start + dur, target[0], target[1], on_land))
        bld.finish()

    def clone(self) -> None:
        """A second hull broadcasts the same MMSI and static data elsewhere, at the same time."""
        rng, w = self.rng, self.w
        epi = min(float(rng.uniform(6, 20)) * H, 0.5 * w.period)
        start = w.when(0.1, 0.9) - epi / 2
        start = min(max(start, w.t0 + H), w.t1 - epi - 2 * H)
        bld, leg = self.leg_hull("cloned", start, epi + H, shadow=True)
        orig = bld.finish()
        if not _cruising(leg, start, start + epi):
            orig.roles.clear()  # lane too short: the two tracks would not both be at sea
            return
        here = self._pos_at(leg, start)
        for attempt in range(20):
            cb, cleg = self.leg_hull("clone", start, epi + H, shadow=True)
            there = self._pos_at(cleg, start)
            far = far_apart(here[0], here[1], there[0], there[1]) > 300_000
            if (far and _cruising(cleg, start, start + epi)) or attempt == 19:
                break
            self.hulls.pop()
        cb.hull.active = (start, start + epi)
        cb.hull.statics = orig.statics  # the same identity, word for word
        cb.hull.roles.append(f"clone_of_hull_{orig.idx}")

    def identity(self, kind: str) -> None:
        """Renames (same MMSI/IMO) and reflagging (same IMO, new MMSI and flag) at sea."""
        rng = self.rng
        bld, _ = self.leg_hull(kind, self.w.when(0.2, 0.8), 2 * H, shadow=True)
        start = self._cruise_time(bld.hull, 2 * H)
        if start is None:
            bld.finish()
            return
        at, ids = start + H, self.w.ids
        if kind == "rename":
            ch: dict[str, object] = {"name": ids.name()}
            if rng.random() < 0.5:
                ch["callsign"] = ids.callsign(bld.base.mmsi // 1_000_000)
        else:
            old_mid = bld.base.mmsi // 1_000_000
            mid = int(rng.choice([m for m in SHADOW_MIDS if m != old_mid]))
            ch = {"mmsi": ids.mmsi(mid), "callsign": ids.callsign(mid)}
            if rng.random() < 0.4:
                ch["name"] = ids.name()
        bld.static_at(at, **ch)
        bld.finish()

    def invalid(self, bad_mid: bool) -> None:
        mid = int(self.rng.choice(UNALLOCATED_MIDS)) if bad_mid else None
        hull = self.trader("invalid_identity", shadow=True, valid_imo=bad_mid, mid=mid)
        hull.roles.append("invalid_mid" if bad_mid else "invalid_imo")

    def terminal(self) -> None:
        """A call at a Russian export terminal, loading crude."""
        w, rng = self.w, self.rng
        terms = [p for p in w.hubs if p.sanctioned]
        for _ in range(20):
            term = terms[int(rng.integers(len(terms)))]
            hub = next((p for p in nearest_places(term, w.hubs, 6)
                        if not p.sanctioned and lane(p, term) is not None), None)
            if hub is not None:
                break
        else:
            return
        hull, static = self.new("terminal_call", shadow=True)
        if rng.random() < 0.5:  # already alongside when the period starts
            bld = self.builder(hull, static, term, laden=False)
            stay = bld.port_stay(float(rng.uniform(14, 30)) * H)
            bld.shift(w.t0 - float(rng.uniform(0, 0.4)) * (stay.t1 - stay.t0))
        else:
            bld = self.builder(hull, static, hub, laden=False)
            bld.port_stay(float(rng.uniform(4, 12)) * H, cargo=False)
            bld.sail(term)
            bld.shift(w.when(0.1, 0.45) - bld.t)
            bld.port_stay(float(rng.uniform(10, 24)) * H)
        bld.trade(w.t1 + H)
        bld.finish()

    # --- hard negatives ---------------------------------------------------------------
    def passing(self) -> None:
        """Two ships pass within ~200-400 m at full speed on opposite courses."""
        rng, w = self.rng, self.w
        a, b, route = pick_lane(w, 150_000)
        meet, legs = w.when(0.2, 0.8), []
        for origin, dest in ((a, b), (b, a)):
            hull, static = self.new("hard_negative_passing", tanker=bool(rng.random() < 0.5))
            bld = self.builder(hull, static, origin)
            bld.port_stay(float(rng.uniform(6, 20)) * H)
            leg = bld.sail(dest, lateral=float(rng.uniform(100, 180)))
            assert leg is not None
            legs.append((bld, leg))
        for bld, leg in legs:
            bld.shift(meet - leg.time_at(route.length / 2))
            bld.trade(w.t1 + H)
            bld.finish()

    def short_gap(self) -> None:
        dur = float(self.rng.uniform(0.5, 5.0)) * H
        bld, _ = self.leg_hull("hard_negative_short_gap", self.w.when(0.1, 0.8), dur + H)
        start = self._cruise_time(bld.hull, dur)
        if start is not None:
            bld.hull.silent.append((start, start + dur))
        bld.finish()

    def slow(self) -> None:
        kn = float(self.rng.uniform(3.2, 4.0))
        bld, _ = self.leg_hull("hard_negative_slow_steaming", self.w.when(0.1, 0.5), 8 * H, kn=kn)
        bld.finish()

    def port_cluster(self) -> None:
        """Several ships wait at one anchorage together: close and stopped, but in port."""
        rng, w = self.rng, self.w
        ports = [p for p in w.hubs if not p.sanctioned]
        port = ports[int(rng.integers(len(ports)))]
        e = w.when(0.15, 0.6)
        origins = [p for p in nearest_places(port, w.hubs, 6) if lane(p, port) is not None]
        if not origins:
            return
        for _ in range(3):
            hull, static = self.new("hard_negative_port_cluster")
            bld = self.builder(hull, static, origins[int(rng.integers(len(origins)))])
            bld.port_stay(float(rng.uniform(4, 12)) * H)
            n, ea = rng.uniform(-100, 100, 2)
            bld.sail(port, end=(port.lat + n / M_PER_DEG, port.lon + ea / (M_PER_DEG * np.cos(np.radians(port.lat)))))
            bld.shift(e - float(rng.uniform(0, 3)) * H - bld.t)
            bld.port_stay(e + float(rng.uniform(4, 10)) * H - bld.t)
            bld.trade(w.t1 + H)
            bld.finish()

    def glitch(self) -> None:
        """One bad position 20-35 km off the track: noise, not a spoofing episode."""
        rng = self.rng
        bld, _ = self.leg_hull("hard_negative_glitch", self.w.when(0.2, 0.8), 2 * H)
        at = self._cruise_time(bld.hull, H)
        leg = bld.hull.segment_at(at) if at is not None else None
        if at is None or not isinstance(leg, Sail):
            bld.finish()
            return
        d0, _ = leg.dist(np.array([at]))
        here = self._pos_at(leg, at)
        for sign in (1, -1, 1, -1):
            s = leg.s0 + float(d0[0]) + sign * float(rng.uniform(20_000, 35_000))
            la, lo, _ = leg.route.at(s)
            if far_apart(here[0], here[1], float(la), float(lo)) > 12_000 and not is_on_land(la, lo):
                bld.hull.glitches.append((at, float(la), float(lo)))
                break
        bld.finish()


def _cruising(leg: Sail, a: float, b: float) -> bool:
    return leg.t0 + leg.ta <= a and b <= leg.t1 - leg.td


def plan(world: World, vessels: int) -> tuple[list[Hull], list[Hull]]:
    """Every hull of the scenario (behaviour counts scale with ``vessels``) and, of those, the
    ordinary traders that fill it up (no recipe touched them: the screening plants use them)."""
    sc = Scenario(world)
    recipes: dict[str, Callable[[], None]] = {
        "sts": sc.sts, "dark_sts": lambda: sc.sts(dark=True), "loiter": sc.loiter,
        "dark_gap": sc.dark_gap, "teleport": sc.teleport, "land": lambda: sc.teleport(on_land=True),
        "clone": sc.clone, "rename": lambda: sc.identity("rename"),
        "reflag": lambda: sc.identity("reflag"), "terminal": sc.terminal, "passing": sc.passing,
        "short_gap": sc.short_gap, "slow": sc.slow, "port_cluster": sc.port_cluster,
        "glitch": sc.glitch,
    }
    budget = vessels
    for name, share in QUOTA.items():
        per = HULLS_PER.get(name, 1)
        n = int(round(vessels * share / per))
        if vessels >= 50:
            n = max(n, MIN_COUNT.get(name, 1))
        for i in range(n):
            if budget < per:
                break
            before = len(sc.hulls)
            if name == "invalid":
                sc.invalid(bad_mid=bool(i % 2))
            else:
                recipes[name]()
            budget -= len(sc.hulls) - before
    ordinary: list[Hull] = []
    while len(sc.hulls) < vessels:
        ordinary.append(sc.trader(tanker=bool(world.rng.random() < 0.6)))
    del sc.hulls[vessels:]
    return sc.hulls, [h for h in ordinary if h.idx < vessels]

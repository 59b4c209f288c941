"""Builds one hull's itinerary: port stays, legs along sea lanes, drifting stops, static updates.

A builder works in its own clock until an anchor (a meeting, a gap) is placed, then
:meth:`Builder.shift` moves everything so the anchor falls at the wanted absolute time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shadowtrace.geo.nearest import haversine_m
from shadowtrace.simulate.identity import (
    NAV_ANCHOR,
    NAV_MOORED,
    IdentityFactory,
    Static,
    StaticRegistry,
    draughts,
)
from shadowtrace.simulate.routes import KN, M_PER_DEG, Place, Route, lane, nearest_places
from shadowtrace.simulate.vessel import Hull, Sail, Stay

H = 3600.0


@dataclass
class World:
    t0: float
    t1: float
    rng: np.random.Generator
    ids: IdentityFactory
    registry: StaticRegistry
    hubs: tuple[Place, ...]
    sts: tuple[Place, ...]

    @property
    def period(self) -> float:
        return self.t1 - self.t0

    def when(self, lo: float, hi: float) -> float:
        """A time at fraction U(lo, hi) of the simulated period."""
        return self.t0 + float(self.rng.uniform(lo, hi)) * self.period


def metres(lat: float, lon: float, ref: Place) -> tuple[float, float]:
    """(north, east) metres of (lat, lon) from ``ref``."""
    return ((lat - ref.lat) * M_PER_DEG,
            (lon - ref.lon) * M_PER_DEG * np.cos(np.radians(ref.lat)))


class Builder:
    def __init__(self, world: World, hull: Hull, static: Static, place: Place, laden: bool,
                 t: float = 0.0):
        self.w, self.hull, self.rng = world, hull, world.rng
        self.base = static
        self.ballast_d, self.laden_d = draughts(static)
        self.laden = laden
        self.base = static.but(draught=self.laden_d if laden else self.ballast_d)
        self.requests: list[tuple[float, dict[str, object]]] = []
        self.place: Place | None = place
        self.lat, self.lon = self._near(place, 150.0)
        self.t = t
        self.kn = float(self.rng.uniform(10.0, 15.0))

    # --- primitives -------------------------------------------------------------------
    def _near(self, place: Place, spread: float) -> tuple[float, float]:
        n, e = self.rng.uniform(-spread, spread, 2)
        return (place.lat + n / M_PER_DEG,
                place.lon + e / (M_PER_DEG * np.cos(np.radians(place.lat))))

    def static_at(self, t: float, **changes: object) -> None:
        self.requests.append((t, changes))

    def stay(self, dur: float, *, in_port: bool, nav: int, drift: tuple[float, float] = (0.0, 0.0),
             ref: tuple[float, float, float] | None = None, swing: tuple[float, float, float] | None = None) -> Stay:
        rng = self.rng
        t_ref, rlat, rlon = ref if ref is not None else (self.t, self.lat, self.lon)
        sw = swing or (float(rng.uniform(20, 60)), float(rng.uniform(4, 12)) * H, float(rng.uniform(0, 6.28)))
        stay = Stay(self.t, self.t + dur, rlat, rlon, t_ref, drift[0], drift[1], nav,
                    float(rng.uniform(0, 360)), sw[0], sw[1], sw[2], in_port)
        self.hull.segments.append(stay)
        self.t = stay.t1
        la, lo = stay.pos(stay.t1)
        self.lat, self.lon = float(la), float(lo)
        return stay

    def leg(self, route: Route, s0: float, s1: float, *, dest: Place | None, kn: float | None = None,
            v0: float = 0.0, v1: float = 0.0, end: tuple[float, float] | None = None,
            lateral: float | None = None) -> Sail:
        rs, re_ = route.at(s0), route.at(s1)
        start_ref = Place("", "", float(rs[0]), float(rs[1]), -1, False, False)
        shift0 = metres(self.lat, self.lon, start_ref)
        if end is None:
            end = self._near(dest, 150.0) if dest is not None and dest.port_row >= 0 else (float(re_[0]), float(re_[1]))
        shift1 = metres(end[0], end[1], Place("", "", float(re_[0]), float(re_[1]), -1, False, False))
        lat_m = float(self.rng.uniform(-250, 250)) if lateral is None else lateral
        sail = Sail(self.t, route, s0, s1, (kn or self.kn) * KN, v0, v1,
                    acc=float(self.rng.uniform(0.003, 0.005)), lateral_m=lat_m,
                    shift0=shift0, shift1=shift1, wobble=float(self.rng.uniform(0.05, 0.15)))
        self.hull.segments.append(sail)
        self.t = sail.t1
        self.lat, self.lon = end  # where the leg's end shift puts it (see Sail.pos)
        self.place = dest
        return sail

    def sail(self, dest: Place, *, kn: float | None = None, end: tuple[float, float] | None = None,
             lateral: float | None = None) -> Sail | None:
        assert self.place is not None
        route = lane(self.place, dest)
        if route is None or route.length < 5_000:
            return None
        if dest.port_row >= 0:
            depart = self.t - float(self.rng.uniform(0.2, 1.5)) * H
            eta_guess = self.t + route.length / ((kn or self.kn) * KN) + H
            self.static_at(depart, destination=_dest_text(dest), eta=int(eta_guess // 60 * 60))
        return self.leg(route, 0.0, route.length, dest=dest, kn=kn, end=end, lateral=lateral)

    def port_stay(self, dur: float, *, cargo: bool | None = None) -> Stay:
        assert self.place is not None
        place = self.place
        if cargo is None:
            if place.sanctioned:
                cargo = not self.laden
            else:
                cargo = bool(self.rng.random() < (0.6 if self.laden else 0.4))
        stay = self.stay(dur, in_port=True, nav=NAV_ANCHOR if place.anchorage else NAV_MOORED)
        if cargo:
            self.laden = not self.laden
            self.static_at(stay.t1 - float(self.rng.uniform(0.3, 1.0)) * H, draught=self.draught())
        return stay

    def draught(self) -> float:
        return self.laden_d if self.laden else self.ballast_d

    def next_port(self, pool: tuple[Place, ...] | None = None) -> Place | None:
        assert self.place is not None
        cands = nearest_places(self.place, pool or self.w.hubs, 6)
        self.rng.shuffle(cands)
        for c in cands:
            r = lane(self.place, c)
            if r is not None and r.length > 20_000:
                return c
        return None

    def trade(self, until: float) -> None:
        """Ordinary commerce: stay in port, sail to a nearby hub, repeat."""
        while self.t < until:
            if self.place is None or self.place.port_row < 0:
                nxt = self.next_port()
                if nxt is None or self.sail(nxt) is None:
                    self.stay(until - self.t + H, in_port=False, nav=NAV_ANCHOR)
                    return
                continue
            self.port_stay(float(self.rng.uniform(6, 30)) * H)
            nxt = self.next_port()
            if nxt is None or self.sail(nxt) is None:
                self.port_stay(until - self.t + H, cargo=False)
                return

    def shift(self, dt: float) -> None:
        """Move everything planned so far by ``dt`` seconds."""
        for seg in self.hull.segments:
            seg.t0 += dt
            seg.t1 += dt
            if isinstance(seg, Stay):
                seg.t_ref += dt
        moved = []
        for t, ch in self.requests:
            if ch.get("eta") is not None:
                ch = {**ch, "eta": int(ch["eta"] + dt) // 60 * 60}  # type: ignore[operator]
            moved.append((t + dt, ch))
        self.requests = moved
        self.hull.silent = [(a + dt, b + dt) for a, b in self.hull.silent]
        self.t += dt

    def finish(self) -> Hull:
        """Materialise the static timeline (one registry id per distinct version)."""
        static = self.base
        timeline = [(-np.inf, self.w.registry.add(static))]
        for t, ch in sorted(self.requests, key=lambda r: r[0]):
            static = static.but(**ch)
            timeline.append((t, self.w.registry.add(static)))
        self.hull.statics = timeline
        return self.hull


def _dest_text(place: Place) -> str:
    text = "".join(ch for ch in place.name.upper() if ch.isalnum() or ch == " ")
    return text[:20].strip() or "UNKNOWN"


def pick_lane(world: World, min_len: float, pool: tuple[Place, ...] | None = None,
              tries: int = 40) -> tuple[Place, Place, Route]:
    """A random hub and a nearby hub with a lane of at least ``min_len`` metres (or the
    longest seen)."""
    pool = pool or world.hubs
    best: tuple[Place, Place, Route] | None = None
    for _ in range(tries):
        a = pool[int(world.rng.integers(len(pool)))]
        for b in nearest_places(a, world.hubs, 8):
            r = lane(a, b)
            if r is None:
                continue
            if r.length >= min_len:
                return a, b, r
            if best is None or r.length > best[2].length:
                best = (a, b, r)
    assert best is not None, "no sea lane between any hubs"
    return best


def far_apart(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(haversine_m(lat1, lon1, lat2, lon2))

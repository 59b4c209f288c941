"""One hull's plan (stays and sailing legs plus overlays) and its sampled AIS position reports.

Kinematics are closed-form per segment, so any set of report times is evaluated in one
vectorised pass: a trapezoid speed profile along a sea lane (with a slow speed wobble), or a
drifting, swinging stay. Overlays then remove reports (gaps) or replace positions (spoofing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shadowtrace.simulate.identity import NAV_UNDERWAY
from shadowtrace.simulate.routes import KN, M_PER_DEG, Route

GPS_SIGMA_M = 7.0  # per axis, ~10 m radial like a consumer GNSS receiver
SAIL_REPORT_S = 60.0
STAY_REPORT_S = 180.0
BLEND_M = 10_000.0  # distance over which a leg eases into its off-lane start/end points


def drift_offset(dt: np.ndarray | float, drift: tuple[float, float],
                 swing: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """(north, east) metres moved ``dt`` seconds after a stay's reference time: steady drift
    plus an elliptical swing (wind and tide turning a ship about its anchor)."""
    ph = 2 * np.pi * np.asarray(dt) / swing[1] + swing[2]
    return (drift[0] * dt + swing[0] * np.sin(ph), drift[1] * dt + swing[0] * 0.6 * np.cos(ph))


@dataclass
class Stay:
    """Stopped or drifting: position = ref + drift * (t - t_ref) + a slow swing."""

    t0: float
    t1: float
    lat: float  # reference position at t_ref
    lon: float
    t_ref: float
    drift_n: float = 0.0  # m/s
    drift_e: float = 0.0
    nav: int = 5
    heading: float = 0.0
    swing_m: float = 40.0
    swing_period: float = 6 * 3600.0
    swing_phase: float = 0.0
    in_port: bool = True

    def pos(self, t: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        dt = np.asarray(t, float) - self.t_ref
        north, east = drift_offset(dt, (self.drift_n, self.drift_e),
                                   (self.swing_m, self.swing_period, self.swing_phase))
        return (self.lat + north / M_PER_DEG,
                self.lon + east / (M_PER_DEG * np.cos(np.radians(self.lat))))


@dataclass
class Sail:
    """A leg along ``route`` from distance s0 to s1, trapezoid speed profile v0 -> vc -> v1."""

    t0: float
    route: Route
    s0: float
    s1: float
    vc: float  # cruise speed, m/s
    v0: float = 0.0
    v1: float = 0.0
    acc: float = 0.004
    lateral_m: float = 0.0  # to starboard of the lane
    shift0: tuple[float, float] = (0.0, 0.0)  # (north, east) metres off the lane at the start
    shift1: tuple[float, float] = (0.0, 0.0)
    wobble: float = 0.1  # m/s amplitude of slow speed changes while cruising
    t1: float = field(init=False)

    def __post_init__(self) -> None:
        length = max(self.s1 - self.s0, 1.0)
        v0, v1 = min(self.v0, self.vc), min(self.v1, self.vc)
        need = (2 * self.vc**2 - v0**2 - v1**2) / (2 * self.acc)
        if need > length:  # too short to reach cruise speed
            self.vc = float(np.sqrt(self.acc * length + (v0**2 + v1**2) / 2))
        self.v0, self.v1, self.length = v0, v1, length
        self.ta = (self.vc - v0) / self.acc
        self.td = (self.vc - v1) / self.acc
        self.d1 = (v0 + self.vc) / 2 * self.ta
        self.d3 = (v1 + self.vc) / 2 * self.td
        self.tc = max(0.0, (length - self.d1 - self.d3) / self.vc)
        self.duration = self.ta + self.tc + self.td
        self.t1 = self.t0 + self.duration
        self.k = max(1, round(self.tc / 7200.0))

    def dist(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance from the leg start and speed (m/s) at times ``t``."""
        tau = np.clip(np.asarray(t, float) - self.t0, 0.0, self.duration)
        a1 = (self.vc - self.v0) / self.ta if self.ta > 0 else 0.0
        a3 = (self.vc - self.v1) / self.td if self.td > 0 else 0.0
        u = self.duration - tau
        w = 2 * np.pi * self.k / self.tc if self.tc > 0 else 0.0
        tc = tau - self.ta
        s = np.where(tau < self.ta, self.v0 * tau + 0.5 * a1 * tau**2,
                     np.where(u < self.td, self.length - (self.v1 * u + 0.5 * a3 * u**2),
                              self.d1 + self.vc * tc + (self.wobble / w * np.sin(w * tc) if w else 0.0)))
        v = np.where(tau < self.ta, self.v0 + a1 * tau,
                     np.where(u < self.td, self.v1 + a3 * u,
                              self.vc + (self.wobble * np.cos(w * tc) if w else 0.0)))
        return s, v

    def time_at(self, d: float) -> float:
        """Absolute time the leg has covered ``d`` metres (for planning meetings)."""
        grid = np.linspace(self.t0, self.t1, 2001)
        s, _ = self.dist(grid)
        return float(np.interp(d, s, grid))

    def pos(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        d, v = self.dist(t)
        lat, lon, brg = self.route.at(self.s0 + d)
        w0 = np.clip(1 - d / min(BLEND_M, self.length / 2), 0, 1)
        w1 = np.clip(1 - (self.length - d) / min(BLEND_M, self.length / 2), 0, 1)
        taper = np.clip(np.minimum(d, self.length - d) / 5000.0, 0, 1) * self.lateral_m
        side = np.radians(brg + 90.0)
        north = self.shift0[0] * w0 + self.shift1[0] * w1 + taper * np.cos(side)
        east = self.shift0[1] * w0 + self.shift1[1] * w1 + taper * np.sin(side)
        lat = lat + north / M_PER_DEG
        lon = lon + east / (M_PER_DEG * np.cos(np.radians(lat)))
        return lat, lon, v, brg


Segment = Stay | Sail


@dataclass
class Jump:
    """Reported positions replaced by a spoofed place (at sea, or on land) for a while."""

    t0: float
    t1: float
    lat: float
    lon: float
    on_land: bool


@dataclass
class Hull:
    idx: int
    segments: list[Segment] = field(default_factory=list)
    statics: list[tuple[float, int]] = field(default_factory=list)  # (from time, static id)
    silent: list[tuple[float, float]] = field(default_factory=list)
    active: tuple[float, float] | None = None  # transmits only inside (a clone's episode)
    jumps: list[Jump] = field(default_factory=list)
    glitches: list[tuple[float, float, float]] = field(default_factory=list)  # (t, lat, lon)
    roles: list[str] = field(default_factory=list)
    heading_bias: float = 0.0
    heading_known: bool = True

    def segment_at(self, t: float) -> Segment | None:
        for seg in self.segments:
            if seg.t0 <= t < seg.t1:
                return seg
        return None


@dataclass
class Track:
    """Sampled reports of one hull, time-ordered; the columns every writer needs."""

    t: np.ndarray  # int64 epoch seconds
    lat: np.ndarray
    lon: np.ndarray
    sog: np.ndarray  # knots, 0.1 resolution
    cog: np.ndarray  # degrees, 0.1 resolution
    heading: np.ndarray  # int16, 511 = not available
    nav: np.ndarray  # int8 AIS navigational status
    sid: np.ndarray  # int32 static record id

    def __len__(self) -> int:
        return len(self.t)


def _times(hull: Hull, t_lo: float, t_hi: float, rng: np.random.Generator) -> np.ndarray:
    out: list[np.ndarray] = []
    cur = t_lo + rng.uniform(0, SAIL_REPORT_S)
    for seg in hull.segments:
        end = min(seg.t1, t_hi)
        if end <= cur:
            continue
        base = STAY_REPORT_S if isinstance(seg, Stay) else SAIL_REPORT_S
        n = int((end - cur) / (base * 0.85)) + 2
        steps = base * rng.uniform(0.85, 1.15, n)
        ts = cur + np.concatenate([[0.0], np.cumsum(steps[:-1])])
        ts = ts[ts < end]
        if ts.size:
            out.append(ts)
            cur = float(ts[-1] + base * rng.uniform(0.85, 1.15))
    return np.floor(np.concatenate(out)) if out else np.zeros(0)


def sample(hull: Hull, t_lo: float, t_hi: float, rng: np.random.Generator) -> Track:
    """All reports of ``hull`` in [t_lo, t_hi) after gaps, spoofing and glitches."""
    t = _times(hull, t_lo, t_hi, rng)
    keep = np.ones(t.size, bool)
    for a, b in hull.silent:
        keep &= (t < a) | (t >= b)
    if hull.active is not None:
        keep &= (t >= hull.active[0]) & (t <= hull.active[1])
    t = t[keep]
    n = t.size
    lat, lon = np.empty(n), np.empty(n)
    sog, cog, hdg = np.empty(n), np.empty(n), np.empty(n)
    nav = np.zeros(n, np.int8)
    starts = np.array([s.t0 for s in hull.segments])
    which = np.clip(np.searchsorted(starts, t, side="right") - 1, 0, len(starts) - 1)
    for k in np.unique(which):
        m = which == k
        seg = hull.segments[k]
        if isinstance(seg, Sail):
            la, lo, v, brg = seg.pos(t[m])
            lat[m], lon[m] = la, lo
            sog[m] = np.maximum(v / KN + rng.normal(0, 0.08, la.size), 0.0)
            cog[m] = brg + rng.normal(0, 0.7, la.size)
            hdg[m] = cog[m] + hull.heading_bias + rng.normal(0, 1.0, la.size)
            nav[m] = NAV_UNDERWAY
        else:
            la, lo = seg.pos(t[m])
            lat[m], lon[m] = la, lo
            drift_kn = np.hypot(seg.drift_n, seg.drift_e) / KN
            if seg.in_port:
                sog[m] = np.minimum(np.abs(rng.normal(0, 0.05, la.size)), 0.3)
            else:
                sog[m] = np.clip(drift_kn + rng.normal(0, 0.1, la.size), 0.0, 1.6)
            course = np.degrees(np.arctan2(seg.drift_e, seg.drift_n))
            noisy = drift_kn < 0.1
            cog[m] = np.where(noisy, rng.uniform(0, 360, la.size), course + rng.normal(0, 25, la.size))
            hdg[m] = seg.heading + 8 * np.sin((t[m] - seg.t0) / 9000.0) + rng.normal(0, 1.5, la.size)
            nav[m] = seg.nav
    # GNSS noise, then overlays that replace the reported position.
    lat += rng.normal(0, GPS_SIGMA_M, n) / M_PER_DEG
    lon += rng.normal(0, GPS_SIGMA_M, n) / (M_PER_DEG * np.cos(np.radians(lat)))
    for j in hull.jumps:
        m = (t >= j.t0) & (t <= j.t1)
        ph = 2 * np.pi * (t[m] - j.t0) / 1800.0
        lat[m] = j.lat + 800.0 * np.sin(ph) / M_PER_DEG
        lon[m] = j.lon + 800.0 * np.cos(ph) / (M_PER_DEG * np.cos(np.radians(j.lat)))
    for gt, glat, glon in hull.glitches:
        i = int(np.searchsorted(t, gt))
        if i < n:
            lat[i], lon[i] = glat, glon
    stimes = np.array([s[0] for s in hull.statics])
    sids = np.array([s[1] for s in hull.statics], np.int32)
    sid = sids[np.clip(np.searchsorted(stimes, t, side="right") - 1, 0, len(sids) - 1)]
    heading = np.round(hdg) % 360 if hull.heading_known else np.full(n, 511.0)
    return Track(
        t=t.astype(np.int64), lat=np.round(lat, 6), lon=np.round(lon, 6),
        sog=np.round(sog, 1), cog=np.round(cog % 360.0, 1) % 360.0,
        heading=heading.astype(np.int16), nav=nav, sid=sid,
    )

"""Ground truth derived from the reports actually written, under the detectors' definitions.

Truth is computed from each hull's sampled track (not from the plan), so incidental events —
ordinary port calls, both STS partners loitering, draught changes from cargo work, a sea lane
clipping a headland — are listed exactly when the data implies them. Only spoofing episodes
come from the plan (which positions are false is not visible in the data), checked against
the data's implied speeds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from shadowtrace.geo.land import is_well_inland
from shadowtrace.geo.nearest import haversine_m, nearest_port, within_port
from shadowtrace.geo.ports import load_ports
from shadowtrace.simulate.identity import FLAGS, Static, flag_of, imo_valid
from shadowtrace.simulate.vessel import Hull, Track

GAP_S = 6 * 3600
ENCOUNTER_M, ENCOUNTER_S, SLOW_KN, PORT_FAR_M = 500.0, 2 * 3600, 2.0, 10_000.0
LOITER_S = 4 * 3600
STOP_KN, PORT_CALL_S = 0.5, 3600
JUMP_KN, JUMP_M = 50.0, 10_000.0
DRAUGHT_M = 1.0
IDENTITY_FIELDS = ("name", "callsign", "imo", "ship_type")
BATCH_ROWS = 500_000  # reports per port look-up batch


def iso(t: float) -> str:
    return dt.datetime.fromtimestamp(int(t), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(kind: str, mmsi: int, other: int | None, t0: float, t1: float, lat: float, lon: float,
          **details: object) -> dict[str, object]:
    return {"type": kind, "mmsi": int(mmsi), "other_mmsi": None if other is None else int(other),
            "start": iso(t0), "end": iso(t1), "lat": round(float(lat), 5),
            "lon": round(float(lon), 5), "details": details}


def runs(mask: np.ndarray, key: np.ndarray | None = None) -> list[tuple[int, int]]:
    """Inclusive index ranges of consecutive True values (and, if given, equal ``key``)."""
    if not mask.any():
        return []
    brk = np.diff(mask.astype(np.int8)) != 0
    if key is not None:
        brk |= np.diff(key) != 0
    edges = np.concatenate([[0], np.flatnonzero(brk) + 1, [mask.size]])
    return [(int(a), int(b) - 1) for a, b in zip(edges[:-1], edges[1:]) if mask[a]]


def mid_valid(mmsi: int) -> bool:
    return 100_000_000 <= mmsi <= 999_999_999 and (mmsi // 1_000_000) in FLAGS


@dataclass
class SlowRun:
    mmsi: int
    hull: int
    t: np.ndarray
    lat: np.ndarray
    lon: np.ndarray


@dataclass
class TruthPart:
    """What one worker learnt: its events plus the pieces needing other hulls' data."""

    events: list[dict[str, object]]
    slow: list[SlowRun]
    shared: dict[int, list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]]


class TruthCollector:
    """Feed every hull's track once (:meth:`add`), then :meth:`finish` for the event list."""

    def __init__(self, statics: list[Static], shared_mmsis: set[int]):
        self.statics = statics
        self.mmsi_of = np.array([s.mmsi for s in statics], np.int64)
        self.shared = shared_mmsis
        self.events: list[dict[str, object]] = []
        self.slow: list[SlowRun] = []
        self.pending: list[tuple[Hull, Track]] = []
        self.pending_rows = 0
        self.shared_tracks: dict[int, list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]] = defaultdict(list)
        ports = load_ports()
        self.port_id = ports["port_id"].to_pylist()
        self.port_name = ports["name"].to_pylist()
        self.port_kind = ports["kind"].to_pylist()
        self.sanctioned = ports["sanctioned_terminal"].to_pylist()

    def add(self, hull: Hull, tr: Track) -> None:
        """Queue one hull's track; port look-ups run in batches (one k-d tree query each)."""
        if not len(tr):
            return
        self.pending.append((hull, tr))
        self.pending_rows += len(tr)
        if self.pending_rows >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        slow_idx, look_idx = [], []
        for _, tr in self.pending:
            slow_idx.append(np.flatnonzero(tr.sog < SLOW_KN))
            change = np.flatnonzero(np.diff(tr.sid) != 0) + 1
            look_idx.append(np.union1d(np.flatnonzero(tr.sog < STOP_KN), change))
        lat = np.concatenate([tr.lat[i] for (_, tr), i in zip(self.pending, slow_idx)] + [np.zeros(0)])
        lon = np.concatenate([tr.lon[i] for (_, tr), i in zip(self.pending, slow_idx)] + [np.zeros(0)])
        dist_all = nearest_port(lat, lon)[0] if lat.size else lat
        lat = np.concatenate([tr.lat[i] for (_, tr), i in zip(self.pending, look_idx)] + [np.zeros(0)])
        lon = np.concatenate([tr.lon[i] for (_, tr), i in zip(self.pending, look_idx)] + [np.zeros(0)])
        row_all = within_port(lat, lon) if lat.size else np.zeros(0, np.int64)
        inland_all = self._inland([tr for _, tr in self.pending])
        a = b = c = 0
        for (hull, tr), si, li in zip(self.pending, slow_idx, look_idx):
            dist = np.full(len(tr), np.inf)
            dist[si] = dist_all[a:a + si.size]
            row = np.full(len(tr), -1, np.int64)
            row[li] = row_all[b:b + li.size]
            a, b, c = a + si.size, b + li.size, c + len(tr)
            self._hull(hull, tr, dist, row, inland_all[c - len(tr):c])
        self.pending, self.pending_rows = [], 0

    @staticmethod
    def _inland(tracks: list[Track]) -> np.ndarray:
        """``is_well_inland`` for every report of ``tracks`` (concatenated), evaluated once per
        run of reports in the same 1 km mask cell, in one call for the whole batch."""
        lat = np.concatenate([tr.lat for tr in tracks])
        lon = np.concatenate([tr.lon for tr in tracks])
        cell = np.rint(lat * 120).astype(np.int64) * 50_000 + np.rint(lon * 120).astype(np.int64)
        first = np.concatenate([[True], np.diff(cell) != 0])
        rep = np.flatnonzero(first)
        return is_well_inland(lat[rep], lon[rep])[np.cumsum(first) - 1]

    def _hull(self, hull: Hull, tr: Track, dist: np.ndarray, row: np.ndarray, inland: np.ndarray) -> None:
        mmsi = self.mmsi_of[tr.sid]
        for a, b in runs(np.ones(len(tr), bool), mmsi):
            sl = slice(a, b + 1)
            sub = Track(tr.t[sl], tr.lat[sl], tr.lon[sl], tr.sog[sl], tr.cog[sl], tr.heading[sl], tr.nav[sl], tr.sid[sl])
            m = int(mmsi[a])
            if m in self.shared:
                self.shared_tracks[m].append((hull.idx, sub.t, sub.lat, sub.lon))
            else:
                self._gaps(m, sub.t, sub.lat, sub.lon)
            self._stops(hull, m, sub, dist[sl], row[sl])
            self._land(m, sub, inland[sl])
            self._statics(m, sub, row[sl])
            self._invalid(m, sub)
            if hull.active is not None:
                self._conflict(hull, m, sub)
        self._jumps(hull, tr, mmsi)
        self.reflag(hull, tr)

    # --- per hull ---------------------------------------------------------------------
    def _gaps(self, m: int, t: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> None:
        for i in np.flatnonzero(np.diff(t) >= GAP_S):
            km = haversine_m(lat[i], lon[i], lat[i + 1], lon[i + 1]) / 1000
            self.events.append(event("ais_gap", m, None, t[i], t[i + 1], lat[i], lon[i],
                                     hours=round((t[i + 1] - t[i]) / 3600, 2), km=round(float(km), 1),
                                     lat_end=float(lat[i + 1]), lon_end=float(lon[i + 1])))

    def _stops(self, hull: Hull, m: int, tr: Track, dist: np.ndarray, row: np.ndarray) -> None:
        slow = tr.sog < SLOW_KN
        if not slow.any():
            return
        for a, b in runs((tr.sog < STOP_KN) & (row >= 0), row):
            if tr.t[b] - tr.t[a] >= PORT_CALL_S:
                r = int(row[a])
                self.events.append(event(
                    "port_call", m, None, tr.t[a], tr.t[b], tr.lat[a:b + 1].mean(), tr.lon[a:b + 1].mean(),
                    port_id=self.port_id[r], port_name=self.port_name[r], port_kind=self.port_kind[r],
                    sanctioned_terminal=bool(self.sanctioned[r]), hours=round((tr.t[b] - tr.t[a]) / 3600, 2)))
        for a, b in runs(slow & (dist >= PORT_FAR_M)):
            span = tr.t[b] - tr.t[a]
            sl = slice(a, b + 1)
            if span >= LOITER_S:
                self.events.append(event(
                    "loitering", m, None, tr.t[a], tr.t[b], tr.lat[sl].mean(), tr.lon[sl].mean(),
                    hours=round(span / 3600, 2), mean_sog=round(float(tr.sog[sl].mean()), 2),
                    port_km=round(float(dist[sl].min()) / 1000, 1)))
            if span >= ENCOUNTER_S:
                self.slow.append(SlowRun(m, hull.idx, tr.t[sl], tr.lat[sl], tr.lon[sl]))

    def _land(self, m: int, tr: Track, inland: np.ndarray) -> None:
        for a, b in runs(inland):
            if tr.t[b] > tr.t[a]:  # two distinct times at least: one lone fix is a glitch
                self.events.append(event("position_on_land", m, None, tr.t[a], tr.t[b], tr.lat[a], tr.lon[a],
                                         positions=b - a + 1))

    def _statics(self, m: int, tr: Track, row: np.ndarray) -> None:
        for i in np.flatnonzero(np.diff(tr.sid) != 0):
            old, new = self.statics[tr.sid[i]], self.statics[tr.sid[i + 1]]
            changed = [f for f in IDENTITY_FIELDS if getattr(old, f) != getattr(new, f)]
            if changed:
                self.events.append(event(
                    "identity_change", m, None, tr.t[i], tr.t[i + 1], tr.lat[i + 1], tr.lon[i + 1],
                    changed=changed, before={f: getattr(old, f) for f in changed},
                    after={f: getattr(new, f) for f in changed}))
            if abs(new.draught - old.draught) >= DRAUGHT_M - 1e-9:
                at_sea = bool(row[i + 1] < 0)
                self.events.append(event(
                    "draught_change", m, None, tr.t[i], tr.t[i + 1], tr.lat[i + 1], tr.lon[i + 1],
                    before=old.draught, after=new.draught, change=round(new.draught - old.draught, 1),
                    at_sea=at_sea))

    def reflag(self, hull: Hull, tr: Track) -> None:
        """Same IMO under a new MMSI: compares the last report before each MMSI switch."""
        mmsi = self.mmsi_of[tr.sid]
        for i in np.flatnonzero(np.diff(mmsi) != 0):
            old, new = self.statics[tr.sid[i]], self.statics[tr.sid[i + 1]]
            if old.imo is not None and old.imo == new.imo:
                fields = [f for f in ("mmsi", "name", "callsign") if getattr(old, f) != getattr(new, f)]
                self.events.append(event(
                    "identity_change", new.mmsi, old.mmsi, tr.t[i], tr.t[i + 1], tr.lat[i + 1], tr.lon[i + 1],
                    changed=fields, before={f: getattr(old, f) for f in fields} | {"flag": flag_of(old.mmsi)},
                    after={f: getattr(new, f) for f in fields} | {"flag": flag_of(new.mmsi)}))

    def _invalid(self, m: int, tr: Track) -> None:
        st = self.statics[tr.sid[0]]
        reasons = []
        if st.imo is not None and not imo_valid(st.imo):
            reasons.append("imo_check_digit")
        if not mid_valid(m):
            reasons.append("mmsi_mid_unallocated" if 100_000_000 <= m <= 999_999_999 else "mmsi_not_9_digits")
        if reasons:
            self.events.append(event("invalid_identity", m, None, tr.t[0], tr.t[-1], tr.lat[0], tr.lon[0],
                                     reasons=reasons, imo=st.imo))

    def _conflict(self, hull: Hull, m: int, tr: Track) -> None:
        self.events.append(event("identity_conflict", m, None, tr.t[0], tr.t[-1], tr.lat[0], tr.lon[0],
                                 name=self.statics[tr.sid[0]].name, positions=len(tr)))

    def _jumps(self, hull: Hull, tr: Track, mmsi: np.ndarray) -> None:
        for j in hull.jumps:
            idx = np.flatnonzero((tr.t >= j.t0) & (tr.t <= j.t1))
            if idx.size < 2 or idx[0] == 0:
                continue
            p = idx[0] - 1
            km = float(haversine_m(tr.lat[p], tr.lon[p], tr.lat[idx[0]], tr.lon[idx[0]])) / 1000
            kn = km / 1.852 / max((tr.t[idx[0]] - tr.t[p]) / 3600, 1e-9)
            if km * 1000 > JUMP_M and kn > JUMP_KN:
                back = int(tr.t[idx[-1] + 1]) if idx[-1] + 1 < len(tr) else None
                self.events.append(event(
                    "teleport", int(mmsi[idx[0]]), None, tr.t[idx[0]], tr.t[idx[-1]],
                    tr.lat[idx[0]], tr.lon[idx[0]], jump_km=round(km, 1), implied_kn=round(kn),
                    positions=int(idx.size), returned=iso(back) if back else None,
                    on_land=j.on_land, true_lat=float(tr.lat[p]), true_lon=float(tr.lon[p])))

    # --- across hulls -----------------------------------------------------------------
    def part(self) -> TruthPart:
        self.flush()
        return TruthPart(self.events, self.slow, dict(self.shared_tracks))

    def merge(self, part: TruthPart) -> None:
        self.events.extend(part.events)
        self.slow.extend(part.slow)
        for m, tracks in part.shared.items():
            self.shared_tracks[m].extend(tracks)

    def finish(self) -> list[dict[str, object]]:
        self.flush()
        for m, parts in self.shared_tracks.items():
            t = np.concatenate([p[1] for p in parts])
            order = np.argsort(t, kind="stable")
            self._gaps(m, t[order], np.concatenate([p[2] for p in parts])[order],
                       np.concatenate([p[3] for p in parts])[order])
        self._encounters()
        self.events.sort(key=lambda e: (e["start"], e["type"], e["mmsi"], e["end"]))
        return self.events

    def _encounters(self) -> None:
        cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        for k, r in enumerate(self.slow):
            cells[(int(np.floor(r.lat.mean() * 4)), int(np.floor(r.lon.mean() * 4)))].append(k)
        seen: set[tuple[int, int]] = set()
        for (ci, cj), members in cells.items():
            near = [k for di in (-1, 0, 1) for dj in (-1, 0, 1) for k in cells.get((ci + di, cj + dj), [])]
            for a in members:
                for b in near:
                    if a < b and (a, b) not in seen:
                        seen.add((a, b))
                        self._pair(self.slow[a], self.slow[b])

    def _pair(self, ra: SlowRun, rb: SlowRun) -> None:
        if ra.hull == rb.hull or ra.mmsi == rb.mmsi:
            return
        lo, hi = max(ra.t[0], rb.t[0]), min(ra.t[-1], rb.t[-1])
        if hi - lo < ENCOUNTER_S:
            return
        t = np.union1d(ra.t[(ra.t >= lo) & (ra.t <= hi)], rb.t[(rb.t >= lo) & (rb.t <= hi)])
        la1, lo1 = np.interp(t, ra.t, ra.lat), np.interp(t, ra.t, ra.lon)
        la2, lo2 = np.interp(t, rb.t, rb.lat), np.interp(t, rb.t, rb.lon)
        d = haversine_m(la1, lo1, la2, lo2)
        for a, b in runs(d < ENCOUNTER_M):
            if t[b] - t[a] >= ENCOUNTER_S:
                sl = slice(a, b + 1)
                m1, m2 = sorted((ra.mmsi, rb.mmsi))
                self.events.append(event(
                    "encounter", m1, m2, t[a], t[b], (la1[sl].mean() + la2[sl].mean()) / 2,
                    (lo1[sl].mean() + lo2[sl].mean()) / 2, hours=round((t[b] - t[a]) / 3600, 2),
                    median_m=round(float(np.median(d[sl])), 1), max_m=round(float(d[sl].max()), 1)))

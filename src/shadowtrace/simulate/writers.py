"""Positions files in DMA, NOAA MarineCadastre and NMEA form, written in time order.

Hulls are simulated one at a time, so their reports are spilled into time buckets (in memory,
then to temporary files past a budget); each bucket is sorted and rendered in bounded batches.
Memory therefore depends on the bucket size, not on the length of the run.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from shadowtrace.simulate import render as R
from shadowtrace.simulate.identity import Static
from shadowtrace.simulate.nmea import Type5Cache, position_lines, type1_payload
from shadowtrace.simulate.vessel import Track

REC = np.dtype([("t", "<i8"), ("lat", "<f8"), ("lon", "<f8"), ("sog", "<f4"), ("cog", "<f4"),
                ("hdg", "<i2"), ("nav", "i1"), ("kind", "i1"), ("sid", "<i4")])
BUCKET_ROWS = 1_000_000
SPILL_ROWS = 3_000_000
BATCH_ROWS = 20_000  # small batches stay in cache and reuse heap memory
STATIC_EVERY_S = 360  # message 5 cadence of a class A transponder

DMA_HEADER = ("# Timestamp,Type of mobile,MMSI,Latitude,Longitude,Navigational status,ROT,SOG,COG,"
              "Heading,IMO,Callsign,Name,Ship type,Cargo type,Width,Length,"
              "Type of position fixing device,Draught,Destination,ETA,Data source type,A,B,C,D\n")
NOAA_HEADER = ("MMSI,BaseDateTime,LAT,LON,SOG,COG,Heading,VesselName,IMO,CallSign,VesselType,Status,"
               "Length,Width,Draft,Cargo,TransceiverClass\n")
FILES = {"dma": "aisdk_sim.csv", "noaa": "AIS_sim.csv", "nmea": "sim.nmea"}
NAV_TEXT = {0: "Under way using engine", 1: "At anchor", 2: "Not under command",
            3: "Restricted maneuverability", 5: "Moored", 15: "Unknown value"}


def records(tr: Track, with_static: bool) -> np.ndarray:
    """Spool records of one track; message 5 rows added for NMEA (every 6 min and on change)."""
    rec = np.empty(len(tr), REC)
    for name, col in (("t", tr.t), ("lat", tr.lat), ("lon", tr.lon), ("sog", tr.sog),
                      ("cog", tr.cog), ("hdg", tr.heading), ("nav", tr.nav), ("sid", tr.sid)):
        rec[name] = col
    rec["kind"] = 0
    if not with_static or not len(tr):
        return rec
    slot = tr.t // STATIC_EVERY_S
    pick = np.concatenate([[True], (np.diff(slot) != 0) | (np.diff(tr.sid) != 0)])
    st = rec[pick].copy()
    st["kind"] = 1
    both = np.concatenate([rec, st])
    return both[np.argsort(both["t"] * 2 + both["kind"], kind="stable")]


class Spool:
    """Time buckets of records, appended to ``bucket<k>.bin`` files in ``folder`` whenever more
    than ``SPILL_ROWS`` are held (and at :meth:`close`)."""

    def __init__(self, t0: float, t1: float, expected_rows: int, folder: Path):
        nb = max(1, math.ceil(expected_rows / BUCKET_ROWS))
        self.t0 = int(t0)
        self.width = max(3600, math.ceil((t1 - t0) / nb))
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.parts: dict[int, list[np.ndarray]] = defaultdict(list)
        self.buffered = 0

    def add(self, rec: np.ndarray) -> None:
        if not len(rec):
            return
        b = (rec["t"] - self.t0) // self.width
        cuts = np.flatnonzero(np.diff(b)) + 1
        for part in np.split(rec, cuts):
            self.parts[int((part["t"][0] - self.t0) // self.width)].append(part)
        self.buffered += len(rec)
        if self.buffered > SPILL_ROWS:
            self.close()

    def close(self) -> None:
        for b, parts in self.parts.items():
            with open(self.folder / f"bucket{b}.bin", "ab") as fh:
                for p in parts:
                    fh.write(p.tobytes())
        self.parts.clear()
        self.buffered = 0


def merged_buckets(folders: list[Path]) -> Iterator[np.ndarray]:
    """Each bucket of all spools (in folder order), sorted by time; ties keep hull order and
    put a position before the static message sent with it. Files are deleted once read."""
    names = sorted({f.name for d in folders for f in d.glob("bucket*.bin")}, key=lambda n: int(n[6:-4]))
    for name in names:
        chunks = []
        for d in folders:
            path = d / name
            if path.exists():
                chunks.append(np.fromfile(path, REC))
                path.unlink()
        rec = np.concatenate(chunks)
        yield rec[np.argsort(rec["t"] * 2 + rec["kind"], kind="stable")]


def _eta_text(eta: int | None, fmt: str) -> str:
    return "" if eta is None else dt.datetime.fromtimestamp(eta, dt.timezone.utc).strftime(fmt)


class CsvFormat:
    """DMA or NOAA rows: every field is a lookup (numbers through digit tables, vessel text
    through per-record tables), so a batch costs a few gathers per column."""

    def __init__(self, fmt: str, statics: list[Static]):
        self.fmt = fmt
        if fmt == "dma":
            self.header = DMA_HEADER
            self.head = R.WordTable([f",Class A,{s.mmsi}," for s in statics])
            self.tail = R.WordTable([
                f",{s.imo if s.imo else 'Unknown'},{s.callsign},{s.name},"
                f"{'Tanker' if 80 <= s.ship_type <= 89 else 'Cargo'},,{s.width},{s.length},GPS,"
                f"{s.draught:.1f},{s.destination},{_eta_text(s.eta, '%d/%m/%Y %H:%M:%S')},AIS,"
                f"{s.a},{s.b},{s.c},{s.d}\n" for s in statics])
            # Navigational status text, then an empty ROT column.
            self.nav = R.WordTable([f"{NAV_TEXT.get(i, 'Unknown value')},," for i in range(16)])
            self.heading = R.int_table(511, unknown=511)
        else:
            self.header = NOAA_HEADER
            self.head = R.WordTable([f"{s.mmsi}," for s in statics])
            self.mid = R.WordTable([f",{s.name},{f'IMO{s.imo}' if s.imo else ''},{s.callsign},{s.ship_type},"
                                    for s in statics])
            self.tail = R.WordTable([f",{s.length},{s.width},{s.draught:.1f},{s.ship_type},A\n" for s in statics])
            self.nav = R.int_table(15)
            self.heading = R.int_table(511)
        self.tenths = R.tenths_table(3600)

    def render(self, rec: np.ndarray) -> bytes:
        n, sid = len(rec), rec["sid"]
        row = R.Row(n)
        sog = np.minimum(np.rint(rec["sog"] * 10).astype(np.int64), 1023)
        cog = np.rint(rec["cog"] * 10).astype(np.int64) % 3600
        if self.fmt == "dma":
            R.timestamp(row, rec["t"], "%d/%m/%Y ")
            row.words(self.head[sid])
            R.decimal(row, rec["lat"], 6, 90)
            R.decimal(row, rec["lon"], 6, 180)
            row.words(self.nav[rec["nav"]])
        else:
            row.words(self.head[sid])
            R.timestamp(row, rec["t"], "%Y-%m-%dT")
            row.text(",")
            R.decimal(row, rec["lat"], 5, 90)
            R.decimal(row, rec["lon"], 5, 180)
        row.words(self.tenths[sog]).words(self.tenths[cog]).words(self.heading[rec["hdg"]])
        if self.fmt == "noaa":
            row.words(self.mid[sid]).words(self.nav[rec["nav"]])
        return row.words(self.tail[sid]).render()


class NmeaFormat:
    header = ""

    def __init__(self, statics: list[Static]):
        self.mmsi = np.array([s.mmsi for s in statics], np.int64)
        self.type5 = Type5Cache(statics)

    def render(self, rec: np.ndarray) -> bytes:
        pos = rec["kind"] == 0
        p = rec[pos]
        stationary = (p["nav"] == 1) | (p["nav"] == 5)
        payload = type1_payload(np.where(stationary, 3, 1), self.mmsi[p["sid"]], p["nav"], p["sog"],
                                p["lon"], p["lat"], p["cog"], p["hdg"], p["t"] % 60)
        lines_p = position_lines(p["t"], (p["t"] + p["sid"]) % 2 == 1, payload)
        if pos.all():
            return lines_p[:, :71].tobytes()
        s = rec[~pos]
        seq = (np.flatnonzero(~pos) % 10).astype(np.int64)
        lines_s = self.type5.lines(s["t"], s["sid"], seq)
        width = max(lines_p.shape[1], lines_s.shape[1])
        out = np.zeros((len(rec), width), np.uint8)
        out[pos, : lines_p.shape[1]] = lines_p
        out[~pos, : lines_s.shape[1]] = lines_s
        return out.tobytes().translate(None, b"\0")


def make_format(fmt: str, statics: list[Static]) -> CsvFormat | NmeaFormat:
    return NmeaFormat(statics) if fmt == "nmea" else CsvFormat(fmt, statics)


def batches(buckets: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
    for rec in buckets:
        for a in range(0, len(rec), BATCH_ROWS):
            yield rec[a:a + BATCH_ROWS]


def write_positions(path: Path, header: str, rendered: Iterator[tuple[bytes, int]],
                    progress: Callable[[int], None] | None) -> int:
    """Write the header and rendered batches (text, position rows); returns the row count."""
    rows = 0
    with open(path, "wb") as fh:
        fh.write(header.encode())
        for text, done in rendered:
            fh.write(text)
            rows += done
            if progress is not None:
                progress(done)
    return rows

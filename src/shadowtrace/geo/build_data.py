"""Derive the compact files in ``geo/data`` from the shared geography folder.

Developer tool, never run at run time (it needs scipy and the source files):

    python -m shadowtrace.geo.build_data PATH/TO/shared/data/geography

Decisions are explained in ``geo/data/SOURCES.md``.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from shadowtrace.geo import EARTH_RADIUS_M

OUT = Path(__file__).resolve().parent / "data"

# GFW Anchorages-and-voyages.md: anchorages within 4 km are one group; a visit starts within 3 km.
GROUP_M = 4_000.0
VISIT_M = 3_000.0
# One WPI point stands for a whole harbour. Radii grow with WPI "Harbor Size": at the median WPI
# port the 90th-percentile distance of same-named GFW anchorages is ~3.7 km (very small),
# ~5.9 km (small), ~9.4 km (medium), ~11 km (large); we stay below those because the GFW
# anchorage groups already cover the outer anchorages.
WPI_RADIUS_M = {"Very Small": 3_000.0, "Small": 4_000.0, "Medium": 6_000.0, "Large": 8_000.0}
# Berths plus the waiting anchorage around a terminal "centre" given to 0.001 degree.
TERMINAL_RADIUS_M = 5_000.0

# Russian crude/product export terminals: reference-definitions.md (CREA outline centres),
# plus two WPI entries with deep oil-terminal berths (WPI "Oil Terminal Depth (m)").
RUSSIAN_TERMINALS: list[tuple[str, float, float, float, str]] = [
    ("Primorsk", 60.334, 28.702, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Ust-Luga", 59.709, 28.424, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Vysotsk", 60.593, 28.546, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Novorossiysk (Sheskharis)", 44.708, 37.840, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("CPC (Novorossiysk)", 44.627, 37.625, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Tuapse", 44.083, 39.071, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Taman", 45.120, 36.665, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Kavkaz", 45.339, 36.671, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Kozmino", 42.719, 133.008, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Nakhodka", 42.772, 132.890, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Vanino", 49.089, 140.298, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("De-Kastri", 51.469, 140.920, TERMINAL_RADIUS_M, "spec (CREA)"),
    ("Svetly", 54.691, 20.181, TERMINAL_RADIUS_M, "spec (CREA)"),
    # The spec gives Murmansk only to 0.1 deg (about +-5 km), so the radius is doubled.
    ("Murmansk", 69.0, 33.1, 10_000.0, "spec (approximate)"),
    ("Vitino", 67.083333, 32.316667, TERMINAL_RADIUS_M, "WPI 62894 (oil terminal depth 12.5 m)"),
    ("Vitaz Marine Terminal", 52.7, 143.55, TERMINAL_RADIUS_M, "WPI 60870 (oil terminal 23.2 m)"),
]

# Known STS areas: reference-definitions.md (CREA outline centres). The spec gives no extents;
# 15 km covers the CREA hubs (e.g. the Laconian Gulf anchorage spreads ~10-20 km).
STS_RADIUS_M = 15_000.0
STS_AREAS: list[tuple[str, float, float]] = [
    ("Laconian Gulf", 36.556, 22.692),
    ("Malta", 35.971, 14.771),
    ("Cyprus", 34.539, 33.464),
    ("Port Said", 31.602, 32.276),
    ("Strait of Gibraltar", 35.912, -4.830),
    ("Kerch Strait", 45.005, 36.614),
    ("Romanian coast", 44.141, 29.171),
    ("Aalbaek Bay", 57.591, 10.639),
    ("East of England", 52.414, 2.021),
    ("Lome", 6.016, 1.209),
    ("Lagos", 6.298, 3.317),
    ("Red Sea", 21.177, 38.080),
    ("Persian Gulf", 27.364, 51.841),
    ("Gulf of Oman", 25.250, 57.628),
    ("Maldives", 3.696, 72.577),
    ("Johor Strait", 1.268, 103.522),
    ("Malacca Strait", 2.321, 101.848),
    ("Yeosu", 34.712, 127.858),
    ("Murmansk", 69.589, 33.238),
]


def unit_xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])


def chord(metres: float) -> float:
    return 2.0 * np.sin(metres / EARTH_RADIUS_M / 2.0)


def arc_m(chord_len: np.ndarray) -> np.ndarray:
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.clip(chord_len / 2.0, 0.0, 1.0))


def to_latlon(xyz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xyz = xyz / np.linalg.norm(xyz, axis=1, keepdims=True)
    return np.degrees(np.arcsin(np.clip(xyz[:, 2], -1, 1))), np.degrees(
        np.arctan2(xyz[:, 1], xyz[:, 0])
    )


def read_rows(path: Path) -> list[dict]:
    opts = pacsv.ConvertOptions(strings_can_be_null=False)
    return pacsv.read_csv(path, convert_options=opts).to_pylist()


def _blank(v: object) -> str | None:
    s = str(v).strip() if v is not None else ""
    return s or None


def wpi_ports(src: Path) -> tuple[list[dict], dict[str, str]]:
    """NGA WPI ports, and WPI country name -> ISO3. ISO3 comes from GFW's WPI extract (the same
    ports, with iso3) matched by position within 2 km; else the ISO3 most often seen for the
    port's WPI country name."""
    rows = read_rows(src / "nga_wpi_UpdatedPub150.csv")
    # Two WPI numbers appear twice (re-surveyed entries): keep the first row of each.
    nga = list({int(r["World Port Index Number"]): r for r in reversed(rows)}.values())[::-1]
    gfw = read_rows(src / "gfw_WPI_ports.csv")
    gxyz = unit_xyz(np.array([r["latitude"] for r in gfw]), np.array([r["longitude"] for r in gfw]))
    lat = np.array([float(r["Latitude"]) for r in nga])
    lon = np.array([float(r["Longitude"]) for r in nga])
    d, j = cKDTree(gxyz).query(unit_xyz(lat, lon))
    iso = [gfw[k]["iso3"] if arc_m(dd) < 2_000 else None for dd, k in zip(d, j)]
    counts: dict[str, Counter] = {}
    for r, i3 in zip(nga, iso):
        if i3:
            counts.setdefault(r["Country Code"], Counter())[i3] += 1
    by_name = {name: c.most_common(1)[0][0] for name, c in counts.items()}
    out = []
    for r, i3, la, lo in zip(nga, iso, lat, lon):
        size = str(r["Harbor Size"]).strip()
        out.append(
            {
                "port_id": f"wpi:{int(r['World Port Index Number'])}",
                "name": str(r["Main Port Name"]).strip(),
                "country": i3 or by_name.get(r["Country Code"]),
                "lat": la,
                "lon": lo,
                "kind": "port",
                "radius_m": WPI_RADIUS_M.get(size, VISIT_M),
                "source": "wpi",
                "unlocode": (_blank(r["UN/LOCODE"]) or "").replace(" ", "") or None,
            }
        )
    return out, by_name


def gfw_anchorage_groups(src: Path) -> list[dict]:
    """Group GFW named anchorage points: same label+iso3 and linked within 4 km (GFW's rule);
    groups wider than 4 km (canals, big roads) are split greedily so one disk stays honest."""
    # The overrides file lists some S2 cells twice; the later row is the refined one (label is
    # the port, sublabel the sub-anchorage), so it wins.
    latest = {r["s2id"]: r for r in read_rows(src / "gfw_anchorage_overrides.csv")}
    # Placeholder rows in GFW's file: "REMOVE" at 0,0 and an unnamed point at the North Pole.
    latest = {k: r for k, r in latest.items()
              if r["label"].strip().upper() not in ("REMOVE", "OU") and abs(float(r["latitude"])) < 89.9}
    rows = sorted(latest.values(), key=lambda r: r["s2id"])  # deterministic ids and seeds
    lat = np.array([r["latitude"] for r in rows])
    lon = np.array([r["longitude"] for r in rows])
    xyz = unit_xyz(lat, lon)
    keys = np.unique([f"{r['iso3']}|{r['label']}" for r in rows], return_inverse=True)[1]
    pairs = cKDTree(xyz).query_pairs(chord(GROUP_M), output_type="ndarray")
    pairs = pairs[keys[pairs[:, 0]] == keys[pairs[:, 1]]]
    n = len(rows)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)

    groups: list[np.ndarray] = []
    for members in np.split(np.argsort(comp, kind="stable"), np.cumsum(np.bincount(comp))[:-1]):
        centre = xyz[members].mean(axis=0)
        centre /= np.linalg.norm(centre)
        if arc_m(np.linalg.norm(xyz[members] - centre, axis=1)).max() <= GROUP_M:
            groups.append(members)
            continue
        # Leader split: densest unassigned point takes every unassigned point within 4 km.
        sub = cKDTree(xyz[members])
        near = sub.query_ball_point(xyz[members], chord(GROUP_M))
        order = sorted(range(len(members)), key=lambda i: -len(near[i]))
        free = np.ones(len(members), bool)
        for i in order:
            if free[i]:
                take = [k for k in near[i] if free[k]]
                free[take] = False
                groups.append(members[np.array(take)])

    out = []
    for members in groups:
        c = xyz[members].mean(axis=0)
        c /= np.linalg.norm(c)
        dist = arc_m(np.linalg.norm(xyz[members] - c, axis=1))
        clat, clon = to_latlon(c[None, :])
        first = rows[members[int(dist.argmin())]]
        out.append(
            {
                "port_id": f"gfw:{first['s2id']}",
                "name": first["label"],
                "country": _blank(first["iso3"]),
                "lat": float(clat[0]),
                "lon": float(clon[0]),
                "kind": "anchorage",
                # GFW: a visit starts within 3 km of any anchorage point of the group.
                "radius_m": float(np.ceil(dist.max() + VISIT_M)),
                "source": "gfw",
                "unlocode": None,
            }
        )
    return out


def _slug(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "-".join("".join(ch if ch.isalnum() else " " for ch in s).split())


def build_ports(src: Path, wpi: list[dict]) -> pa.Table:
    terms = [
        {
            "port_id": f"ru:{_slug(name)}",
            "name": name,
            "country": "RUS",
            "lat": la,
            "lon": lo,
            "kind": "terminal",
            "radius_m": r,
            "source": why,
            "unlocode": None,
        }
        for name, la, lo, r, why in RUSSIAN_TERMINALS
    ]
    rows = terms + wpi + gfw_anchorage_groups(src)
    lat = np.array([r["lat"] for r in rows])
    lon = np.array([r["lon"] for r in rows])
    # A Russian port or anchorage whose centre lies inside a terminal's disk is that terminal.
    txyz = unit_xyz(lat[: len(terms)], lon[: len(terms)])
    d, j = cKDTree(txyz).query(unit_xyz(lat, lon))
    inside = (arc_m(d) <= np.array([terms[k]["radius_m"] for k in j])) & np.array(
        [r["country"] == "RUS" for r in rows]
    )
    sanctioned = [r["kind"] == "terminal" or bool(ok) for r, ok in zip(rows, inside)]
    ids = [r["port_id"] for r in rows]
    assert len(set(ids)) == len(ids), "port_id must be unique"
    return pa.table(
        {
            "port_id": pa.array(ids, pa.string()),
            "name": pa.array([r["name"] for r in rows], pa.string()),
            "country": pa.array([r["country"] for r in rows], pa.string()),
            "lat": pa.array(lat, pa.float64()),
            "lon": pa.array(lon, pa.float64()),
            "kind": pa.array([r["kind"] for r in rows], pa.string()),
            "sanctioned_terminal": pa.array(sanctioned, pa.bool_()),
            "radius_m": pa.array([r["radius_m"] for r in rows], pa.float64()),
            "source": pa.array([r["source"] for r in rows], pa.string()),
            "unlocode": pa.array([r["unlocode"] for r in rows], pa.string()),
        }
    )


def build_land(src: Path, out: Path) -> None:
    """Re-encode the 1/120-degree GLOBE land mask losslessly as run boundaries: the flattened
    mask changes value only ~0.8M times, so storing where it changes is ~1 MB on disk and
    ~6 MB in memory, against ~930 MB for the unpacked boolean grid."""
    with np.load(src / "global_land_mask_globe_combined_mask_compressed.npz") as z:
        mask, lat, lon = z["mask"], z["lat"], z["lon"]
    # Row i is latitude 90 - i/120, column j longitude -180 + j/120 (nearest-sample lookup).
    assert np.allclose(lat, 90 - np.arange(mask.shape[0]) / 120)
    assert np.allclose(lon, -180 + np.arange(mask.shape[1]) / 120)
    flat = mask.ravel()  # True = water: the package's own is_land is "not is_ocean"
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    assert change[-1] < 2**32
    np.savez_compressed(
        out / "land_mask_runs.npz",
        shape=np.array(mask.shape, dtype=np.int64),
        first_land=np.array(not flat[0]),
        steps=np.diff(change, prepend=0).astype(np.uint32),  # deltas compress far better
        ne_land=np.packbits(rasterize_ne_land(src), axis=1),
    )


def _norm(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    s = "".join(ch if ch.isalnum() else " " for ch in s)
    words = [w for w in s.split() if w not in {"the", "of", "and"}]
    return " ".join(words)


def _short_flag(itu: str) -> str:
    """ITU's name without the formal-style parentheses: 'Liberia (Republic of)' -> 'Liberia'.
    Territories keep their 'Sovereign - Territory' form."""
    parts = [p.split(" (")[0].strip() for p in itu.split(" - ")]
    return " - ".join(parts)


# ITU spellings no Natural Earth / WPI country name matches (ISO 3166-1 alpha-3 codes).
MID_ISO3_ALIASES = {
    "azores": "PRT",
    "madeira": "PRT",
    "vatican city state": "VAT",
    "republic turkiye": "TUR",
    "slovak republic": "SVK",
    "alaska": "USA",
    "bonaire sint eustatius saba": "BES",
    "curacao": "CUW",
    "sint maarten dutch part": "SXM",
    "guadeloupe": "GLP",
    "martinique": "MTQ",
    "saint pierre miquelon": "SPM",
    "china": "CHN",
    "taiwan": "TWN",
    "macao": "MAC",
    "hong kong": "HKG",
    "korea": "KOR",
    "democratic people s republic korea": "PRK",
    "state palestine": "PSE",
    "kyrgyz republic": "KGZ",
    "adelie land": "ATF",
    "christmas island": "CXR",
    "cocos": "CCK",  # "Cocos (Keeling) Islands" loses its parenthesis
    "andorra": "AND",
    "liechtenstein": "LIE",
    "san marino": "SMR",
    "north macedonia": "MKD",
    "anguilla": "AIA",
    "montserrat": "MSR",
    "saint vincent grenadines": "VCT",
    "viet nam": "VNM",
    "cook islands": "COK",
    "niue": "NIU",
    "pitcairn island": "PCN",
    "american samoa": "ASM",
    "wallis futuna islands": "WLF",
    "saint paul amsterdam islands": "ATF",
    "crozet archipelago": "ATF",
    "kerguelen islands": "ATF",
    "ascension island": "SHN",
    "saint helena": "SHN",
    "gabonese republic": "GAB",
    "togolese republic": "TGO",
    "argentine republic": "ARG",
    "guiana": "GUF",
    "reunion": "REU",
    "falkland islands": "FLK",
    "micronesia": "FSM",
    "northern mariana islands": "MNP",
    "united states virgin islands": "VIR",
    "british virgin islands": "VGB",
    "eswatini": "SWZ",
    "cabo verde": "CPV",
}


def build_mid(src: Path, wpi_names: dict[str, str]) -> list[dict]:
    """ITU MID table with a short flag name and, where a name matches, an ISO3 code."""
    ne = json.loads(
        (src / "naturalearth_ne_110m_admin_0_countries.geojson").read_text(encoding="utf-8")
    )
    iso: dict[str, str] = {_norm(k): v for k, v in wpi_names.items()}
    for feat in ne["features"]:
        p = feat["properties"]
        code = p.get("ISO_A3_EH") or p.get("ISO_A3")
        if code and code != "-99":
            for key in ("NAME", "NAME_LONG", "ADMIN", "FORMAL_EN", "NAME_SORT", "BRK_NAME"):
                if p.get(key):
                    iso[_norm(p[key])] = code
    iso.update(MID_ISO3_ALIASES)
    by_mid: dict[int, list[str]] = {}
    for r in read_rows(src / "itu_MaritimeIdentificationDigits.csv"):
        by_mid.setdefault(int(r["MID"]), []).append(str(r["Allocated_to"]).strip())
    out = []
    for mid, names in sorted(by_mid.items()):
        codes = set()
        for name in names:
            parts = [_norm(p.split(" (")[0]) for p in name.split(" - ")]
            codes.add(iso.get(parts[-1]))  # a territory's own code, never its sovereign's
        code = codes.pop() if len(codes) == 1 else None  # 306 spans three Dutch islands
        flag = "; ".join(_short_flag(n) for n in names)
        out.append({"mid": mid, "flag": flag, "allocated_to": "; ".join(names), "iso3": code})
    return out


NE_CELLS_PER_DEG = 10
BASEMAP = ("naturalearth_ne_110m_land.geojson", "naturalearth_110m_coastlines.geojson")


def rasterize_ne_land(src: Path) -> np.ndarray:
    """Natural Earth 110m land as a 0.1-degree boolean grid (row 0 = 90N, cell centres),
    filled scanline by scanline with the even-odd rule. The GLOBE mask calls lakes land; NE
    land has the Caspian as a hole, so land.py uses this grid to keep inland seas out."""
    geo = json.loads((src / "naturalearth_ne_110m_land.geojson").read_text(encoding="utf-8"))
    edges = []
    for feat in geo["features"]:
        g = feat["geometry"]
        for poly in g["coordinates"] if g["type"] == "MultiPolygon" else [g["coordinates"]]:
            for ring in poly:
                r = np.asarray(ring, float)[:, :2]
                edges.append(np.column_stack([r, np.roll(r, -1, axis=0)]))
    x1, y1, x2, y2 = np.concatenate(edges).T
    nrows, ncols = 180 * NE_CELLS_PER_DEG, 360 * NE_CELLS_PER_DEG
    grid = np.zeros((nrows, ncols), bool)
    for i in range(nrows):
        y = 90.0 - (i + 0.5) / NE_CELLS_PER_DEG
        hit = (y1 > y) != (y2 > y)
        xs = np.sort(x1[hit] + (y - y1[hit]) * (x2[hit] - x1[hit]) / (y2[hit] - y1[hit]))
        fill = np.zeros(ncols + 1, int)
        c0 = np.ceil((xs[0::2] + 180.0) * NE_CELLS_PER_DEG - 0.5).astype(int).clip(0, ncols)
        c1 = np.floor((xs[1::2] + 180.0) * NE_CELLS_PER_DEG - 0.5).astype(int).clip(-1, ncols - 1)
        np.add.at(fill, c0, 1)
        np.add.at(fill, c1 + 1, -1)
        grid[i] = np.cumsum(fill[:-1]) > 0
    return grid


def write_lists(out: Path) -> None:
    with open(out / "russian_terminals.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "lat", "lon", "radius_m", "source"])
        w.writerows(RUSSIAN_TERMINALS)
    with open(out / "sts_areas.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["name", "lat", "lon", "radius_m"])
        w.writerows((n, la, lo, STS_RADIUS_M) for n, la, lo in STS_AREAS)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src", type=Path, help="the shared data/geography folder")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    write_lists(args.out)
    wpi, wpi_names = wpi_ports(args.src)
    ports = build_ports(args.src, wpi)
    pq.write_table(ports, args.out / "ports.parquet", compression="zstd")
    print(f"ports.parquet: {ports.num_rows} rows")
    mids = build_mid(args.src, wpi_names)
    with open(args.out / "mid.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["mid", "flag", "iso3", "allocated_to"], lineterminator="\n")
        w.writeheader()
        w.writerows(mids)
    print(f"mid.csv: {len(mids)} MIDs, no ISO3 for {[m['flag'] for m in mids if not m['iso3']]}")
    for name in BASEMAP:
        shutil.copyfile(args.src / name, args.out / name)
    build_land(args.src, args.out)


if __name__ == "__main__":
    main()

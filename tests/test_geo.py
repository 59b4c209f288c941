"""Tests for shadowtrace.geo: shipped reference data, nearest port, land mask, MID flags."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from shadowtrace.geo import data_path
from shadowtrace.geo.land import is_on_land, is_well_inland
from shadowtrace.geo.mid import flag_for_mmsi, iso3_for_mmsi, mid_table
from shadowtrace.geo.nearest import haversine_m, nearest_port, register_geo_tables, within_port
from shadowtrace.geo.ports import load_ports, russian_terminals, sts_areas

LACONIAN_GULF = (36.556, 22.692)


def test_ports_schema_and_ids() -> None:
    ports = load_ports()
    assert ports.schema.field("lat").type == pa.float64()
    assert ports.schema.field("lon").type == pa.float64()
    assert ports.schema.field("sanctioned_terminal").type == pa.bool_()
    assert set(ports["kind"].to_pylist()) == {"port", "anchorage", "terminal"}
    ids = ports["port_id"].to_pylist()
    assert len(set(ids)) == len(ids)
    assert 5_000 < ports.num_rows < 50_000
    radius = ports["radius_m"].to_numpy()
    assert (radius >= 3_000).all() and (radius <= 15_000).all()
    assert load_ports() is ports  # cached


def test_primorsk_is_sanctioned_terminal() -> None:
    terms = russian_terminals()
    row = terms.filter(pa.compute.equal(terms["name"], "Primorsk")).to_pylist()
    assert len(row) == 1
    assert row[0]["kind"] == "terminal" and row[0]["sanctioned_terminal"]
    assert row[0]["country"] == "RUS"
    assert all(terms["sanctioned_terminal"].to_pylist())
    dist, idx = nearest_port(np.array([60.334]), np.array([28.702]))
    assert dist[0] < 1.0 and load_ports()["port_id"][int(idx[0])].as_py() == "ru:primorsk"
    hit = within_port(np.array([60.35]), np.array([28.68]))[0]
    assert load_ports()["sanctioned_terminal"][int(hit)].as_py()


def test_sts_areas() -> None:
    sts = sts_areas()
    assert sts.column_names == ["name", "lat", "lon", "radius_m"]
    assert "Laconian Gulf" in sts["name"].to_pylist()


def test_laconian_gulf_sts_area_is_far_from_ports() -> None:
    dist, idx = nearest_port(np.array([LACONIAN_GULF[0]]), np.array([LACONIAN_GULF[1]]))
    assert dist[0] > 10_000 and idx[0] >= 0
    assert within_port(np.array([LACONIAN_GULF[0]]), np.array([LACONIAN_GULF[1]]))[0] == -1


@pytest.mark.parametrize("lat,lon", [(51.95, 4.05), (51.885, 4.28), (51.9, 4.3)])
def test_rotterdam_is_in_port(lat: float, lon: float) -> None:
    idx = within_port(np.array([lat]), np.array([lon]))[0]
    assert idx >= 0
    assert load_ports()["country"][int(idx)].as_py() == "NLD"


def test_nearest_port_matches_brute_force() -> None:
    rng = np.random.default_rng(42)
    n = 2_000
    lat = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    lon = rng.uniform(-180, 180, n)
    lat[:300] = rng.uniform(-89.99, 89.99, 300)
    lon[:300] = rng.choice([-1, 1], 300) * rng.uniform(179.0, 180.0, 300)  # date line
    lat[300:500] = rng.choice([-1, 1], 200) * rng.uniform(88.5, 90.0, 200)  # poles
    ports = load_ports()
    plat, plon = ports["lat"].to_numpy(), ports["lon"].to_numpy()
    # Ports too: the brute force must find the distance 0 they have to themselves.
    pick = rng.integers(0, len(plat), 200)
    lat[500:700], lon[500:700] = plat[pick], plon[pick]
    dist, idx = nearest_port(lat, lon)
    # All pairs, in chunks that fit in cache; the haversine term h grows with distance, so its
    # argmin is the nearest port.
    p2, cos_p2 = np.radians(plat)[None, :], np.cos(np.radians(plat))[None, :]
    nearest = np.empty(n, dtype=np.int64)
    for s in range(0, n, 100):
        p1 = np.radians(lat[s : s + 100])[:, None]
        dlon = np.radians(plon[None, :] - lon[s : s + 100, None])
        h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * cos_p2 * np.sin(dlon / 2) ** 2
        nearest[s : s + 100] = h.argmin(axis=1)
    best = haversine_m(lat, lon, plat[nearest], plon[nearest])
    np.testing.assert_allclose(dist, best, rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(
        haversine_m(lat, lon, plat[idx], plon[idx]), best, rtol=1e-9, atol=1e-3
    )


def test_nearest_port_invalid_positions() -> None:
    dist, idx = nearest_port(np.array([91.0, np.nan, 0.0]), np.array([181.0, 0.0, 0.0]))
    assert np.isnan(dist[:2]).all() and (idx[:2] == -1).all() and idx[2] >= 0
    assert (within_port(np.array([91.0]), np.array([181.0])) == -1).all()


def test_register_geo_tables() -> None:
    con = duckdb.connect()
    register_geo_tables(con)
    n_ports, n_terms = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE kind = 'terminal') FROM geo_ports"
    ).fetchall()[0]
    assert n_ports == load_ports().num_rows and n_terms == russian_terminals().num_rows
    _, idx = nearest_port(np.array([60.334]), np.array([28.702]))
    name = con.execute("SELECT name FROM geo_ports WHERE port_index = ?", [int(idx[0])]).fetchall()
    assert name == [("Primorsk",)]
    assert con.execute("SELECT count(*) FROM geo_sts_areas").fetchall() == [(sts_areas().num_rows,)]
    register_geo_tables(con)  # idempotent


def test_land_mask() -> None:
    lat = np.array([60.0, 23.0, 0.0, -24.0])
    lon = np.array([100.0, 13.0, -30.0, 14.444])
    assert is_on_land(lat, lon).tolist() == [True, True, False, False]
    assert not is_on_land(np.array([91.0]), np.array([0.0]))[0]


def test_well_inland() -> None:
    # Central Siberia, Sahara; Namib coast 1 km at sea and 1 km inland; mid-Atlantic;
    # a Rotterdam basin the 1 km mask fills with land; the Caspian (GLOBE calls it land).
    lat = np.array([60.0, 23.0, -24.0, -24.0, 0.0, 51.9, 42.0])
    lon = np.array([100.0, 13.0, 14.444, 14.464, -30.0, 4.3, 51.0])
    got = is_well_inland(lat, lon, margin_km=5.0)
    assert got.tolist() == [True, True, False, False, False, False, False]
    assert is_on_land(np.array([-24.0]), np.array([14.464]))[0]
    # Shape is kept, scalars work, and the margin is honoured: 20 km inland from the Namib coast.
    assert is_well_inland(lat.reshape(7, 1), lon.reshape(7, 1)).shape == (7, 1)
    assert bool(is_well_inland(60.0, 100.0))
    namib = (np.array([-24.0]), np.array([14.65]))
    assert is_well_inland(*namib, margin_km=0)[0] and is_well_inland(*namib, margin_km=15)[0]
    assert not is_well_inland(*namib, margin_km=25)[0]


def test_well_inland_across_date_line_and_pole() -> None:
    # Chukotka straddles 180; Antarctica's interior reaches the pole.
    assert is_well_inland(np.array([67.0, 67.0, -89.9]), np.array([179.999, -179.999, 0.0])).all()


def test_mid_flags() -> None:
    assert "Russia" in flag_for_mmsi(273123456)
    assert flag_for_mmsi(636012345) == "Liberia"
    assert iso3_for_mmsi(636012345) == "LBR" and iso3_for_mmsi(273123456) == "RUS"
    assert flag_for_mmsi(200123456) is None  # MID 200 is not allocated
    assert flag_for_mmsi(970123456) is None  # AIS-SART, not a ship station
    assert flag_for_mmsi(2731234) is None  # not 9 digits
    table = mid_table()
    assert table[351] == "Panama" and len(table) > 280


def test_shipped_data_is_small_and_sourced() -> None:
    folder = data_path("")
    total = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    assert total < 6_000_000
    sources = (folder / "SOURCES.md").read_text(encoding="utf-8")
    for p in folder.iterdir():
        if p.is_file() and p.name != "SOURCES.md":
            assert p.name in sources, f"{p.name} not listed in SOURCES.md"

"""The scenario generator: formats, determinism, and ground truth checked against the data."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from pyais import decode, encode_dict

from shadowtrace.geo.nearest import haversine_m
from shadowtrace.simulate import simulate
from shadowtrace.simulate.identity import IdentityFactory, Static, imo_check_digit, imo_valid
from shadowtrace.simulate.nmea import type1_payload, type5_payloads
from shadowtrace.simulate.writers import DMA_HEADER, NOAA_HEADER

START = datetime(2025, 3, 1, tzinfo=timezone.utc)
TYPES = {"ais_gap", "encounter", "loitering", "port_call", "teleport", "position_on_land",
         "identity_conflict", "identity_change", "draught_change", "invalid_identity"}


@pytest.fixture(scope="session")
def big(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same 60-vessel, 2-day scenario written as DMA and as NMEA."""
    root = tmp_path_factory.mktemp("sim")
    simulate(root / "dma", vessels=60, days=2, seed=7, fmt="dma")
    simulate(root / "nmea", vessels=60, days=2, seed=7, fmt="nmea")
    return root / "dma", root / "nmea"


def _dma(folder: Path) -> dict[str, np.ndarray]:
    table = pacsv.read_csv(folder / "aisdk_sim.csv")
    ts = pc.strptime(table["# Timestamp"], format="%d/%m/%Y %H:%M:%S", unit="s")
    return {"t": ts.cast("int64").to_numpy(), "mmsi": table["MMSI"].to_numpy(),
            "lat": table["Latitude"].to_numpy(), "lon": table["Longitude"].to_numpy(),
            "sog": table["SOG"].to_numpy(), "cog": table["COG"].to_numpy()}


def _truth(folder: Path) -> list[dict]:
    return json.loads((folder / "truth.json").read_text())


def _vessels(folder: Path) -> list[dict]:
    return json.loads((folder / "vessels.json").read_text())


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    a = simulate(tmp_path / "a", vessels=12, days=0.5, seed=3, fmt="dma")
    simulate(tmp_path / "b", vessels=12, days=0.5, seed=3, fmt="dma")
    for name in (a.positions_path.name, "truth.json", "vessels.json", "lists/watchlist.ftm.json",
                 "screening_truth.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # Even a tiny run plants one vessel of each kind (and both halves of the renamed).
    screening = json.loads((tmp_path / "a" / "screening_truth.json").read_text())["screening"]
    assert all(screening[kind] for kind in ("listed", "renamed_listed", "owned_by_listed", "lookalikes"))
    assert {r["imo_broadcast"] for r in screening["renamed_listed"]} == {True, False}
    c = simulate(tmp_path / "c", vessels=12, days=0.5, seed=4, fmt="dma")
    assert c.positions_path.read_bytes() != a.positions_path.read_bytes()


def test_workers_do_not_change_the_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serial and forked runs write the same bytes (NMEA: the format with the most parts)."""
    outputs = []
    for workers in ("1", "2"):
        monkeypatch.setenv("SHADOWTRACE_SIM_WORKERS", workers)
        res = simulate(tmp_path / workers, vessels=12, days=0.5, seed=5, fmt="nmea")
        outputs.append([res.positions_path.read_bytes(), res.truth_path.read_bytes()])
    assert outputs[0] == outputs[1]
    assert not list(tmp_path.glob("*/.simspool-*")), "temporary spool files are removed"


def test_dma_format(big: tuple[Path, Path]) -> None:
    path = big[0] / "aisdk_sim.csv"
    with open(path) as fh:
        assert fh.readline() == DMA_HEADER
        row = fh.readline().rstrip("\n").split(",")
    assert len(row) == 26 and row[1] == "Class A" and len(row[2]) == 9
    datetime.strptime(row[0], "%d/%m/%Y %H:%M:%S")
    data = _dma(big[0])
    assert np.all(np.diff(data["t"]) >= 0), "rows are written in time order"
    assert data["t"].min() >= START.timestamp() and data["t"].max() < START.timestamp() + 2 * 86400
    table = pacsv.read_csv(path)
    assert set(table["Navigational status"].unique().to_pylist()) <= {
        "Under way using engine", "At anchor", "Moored", "Restricted maneuverability"}
    assert set(table["Ship type"].unique().to_pylist()) <= {"Tanker", "Cargo"}
    # Roughly 1000-1500 reports per vessel-day with the default report intervals.
    assert 60 * 2 * 800 < len(data["t"]) < 60 * 2 * 1600


def test_noaa_format(tmp_path: Path) -> None:
    res = simulate(tmp_path, vessels=10, days=0.3, seed=1, fmt="noaa")
    lines = res.positions_path.read_text().splitlines()
    assert lines[0] + "\n" == NOAA_HEADER
    assert len(lines) - 1 == res.rows
    table = pacsv.read_csv(res.positions_path)
    assert table.num_columns == 17
    assert str(table.schema.field("BaseDateTime").type).startswith("timestamp")
    imos = [v for v in table["IMO"].to_pylist() if v]
    assert imos and all(v.startswith("IMO") and len(v) == 10 for v in imos)
    assert table["Heading"].to_numpy().max() <= 511


def test_nmea_decodes_to_the_same_reports(big: tuple[Path, Path]) -> None:
    dma = _dma(big[0])
    lines = (big[1] / "sim.nmea").read_text().splitlines()
    positions = [ln for ln in lines if "!AIVDM,1,1,," in ln]
    assert len(positions) == len(dma["t"])
    for k in range(0, len(positions), 997):
        tag, sentence = positions[k][1:].split("\\", 1)
        body, check = tag.split("*")
        x = 0
        for ch in body.encode():
            x ^= ch
        assert f"{x:02X}" == check and body.startswith("s:sim,c:")
        msg = decode(sentence)
        assert int(body.split("c:")[1]) == dma["t"][k]
        assert msg.mmsi == dma["mmsi"][k]
        assert abs(msg.lat - dma["lat"][k]) < 2e-6 and abs(msg.lon - dma["lon"][k]) < 2e-6
        assert abs(msg.speed - dma["sog"][k]) < 0.051
    statics = [(a, b) for a, b in zip(lines, lines[1:]) if "!AIVDM,2,1," in a]
    assert statics
    for first, second in statics[:: max(1, len(statics) // 50)]:
        msg = decode(first.split("\\")[2], second.split("\\")[2])
        assert msg.msg_type == 5 and msg.shipname and 0 < msg.draught < 25


def test_payloads_match_pyais() -> None:
    rng = np.random.default_rng(0)
    n = 200
    cols = dict(
        msg_type=rng.choice([1, 3], n), mmsi=rng.integers(200_000_000, 780_000_000, n),
        nav=rng.choice([0, 1, 5], n), sog=np.round(rng.uniform(0, 30, n), 1),
        lon=np.round(rng.uniform(-180, 180, n), 6), lat=np.round(rng.uniform(-90, 90, n), 6),
        cog=np.round(rng.uniform(0, 359.9, n), 1), heading=rng.integers(0, 360, n),
        second=rng.integers(0, 60, n),
    )
    ours = type1_payload(**cols)
    for i in range(n):
        ref = encode_dict({
            "type": int(cols["msg_type"][i]), "msg_type": int(cols["msg_type"][i]), "mmsi": int(cols["mmsi"][i]), "status": int(cols["nav"][i]),
            "turn": -128, "speed": float(cols["sog"][i]), "accuracy": 0, "lon": float(cols["lon"][i]),
            "lat": float(cols["lat"][i]), "course": float(cols["cog"][i]), "heading": int(cols["heading"][i]),
            "second": int(cols["second"][i]), "maneuver": 0, "raim": 0, "radio": 0,
        }, talker_id="AI", sentence_type="VDM")[0]
        assert bytes(ours[i]).decode() == ref.split(",")[5]
    ids = IdentityFactory(np.random.default_rng(1))
    statics = [ids.static(tanker=True, mid=636).but(draught=12.4, destination="ROTTERDAM", eta=1740916800)
               for _ in range(5)]
    for st, payload in zip(statics, type5_payloads(statics)):
        ref = encode_dict({
            "type": 5, "mmsi": st.mmsi, "ais_version": 0, "imo": st.imo, "callsign": st.callsign,
            "shipname": st.name, "ship_type": st.ship_type, "to_bow": st.a, "to_stern": st.b,
            "to_port": st.c, "to_starboard": st.d, "epfd": 1, "month": 3, "day": 2, "hour": 12,
            "minute": 0, "draught": st.draught, "destination": st.destination, "dte": 0,
        }, talker_id="AI", sentence_type="VDM")
        assert "".join(s.split(",")[5] for s in ref) == payload


def test_every_truth_type_is_injected(big: tuple[Path, Path]) -> None:
    events = _truth(big[0])
    assert {e["type"] for e in events} >= TYPES
    t0, t1 = START.timestamp(), START.timestamp() + 2 * 86400
    for e in events:
        assert set(e) == {"type", "mmsi", "other_mmsi", "start", "end", "lat", "lon", "details"}
        assert e["start"].endswith("Z") and t0 <= _stamp(e["start"]) <= _stamp(e["end"]) < t1
    kinds = Counter(e["type"] for e in events)
    assert kinds["port_call"] > 20 and kinds["draught_change"] > 5
    calls = [e for e in events if e["type"] == "port_call"]
    assert any(e["details"]["sanctioned_terminal"] for e in calls)
    assert any(e["details"]["at_sea"] for e in events if e["type"] == "draught_change")
    assert all(e["other_mmsi"] is None or e["type"] in ("encounter", "identity_change") for e in events)
    reflags = [e for e in events if e["type"] == "identity_change" and e["other_mmsi"]]
    assert reflags and reflags[0]["details"]["before"]["flag"] != reflags[0]["details"]["after"]["flag"]
    gaps = [e for e in events if e["type"] == "ais_gap"]
    assert all(e["details"]["hours"] >= 6 for e in gaps)


def test_hard_negatives_are_present_and_clean(big: tuple[Path, Path]) -> None:
    vessels, events = _vessels(big[0]), _truth(big[0])
    by_role: dict[str, set[int]] = {}
    for v in vessels:
        for role in v["roles"]:
            by_role.setdefault(role, set()).add(v["mmsi"])
    tested = {"hard_negative_passing": "encounter", "hard_negative_short_gap": "ais_gap",
              "hard_negative_port_cluster": "encounter", "hard_negative_slow_steaming": "loitering",
              "hard_negative_glitch": "teleport"}
    for role, kind in tested.items():
        assert by_role.get(role), role
        hits = [e for e in events if e["type"] == kind
                and ({e["mmsi"], e["other_mmsi"]} & by_role[role])]
        assert not hits, (role, hits)
    for role in ("sts", "dark_sts", "clone", "loiter", "reflag", "rename", "invalid_identity"):
        assert by_role.get(role), role
    # The passing pairs really pass within 500 m at speed.
    data = _dma(big[0])
    pairs = sorted(by_role["hard_negative_passing"])
    closest = min(_min_distance(data, a, b)[0] for a in pairs for b in pairs if a < b)
    assert closest < 500


def _min_distance(data: dict[str, np.ndarray], a: int, b: int) -> tuple[float, float]:
    ma, mb = data["mmsi"] == a, data["mmsi"] == b
    ta, tb = data["t"][ma], data["t"][mb]
    lo, hi = max(ta[0], tb[0]), min(ta[-1], tb[-1])
    if hi <= lo:
        return np.inf, 0.0
    grid = np.arange(lo, hi, 20.0)
    d = haversine_m(np.interp(grid, ta, data["lat"][ma]), np.interp(grid, ta, data["lon"][ma]),
                    np.interp(grid, tb, data["lat"][mb]), np.interp(grid, tb, data["lon"][mb]))
    k = int(np.argmin(d))
    return float(d[k]), float(np.interp(grid[k], ta, data["sog"][ma]))


def test_encounters_hold_in_the_written_positions(big: tuple[Path, Path]) -> None:
    data = _dma(big[0])
    encounters = [e for e in _truth(big[0]) if e["type"] == "encounter"]
    assert encounters
    for e in encounters:
        assert e["mmsi"] < e["other_mmsi"]
        t0, t1 = _stamp(e["start"]), _stamp(e["end"])
        assert t1 - t0 >= 2 * 3600
        track = []
        for m in (e["mmsi"], e["other_mmsi"]):
            sel = (data["mmsi"] == m) & (data["t"] >= t0) & (data["t"] <= t1)
            assert sel.sum() > 20 and data["sog"][sel].max() < 2.0
            track.append(sel)
        grid = np.arange(t0, t1 + 1, 60.0)
        a, b = track
        d = haversine_m(np.interp(grid, data["t"][a], data["lat"][a]), np.interp(grid, data["t"][a], data["lon"][a]),
                        np.interp(grid, data["t"][b], data["lat"][b]), np.interp(grid, data["t"][b], data["lon"][b]))
        assert d.max() < 500


def test_every_jump_in_the_data_is_explained(big: tuple[Path, Path]) -> None:
    """Completeness: each > 50 kn, > 10 km step is a teleport episode's edge or a glitch."""
    data, events, vessels = _dma(big[0]), _truth(big[0]), _vessels(big[0])
    clones = {v["mmsi"] for v in vessels if "clone" in v["roles"]}
    glitchy = {v["mmsi"] for v in vessels if "hard_negative_glitch" in v["roles"]}
    edges: set[tuple[int, float]] = set()
    for e in events:
        if e["type"] == "teleport":
            edges.add((e["mmsi"], _stamp(e["start"])))
            edges.add((e["mmsi"], _stamp(e["details"]["returned"])))
    order = np.lexsort((data["t"], data["mmsi"]))
    m, t = data["mmsi"][order], data["t"][order]
    lat, lon = data["lat"][order], data["lon"][order]
    same = m[1:] == m[:-1]
    km = haversine_m(lat[:-1], lon[:-1], lat[1:], lon[1:]) / 1000
    kn = km / 1.852 / np.maximum(t[1:] - t[:-1], 1) * 3600
    jumps = np.flatnonzero(same & (km > 10) & (kn > 50))
    glitches = 0
    for i in jumps:
        mmsi = int(m[i + 1])
        if mmsi in clones:
            continue
        if mmsi in glitchy and (mmsi, float(t[i + 1])) not in edges:
            glitches += 1
            continue
        assert (mmsi, float(t[i + 1])) in edges, (mmsi, t[i + 1], km[i])
    assert glitches >= 2  # out and back of the single bad position


def test_imo_check_digits() -> None:
    assert imo_check_digit(907472) == 9 and imo_valid(9074729) and not imo_valid(9074728)


def test_imos_valid_except_invalid_identities(big: tuple[Path, Path]) -> None:
    vessels = _vessels(big[0])
    bad = {e["mmsi"] for e in _truth(big[0]) if e["type"] == "invalid_identity"}
    for v in vessels:
        if "invalid_imo" in v["roles"]:
            assert not imo_valid(v["imo"]) and v["mmsi"] in bad
        elif v["imo"] is None:  # a renamed listed vessel that stopped sending its IMO
            assert "renamed_listed" in v["roles"] and v["mmsi"] not in bad
        else:
            assert imo_valid(v["imo"]), v
        if "invalid_mid" in v["roles"]:
            assert v["flag"] is None and v["mmsi"] in bad
    assert {v["mmsi"] for v in vessels if "invalid_identity" in v["roles"]} == bad


def test_statics_are_plausible() -> None:
    ids = IdentityFactory(np.random.default_rng(5))
    st: Static = ids.static(tanker=False, mid=273)
    assert st.mmsi // 1_000_000 == 273 and 70 <= st.ship_type <= 79 and imo_valid(st.imo or 0)
    assert st.callsign.startswith("UB") and st.length > st.width > 0


def _ais_identities(folder: Path) -> dict[int, dict[str, set[str]]]:
    """Per MMSI in the written DMA file: the names, IMOs (as written) and call signs sent."""
    opts = pacsv.ConvertOptions(include_columns=["MMSI", "IMO", "Name", "Callsign"],
                                column_types={"IMO": pa.string(), "Callsign": pa.string()})
    table = pacsv.read_csv(folder / "aisdk_sim.csv", convert_options=opts).group_by(
        ["MMSI", "IMO", "Name", "Callsign"]).aggregate([])
    out: dict[int, dict[str, set[str]]] = {}
    for row in table.to_pylist():
        entry = out.setdefault(row["MMSI"], {"names": set(), "imos": set(), "callsigns": set()})
        entry["names"].add(row["Name"])
        entry["imos"].add(row["IMO"])
        entry["callsigns"].add(row["Callsign"])
    return out


def test_screening_lists_go_with_the_ais(big: tuple[Path, Path]) -> None:
    """The list parses with followthemoney, every id it or the truth names exists, planted
    vessels broadcast what the truth says, and look-alikes are other ships with other names."""
    from followthemoney import model

    folder = big[0]
    truth = json.loads((folder / "screening_truth.json").read_text())["screening"]
    assert truth["lists"] == ["lists/watchlist.ftm.json"]
    entities = {}
    for line in (folder / truth["lists"][0]).read_text().splitlines():
        proxy = model.get_proxy(json.loads(line))
        assert proxy.id and proxy.id not in entities
        entities[proxy.id] = proxy
    for proxy in entities.values():
        for prop, value in proxy.itervalues():
            if prop.type.name == "entity":
                assert value in entities, (proxy.id, prop.name, value)
    sanctioned = {p.first("entity") for p in entities.values() if p.schema.name == "Sanction"}
    ais = _ais_identities(folder)
    roles = {v["mmsi"]: v["roles"] for v in _vessels(folder)}
    for kind in ("listed", "renamed_listed", "owned_by_listed", "lookalikes"):
        assert truth[kind], kind
    planted = set()
    for row in truth["listed"] + truth["renamed_listed"]:
        vessel, sent = entities[row["entity_id"]], ais[row["mmsi"]]
        planted.add(row["mmsi"])
        assert vessel.schema.name == "Vessel" and vessel.id in sanctioned
        assert vessel.get("topics") == ["sanction"] and vessel.get("type") == ["Crude Oil Tanker"]
        assert vessel.get("imoNumber") == [f"IMO{row['imo']}"] and imo_valid(row["imo"])
        flag = vessel.first("flag")
        assert flag and len(flag) == 2 and flag.islower()
    for row in truth["listed"]:
        vessel, sent = entities[row["entity_id"]], ais[row["mmsi"]]
        assert "listed" in roles[row["mmsi"]]
        assert vessel.get("mmsi") == [str(row["mmsi"])] and sent["imos"] == {str(row["imo"])}
        assert sent["names"] == set(vessel.get("name")) and sent["callsigns"] == set(vessel.get("callSign"))
    for row in truth["renamed_listed"]:
        vessel, sent = entities[row["entity_id"]], ais[row["mmsi"]]
        assert "renamed_listed" in roles[row["mmsi"]]
        old_mmsi = int(vessel.first("mmsi"))
        assert old_mmsi != row["mmsi"] and old_mmsi not in ais, "the listed MMSI is no longer sent"
        assert vessel.get("name") == [row["listed_name"]] and sent["names"] == {row["ais_name"]}
        assert row["listed_name"] != row["ais_name"]
        if row["imo_broadcast"]:
            assert sent["imos"] == {str(row["imo"])} and not vessel.get("alias")
        else:  # no IMO: name (as alias), call sign and flag carry the match
            assert sent["imos"] == {"Unknown"} and vessel.get("alias") == [row["ais_name"]]
            assert sent["callsigns"] == set(vessel.get("callSign"))
            assert old_mmsi // 1_000_000 == row["mmsi"] // 1_000_000
    assert {r["imo_broadcast"] for r in truth["renamed_listed"]} == {True, False}
    for row in truth["owned_by_listed"]:
        vessel, sent = entities[row["entity_id"]], ais[row["mmsi"]]
        planted.add(row["mmsi"])
        assert "owned_by_listed" in roles[row["mmsi"]] and sent["imos"] == {str(row["imo"])}
        assert vessel.get("imoNumber") == [f"IMO{row['imo']}"] and not vessel.get("topics")
        assert vessel.id not in sanctioned and row["path"][0] == vessel.id
        links = {(o.first("asset"), o.first("owner")): o.first("percentage")
                 for o in entities.values() if o.schema.name == "Ownership"}
        chain = row["path"]
        assert [links[(a, b)] for a, b in zip(chain, chain[1:])] == ["100", "60", "75"]
        top = entities[chain[-1]]
        assert top.schema.name == "Company" and top.get("topics") == ["sanction"] and top.id in sanctioned
        assert not ({p.id for p in map(entities.get, chain[1:-1]) if p} & sanctioned)
    for row in truth["lookalikes"]:
        target, sent = entities[row["resembles_entity_id"]], ais[row["mmsi"]]
        assert target.id in sanctioned and "hard_negative_lookalike" in roles[row["mmsi"]]
        assert sent["names"] == {row["ais_name"]} and row["ais_name"] not in target.get("name")
        assert row["ais_name"].split()[0] == target.first("name").split()[0], "a close name"
        assert imo_valid(row["imo"]) and f"IMO{row['imo']}" not in target.get("imoNumber")
        assert str(row["mmsi"]) not in target.get("mmsi")
        assert row["mmsi"] // 1_000_000 != int(target.first("mmsi")) // 1_000_000, "another flag"
        assert row["mmsi"] not in planted
    # Clean vessels share no IMO or MMSI with the list; list-only vessels are not in the AIS.
    listed_ids = {v for p in entities.values() if p.schema.name == "Vessel"
                  for v in p.get("imoNumber") + p.get("mmsi")}
    for mmsi, sent in ais.items():
        if mmsi not in planted:
            assert not ({str(mmsi)} | {f"IMO{i}" for i in sent["imos"]}) & listed_ids, mmsi
    assert any(p.schema.name == "Directorship" for p in entities.values())
    in_truth = {r["entity_id"] for k in ("listed", "renamed_listed", "owned_by_listed") for r in truth[k]}
    assert [p for p in entities.values() if p.schema.name == "Vessel" and p.id not in in_truth]

"""Ports, anchorages, Russian export terminals and known STS areas, from files in ``geo/data``.

Port rows come from the NGA World Port Index, Global Fishing Watch named anchorages (grouped
within 4 km) and the Russian terminal list; see ``data/SOURCES.md`` for how each was derived.
"""

from __future__ import annotations

from functools import lru_cache

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from shadowtrace.geo import data_path

PORT_KINDS = ("port", "anchorage", "terminal")


@lru_cache(maxsize=1)
def load_ports() -> pa.Table:
    """All ports: port_id, name, country (ISO3 or null), lat, lon, kind, sanctioned_terminal,
    radius_m (metres within which a stopped vessel counts as in port), source, unlocode.

    Row order is fixed, so a row index from :mod:`shadowtrace.geo.nearest` indexes this table.
    """
    return pq.read_table(data_path("ports.parquet"))


@lru_cache(maxsize=1)
def russian_terminals() -> pa.Table:
    """The Russian crude/product export terminals (kind == 'terminal') of :func:`load_ports`."""
    ports = load_ports()
    return ports.filter(pc.equal(ports["kind"], "terminal"))


@lru_cache(maxsize=1)
def sts_areas() -> pa.Table:
    """Known ship-to-ship transfer hubs: name, lat, lon, radius_m."""
    types = {
        "name": pa.string(),
        "lat": pa.float64(),
        "lon": pa.float64(),
        "radius_m": pa.float64(),
    }
    opts = pacsv.ConvertOptions(column_types=types)
    return pacsv.read_csv(data_path("sts_areas.csv"), convert_options=opts)

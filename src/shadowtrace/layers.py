"""Reference map layers as GeoJSON: Russian export terminals, STS areas, Natural Earth basemap."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from shadowtrace.geo import data_path

BASEMAP_FILES = {"land": "naturalearth_ne_110m_land.geojson",
                 "coastlines": "naturalearth_110m_coastlines.geojson"}


def _points(rows: list[dict[str, Any]], id_key: str) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": row[id_key],
         "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
         "properties": {k: v for k, v in row.items() if k not in ("lat", "lon")}}
        for row in rows]}


@lru_cache(maxsize=1)
def terminals_geojson() -> dict[str, Any]:
    """The Russian crude and product export terminals as Points."""
    from shadowtrace.geo.ports import russian_terminals

    rows = russian_terminals().select(["port_id", "name", "country", "lat", "lon", "sanctioned_terminal",
                                       "radius_m", "source"]).to_pylist()
    for row in rows:
        row["radius_km"] = round(row.pop("radius_m") / 1000, 3)
    return _points(rows, "port_id")


@lru_cache(maxsize=1)
def sts_areas_geojson() -> dict[str, Any]:
    """Known ship-to-ship transfer areas as Points with ``radius_km``."""
    from shadowtrace.geo.ports import sts_areas

    rows = sts_areas().to_pylist()
    for row in rows:
        row["radius_km"] = round(row.pop("radius_m") / 1000, 3)
    return _points(rows, "name")


def basemap_path(name: str) -> Path:
    """The shipped Natural Earth 110m GeoJSON file of a basemap layer (``land``, ``coastlines``)."""
    return data_path(BASEMAP_FILES[name])

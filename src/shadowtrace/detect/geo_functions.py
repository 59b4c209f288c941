"""Vectorised geography functions every engine registers for detector SQL."""

from __future__ import annotations

import numpy as np

from shadowtrace.engine.base import Engine
from shadowtrace.geo.land import is_well_inland
from shadowtrace.geo.nearest import nearest_port, within_port
from shadowtrace.geo.ports import load_ports


def _port_distance_m(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    dist, _ = nearest_port(lat.astype(float), lon.astype(float))
    return np.asarray(dist, dtype=float)


def _port_index(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.asarray(within_port(lat.astype(float), lon.astype(float)), dtype=np.int64)


def _well_inland(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    return np.asarray(is_well_inland(lat.astype(float), lon.astype(float)), dtype=bool)


def register_geo(engine: Engine) -> None:
    """`port_distance_m(lat, lon)`: metres to the nearest port or anchorage point;
    `port_index(lat, lon)`: row of `geo_ports` whose area holds the point, or -1;
    `well_inland(lat, lon)`: on land and away from coasts, rivers and ports."""
    engine.register_function("port_distance_m", _port_distance_m, ["DOUBLE", "DOUBLE"], "DOUBLE")
    engine.register_function("port_index", _port_index, ["DOUBLE", "DOUBLE"], "BIGINT")
    engine.register_function("well_inland", _well_inland, ["DOUBLE", "DOUBLE"], "BOOLEAN")
    ports = load_ports()
    ports = ports.append_column("port_index", [np.arange(ports.num_rows, dtype=np.int64)])
    engine.register_arrow("geo_ports", ports)

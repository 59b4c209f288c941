"""Reference geography shipped inside the package: ports, terminals, STS areas, land, MID flags.

Everything here reads files in ``geo/data`` only; nothing touches the network at run time.
``build_data.py`` regenerates those files from the shared source folder on demand.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

EARTH_RADIUS_M = 6_371_008.8  # IUGG mean radius; the same value everywhere in shadowtrace.geo


def data_path(name: str) -> Path:
    """Path of a file shipped in ``shadowtrace/geo/data``."""
    return Path(str(files("shadowtrace.geo") / "data" / name))

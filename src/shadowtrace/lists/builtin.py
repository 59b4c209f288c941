"""Lists shipped inside the package (public-domain or freely reusable acts; see data/SOURCES.md)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from shadowtrace.errors import ConfigError

BUILTIN: dict[str, tuple[str, str]] = {
    # name: (file in lists/data, description)
    "eu-annex-xlii": ("eu_annex_xlii.csv", "EU Reg. 833/2014 Annex XLII shadow-fleet vessels (to 2026/1848)"),
}


def builtin_path(name: str) -> Path:
    if name not in BUILTIN:
        raise ConfigError(f"no built-in list {name!r}", hint=f"built-in lists: {', '.join(BUILTIN)}")
    resource = files("shadowtrace.lists").joinpath("data", BUILTIN[name][0])
    with as_file(resource) as path:  # a real file for installed packages (no zip imports here)
        return Path(path)

"""Parameters from defaults, TOML tables and `section.field=value` overrides.

Detectors, matching, screening and risk scoring all take frozen dataclasses of parameters;
this is the one place that reads a config file and command-line overrides into them.
"""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from shadowtrace.errors import ConfigError

_TYPES: dict[str, type] = {"float": float, "int": int, "bool": bool, "str": str}


def _coerce(where: str, field: dataclasses.Field[Any], value: Any) -> Any:
    kind = field.type if isinstance(field.type, type) else _TYPES.get(str(field.type), str)
    try:
        if kind is bool and isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {value!r} is not a {kind.__name__}") from exc


def read_values(config: Path | None, overrides: list[str] | None, *, sections: set[str],
                others: set[str], example: str) -> dict[str, dict[str, Any]]:
    """`{section: {field: value}}` from the TOML file's tables named in ``sections`` and from
    overrides. Tables in ``others`` belong to another reader (one file configures detectors
    and screening); any other table is an error, so a misspelt one is not silently ignored."""
    values: dict[str, dict[str, Any]] = {}
    if config is not None:
        try:
            data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc}", where=str(config)) from exc
        for name, table in data.items():
            if name in others:
                continue
            if name not in sections:
                raise ConfigError(f"unknown section [{name}]", where=str(config),
                                  hint=f"known: {', '.join(sorted(sections | others))}")
            if not isinstance(table, dict):
                raise ConfigError(f"expected a [{name}] table", where=str(config))
            values.setdefault(name, {}).update(table)
    for item in overrides or []:
        key, sep, value = item.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not dot:
            raise ConfigError(f"bad --param {item!r}", hint=f"write section.field=value, e.g. {example}")
        if section not in sections:
            raise ConfigError(f"unknown section {section!r} in --param {item!r}",
                              hint=f"known: {', '.join(sorted(sections))}")
        values.setdefault(section, {})[field] = value.strip()
    return values


def apply_values(params: dict[str, Any], values: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Replace fields of the dataclasses in ``params`` with ``values``, checking names and types."""
    out = dict(params)
    for section, fields in values.items():
        known = {f.name: f for f in dataclasses.fields(out[section])}
        changes = {}
        for name, value in fields.items():
            if name not in known:
                raise ConfigError(f"{section} has no parameter {name!r}", hint=f"parameters: {', '.join(known)}")
            changes[name] = _coerce(f"{section}.{name}", known[name], value)
        out[section] = dataclasses.replace(out[section], **changes)
    return out

"""Detector parameters from defaults, a TOML file and command-line overrides."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from shadowtrace.detect.registry import DETECTORS
from shadowtrace.errors import ConfigError

_SCREENING_SECTIONS = ("match", "screen", "risk")


def default_params() -> dict[str, Any]:
    return {name: det.params() for name, det in DETECTORS.items()}


def _coerce(detector: str, field: dataclasses.Field[Any], value: Any) -> Any:
    kind = field.type if isinstance(field.type, type) else {"float": float, "int": int, "bool": bool, "str": str}.get(str(field.type), str)
    try:
        if kind is bool and isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{detector}.{field.name}: {value!r} is not a {kind.__name__}") from exc


def build_params(config: Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Defaults, updated by `[detector] field = value` tables in a TOML file, then by
    `detector.field=value` overrides."""
    values: dict[str, dict[str, Any]] = {}
    if config is not None:
        try:
            data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc}", where=str(config)) from exc
        for name, table in data.items():
            if name in _SCREENING_SECTIONS:
                continue  # read by shadowtrace.screen.config
            if not isinstance(table, dict):
                raise ConfigError(f"expected a [{name}] table", where=str(config))
            values.setdefault(name, {}).update(table)
    for item in overrides or []:
        key, sep, value = item.partition("=")
        detector, dot, field = key.strip().partition(".")
        if not sep or not dot:
            raise ConfigError(f"bad --param {item!r}", hint="write detector.field=value, e.g. ais_gap.min_gap_hours=12")
        values.setdefault(detector, {})[field] = value.strip()
    params = default_params()
    for detector, fields in values.items():
        if detector not in params:
            raise ConfigError(f"unknown detector {detector!r}", hint=f"known: {', '.join(params)}")
        known = {f.name: f for f in dataclasses.fields(params[detector])}
        changes = {}
        for name, value in fields.items():
            if name not in known:
                raise ConfigError(f"{detector} has no parameter {name!r}", hint=f"parameters: {', '.join(known)}")
            changes[name] = _coerce(detector, known[name], value)
        params[detector] = dataclasses.replace(params[detector], **changes)
    return params

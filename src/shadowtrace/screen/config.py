"""Screening and risk parameters from defaults, a TOML file ([match], [screen], [risk] tables)
and `section.field=value` overrides, like the detectors' parameters."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path
from typing import Any

from shadowtrace.errors import ConfigError
from shadowtrace.risk.score import RiskParams
from shadowtrace.screen.match import MatchParams
from shadowtrace.screen.run import ScreenParams

SECTIONS: dict[str, type] = {"match": MatchParams, "screen": ScreenParams, "risk": RiskParams}


def _coerce(where: str, kind: type, value: Any) -> Any:
    try:
        if kind is bool and isinstance(value, str):
            return value.lower() in ("1", "true", "yes", "on")
        return kind(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {value!r} is not a {kind.__name__}") from exc


def build_screen_params(config: Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    values: dict[str, dict[str, Any]] = {}
    if config is not None:
        try:
            data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config: {exc}", where=str(config)) from exc
        for name, table in data.items():
            if name in SECTIONS and isinstance(table, dict):
                values.setdefault(name, {}).update(table)
    for item in overrides or []:
        key, sep, value = item.partition("=")
        section, dot, field = key.strip().partition(".")
        if not sep or not dot:
            raise ConfigError(f"bad --param {item!r}", hint="write section.field=value, e.g. risk.gap_cap=30")
        values.setdefault(section, {})[field] = value.strip()
    params: dict[str, Any] = {name: cls() for name, cls in SECTIONS.items()}
    for section, fields in values.items():
        if section not in params:
            raise ConfigError(f"unknown section {section!r}", hint=f"known: {', '.join(SECTIONS)}")
        known = {f.name: f for f in dataclasses.fields(params[section])}
        changes = {}
        for name, value in fields.items():
            if name not in known:
                raise ConfigError(f"{section} has no parameter {name!r}", hint=f"parameters: {', '.join(known)}")
            kind = {"float": float, "int": int, "bool": bool, "str": str}.get(str(known[name].type), str)
            changes[name] = _coerce(f"{section}.{name}", kind, value)
        params[section] = dataclasses.replace(params[section], **changes)
    return params

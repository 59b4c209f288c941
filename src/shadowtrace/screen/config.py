"""Screening and risk parameters from defaults, a TOML file ([match], [screen], [risk] tables)
and `section.field=value` overrides, like the detectors' parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shadowtrace.detect.registry import DETECTORS
from shadowtrace.params import apply_values, read_values
from shadowtrace.risk.score import RiskParams
from shadowtrace.screen.match import MatchParams
from shadowtrace.screen.run import ScreenParams

SECTIONS: dict[str, type] = {"match": MatchParams, "screen": ScreenParams, "risk": RiskParams}


def build_screen_params(config: Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    values = read_values(config, overrides, sections=set(SECTIONS), others=set(DETECTORS),
                         example="risk.gap_cap=30")
    return apply_values({name: cls() for name, cls in SECTIONS.items()}, values)

"""Detector parameters from defaults, a TOML file and command-line overrides."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shadowtrace.detect.registry import DETECTORS
from shadowtrace.params import apply_values, read_values

SCREENING_SECTIONS = {"match", "screen", "risk"}  # see shadowtrace.screen.config


def default_params() -> dict[str, Any]:
    return {name: det.params() for name, det in DETECTORS.items()}


def build_params(config: Path | None = None, overrides: list[str] | None = None) -> dict[str, Any]:
    """Defaults, updated by `[detector] field = value` tables in a TOML file, then by
    `detector.field=value` overrides. Other tables ([match], [screen], [risk]) belong to
    screening and are left to shadowtrace.screen.config."""
    values = read_values(config, overrides, sections=set(DETECTORS), others=SCREENING_SECTIONS,
                         example="ais_gap.min_gap_hours=12")
    return apply_values(default_params(), values)

"""One TOML file configures detectors and screening; typos are errors, not silence."""

from __future__ import annotations

from pathlib import Path

import pytest

from shadowtrace.detect.config import build_params
from shadowtrace.errors import ConfigError
from shadowtrace.screen.config import build_screen_params


def test_one_file_for_detectors_and_screening(tmp_path: Path) -> None:
    config = tmp_path / "params.toml"
    config.write_text("[ais_gap]\nmin_gap_hours = 12\n\n[risk]\ngap_cap = 30\n\n[match]\nmin_score = 0.8\n")
    detect = build_params(config)
    screen = build_screen_params(config, ["screen.max_ownership_depth=2"])
    assert detect["ais_gap"].min_gap_hours == 12.0
    assert screen["risk"].gap_cap == 30.0 and screen["match"].min_score == 0.8
    assert screen["screen"].max_ownership_depth == 2


@pytest.mark.parametrize(("text", "overrides", "message"), [
    ("[ais_gapp]\nmin_gap_hours = 1\n", None, "unknown section [ais_gapp]"),
    ("", ["risk.no_such=1"], "no parameter"),
    ("", ["risk.gap_cap=lots"], "not a float"),
    ("", ["gap_cap=3"], "bad --param"),
    ("", ["ais_gap.min_gap_hours=3"], "unknown section 'ais_gap'"),
])
def test_bad_screening_parameters(tmp_path: Path, text: str, overrides: list[str] | None, message: str) -> None:
    config = tmp_path / "params.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_screen_params(config, overrides)

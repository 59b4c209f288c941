"""Generated documentation stays in step with the code."""

from __future__ import annotations

from shadowtrace.detect.catalogue import markdown
from tests.conftest import ROOT


def test_detectors_doc_is_current() -> None:
    current = (ROOT / "docs" / "detectors.md").read_text(encoding="utf-8")
    assert current == markdown(), "regenerate with: shadowtrace detectors --markdown > docs/detectors.md"


def test_screening_parameters_are_current() -> None:
    from shadowtrace.screen.catalogue import markdown as screening_markdown

    current = (ROOT / "docs" / "screening.md").read_text(encoding="utf-8")
    assert screening_markdown() in current, "regenerate with: shadowtrace screen --params-markdown"

"""Parameter tables of matching, screening and risk scoring, for docs/screening.md.

The tables between the `parameters` markers of docs/screening.md are generated here
(`shadowtrace screen --params-markdown`); a test checks they are current.
"""

from __future__ import annotations

import dataclasses

from shadowtrace.detect.catalogue import parameter_comments

SECTIONS = (
    ("match", "shadowtrace.screen.match", "MatchParams", "Matching AIS vessels to listed vessels"),
    ("screen", "shadowtrace.screen.run", "ScreenParams", "Exposure"),
    ("risk", "shadowtrace.risk.score", "RiskParams", "Risk score"),
)
BEGIN, END = "<!-- parameters -->", "<!-- /parameters -->"


def markdown() -> str:
    from importlib import import_module

    parts = []
    for section, module_name, class_name, title in SECTIONS:
        cls = getattr(import_module(module_name), class_name)
        comments = parameter_comments(module_name, class_name)
        rows = [f"### `[{section}]`: {title}", "", "| parameter | default | meaning |", "|---|---|---|"]
        for field in dataclasses.fields(cls):
            rows.append(f"| `{field.name}` | {field.default!r} | {comments.get(field.name, '')} |")
        parts.append("\n".join(rows))
    return f"{BEGIN}\n" + "\n\n".join(parts) + f"\n{END}"

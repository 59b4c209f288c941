"""Accuracy on a small simulated scenario, with a seed nobody tuned on.

The larger figures (several seeds, hundreds of vessels) are in docs/accuracy.md.
"""

from __future__ import annotations

from shadowtrace.evaluate import evaluate_store

MIN_SCORE = 0.9


def test_every_injected_type_is_found_with_precision_and_recall(scenario) -> None:
    result, db = scenario
    scores = evaluate_store(db, result.truth_path)
    failures = {
        name: (s.precision, s.recall, s.unmatched_events[:2], s.missed_truth[:2])
        for name, s in scores.items()
        if s.truth and ((s.precision or 0) < MIN_SCORE or (s.recall or 0) < MIN_SCORE)
    }
    assert not failures, failures

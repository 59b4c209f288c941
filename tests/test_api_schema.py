"""Property-based tests of the API against its own OpenAPI schema (schemathesis, in process):
no 5xx for any generated request, valid and invalid, and every answer matches the documented
responses (status, media type, body schema)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from shadowtrace.web import create_app

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

OPERATIONS = (
    "/api/health", "/api/lists", "/api/ingests", "/api/search", "/api/layers/terminals",
    "/api/layers/sts_areas", "/api/layers/land", "/api/layers/coastlines", "/api/vessels",
    "/api/vessels/{mmsi}", "/api/vessels/{mmsi}/track", "/api/vessels/{mmsi}/dossier.html",
    "/api/events", "/api/events/{event_id}", "/api/alerts", "/api/alerts/stream",
)
# Bounded so the file runs in well under a minute on a shared two-core machine.
EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}


@pytest.fixture(scope="module")
def api_schema(screened: Path):
    db = screened
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(Path(db)))


def test_every_operation_is_tested(api_schema) -> None:
    found = {result.ok().path for result in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
@pytest.mark.parametrize("path", OPERATIONS)
def test_operation_matches_schema(api_schema, path: str, mode: GenerationMode) -> None:
    operation = api_schema[path]["GET"]
    if mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters()):
        pytest.skip("no parameters to get wrong")

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    def check(case) -> None:
        response = case.call()
        if response.status_code == 414:
            # Schemas cannot say "at most 2,048 bytes of query string"; the limit is the API's own.
            assert len(response.request.url.partition("?")[2]) > 2048
            assert response.json()["error"]["code"] == "uri_too_long"
            return
        case.validate_response(response)

    check()

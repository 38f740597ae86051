"""schemathesis against the OpenAPI document Powertools generates: every generated request gets a
documented status, a conforming body, and never a 5xx. Fixed seed (derandomize)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from tests.conftest import Emulator
from tests.fuzz import wsgi
from tests.fuzz.budget import examples

pytestmark = pytest.mark.usefixtures("aws")

schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi.app)


@pytest.fixture(autouse=True)
def function_env(configure: Callable[..., None], emulator: Emulator) -> None:
    configure()
    emulator.state.rate_limit = 10**9  # not testing throttling here


@schema.parametrize()
@settings(
    max_examples=examples(1000),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_openapi_document(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    # Two checks do not apply: methods the document does not declare never reach the function (API
    # Gateway routes only what serverless.yml declares), and a schema-valid body can still break our
    # policy (COS host of the configured region, allowed redirect hosts), which is a documented 400.
    case.validate_response(response, excluded_checks=[unsupported_method, positive_data_acceptance])

"""schemathesis against the OpenAPI document Powertools generates: every generated request gets a
documented status, a conforming body, and never a 5xx. Fixed seed (derandomize)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method

from tests.conftest import ROOT, Emulator
from tests.fuzz import wsgi
from tests.fuzz.budget import examples

pytestmark = pytest.mark.usefixtures("aws")

schema = schemathesis.openapi.from_wsgi("/openapi.json", wsgi.app)


@pytest.fixture(autouse=True)
def function_env(configure: Callable[..., None], emulator: Emulator) -> None:
    configure()
    emulator.state.rate_limit = 10**9  # not testing throttling here


# One test per operation: under pytest 9.2 the items `schema.parametrize()` makes for the operations of one
# test share a node id, and pytest-xdist (make test) would run only one of them.
OPERATIONS = {
    ("POST", "/verifications"),
    ("GET", "/verifications/{biz_token}"),
    ("GET", "/verifications"),
    ("POST", "/verifications/{biz_token}/cancel"),
    ("POST", "/verifications/{biz_token}/redact"),
    ("GET", "/return"),
}
SETTINGS = settings(
    max_examples=examples(1000),
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def test_each_operation_of_the_document_has_its_test() -> None:
    document = json.loads((ROOT / "openapi.json").read_text())
    assert {(method.upper(), path) for path, item in document["paths"].items() for method in item} == OPERATIONS


def conforms(case: schemathesis.Case) -> None:
    response = case.call()
    assert response.status_code < 500, response.text
    # Two checks do not apply: methods the document does not declare never reach the function (API
    # Gateway routes only what serverless.yml declares), and a schema-valid body can still break our
    # policy (COS host of the configured region, allowed redirect hosts), which is a documented 400.
    case.validate_response(response, excluded_checks=[unsupported_method, positive_data_acceptance])


@schema.include(method="POST", path="/verifications").parametrize()
@SETTINGS
def test_start_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    conforms(case)


@schema.include(method="GET", path="/verifications/{biz_token}").parametrize()
@SETTINGS
def test_read_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    conforms(case)


@schema.include(method="GET", path="/return").parametrize()
@SETTINGS
def test_return_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    # The person's browser: whatever the token, a documented redirect or plain page, never a 5xx but the
    # documented 503 (no ledger here: every well-formed token is sent on to the app's page)
    conforms(case)


# Without a ledger or a caller (the default configuration): the list is 403, cancel and redact the
# unknown-token 404; each still only ever answers what the document says, and never a 5xx.
@schema.include(method="GET", path="/verifications").parametrize()
@SETTINGS
def test_list_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    conforms(case)


@schema.include(method="POST", path="/verifications/{biz_token}/cancel").parametrize()
@SETTINGS
def test_cancel_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    conforms(case)


@schema.include(method="POST", path="/verifications/{biz_token}/redact").parametrize()
@SETTINGS
def test_redact_conforms_to_the_openapi_document(case: schemathesis.Case) -> None:
    conforms(case)

"""openapi.json is the document Powertools generates from the routes: regenerate it with `make openapi`."""

from __future__ import annotations

import json

from faceid_fn.entrypoints.http.openapi import document
from tests.conftest import ROOT


def test_checked_in_document_matches_the_code() -> None:
    checked_in = json.loads((ROOT / "openapi.json").read_text())
    assert checked_in == document(), "openapi.json is stale: run `make openapi`"


def test_document_is_valid_openapi() -> None:
    # Every $ref resolves and every object has its required fields: what a client generator needs
    # (tests/contract/test_openapi_client.py generates one).
    from openapi_spec_validator import validate

    error = None
    try:
        validate(document())
    except Exception as exc:  # its own errors, and referencing's for a $ref to nowhere
        error = str(exc)[:300]  # the message quotes the whole document
    assert error is None, f"not valid OpenAPI: {error}"


def test_document_describes_every_route_and_the_error_envelope() -> None:
    doc = document()
    assert set(doc["paths"]) == {
        "/verifications",
        "/verifications/{biz_token}",
        "/verifications/{biz_token}/cancel",
        "/verifications/{biz_token}/redact",
        "/return",
    }
    assert set(doc["paths"]["/verifications"]) == {"post", "get"}
    listing = doc["paths"]["/verifications"]["get"]
    assert {p["name"] for p in listing["parameters"]} == {"limit", "cursor", "status"}
    assert set(listing["responses"]) >= {"200", "400", "401", "403", "503"}
    cancel = doc["paths"]["/verifications/{biz_token}/cancel"]["post"]
    assert set(cancel["responses"]) >= {"200", "404", "409", "410", "503"}
    redact = doc["paths"]["/verifications/{biz_token}/redact"]["post"]
    assert set(redact["responses"]) >= {"200", "404", "503"}
    assert "canceled" in doc["components"]["schemas"]["SessionSummary"]["properties"]["Status"]["enum"]
    # The return route answers the person's browser: a redirect or a plain page, never the JSON envelope
    back = doc["paths"]["/return"]["get"]["responses"]
    assert set(back) == {"303", "400", "404", "503"}
    assert all(set(answer["content"]) == {"text/html"} for answer in back.values())
    assert "Location" in back["303"]["headers"]
    post = doc["paths"]["/verifications"]["post"]
    assert set(post["responses"]) >= {"201", "400", "409", "429", "502", "503", "504"}
    assert "422" not in post["responses"]  # validation errors are answered 400 with ErrorBody
    assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "ErrorBody" in doc["components"]["schemas"]


def declared_routes() -> dict[str, set[tuple[str, str]]]:
    """The httpApi routes serverless.yml gives API Gateway, per `auth` setting (CloudFormation tags ignored)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    config = yaml.load((ROOT / "serverless.yml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass
    events = config["functions"]["api"]["events"]
    references = [e["httpApi"] for e in events if "httpApi" in e]
    routes: dict[str, set[tuple[str, str]]] = {}
    for setting, shape in config["custom"]["auth"].items():
        found = set()
        for reference in references:
            key = reference.removeprefix("${self:custom.auth.${param:auth}.").removesuffix("}")
            if shape[key] == "*":  # the catch-all route: unknown routes get the app's 404 envelope
                continue
            found.add((shape[key]["method"].lower(), shape[key]["path"]))
        routes[setting] = found
    return routes


def test_api_gateway_routes_are_the_documented_operations() -> None:
    # API Gateway forwards only the routes serverless.yml declares: each must be an operation of the
    # app (and of openapi.json), and each operation must be reachable, with auth on and off.
    operations = {(method, path) for path, item in document()["paths"].items() for method in item}
    routes = declared_routes()
    assert set(routes) == {"off", "jwt"}
    for setting, declared in routes.items():
        assert declared == operations, f"serverless.yml routes (auth={setting}) differ from the app's"

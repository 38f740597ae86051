"""openapi.json is the document Powertools generates from the routes: regenerate it with `make openapi`."""

from __future__ import annotations

import json

from faceid_fn.openapi import document
from tests.conftest import ROOT


def test_checked_in_document_matches_the_code() -> None:
    checked_in = json.loads((ROOT / "openapi.json").read_text())
    assert checked_in == document(), "openapi.json is stale: run `make openapi`"


def test_document_describes_both_routes_and_the_error_envelope() -> None:
    doc = document()
    assert set(doc["paths"]) == {"/verifications", "/verifications/{biz_token}"}
    post = doc["paths"]["/verifications"]["post"]
    assert set(post["responses"]) >= {"201", "400", "409", "429", "502", "503", "504"}
    assert "422" not in post["responses"]  # validation errors are answered 400 with ErrorBody
    assert post["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "ErrorBody" in doc["components"]["schemas"]

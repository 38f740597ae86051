"""A WSGI front for the Lambda handler, so schemathesis can drive it in-process (tests only).

Each WSGI request becomes an API Gateway HTTP API (payload 2.0) event, goes through
`handler.handler` exactly as Lambda would call it, and the proxy answer becomes the WSGI response.
`/openapi.json` serves the document Powertools generates from the routes. A bearer token plays API
Gateway's JWT authorizer: `Authorization: Bearer <sub>` passes the claims `{"sub": <sub>}` (as the
authorizer does once it has verified a real token).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from tests.conftest import LambdaContext, load_event

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def openapi_document() -> dict[str, Any]:
    from faceid_fn.entrypoints.http.openapi import document

    return document()


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/openapi.json":
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(openapi_document()).encode()]
    import handler  # imported at the first request: its cold start reads the test's environment

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    event = load_event("http")
    method = environ["REQUEST_METHOD"]
    event.update(
        routeKey=f"{method} {path}",
        rawPath=path,
        rawQueryString=environ.get("QUERY_STRING", ""),
        headers=headers,
        body=base64.b64encode(body).decode() if body else None,
        isBase64Encoded=bool(body),
    )
    # API Gateway's payload 2.0 passes the query string parsed too (repeated names joined by commas)
    query: dict[str, str] = {}
    for name, value in parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True):
        query[name] = f"{query[name]},{value}" if name in query else value
    if query:
        event["queryStringParameters"] = query
    else:
        event.pop("queryStringParameters", None)
    event["requestContext"].update(requestId=str(uuid.uuid4()), routeKey=f"{method} {path}")
    event["requestContext"]["http"].update(method=method, path=path)
    bearer = headers.get("authorization", "")
    if bearer.startswith("Bearer ") and bearer[7:]:
        event["requestContext"]["authorizer"] = {"jwt": {"claims": {"sub": bearer[7:]}, "scopes": None}}
    result = handler.handler(event, LambdaContext())
    status = int(result["statusCode"])
    out_headers = list((result.get("headers") or {}).items())
    start_response(f"{status} {HTTPStatus(status).phrase}", out_headers)
    raw = result.get("body") or ""
    return [base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()]

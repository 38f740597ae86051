"""The return route (GET /return?token=<BizToken>): where FaceID sends the person's browser when the check ends.
The outcome is read once and announced at once (event, webhook), then the browser goes on to the app's page.

It is public (the person's browser has no token of the app's), so it answers nothing of the outcome: a
redirect to the app's page, or a plain page, always at once and never an error envelope or a stack trace."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from faceid_fn import container
from faceid_fn.adapters.aws.ledger import Ledger
from faceid_fn.config import Settings
from faceid_fn.domain.completion import is_final, offer_result
from faceid_fn.domain.errors import ServiceError
from faceid_fn.domain.outcomes import RETURN_PATH, RETURN_READ_GAP_S, RETURN_RETRY_S, with_token
from faceid_fn.domain.results import read_result
from faceid_fn.domain.sessions import BIZ_TOKEN_PATTERN
from faceid_fn.entrypoints.http.errors import request_id_of
from faceid_fn.observability import logger, metrics

router = Router()  # type: ignore[no-untyped-call]  # (Powertools leaves its __init__ unannotated)

# The browser's read of FaceID gets this long at most: the person is waiting for the app's page.
RETURN_READ_BUDGET_S = 2.0
# The hosts whose name API Gateway or a function URL gives a request, from which an HTTP start takes the
# return route's address when FACEID_PUBLIC_URL is unset (a custom domain must set it).
_AWS_HOSTS = re.compile(r"[a-z0-9]+\.(execute-api\.[a-z0-9-]+\.amazonaws\.com|lambda-url\.[a-z0-9-]+\.on\.aws)")
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Content-Security-Policy": "default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}
_HTML_PAGE: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}}
_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><meta name=viewport content='width=device-width'>"
    "<title>Verification</title><p>{text}</p></html>"
)
PAGES = {
    HTTPStatus.SEE_OTHER: "The check is over. <a href='{href}'>Continue</a>.",
    HTTPStatus.BAD_REQUEST: "This link is not valid. Go back to the app to continue.",
    HTTPStatus.NOT_FOUND: "This verification is not known. Go back to the app to continue.",
    HTTPStatus.SERVICE_UNAVAILABLE: "The check is over, but we could not take you back right now. "
    "Go back to the app to continue.",
}


def return_url_of(event: dict[str, Any], settings: Settings) -> str | None:
    """Where FaceID should send the browser for a session an HTTP request starts: FACEID_PUBLIC_URL's return
    route, else the one of the API the request came through (its own domain and stage), else None (the app's
    page directly: the return route is off, or the request's domain is not API Gateway's or a function URL's)."""
    if not settings.faceid_return:
        return None
    if settings.return_url:
        return settings.return_url
    context = event.get("requestContext")
    context = context if isinstance(context, dict) else {}
    domain, stage = str(context.get("domainName") or ""), str(context.get("stage") or "$default")
    if not _AWS_HOSTS.fullmatch(domain):
        return None
    return f"https://{domain}{'' if stage == '$default' else '/' + stage}{RETURN_PATH}"


@router.get(
    RETURN_PATH,
    summary="Where FaceID sends the person's browser: records the outcome, then redirects to the app's page",
    responses={
        303: {
            "description": "To the app's page (the session's RedirectUrl, else FACEID_REDIRECT_URL) with ?token=",
            "content": _HTML_PAGE,
            "headers": {"Location": {"schema": {"type": "string"}, "description": "The app's page"}},
        },
        400: {"description": "A plain page: the token is missing or malformed (nothing read)", "content": _HTML_PAGE},
        404: {"description": "A plain page: no such session (nothing read from FaceID)", "content": _HTML_PAGE},
        503: {"description": "A plain page: the ledger could not be read", "content": _HTML_PAGE},
    },
    include_in_schema=True,
)
def get_return(
    # A list too: a repeated `token` is a malformed link, answered with the plain page, not a JSON envelope.
    token: Annotated[str | list[str] | None, Query(description="The session's BizToken, as FaceID appends it")] = None,
) -> Response[str]:
    try:
        return _returned(_one_token(token))
    except Exception:  # the person's browser gets a page at once, whatever failed
        logger.exception("return route failed")
        return _page(HTTPStatus.SERVICE_UNAVAILABLE)


def _one_token(token: str | list[str] | None) -> str | None:
    """The one `token` of the link (None when there is none, or more than one). Powertools hands a parameter
    that may be a list over as one, also when the link has it once."""
    if isinstance(token, list):
        return token[0] if len(token) == 1 else None
    return token


def _returned(token: str | None) -> Response[str]:
    settings, ledger = container.settings(), container.ledger()
    if token is None or not re.fullmatch(BIZ_TOKEN_PATTERN, token):
        logger.warning("return refused: malformed token")
        return _page(HTTPStatus.BAD_REQUEST)
    if ledger is None:  # nothing to record the outcome in: the app reads it
        return _redirect(with_token(settings.faceid_redirect_url, token))
    try:
        record = ledger.get(token)
    except ServiceError:
        return _page(HTTPStatus.SERVICE_UNAVAILABLE)
    if record is None:
        logger.warning("return refused: unknown session", extra={"biz_token": token})
        return _page(HTTPStatus.NOT_FOUND)
    if not is_final(record.Status):
        now = time.time()
        if ledger.take_read(record, now=now, then=now + RETURN_READ_GAP_S, slot="ReturnReadAt"):
            _read_once(record.BizToken, record.Region, settings, ledger)
        else:
            metrics.add_metric(name="ReturnReadCoalesced", unit="Count", value=1)
    return _redirect(with_token(record.AppRedirect or settings.faceid_redirect_url, token))


def _read_once(biz_token: str, region: str, settings: Settings, ledger: Ledger) -> None:
    """Read the outcome and announce it; when that cannot be done now, the sweep looks soon instead of at the
    token's end (the person has finished)."""
    event = router.current_event.raw_event
    try:
        result = read_result(
            biz_token,
            settings=settings,
            faceid=container.faceid(),
            trace_id=logger.get_correlation_id() or request_id_of(event, router.lambda_context),
            region=region or None,
            budget_s=RETURN_READ_BUDGET_S,
        )
    except ServiceError as exc:
        logger.warning("return: outcome not read", extra={"biz_token": biz_token, "error": exc.code})
        result = None
    if result is not None and is_final(result.Status):
        offer_result(result, ledger=ledger, publisher=container.publisher())
        return
    ledger.look_again(biz_token, datetime.now(UTC) + timedelta(seconds=RETURN_RETRY_S))


def _redirect(location: str) -> Response[str]:
    metrics.add_metric(name="VerificationReturned", unit="Count", value=1)
    return Response(
        status_code=HTTPStatus.SEE_OTHER,
        content_type="text/html; charset=utf-8",
        body=_PAGE.format(text=PAGES[HTTPStatus.SEE_OTHER].format(href=_escaped(location))),
        headers={**_HEADERS, "Location": location},
    )


def _page(status: HTTPStatus) -> Response[str]:
    return Response(
        status_code=status,
        content_type="text/html; charset=utf-8",
        body=_PAGE.format(text=PAGES[status]),
        headers=dict(_HEADERS),
    )


def _escaped(url: str) -> str:
    return url.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;").replace(">", "&gt;")

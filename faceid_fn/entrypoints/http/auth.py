"""The caller, as API Gateway's authorizer names it, and the 401 of an operation that has none."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from faceid_fn import container
from faceid_fn.domain.errors import ServiceError

# The claims that name a caller, in order: `sub`, else `client_id` (OAuth client-credentials tokens of
# Cognito and others carry no `sub`: the client is the caller).
CALLER_CLAIMS = ("sub", "client_id")


def _authorizer(event: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """API Gateway's authorizer context, and the claims in it (a JWT authorizer's, or a Lambda authorizer's)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, dict) else None
    if not isinstance(authorizer, dict):
        return None, None
    jwt = authorizer.get("jwt")
    claims = jwt.get("claims") if isinstance(jwt, dict) else authorizer.get("claims")
    return authorizer, claims if isinstance(claims, dict) else None


def caller_subject(event: dict[str, Any]) -> str | None:
    """The authenticated caller named by API Gateway's authorizer, if any: the JWT's `sub`, else its
    `client_id` (prefixed `client:` so that it never equals a user's `sub`), or a Lambda authorizer's
    principal."""
    authorizer, claims = _authorizer(event)
    if authorizer is None:
        return None
    if claims is None:
        subject = authorizer.get("principalId")
        return subject if isinstance(subject, str) and subject else None
    for claim in CALLER_CLAIMS:
        value = claims.get(claim)
        if isinstance(value, str) and value:
            return value if claim == "sub" else f"{claim.removesuffix('_id')}:{value}"
    return None


def has_claims(event: dict[str, Any]) -> bool:
    """Whether an authorizer passed claims at all (a token without a caller claim is another 401)."""
    return bool(_authorizer(event)[1])


class Unauthorized(ServiceError):
    """No identified caller while AUTH_REQUIRED is on."""

    status = HTTPStatus.UNAUTHORIZED


def not_a_caller(event: dict[str, Any]) -> Unauthorized:
    """The 401 for a request without the authorizer's claims, or with claims that name no caller
    (neither `sub` nor `client_id`)."""
    if has_claims(event):
        return Unauthorized("Unauthorized", "The token names no caller: it needs a sub or client_id claim")
    return Unauthorized("Unauthorized", "A valid bearer token is required")


def require_caller(event: dict[str, Any]) -> str | None:
    """The caller an operation acts for (None only with AUTH_REQUIRED off). Every operation that touches
    a session, a photo, the ledger or FaceID asks this first: whatever route or path brought the request
    (the catch-all route `$default` has no authorizer), a request without a caller goes no further."""
    subject = caller_subject(event)
    if subject is None and container.settings().auth_required:
        raise not_a_caller(event)
    return subject

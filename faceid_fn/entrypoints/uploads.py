"""Upload events: every photo uploaded to a bucket starts exactly one verification session."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from faceid_fn import container
from faceid_fn.adapters.aws.s3 import StorageError, read_object
from faceid_fn.domain.completion import record_session
from faceid_fn.domain.completion_events import SessionSource
from faceid_fn.domain.errors import IdempotencyConflict, InvalidInput, ServiceError, StoreUnavailable, UpstreamError
from faceid_fn.domain.flows import INTL_MAX_PHOTO_BYTES
from faceid_fn.domain.models import ErrorDetail, ObjectSource, UploadFailure, UploadSession, UploadSummary
from faceid_fn.domain.photos import checked_photo, object_key
from faceid_fn.domain.verification import open_intl_session, open_session
from faceid_fn.entrypoints.upload_events import check_region, owner_of, source_of
from faceid_fn.observability import logger, metrics


class UploadsIncomplete(RuntimeError):
    """Some records failed in a way a retry can fix. The message is the summary, as JSON."""


# -- one source -> one session ----------------------------------------------------------------------


def start_for_object(*, request: dict[str, Any]) -> UploadSession:
    """Start the session for one uploaded object (`request` = {"Key", "Source", "TraceId", "Owner"}); run
    once per object, so that the start counts against its owner (FACEID_OWNER_STARTS) once."""
    source = ObjectSource.model_validate(request["Source"])
    settings, faceid = container.settings(), container.faceid()
    trace_id = str(request["TraceId"])
    intl = settings.faceid_flow == "intl"
    limit = min(settings.upload_max_bytes, INTL_MAX_PHOTO_BYTES) if intl else settings.upload_max_bytes
    if source.Size is not None and source.Size > limit:
        raise InvalidInput("ObjectTooLarge", f"The object is larger than {limit} bytes")
    starts = container.owner_starts()
    if starts is not None:
        starts.admit(request.get("Owner"))

    def photo() -> bytes:
        if source.Storage == "s3":
            data = read_object(container.s3(), source.Bucket, source.Key, source.VersionId, limit)
        else:
            data = container.cos().read(source.Bucket, source.Key, source.VersionId, limit)
        checked_photo(data, limit)
        return data

    if intl:  # the photo itself goes to FaceID; the object names the session (Extra)
        session = open_intl_session(
            photo=photo(),
            redirect=settings.return_url or settings.faceid_redirect_url,
            extra=source.idempotency_key[:1000],
            config=settings.faceid_intl_config.params(),
            faceid=faceid,
            trace_id=trace_id,
        )
        return UploadSession(Source=source, **session.model_dump())
    if source.Storage == "s3":
        data = photo()
        md5 = checked_photo(data, limit)
        slot = faceid.create_upload_url(trace_id=trace_id)
        faceid.upload(str(slot["UploadUrl"]), data)
        image_url = str(slot["ResourceUrl"])
    else:
        cos = container.cos()
        md5 = source.Md5 or checked_photo(photo(), limit)
        image_url = (
            cos.presigned_url(source.Bucket, source.Key)
            if settings.cos_presign
            else cos.object_url(source.Bucket, source.Key)
        )
    session = open_session(
        image_url=image_url,
        image_md5=md5,
        redirect=settings.return_url or settings.faceid_redirect_url,
        region=settings.faceid_region,
        faceid=faceid,
        trace_id=trace_id,
    )
    return UploadSession(Source=source, **session.model_dump())


def _record(session: UploadSession, source: ObjectSource, owner: str | None) -> None:
    ledger = container.ledger()
    if ledger is None:
        return
    record_session(
        ledger,
        container.settings(),
        session=session,
        owner=owner,
        source=SessionSource(Type=source.Storage, Bucket=source.Bucket, Key=source.Key),
    )


def _retryable(exc: Exception) -> bool:
    if isinstance(exc, StorageError):
        return exc.retryable
    if isinstance(exc, IdempotencyConflict | StoreUnavailable):
        return True
    if isinstance(exc, UpstreamError):
        return (
            exc.status in (429, 504)
            or exc.code in ("UpstreamUnavailable", "UploadFailed")
            or exc.code.startswith("InternalError")
        )
    return False


# A record is started only with this much of the invocation left beyond FACEID_TIMEOUT_S; later records
# are deferred to Lambda's retry (finished ones replay from the idempotency table).
RECORD_MARGIN_S = 2.0
# An upload while FACEID_INTL_CONFIG.CheckMode compares with no photo of ours (1, 3, 4): refused, not retried.
PHOTO_NOT_COMPARED = "PhotoNotCompared"
NOT_STARTED_CODE = "Deferred"
INTERNAL_ERROR = "InternalError"


def handle(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = container.settings()
    start = container.idempotency().once(start_for_object, model=UploadSession, key_path="Key")  # once per object
    container.idempotency().register(context)
    summary = UploadSummary()
    for record in event["Records"]:
        source: ObjectSource | None = None
        # Until the record names its upload, its lines carry the invocation's id (not the previous record's).
        logger.set_correlation_id(context.aws_request_id)
        try:
            source, upload_request_id = source_of(record, settings.faceid_region)
            trace_id = upload_request_id or context.aws_request_id
            logger.set_correlation_id(trace_id)
            check_region(source, settings.faceid_region)
            object_key(source.Key)  # the key that decides the owner is the object read: else nothing is started
            if not settings.takes_photo:  # an upload is a photo, and nobody would compare the person with it
                mode = settings.faceid_intl_config.check_mode
                raise InvalidInput(PHOTO_NOT_COMPARED, f"CheckMode {mode} compares with no uploaded photo: not started")
            if context.get_remaining_time_in_millis() / 1000 < settings.faceid_timeout_s + RECORD_MARGIN_S:
                _failed(summary, source, NOT_STARTED_CODE, "Not started: too little time left in this invocation", True)
                continue
            owner = owner_of(record, source)  # before the start: a refused owner starts nothing; it is counted
            key, payload = source.idempotency_key, source.model_dump()
            session = start(request={"Key": key, "Source": payload, "TraceId": trace_id, "Owner": owner})
            _record(session, source, owner)  # the session's ledger item, with its owner
        except (ServiceError, StorageError) as exc:
            _failed(summary, source, exc.code, exc.message, _retryable(exc))
            continue
        except Exception:  # one record's unforeseen failure must not lose the others' summary
            logger.exception("upload failed unexpectedly", extra={"source": _described(source)})
            _failed(summary, source, INTERNAL_ERROR, "The upload could not be handled", True)
            continue
        summary.Sessions.append(session)
        logger.info("upload session started", extra={"source": _described(source), "biz_token": session.BizToken})
    answer = summary.model_dump(mode="json")
    if any(f.Retryable for f in summary.Failures):
        raise UploadsIncomplete(json.dumps(answer))
    return answer


def _failed(summary: UploadSummary, source: ObjectSource | None, code: str, message: str, retryable: bool) -> None:
    failure = UploadFailure(
        Source=source,
        Error=ErrorDetail(Code=code, Message=message),
        Retryable=retryable,
        CorrelationId=logger.get_correlation_id(),
    )
    summary.Failures.append(failure)
    metrics.add_metric(name="UploadFailed", unit="Count", value=1)
    logger.warning("upload not started", extra={"source": _described(source), "error": code})


def _described(source: ObjectSource | None) -> dict[str, Any] | None:
    return source.model_dump(include={"Storage", "Bucket", "Key", "Version"}) if source else None

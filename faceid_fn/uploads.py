"""Upload events: every photo uploaded to a bucket starts exactly one verification session.

- S3 `ObjectCreated:*` records: read the object, check it (size cap, JPEG/PNG), MD5 it, ask FaceID for
  an upload slot (`CreateUploadUrl`), PUT the bytes there, start the session with the `ResourceUrl`.
- COS records (Tencent SCF's shape): the photo is already in COS; its URL (pre-signed for private
  buckets) goes to FaceID, with the MD5 from the record's metadata when present, else from the bytes.

Each record is started once (Powertools Idempotency, keyed by bucket, key and version/ETag). One
record's failure does not lose the others: the answer lists `Sessions` and `Failures`; the invocation
raises only when a failure is worth retrying (Lambda then retries it; finished records replay).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote, unquote_plus

from aws_lambda_powertools.utilities.parser.models import S3RecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, ValidationError

from faceid_fn import container
from faceid_fn.completion import SessionSource, record_session
from faceid_fn.errors import IdempotencyConflict, InvalidInput, ServiceError, StoreUnavailable, UpstreamError
from faceid_fn.flows import COS_SHORT_REGIONS, INTL_MAX_PHOTO_BYTES
from faceid_fn.models import ErrorDetail, ObjectSource, UploadFailure, UploadSession, UploadSummary
from faceid_fn.observability import logger, metrics
from faceid_fn.service import folder_owner, open_intl_session, open_session
from faceid_fn.storage import StorageError, checked_photo, read_object


class UploadsIncomplete(RuntimeError):
    """Some records failed in a way a retry can fix. The message is the summary, as JSON."""


# -- records -> sources -----------------------------------------------------------------------------


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _CosObject(_Loose):
    key: str
    vid: str = ""
    size: int | None = None
    meta: dict[str, str] = {}


class _CosBucket(_Loose):
    region: str
    name: str
    appid: str


class _Cos(_Loose):
    cosObject: _CosObject
    cosBucket: _CosBucket


class _CosEvent(_Loose):
    eventName: str
    eventTime: int | None = None
    reqid: int | str | None = None


class _CosRecord(_Loose):
    cos: _Cos
    event: _CosEvent


def _cos_md5(meta: dict[str, str]) -> str | None:
    lowered = {k.lower(): v.strip() for k, v in meta.items()}
    value = lowered.get("x-cos-meta-md5", "")
    if len(value) == 32 and all(c in "0123456789abcdefABCDEF" for c in value):
        return value.lower()
    try:
        raw = base64.b64decode(lowered.get("content-md5", ""), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == 16 else None


def source_of(record: dict[str, Any], region: str) -> tuple[ObjectSource, str | None]:
    """The object a record is about, and the id of the request that uploaded it (our trace id). Whether
    the function may use the object (its region) is `check_region`'s, so that a refused record still
    names its object."""
    if record.get("eventSource") == "aws:s3":
        try:
            s3 = S3RecordModel.model_validate(record)
        # The model's own pre-validator raises AttributeError/TypeError on some malformed records
        # (found by tests/fuzz) instead of a ValidationError.
        except (ValidationError, AttributeError, TypeError):
            raise InvalidInput("UnsupportedRecord", "The S3 record is malformed") from None
        obj = s3.s3.object
        if not s3.eventName.startswith("ObjectCreated") or obj is None:
            raise InvalidInput("UnsupportedRecord", "Only ObjectCreated records start a session")
        source = ObjectSource(
            Storage="s3",
            Bucket=s3.s3.bucket.name,
            Key=unquote_plus(obj.key),  # S3 records carry the key URL-encoded, `+` for a space
            Version=obj.versionId or obj.eTag or obj.sequencer or "",
            VersionId=obj.versionId,
            Region=s3.awsRegion,
            Size=int(obj.size) if obj.size is not None else None,
        )
        return source, s3.responseElements.x_amz_request_id
    if "cos" in record:
        try:
            cos = _CosRecord.model_validate(record)
        except ValidationError:
            raise InvalidInput("UnsupportedRecord", "The COS record is malformed") from None
        if not cos.event.eventName.startswith("cos:ObjectCreated"):
            raise InvalidInput("UnsupportedRecord", "Only cos:ObjectCreated records start a session")
        bucket = cos.cos.cosBucket
        cos_region = COS_SHORT_REGIONS.get(bucket.region, bucket.region)
        prefix = f"/{bucket.appid}/{bucket.name}/"
        # COS delivers the key percent-encoded (`reference/alice%20smith.png`): the object's name is decoded.
        key = unquote(cos.cos.cosObject.key.removeprefix(prefix))
        cos_object = cos.cos.cosObject
        # Which upload this is: the version id in a versioned bucket, else the upload's own request id
        # (x-cos-request-id: two uploads of one key are two ids; a redelivery of one upload is the same).
        upload_id = {k.lower(): v for k, v in cos_object.meta.items()}.get("x-cos-request-id", "").strip()
        source = ObjectSource(
            Storage="cos",
            Bucket=f"{bucket.name}-{bucket.appid}",
            Key=key,
            Version=cos_object.vid or upload_id or f"{cos.event.eventTime}-{cos_object.size}",
            Region=cos_region,
            Size=cos_object.size,
            Md5=_cos_md5(cos_object.meta),
        )
        return source, str(cos.event.reqid) if cos.event.reqid is not None else None
    raise InvalidInput("UnsupportedRecord", "The record is neither an S3 nor a COS upload")


def check_region(source: ObjectSource, region: str) -> None:
    """COS objects are read (and sent to FaceID) in the function's own region only."""
    if source.Storage == "cos" and source.Region != region:
        raise InvalidInput("InvalidParameterValue.Region", f"The bucket is not in {region}")


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
            redirect=settings.faceid_redirect_url,
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
        redirect=settings.faceid_redirect_url,
        faceid=faceid,
        trace_id=trace_id,
    )
    return UploadSession(Source=source, **session.model_dump())


# -- the session's ledger item (issue 11) ------------------------------------------------------------

OWNER_METADATA = "owner"
# The form of a caller that is an OAuth client (api.caller_subject): never the owner of someone's photo.
CLIENT_OWNER_PREFIX = "client:"


def upload_owner(record: dict[str, Any], source: ObjectSource, prefix: str, owner_from: str = "key") -> str | None:
    """Who owns an uploaded object's session: the folder of its key under UPLOAD_PREFIX
    (`reference/user-42/photo.jpg` -> `user-42`), else nobody. Whoever can write an object could set its
    metadata, so the metadata `owner` (S3 `x-amz-meta-owner`, read with HeadObject; COS `x-cos-meta-owner`,
    in the record) is read only with UPLOAD_OWNER_FROM=metadata, where it wins over the key."""
    if owner_from == "metadata":
        value = _metadata_owner(record, source)
        if value and value.strip():
            return value.strip()[:256]
    return folder_owner(source.Key, prefix)


def _metadata_owner(record: dict[str, Any], source: ObjectSource) -> str | None:
    if source.Storage == "cos":
        meta = record.get("cos", {}).get("cosObject", {}).get("meta") or {}
        return {str(k).lower(): str(v) for k, v in meta.items()}.get(f"x-cos-meta-{OWNER_METADATA}")
    from botocore.exceptions import BotoCoreError, ClientError

    args = {"Bucket": source.Bucket, "Key": source.Key}
    if source.VersionId:
        args["VersionId"] = source.VersionId
    try:
        value = container.s3().head_object(**args).get("Metadata", {}).get(OWNER_METADATA)
    except (ClientError, BotoCoreError):
        # Not guessed from the key instead: the metadata may name someone else. Retried by Lambda.
        raise StorageError("ObjectUnreadable", "The object's owner could not be read", retryable=True) from None
    return str(value) if value is not None else None


def owner_of(record: dict[str, Any], source: ObjectSource) -> str | None:
    """The upload's owner (upload_owner), refused (not retried) when it has the form of a client identity:
    a session owned by `client:<id>` would be readable by that OAuth client, which no upload speaks for."""
    settings = container.settings()
    owner = upload_owner(record, source, settings.upload_prefix, settings.upload_owner_from)
    if owner is not None and owner.startswith(CLIENT_OWNER_PREFIX):
        raise InvalidInput("OwnerNotAllowed", "An upload's owner may not be a client identity (client:...)")
    return owner


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
DEFERRED = "Deferred"
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
            if context.get_remaining_time_in_millis() / 1000 < settings.faceid_timeout_s + RECORD_MARGIN_S:
                _failed(summary, source, DEFERRED, "Not started: too little time left in this invocation", True)
                continue
            owner = owner_of(record, source)  # before the start: a refused owner starts nothing; it is counted
            key, payload = source.idempotency_key, source.model_dump()
            session = start(request={"Key": key, "Source": payload, "TraceId": trace_id, "Owner": owner})
            _record(session, source, owner)  # issue 11 hook: the session's ledger item, with its owner
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

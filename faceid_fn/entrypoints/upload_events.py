"""Reading upload events (S3 notifications and COS triggers) into the objects they name."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from aws_lambda_powertools.utilities.parser.models import S3RecordModel
from pydantic import BaseModel, ConfigDict, ValidationError

from faceid_fn import container
from faceid_fn.adapters.aws.s3 import StorageError
from faceid_fn.domain.errors import InvalidInput
from faceid_fn.domain.flows import COS_SHORT_REGIONS
from faceid_fn.domain.models import ObjectSource
from faceid_fn.domain.ownership import folder_owner
from faceid_fn.domain.photos import INVALID_OBJECT_KEY, cos_bucket, decoded_key

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
            Key=decoded_key(obj.key, plus_is_space=True),  # S3 records carry the key URL-encoded, `+` for a space
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
        if not cos.cos.cosObject.key.startswith(prefix):
            raise InvalidInput(INVALID_OBJECT_KEY, "The COS record's key is not in its own bucket")
        # COS delivers the key percent-encoded (`reference/alice%20smith.png`): the object's name is decoded.
        key = decoded_key(cos.cos.cosObject.key.removeprefix(prefix))
        cos_object = cos.cos.cosObject
        # Which upload this is: the version id in a versioned bucket, else the upload's own request id
        # (x-cos-request-id: two uploads of one key are two ids; a redelivery of one upload is the same).
        upload_id = {k.lower(): v for k, v in cos_object.meta.items()}.get("x-cos-request-id", "").strip()
        source = ObjectSource(
            Storage="cos",
            Bucket=cos_bucket(f"{bucket.name}-{bucket.appid}"),
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


# -- the upload's owner -------------------------------------------------------------------------------

OWNER_METADATA = "owner"
# The form of a caller that is an OAuth client (http/auth.caller_subject): never the owner of someone's photo.
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

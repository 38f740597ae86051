"""The session ledger: one DynamoDB item per verification session (SESSIONS_TABLE)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from faceid_fn.adapters.aws.client_config import error_code, store_errors
from faceid_fn.adapters.aws.dynamodb import DynamoDB
from faceid_fn.adapters.lifecycle import LazyClient
from faceid_fn.domain.errors import StoreUnavailable
from faceid_fn.domain.sessions import PENDING, SessionRecord, iso, sweep_shard
from faceid_fn.observability import logger

INDEX = "Pending"
# The sweep index's partitions (sessions.sweep_shard): a run takes them in parallel.
SHARDS = 4
# Tencent keeps a result readable for 3 days (259,200 s); the item is kept a day longer.
RESULT_RETENTION = timedelta(days=3)
RETENTION_MARGIN = timedelta(days=1)
# The sweep first looks at a session this long after its token ran out: until then the person may still
# finish (and the return route or the owner's read learns it at once); after it, nothing changes by itself.
FIRST_LOOK_AFTER_END_S = 30
# A claimed item whose event could not be sent is sent again by the sweep after this long.
ANNOUNCE_RETRY_S = 60
# The owners' index (GET /verifications): Owner, newest CreatedAt first; items without an Owner are not in it.
OWNER_INDEX = "ByOwner"
# A page filtered by Status reads at most this many index pages of FILTERED_READ items, then answers what
# it found with a cursor to go on from: a rare Status among many sessions costs pages, never a long wait.
FILTERED_READS = 4
FILTERED_READ = 100
# What a redaction deletes of the item (Source keeps its Type only): whatever it said of the person.
REDACTED_ATTRIBUTES = ("Extra", "ErrorMsg", "ErrorCode", "ResultRequestId", "Details", "AppRedirect", "HasOcr")
CANCELED = "canceled"


# The ledger attribute that spaces FaceID reads of a pending session: the owners' reads', or the return route's.
ReadSlot = Literal["NextReadAt", "ReturnReadAt"]


class Ledger:
    """DynamoDB access for the session ledger (built on first use: faceid_fn.adapters.aws.dynamodb's thin client, which
    answers and fails as boto3's low-level client does; tests may pass either)."""

    def __init__(self, table: str, client: Any = None) -> None:
        self.table = table
        self._client: LazyClient[Any] = LazyClient(DynamoDB, client)

    def client(self) -> Any:
        """The table's DynamoDB client (built on first use), shared with the per-owner limit (owner_starts.py)."""
        return self._client.get()

    @property
    def built_client(self) -> Any:
        """The table's DynamoDB client if it was built, else None (builds nothing)."""
        return self._client.current

    def prime(self) -> None:
        self._client.get()

    def close(self) -> None:
        self._client.close()  # the thin client forgets its credentials too

    def record_start(
        self,
        *,
        biz_token: str,
        owner: str | None,
        source: dict[str, str],
        flow: str,
        region: str,
        expires_at: datetime,
        app_redirect: str | None = None,
        now: datetime | None = None,
    ) -> None:
        """Write the item of a session just started. A replayed start (idempotency) finds it there: kept.
        `app_redirect`: where the return route sends the person's browser (the app's page)."""
        created = now or datetime.now(UTC)
        item: dict[str, Any] = {
            "BizToken": {"S": biz_token},
            "Source": {"M": {k: {"S": v} for k, v in source.items()}},
            "Flow": {"S": flow},
            "Region": {"S": region},
            "CreatedAt": {"S": iso(created)},
            "TokenExpiresAt": {"N": str(int(expires_at.timestamp()))},
            "Status": {"S": PENDING},
            "SweepShard": {"S": sweep_shard(biz_token, SHARDS)},
            "SweepAt": {"N": str(int(expires_at.timestamp()) + FIRST_LOOK_AFTER_END_S)},
            "RemoveAt": {"N": str(int((created + RESULT_RETENTION + RETENTION_MARGIN).timestamp()))},
        }
        if owner:
            item["Owner"] = {"S": owner}
        if app_redirect:
            item["AppRedirect"] = {"S": app_redirect}
        client = self._client.get()
        try:
            client.put_item(TableName=self.table, Item=item, ConditionExpression="attribute_not_exists(BizToken)")
        except client.exceptions.ConditionalCheckFailedException:
            return  # the same session recorded before (a replayed start)
        except store_errors() as exc:
            logger.warning("session ledger unavailable", extra={"error": error_code(exc), "biz_token": biz_token})
            raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None

    def get(self, biz_token: str) -> SessionRecord | None:
        """The session's item (strongly consistent), or None. StoreUnavailable when DynamoDB fails."""
        try:
            answer = self._client.get().get_item(
                TableName=self.table, Key={"BizToken": {"S": biz_token}}, ConsistentRead=True
            )
        except store_errors() as exc:
            logger.warning("session ledger unavailable", extra={"error": error_code(exc), "biz_token": biz_token})
            raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None
        item = answer.get("Item")
        return _record_of(item) if item else None

    def claim(
        self,
        biz_token: str,
        *,
        status: str,
        error_code: int | None,
        error_msg: str | None,
        extra: str | None,
        request_id: str | None,
        details: list[dict[str, Any]] | None = None,
        has_ocr: bool = False,
        now: datetime | None = None,
    ) -> SessionRecord | None:
        """Move the session from `pending` to a final status; the item if this call did it, else None.
        What the owner's reads are answered from is kept with it (`details`: the VerificationDetailList;
        whether the result had OCRResult, whose identity fields the ledger does not keep).

        One conditional UpdateItem: of any number of concurrent callers (the owner's reads, sweeps) that
        found the same final status, exactly one gets the item back, and only that one announces it.
        """
        moment = now or datetime.now(UTC)
        client = self._client.get()
        values: dict[str, Any] = {
            ":pending": {"S": PENDING},
            ":status": {"S": status},
            ":code": {"N": str(error_code)} if error_code is not None else {"NULL": True},
            ":done": {"S": iso(moment)},
            ":retry": {"N": str(int(moment.timestamp()) + ANNOUNCE_RETRY_S)},
            ":msg": _string_or_null(error_msg),
            ":extra": _string_or_null(extra),
            ":rid": _string_or_null(request_id),
            ":details": _string_or_null(json.dumps(details, separators=(",", ":")) if details else None),
            ":ocr": {"BOOL": has_ocr},
        }
        try:
            answer = client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": biz_token}},
                UpdateExpression="SET #status = :status, ErrorCode = :code, CompletedAt = :done, SweepAt = :retry, "
                "ErrorMsg = :msg, Extra = :extra, ResultRequestId = :rid, Details = :details, HasOcr = :ocr",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "Status"},
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return None  # announced (or being announced) by someone else, or not in the ledger
        return _record_of(answer["Attributes"])

    def announced(self, biz_token: str) -> None:
        """The completion event is out: the session leaves the sweep's index."""
        self._client.get().update_item(
            TableName=self.table,
            Key={"BizToken": {"S": biz_token}},
            UpdateExpression="REMOVE SweepShard, SweepAt",
            ConditionExpression="attribute_exists(BizToken)",
        )

    def lease(self, record: SessionRecord, now: datetime) -> bool:
        """Take a claimed but unannounced session to announce it again: True for exactly one caller."""
        client = self._client.get()
        try:
            client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": record.BizToken}},
                UpdateExpression="SET SweepAt = :retry",
                ConditionExpression="SweepAt = :seen AND #status <> :pending",
                ExpressionAttributeNames={"#status": "Status"},
                ExpressionAttributeValues={
                    ":retry": {"N": str(int(now.timestamp()) + ANNOUNCE_RETRY_S)},
                    ":seen": {"N": str(record.SweepAt)},
                    ":pending": {"S": PENDING},
                },
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def take_read(self, record: SessionRecord, *, now: float, then: float, slot: ReadSlot = "NextReadAt") -> bool:
        """Whether this caller may read FaceID for a pending session now: True for one caller while `now` is
        past the slot's time (then moved to `then`), False for the others (they answer from the ledger) and
        once the session is final. `NextReadAt` (the owners' reads) also counts the reads in `OwnerReads`; the
        return route has a slot of its own, so that owners' polls never delay the person's return."""
        client = self._client.get()
        counted = ", OwnerReads = if_not_exists(OwnerReads, :zero) + :one" if slot == "NextReadAt" else ""
        values: dict[str, Any] = {
            ":now": {"N": f"{now:.3f}"},
            ":then": {"N": f"{then:.3f}"},
            ":pending": {"S": PENDING},
        }
        if counted:
            values.update({":zero": {"N": "0"}, ":one": {"N": "1"}})
        try:
            client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": record.BizToken}},
                UpdateExpression=f"SET {slot} = :then{counted}",
                ConditionExpression=f"#status = :pending AND (attribute_not_exists({slot}) OR {slot} <= :now)",
                ExpressionAttributeNames={"#status": "Status"},
                ExpressionAttributeValues=values,
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        except store_errors() as exc:
            logger.warning("session ledger unavailable", extra={"error": error_code(exc), "biz_token": record.BizToken})
            raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None
        return True

    def look_again(self, biz_token: str, at: datetime) -> None:
        """Still pending: the sweep looks again at `at` (only while it is still pending)."""
        client = self._client.get()
        try:
            client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": biz_token}},
                UpdateExpression="SET SweepAt = :at",
                ConditionExpression="#status = :pending",
                ExpressionAttributeNames={"#status": "Status"},
                ExpressionAttributeValues={":at": {"N": str(int(at.timestamp()))}, ":pending": {"S": PENDING}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return  # finished meanwhile (claimed by a read)

    def due(self, now: datetime, limit: int, shard: str) -> list[SessionRecord]:
        """Sessions of one shard not yet announced whose next look is due, most overdue first (a Query on
        the index)."""
        answer = self._client.get().query(
            TableName=self.table,
            IndexName=INDEX,
            KeyConditionExpression="SweepShard = :shard AND SweepAt <= :now",
            ExpressionAttributeValues={":shard": {"S": shard}, ":now": {"N": str(int(now.timestamp()))}},
            ScanIndexForward=True,
            Limit=limit,
        )
        return [_record_of(item) for item in answer.get("Items", [])]

    # -- the rest of a session's life (faceid_fn/domain/lifecycle.py) ----------------------------------------

    def list_by_owner(
        self, owner: str, *, limit: int, after: dict[str, str] | None, status: str | None
    ) -> tuple[list[SessionRecord], dict[str, str] | None]:
        """Up to `limit` of the owner's sessions, newest first, after the position `after` (a Query of the
        ByOwner index, never a Scan); and the position of the next page, or None on the last one. The
        partition is always `owner`'s: a position only says where in it to go on."""
        names = {"#owner": "Owner"}
        values: dict[str, Any] = {":owner": {"S": owner}}
        params: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "#owner = :owner",
            "ScanIndexForward": False,
            # one more than the page: whether there is a next page is known without reading an empty one
            "Limit": FILTERED_READ if status else limit + 1,
        }
        if status:
            params["FilterExpression"] = "#status = :status"
            names["#status"] = "Status"
            values[":status"] = {"S": status}
        params["ExpressionAttributeNames"], params["ExpressionAttributeValues"] = names, values
        start = (
            {"Owner": {"S": owner}, "BizToken": {"S": after["BizToken"]}, "CreatedAt": {"S": after["CreatedAt"]}}
            if after
            else None
        )
        found: list[SessionRecord] = []
        client = self._client.get()
        for _ in range(FILTERED_READS if status else 1):
            if start:
                params["ExclusiveStartKey"] = start
            try:
                answer = client.query(**params)
            except store_errors() as exc:
                logger.warning("session ledger unavailable", extra={"error": error_code(exc)})
                raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None
            found += [_record_of(item) for item in answer.get("Items", [])]
            start = answer.get("LastEvaluatedKey")
            if len(found) > limit or not start:
                break
        if len(found) > limit:
            found = found[:limit]
            return found, {"BizToken": found[-1].BizToken, "CreatedAt": found[-1].CreatedAt}
        if start:
            return found, {"BizToken": start["BizToken"]["S"], "CreatedAt": start["CreatedAt"]["S"]}
        return found, None

    def cancel(self, biz_token: str, *, now: datetime | None = None) -> SessionRecord | None:
        """`pending` -> `canceled` through `claim`, the one conditional write of every final status: the item
        if this call did it, else None. StoreUnavailable when DynamoDB fails."""
        try:
            return self.claim(
                biz_token, status=CANCELED, error_code=None, error_msg=None, extra=None, request_id=None, now=now
            )
        except store_errors() as exc:
            logger.warning("session ledger unavailable", extra={"error": error_code(exc), "biz_token": biz_token})
            raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None

    def redact(self, biz_token: str, *, source_type: str, now: datetime) -> SessionRecord | None:
        """Delete a final session's personal attributes and mark it redacted (its event not yet out): the item
        if this call did it, else None (redacted before, still pending, or unknown). One conditional write."""
        client = self._client.get()
        try:
            answer = client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": biz_token}},
                UpdateExpression="SET RedactedAt = :at, RedactionUnsent = :unsent, #source = :source REMOVE "
                + ", ".join(REDACTED_ATTRIBUTES),
                ConditionExpression="attribute_exists(BizToken) AND attribute_not_exists(RedactedAt) "
                "AND #status <> :pending",
                ExpressionAttributeNames={"#status": "Status", "#source": "Source"},
                ExpressionAttributeValues={
                    ":at": {"S": iso(now)},
                    ":unsent": {"N": "0"},
                    ":source": {"M": {"Type": {"S": source_type}}},
                    ":pending": {"S": PENDING},
                },
                ReturnValues="ALL_NEW",
            )
        except client.exceptions.ConditionalCheckFailedException:
            return None
        except store_errors() as exc:
            logger.warning("session ledger unavailable", extra={"error": error_code(exc), "biz_token": biz_token})
            raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None
        return _record_of(answer["Attributes"])

    def take_redaction(self, record: SessionRecord, now: datetime) -> bool:
        """Take a redaction whose event an earlier call could not send: True for exactly one of the callers
        that saw the same RedactionUnsent (each take moves it on by one)."""
        client = self._client.get()
        try:
            client.update_item(
                TableName=self.table,
                Key={"BizToken": {"S": record.BizToken}},
                UpdateExpression="SET RedactionUnsent = RedactionUnsent + :one",
                ConditionExpression="RedactionUnsent = :seen",
                ExpressionAttributeValues={":one": {"N": "1"}, ":seen": {"N": str(record.RedactionUnsent)}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        except store_errors() as exc:
            logger.warning("session ledger unavailable", extra={"error": error_code(exc), "biz_token": record.BizToken})
            raise StoreUnavailable("StoreUnavailable", "The session ledger is unavailable") from None
        return True

    def redaction_sent(self, biz_token: str) -> None:
        """The `Verification Redacted` event is out."""
        self._client.get().update_item(
            TableName=self.table,
            Key={"BizToken": {"S": biz_token}},
            UpdateExpression="REMOVE RedactionUnsent",
            ConditionExpression="attribute_exists(BizToken)",
        )


def _string_or_null(value: str | None) -> dict[str, Any]:
    return {"S": value} if value else {"NULL": True}


def _record_of(item: dict[str, Any]) -> SessionRecord:
    """A session from its item (DynamoDB's attribute values)."""
    code = item.get("ErrorCode", {}).get("N")
    return SessionRecord(
        BizToken=item["BizToken"]["S"],
        Owner=item.get("Owner", {}).get("S"),
        Source={k: v.get("S", "") for k, v in item.get("Source", {}).get("M", {}).items()},
        Flow=item.get("Flow", {}).get("S", ""),
        Region=item.get("Region", {}).get("S", ""),
        CreatedAt=item.get("CreatedAt", {}).get("S", ""),
        TokenExpiresAt=int(item.get("TokenExpiresAt", {}).get("N", "0")),
        Status=item.get("Status", {}).get("S", PENDING),
        ErrorCode=int(code) if code is not None else None,
        CompletedAt=item.get("CompletedAt", {}).get("S"),
        ErrorMsg=item.get("ErrorMsg", {}).get("S"),
        Extra=item.get("Extra", {}).get("S"),
        ResultRequestId=item.get("ResultRequestId", {}).get("S"),
        SweepAt=int(item["SweepAt"]["N"]) if "SweepAt" in item else None,
        AppRedirect=item.get("AppRedirect", {}).get("S"),
        Details=item.get("Details", {}).get("S"),
        HasOcr=bool(item.get("HasOcr", {}).get("BOOL", False)),
        OwnerReads=int(item.get("OwnerReads", {}).get("N", "0")),
        NextReadAt=float(item["NextReadAt"]["N"]) if "NextReadAt" in item else None,
        RedactedAt=item.get("RedactedAt", {}).get("S"),
        RedactionUnsent=int(item["RedactionUnsent"]["N"]) if "RedactionUnsent" in item else None,
    )

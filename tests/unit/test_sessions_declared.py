"""serverless.yml declares what the ledger, the completion events and the webhooks need, as the code uses it."""

from __future__ import annotations

from typing import Any

from faceid_fn.adapters.aws import ledger
from faceid_fn.domain.completion_events import DETAIL_TYPE, EVENT_SOURCE, REDACTED_DETAIL_TYPE
from faceid_fn.entrypoints.http.openapi import document
from local.seed import declared_resources
from tests.conftest import ROOT


def serverless() -> dict[str, Any]:
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: {"tag": suffix, "value": node.value})
    config: dict[str, Any] = yaml.load((ROOT / "serverless.yml").read_text(), Loader=Loader)  # noqa: S506
    return config


def test_the_ledger_expires_a_day_after_tencent_stops_keeping_the_result() -> None:
    table = declared_resources()["SessionsTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "RemoveAt", "Enabled": True}
    assert ledger.RESULT_RETENTION.total_seconds() == 259_200  # Tencent keeps results 3 days
    assert (ledger.RESULT_RETENTION + ledger.RETENTION_MARGIN).days == 4
    assert table["KeySchema"] == [{"AttributeName": "BizToken", "KeyType": "HASH"}]
    assert table["BillingMode"] == "PAY_PER_REQUEST"


def test_the_sweep_queries_a_sparse_index_of_unannounced_sessions() -> None:
    table = declared_resources()["SessionsTable"]["Properties"]
    [index, by_owner] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == ledger.INDEX
    assert index["KeySchema"] == [
        {"AttributeName": "SweepShard", "KeyType": "HASH"},
        {"AttributeName": "SweepAt", "KeyType": "RANGE"},
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"BizToken": "S", "SweepShard": "S", "SweepAt": "N", "Owner": "S", "CreatedAt": "S"}
    # The owners' index (GET /verifications): each owner's sessions by CreatedAt, with only what a list shows
    assert by_owner["IndexName"] == ledger.OWNER_INDEX
    assert by_owner["KeySchema"] == [
        {"AttributeName": "Owner", "KeyType": "HASH"},
        {"AttributeName": "CreatedAt", "KeyType": "RANGE"},
    ]
    assert by_owner["Projection"]["ProjectionType"] == "INCLUDE"
    assert not {"Extra", "Source", "ErrorMsg", "Details", "AppRedirect"} & set(
        by_owner["Projection"]["NonKeyAttributes"]
    )
    # The sweep may Query its index, the API function the owners'; nothing grants (or does) a Scan.
    config = serverless()
    resources = config["resources"]["Resources"]
    sweep = resources["SweepRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    statements = config["provider"]["iam"]["role"]["statements"] + sweep
    statements += resources["DeliverRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert "dynamodb:Query" in [a for s in sweep for a in s["Action"]]
    queries = [
        s["Resource"] for s in config["provider"]["iam"]["role"]["statements"] if "dynamodb:Query" in s["Action"]
    ]
    assert [q["Fn::Join"][1][1] for q in queries] == ["/index/ByOwner"]
    actions = [a for s in statements for a in s["Action"]]
    assert not any("Scan" in a for a in actions)
    assert "scan(" not in (ROOT / "faceid_fn" / "adapters" / "aws" / "ledger.py").read_text()


def test_the_functions_get_the_table_the_bus_the_schedule_and_an_on_failure_queue() -> None:
    config = serverless()
    environment = config["provider"]["environment"]
    for name in ("SESSIONS_TABLE", "EVENT_BUS_NAME", "UPLOAD_PREFIX"):
        assert name in environment
    assert "faceid-fn-sessions-${sls:stage}" in environment["SESSIONS_TABLE"]
    assert {"WEBHOOK_URL", "WEBHOOK_SECRET_NAME"} <= set(config["functions"]["deliver"]["environment"])
    api, sweep, deliver = (config["functions"][name] for name in ("api", "sweep", "deliver"))
    schedules = [e["schedule"] for e in sweep["events"] if "schedule" in e]
    assert schedules == [{"rate": "rate(1 minute)"}]
    assert not [e for e in api["events"] if "schedule" in e]
    for function in (api, deliver):
        assert function["destinations"]["onFailure"]["type"] == "sqs"
        assert function["maximumRetryAttempts"] == 2
    resources = config["resources"]["Resources"]
    assert resources["EventBus"]["Type"] == "AWS::Events::EventBus"
    rule = resources["WebhookRule"]
    assert rule["Condition"] == "WebhooksOn"
    assert rule["Properties"]["EventPattern"] == {
        "source": [EVENT_SOURCE],
        "detail-type": [DETAIL_TYPE, REDACTED_DETAIL_TYPE],
    }
    assert rule["Properties"]["Targets"][0]["Arn"] == {"tag": "GetAtt", "value": "DeliverLambdaFunction.Arn"}
    permission = resources["WebhookRulePermission"]["Properties"]
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["FunctionName"] == {"tag": "GetAtt", "value": "DeliverLambdaFunction.Arn"}


def test_openapi_describes_the_webhook_payload() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1")
    post = doc["webhooks"]["verificationCompleted"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/WebhookPayload"
    assert {p["name"] for p in post["parameters"]} == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    detail = doc["components"]["schemas"]["CompletionDetail"]["properties"]
    assert set(detail) == {
        "BizToken",
        "Status",
        "ErrorCode",
        "ErrorMsg",
        "Owner",
        "Source",
        "Extra",
        "RequestId",
        "CompletedAt",
    }


def test_the_ownership_rules_and_the_owner_limit_are_declared_on_by_default() -> None:
    config = serverless()
    environment, params = config["provider"]["environment"], config["params"]["default"]
    assert environment["UPLOAD_OWNER_FROM"] == "${param:uploadOwnerFrom}"
    assert environment["FACEID_PHOTO_OWNERSHIP"] == "${param:photoOwnership}"
    assert "param:ownerStarts" in environment["FACEID_OWNER_STARTS"]
    assert (params["uploadOwnerFrom"], params["photoOwnership"], params["ownerStarts"]) == ("key", "on", "10/3600")

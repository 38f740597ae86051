"""Least privilege by function: serverless.yml gives the API function, the sweep and webhook delivery each
a role of its own, and only the delivery function's role can read the webhook signing secret."""

from __future__ import annotations

import importlib
import re
from typing import Any

from deploy import package
from tests.conftest import ROOT
from tests.unit.test_sessions_declared import serverless

ROLES = {"sweep": "SweepRole", "deliver": "DeliverRole"}


def role_statements(config: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """The statements of the role a function runs with (the api: the framework's, from provider.iam)."""
    if function == "api":
        assert "role" not in config["functions"]["api"]
        statements: list[dict[str, Any]] = config["provider"]["iam"]["role"]["statements"]
        return statements
    role = config["resources"]["Resources"][config["functions"][function]["role"]]
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}
    ]
    return [s for policy in role["Properties"]["Policies"] for s in policy["PolicyDocument"]["Statement"]]


def secret_arns(statements: list[dict[str, Any]]) -> list[str]:
    """The secret ARNs (their literal tail) a role may read."""
    found = []
    for statement in statements:
        if any(a.startswith("secretsmanager:") for a in statement["Action"]):
            assert statement["Action"] == ["secretsmanager:GetSecretValue"]
            parts = statement["Resource"]["Fn::Join"][1]
            found.append(parts[-1])
    return found


def test_sweep_and_delivery_are_functions_of_their_own_with_their_own_roles() -> None:
    config = serverless()
    functions = config["functions"]
    assert functions["api"]["handler"] == "handler.handler"
    assert functions["sweep"]["handler"] == "background.sweep"
    assert functions["deliver"]["handler"] == "background.deliver"
    for name, role in ROLES.items():
        assert functions[name]["role"] == role
        module, entry = functions[name]["handler"].split(".")
        assert callable(getattr(importlib.import_module(module), entry))
    # the same artifact: the entry module is packaged with the code
    assert "background.py" in config["package"]["patterns"]
    assert "background.py" in package.CODE


def test_the_api_function_cannot_read_the_webhook_secret() -> None:
    config = serverless()
    api = role_statements(config, "api")
    assert secret_arns(api) == [":secret:${param:credentialsSecret}-??????"]
    assert "webhookSecretName" not in str(api)
    assert not {"WEBHOOK_URL", "WEBHOOK_SECRET_NAME"} & set(config["provider"]["environment"])
    # it still announces the completions its reads find
    assert ["events:PutEvents"] in [s["Action"] for s in api]


def test_only_the_delivery_function_reads_the_webhook_secret_and_it_reads_nothing_else() -> None:
    config = serverless()
    deliver = role_statements(config, "deliver")
    assert secret_arns(deliver) == [":secret:${param:webhookSecretName}-??????"]
    actions = sorted(a for s in deliver for a in s["Action"])
    assert actions == [
        "dynamodb:GetItem",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "secretsmanager:GetSecretValue",
        "sqs:SendMessage",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    ]
    sweep = role_statements(config, "sweep")
    assert secret_arns(sweep) == [":secret:${param:credentialsSecret}-??????"]
    assert "webhookSecretName" not in str(sweep)


def test_every_secret_arn_ends_with_secrets_managers_six_character_suffix() -> None:
    text = (ROOT / "serverless.yml").read_text()
    tails = re.findall(r":secret:[^\"'\s]+", text)
    assert len(tails) == 3
    assert all(tail.endswith("-??????") for tail in tails), tails

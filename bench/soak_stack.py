"""What serverless.yml declares, read for the soak: the functions (handler, triggers, retries, destinations),
the function's environment, and the tables, bus, rule and queues, which `create` makes on a moto server.

The YAML's short-form tags are kept (`!GetAtt X.Arn` -> {"Fn::GetAtt": "X.Arn"}) so that the soak follows
references (which function the webhook rule targets, which queue is a function's on-failure destination).
Serverless variables are resolved the way `osls` would with no shell variables and no CLI options:
`${sls:stage}`, `${param:x}` (params.default), `${self:...}`, and the fallbacks of `${env:X, ...}` and
`${opt:x, ...}`; whatever cannot be resolved that way (CloudFormation references) is left out.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.append(str(ROOT))  # the function's constants (faceid_fn.domain) and local/ (the sample photo)
STAGE = "soak"
ACCOUNT = "123456789012"
REGION = "ap-southeast-1"
_VARIABLE = re.compile(r"\$\{([^${}]+)\}")  # innermost first: no "${" or "}" inside


class Unresolvable(ValueError):
    pass


class _Loader(yaml.SafeLoader):
    pass


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_Loader.add_multi_constructor("!", _tag)


@dataclass
class Function:
    name: str  # the key under `functions:`
    handler: str  # "module.attribute" (a path with slashes is a module path)
    triggers: set[str]  # http, uploads, sweep, delivery
    retries: int  # maximumRetryAttempts of asynchronous invocations
    on_failure: str | None  # queue name of the on-failure destination
    on_success: str | None
    environment: dict[str, str] = field(default_factory=dict)  # its own, over provider.environment
    timeout_s: float = 25.0  # its own timeout, else provider.timeout

    @property
    def deployed_name(self) -> str:
        return f"faceid-fn-{STAGE}-{self.name}"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.deployed_name}"


class Stack:
    def __init__(self, path: Path = ROOT / "serverless.yml") -> None:
        self.config: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader
        self.params: dict[str, Any] = self.config.get("params", {}).get("default", {})
        self.resources: dict[str, Any] = self.config["resources"]["Resources"]

    # -- variables ---------------------------------------------------------------------------------------

    def resolve(self, value: Any) -> str:
        text = str(value).lower() if isinstance(value, bool) else str(value)
        while match := _VARIABLE.search(text):
            text = text[: match.start()] + self._variable(match.group(1)) + text[match.end() :]
        return text

    def _variable(self, expression: str) -> str:
        source, _, fallback = expression.partition(",")
        value = self._source(source.strip())
        if value is not None:
            return value
        fallback = fallback.strip()
        if not fallback:
            raise Unresolvable(expression)
        if fallback[0] in "'\"":
            return fallback[1:-1]
        return self._variable(fallback)

    def _source(self, source: str) -> str | None:
        kind, _, address = source.partition(":")
        if kind == "sls" and address == "stage":
            return STAGE
        if kind == "param" and address in self.params:
            return self.resolve(self.params[address])
        if kind == "self":
            found: Any = self.config
            for part in address.split("."):
                if not isinstance(found, dict) or part not in found:
                    raise Unresolvable(source)
                found = found[part]
            if isinstance(found, dict | list):
                raise Unresolvable(source)
            return self.resolve(found)
        if kind in ("env", "opt"):
            return None  # no shell variables, no CLI options: their fallbacks apply
        raise Unresolvable(source)

    def _maybe(self, value: Any) -> str | None:
        if isinstance(value, dict | list):
            return None
        try:
            return self.resolve(value)
        except Unresolvable:
            return None

    # -- what is declared --------------------------------------------------------------------------------

    def environment(self, function: dict[str, Any] | None = None) -> dict[str, str]:
        """provider.environment (or a function's own `environment`), what resolves without the cloud."""
        declared = (function or {}).get("environment") or {} if function else self.config["provider"]["environment"]
        return {name: v for name, value in declared.items() if (v := self._maybe(value)) is not None}

    def resource_name(self, logical_id: str, key: str) -> str:
        return self.resolve(self.resources[logical_id]["Properties"][key])

    def _queue_of(self, destination: Any) -> str | None:
        arn = (destination or {}).get("arn")
        if isinstance(arn, dict) and "Fn::GetAtt" in arn:
            return self.resource_name(str(arn["Fn::GetAtt"]).split(".")[0], "QueueName")
        return None

    def functions(self) -> dict[str, Function]:
        found = {}
        for name, spec in self.config["functions"].items():
            triggers = set()
            for event in spec.get("events", []):
                kind = next(iter(event))
                triggers.add({"httpApi": "http", "http": "http", "s3": "uploads", "schedule": "sweep"}.get(kind, kind))
            destinations = spec.get("destinations", {})
            found[name] = Function(
                name=name,
                handler=spec["handler"],
                triggers=triggers,
                retries=int(self.resolve(spec.get("maximumRetryAttempts", 2))),
                on_failure=self._queue_of(destinations.get("onFailure")),
                on_success=self._queue_of(destinations.get("onSuccess")),
                environment=self.environment(spec),
                timeout_s=float(self.resolve(spec.get("timeout", self.config["provider"].get("timeout", 6)))),
            )
        delivery = self.delivery_function()
        if delivery in found:
            found[delivery].triggers.add("delivery")
        return found

    def delivery_rule(self) -> tuple[str, dict[str, Any]]:
        """The rule that hands `Verification Completed` events to a function: its logical id and spec."""
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Events::Rule":
                continue
            pattern = resource["Properties"].get("EventPattern", {})
            if "Verification Completed" in pattern.get("detail-type", []):
                return logical_id, resource
        raise LookupError("serverless.yml has no rule for Verification Completed events")

    def delivery_function(self) -> str:
        """The function the completion rule targets (`!GetAtt <Name>LambdaFunction.Arn`)."""
        _, rule = self.delivery_rule()
        for target in rule["Properties"]["Targets"]:
            arn = target.get("Arn")
            if isinstance(arn, dict) and "Fn::GetAtt" in arn:
                logical_id = str(arn["Fn::GetAtt"]).split(".")[0]
                for name in self.config["functions"]:
                    if _logical_id(name) == logical_id:
                        return str(name)
        raise LookupError("the completion rule targets no function of serverless.yml")

    def tables(self) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource["Properties"]
            for logical_id, resource in self.resources.items()
            if resource["Type"] == "AWS::DynamoDB::Table"
        }

    def upload_bucket(self) -> str:
        return self.resolve(self.config["provider"]["s3"]["uploads"]["name"])


def _logical_id(function_name: str) -> str:
    """The framework's logical id of a function: ApiLambdaFunction for `api`."""
    normalized = function_name[0].upper() + function_name[1:]
    return normalized.replace("-", "Dash").replace("_", "Underscore") + "LambdaFunction"


@dataclass
class Created:
    """The names and URLs of what `create` made on moto."""

    tables: dict[str, str]  # logical id -> table name
    bus: str
    queues: dict[str, str]  # queue name -> URL
    delivery_queue: str  # the rule's target the soak reads to invoke the delivery function
    audit_queue: str  # a second target: every event put on the bus, read once at the end
    upload_bucket: str


def create(stack: Stack, clients: Any) -> Created:
    """The tables (keys, indexes, TTL), the bus, its completion rule (with two SQS targets in place of the
    function), the queues and the upload bucket, as declared. `clients(service)` builds a boto3 client."""
    dynamodb = clients("dynamodb")
    tables = {}
    for logical_id, spec in stack.tables().items():
        name = stack.resolve(spec["TableName"])
        arguments: dict[str, Any] = {
            "TableName": name,
            "KeySchema": spec["KeySchema"],
            "AttributeDefinitions": spec["AttributeDefinitions"],
            "BillingMode": spec.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if spec.get("GlobalSecondaryIndexes"):
            arguments["GlobalSecondaryIndexes"] = spec["GlobalSecondaryIndexes"]
        dynamodb.create_table(**arguments)
        if spec.get("TimeToLiveSpecification"):
            dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=spec["TimeToLiveSpecification"])
        tables[logical_id] = name
    sqs = clients("sqs")
    queues = {}
    for resource in stack.resources.values():
        if resource["Type"] == "AWS::SQS::Queue":
            name = stack.resolve(resource["Properties"]["QueueName"])
            queues[name] = sqs.create_queue(QueueName=name)["QueueUrl"]
    events = clients("events")
    bus = stack.resource_name("EventBus", "Name")
    events.create_event_bus(Name=bus)
    rule_id, rule = stack.delivery_rule()
    events.put_rule(Name=rule_id, EventBusName=bus, EventPattern=json.dumps(rule["Properties"]["EventPattern"]))
    targets = {}
    for target in ("delivery", "audit"):
        url = sqs.create_queue(QueueName=f"soak-{target}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_targets(Rule=rule_id, EventBusName=bus, Targets=[{"Id": target, "Arn": arn}])
        targets[target] = url
    bucket = stack.upload_bucket()
    clients("s3").create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    return Created(tables, bus, queues, targets["delivery"], targets["audit"], bucket)

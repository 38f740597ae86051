"""The CloudFormation template that `osls package` builds from serverless.yml: cfn-lint finds nothing,
checkov fails no check (each skipped finding has its reason in serverless.yml), the personal-data and
no-open-wallet settings are really in it, and packaging without auth params stops with a message.

Packaging needs no artifact build: FACEID_ARTIFACT points at a one-file zip (the template does not
depend on the artifact's contents), and `--package` writes to a temporary folder, not `.serverless/`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT

pytestmark = [pytest.mark.template, pytest.mark.timeout(300)]

OSLS = ROOT / "node_modules" / ".bin" / "osls"
CFN_LINT = ROOT / ".venv" / "bin" / "cfn-lint"
CHECKOV = ROOT / ".venv-scan" / "bin" / "checkov"  # its own venv: checkov pins an old botocore
TEMPLATE = "cloudformation-template-update-stack.json"
DEPLOY_PARAMS = ["jwtIssuer=https://issuer.example.com", "jwtAudience=faceid-fn", "cosBuckets=photos-1250000000"]


def package(tmp: Path, params: list[str]) -> subprocess.CompletedProcess[str]:
    artifact = tmp / "dummy.zip"
    with zipfile.ZipFile(artifact, "w") as archive:
        archive.writestr("handler.py", "")
    env = {**os.environ, "FACEID_ARTIFACT": str(artifact), "SLS_TELEMETRY_DISABLED": "1"}
    env["SLS_NOTIFICATIONS_MODE"] = "off"
    # a developer's shell must not change it
    for name in (
        *("FACEID_FLOW", "FACEID_INTL_CONFIG", "FACEID_RULE_ID", "FACEID_COS_BUCKETS", "CORS_ORIGIN"),
        "FACEID_TIMEOUT_S",
    ):
        env.pop(name, None)
    command = [str(OSLS), "package", "--package", str(tmp / "out"), *(f"--param={p}" for p in params)]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False)


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template of a deploy with the auth and COS params set (what `make package` needs)."""
    tmp = tmp_path_factory.mktemp("package")
    done = package(tmp, DEPLOY_PARAMS)
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "out" / TEMPLATE


@pytest.fixture(scope="module")
def packaged_forwarder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same deploy with the COS path's IAM user (cosForwarder=true)."""
    tmp = tmp_path_factory.mktemp("package-forwarder")
    done = package(tmp, [*DEPLOY_PARAMS, "cosForwarder=true"])
    assert done.returncode == 0, done.stdout + done.stderr
    return tmp / "out" / TEMPLATE


@pytest.fixture(scope="module")
def template(packaged: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads(packaged.read_text())
    return result


# Each scan runs on the template of both shapes: without and with the COS forwarder's user.
SCANNED = pytest.mark.parametrize("shape", ["packaged", "packaged_forwarder"])


def resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


# -- the scans --------------------------------------------------------------------------------------


@SCANNED
def test_cfn_lint_finds_nothing(shape: str, request: pytest.FixtureRequest) -> None:
    packaged: Path = request.getfixturevalue(shape)
    done = subprocess.run([str(CFN_LINT), str(packaged)], capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stdout + done.stderr  # no error, no warning, no note


@SCANNED
def test_checkov_fails_no_check_and_every_skip_says_why(shape: str, request: pytest.FixtureRequest) -> None:
    packaged: Path = request.getfixturevalue(shape)
    assert CHECKOV.exists(), "checkov is missing: run `make setup` (it installs .venv-scan from requirements-scan.txt)"
    # --skip-download and BC_SKIP_MAPPING: checkov would fetch guidelines from its vendor; no network here.
    command = [str(CHECKOV), "-f", str(packaged), "--framework", "cloudformation", "-o", "json", "--skip-download"]
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=240, check=False, env=env)
    report = json.loads(done.stdout)
    results = report["results"]
    failed = [f"{c['check_id']} {c['resource']}" for c in results["failed_checks"]]
    assert failed == []
    assert report["summary"]["passed"] >= 30
    skipped = results["skipped_checks"]
    assert skipped, "the skips in serverless.yml were not read"
    for check in skipped:
        reason = check["check_result"].get("suppress_comment") or ""
        assert len(reason) > 40, f"{check['check_id']} on {check['resource']} is skipped without a reason"


# -- what the template must hold --------------------------------------------------------------------


def test_upload_bucket_is_private_encrypted_tls_only_and_expires_photos(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["S3BucketUploads"]["Properties"]
    assert bucket["BucketName"] == "faceid-fn-uploads-dev"
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert sse["SSEAlgorithm"] == "aws:kms"
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == 1  # the uploadRetentionDays default
    assert "Prefix" not in rule  # the whole bucket: nothing is kept longer
    # the S3 event still goes to the function
    notification = bucket["NotificationConfiguration"]["LambdaConfigurations"][0]
    assert notification["Event"] == "s3:ObjectCreated:*"

    policy = template["Resources"]["UploadBucketPolicy"]
    statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": False}}
    assert policy["Properties"]["Bucket"] == {"Ref": "S3BucketUploads"}


def test_deployment_bucket_is_hardened(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["ServerlessDeploymentBucket"]["Properties"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert "BucketEncryption" in bucket
    policy = template["Resources"]["ServerlessDeploymentBucketPolicy"]["Properties"]["PolicyDocument"]
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": False}} for s in policy["Statement"])


def test_queues_are_encrypted(template: dict[str, Any]) -> None:
    queues = resources(template, "AWS::SQS::Queue")
    assert set(queues) == {"UploadSessionsQueue", "UploadFailuresQueue"}
    for queue in queues.values():
        assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs"


def test_http_api_writes_a_json_access_log_without_bodies_or_query_strings(template: dict[str, Any]) -> None:
    stage = template["Resources"]["HttpApiStage"]["Properties"]
    log_format = json.loads(stage["AccessLogSettings"]["Format"])
    assert {"requestId", "caller", "route", "status", "latencyMs"} <= set(log_format)
    assert log_format["route"] == "$context.routeKey"  # the route template, never the path
    assert log_format["caller"] == "$context.authorizer.claims.sub"
    values = " ".join(log_format.values())
    for forbidden in ("$context.path", "querystring", "$input", "body", "$request"):
        assert forbidden not in values


def test_throttling_and_reserved_concurrency_have_defaults(template: dict[str, Any]) -> None:
    settings = template["Resources"]["HttpApiStage"]["Properties"]["DefaultRouteSettings"]
    assert settings["ThrottlingRateLimit"] == 40
    assert settings["ThrottlingBurstLimit"] == 80
    function = template["Resources"]["ApiLambdaFunction"]["Properties"]
    assert function["ReservedConcurrentExecutions"] == 50


def test_routes_need_the_jwt_and_the_function_knows_the_cos_buckets(template: dict[str, Any]) -> None:
    routes = resources(template, "AWS::ApiGatewayV2::Route")
    assert routes
    keys = {route["Properties"]["RouteKey"]: route["Properties"] for route in routes.values()}
    assert set(keys) == {
        "POST /verifications",
        "GET /verifications/{biz_token}",
        "GET /verifications",
        "POST /verifications/{biz_token}/cancel",
        "POST /verifications/{biz_token}/redact",
        "GET /return",
        "$default",
    }
    for key, route in keys.items():
        # the catch-all takes CORS preflights (no token) and unknown routes: the function answers 204/404;
        # the return route takes the person's browser back from FaceID's page, which has no token of the app's
        public = key in ("$default", "GET /return")
        assert route.get("AuthorizationType") == (None if public else "JWT"), key
    environment = template["Resources"]["ApiLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["AUTH_REQUIRED"] == "true"
    assert environment["FACEID_COS_BUCKETS"] == "photos-1250000000"
    assert environment["FACEID_TIMEOUT_S"] == "8"  # the local stack's 3 s (local/env.sh) stays local


def test_each_function_has_its_own_role_and_only_delivery_reads_the_webhook_secret(template: dict[str, Any]) -> None:
    functions = resources(template, "AWS::Lambda::Function")
    roles = {name: function["Properties"]["Role"]["Fn::GetAtt"][0] for name, function in functions.items()}
    assert roles == {
        "ApiLambdaFunction": "IamRoleLambdaExecution",
        "CosUploadsLambdaFunction": "IamRoleLambdaExecution",  # the API function's code and role, COS records only
        "SweepLambdaFunction": "SweepRole",
        "DeliverLambdaFunction": "DeliverRole",
    }

    def secrets(role: str) -> list[str]:
        statements = [
            s
            for policy in template["Resources"][role]["Properties"]["Policies"]
            for s in policy["PolicyDocument"]["Statement"]
        ]
        actions = [s for s in statements if any("secretsmanager" in a for a in s["Action"])]
        return [s["Resource"]["Fn::Join"][1][-1] for s in actions]

    assert secrets("IamRoleLambdaExecution") == [":secret:faceid-fn/dev/tencent-credentials-??????"]
    assert secrets("SweepRole") == [":secret:faceid-fn/dev/tencent-credentials-??????"]
    assert secrets("DeliverRole") == [":secret:faceid-fn/dev/webhook-secret-??????"]
    api = functions["ApiLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert not {"WEBHOOK_URL", "WEBHOOK_SECRET_NAME"} & set(api)
    # the schedule invokes the sweep, the completion rule the delivery function
    rules = resources(template, "AWS::Events::Rule")
    targets = {name: rule["Properties"]["Targets"][0]["Arn"]["Fn::GetAtt"][0] for name, rule in rules.items()}
    assert targets == {"SweepEventsRuleSchedule1": "SweepLambdaFunction", "WebhookRule": "DeliverLambdaFunction"}


# -- no open API by accident ------------------------------------------------------------------------


def test_packaging_without_auth_params_stops_and_names_them(tmp_path: Path) -> None:
    done = package(tmp_path, [])
    output = done.stdout + done.stderr
    assert done.returncode != 0
    for name in ("jwtIssuer", "jwtAudience", "cosBuckets", "auth=off"):
        assert name in output, output
    assert "    at " not in output  # a message, not a stack trace
    assert not (tmp_path / "out" / TEMPLATE).exists()


def test_commands_that_deploy_nothing_need_no_auth_params() -> None:
    env = {**os.environ, "SLS_TELEMETRY_DISABLED": "1", "SLS_NOTIFICATIONS_MODE": "off"}
    done = subprocess.run(
        [str(OSLS), "print"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_open_api_is_an_explicit_choice(tmp_path: Path) -> None:
    done = package(tmp_path, ["auth=off", "cosBuckets=*"])
    assert done.returncode == 0, done.stdout + done.stderr
    template = json.loads((tmp_path / "out" / TEMPLATE).read_text())
    environment = template["Resources"]["ApiLambdaFunction"]["Properties"]["Environment"]["Variables"]
    assert environment["AUTH_REQUIRED"] == "false"
    assert environment["FACEID_COS_BUCKETS"] == "*"


# -- operators: alarms, dashboard, archive ----------------------------------------------------------------

ALARMS = {  # logical id -> (namespace, metric) of the alarms on one metric
    "OnFailureQueueAlarm": ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    "UpstreamFailuresAlarm": ("FaceidFn", "UpstreamError"),
    "WebhookFailuresAlarm": ("FaceidFn", "WebhookFailed"),
    "SweepBacklogAlarm": ("FaceidFn", "SweepOldestUnsettledAge"),
}
FUNCTION_ALARMS = {"FunctionErrorsAlarm": "Errors", "FunctionThrottlesAlarm": "Throttles"}
SERVICE = [{"Name": "service", "Value": "faceid-fn"}]  # the dimension Powertools' metrics carry


def emitted_metrics() -> set[str]:
    """The metric names the function's code emits (metrics.add_metric(name=...))."""
    code = "".join(path.read_text() for path in (ROOT / "faceid_fn").rglob("*.py"))
    return set(re.findall(r'add_metric\(name="(\w+)"', code))


def test_alarms_watch_failures_and_the_sweep_and_notify_the_alarm_topic(template: dict[str, Any]) -> None:
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    assert set(alarms) == set(ALARMS) | set(FUNCTION_ALARMS)
    # every alarm notifies the topic created here (no alarmTopicArn given), when it fires and when it clears
    topic = {"Ref": "AlarmTopic"}
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [topic]
    assert "Condition" not in template["Resources"]["AlarmTopic"]
    assert template["Resources"]["AlarmEmailSubscription"]["Condition"] == "AlarmEmailOn"
    assert template["Conditions"]["AlarmEmailOn"] == {"Fn::Not": [{"Fn::Equals": ["", ""]}]}  # no address given
    # each watches a metric that exists: AWS's, or one the function's code emits, with its service dimension
    for logical_id, (namespace, metric) in ALARMS.items():
        properties = alarms[logical_id]["Properties"]
        assert (properties["Namespace"], properties["MetricName"]) == (namespace, metric)
        if namespace == "FaceidFn":
            assert metric in emitted_metrics()
            assert properties["Dimensions"] == SERVICE
    on_failure = alarms["OnFailureQueueAlarm"]["Properties"]
    assert on_failure["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["UploadFailuresQueue", "QueueName"]}}
    ]
    assert (on_failure["Threshold"], on_failure["ComparisonOperator"]) == (0, "GreaterThanThreshold")
    # the sweep's alarm: too old, or no run at all (missing data breaches)
    sweep = alarms["SweepBacklogAlarm"]["Properties"]
    assert (sweep["Statistic"], sweep["Threshold"], sweep["TreatMissingData"]) == ("Maximum", 1800, "breaching")
    # the function alarms add up every function's metric (one per function of serverless.yml)
    functions = {name for name, r in template["Resources"].items() if r["Type"] == "AWS::Lambda::Function"}
    for logical_id, metric in FUNCTION_ALARMS.items():
        queries = alarms[logical_id]["Properties"]["Metrics"]
        watched = {
            q["MetricStat"]["Metric"]["Dimensions"][0]["Value"]["Ref"]
            for q in queries
            if "MetricStat" in q and q["MetricStat"]["Metric"]["MetricName"] == metric
        }
        assert watched == functions
        assert [q["Expression"] for q in queries if "Expression" in q] == ['SUM(METRICS("fn"))']


def test_the_dashboard_shows_the_alarms_and_the_metrics_they_watch(template: dict[str, Any]) -> None:
    body, variables = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert {"Namespace", "Service", "FailuresQueue", "SweepAgeThreshold", "Alarms"} <= set(variables)
    assert {"ApiFunction", "SweepFunction", "DeliverFunction"} <= set(variables)
    for name in variables:  # what CloudFormation substitutes, here a placeholder: the body is then JSON
        body = body.replace("${" + name + "}", "1" if name == "SweepAgeThreshold" else name)
    widgets = json.loads(body.replace("${AWS::Region}", "ap-southeast-1"))["widgets"]
    [alarm_widget] = [w for w in widgets if w["type"] == "alarm"]
    assert alarm_widget["properties"]["alarms"] == ["Alarms"]
    shown = {m[1] for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]}
    assert {metric for _, metric in ALARMS.values()} | set(FUNCTION_ALARMS.values()) <= shown
    arns = variables["Alarms"]["Fn::Join"][1]
    assert {a["Fn::GetAtt"][0] for a in arns} == set(ALARMS) | set(FUNCTION_ALARMS)


def test_the_bus_archives_every_completion_event(template: dict[str, Any]) -> None:
    [archive] = resources(template, "AWS::Events::Archive").values()
    assert archive["Properties"]["SourceArn"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    assert archive["Properties"]["EventPattern"] == {"source": ["faceid-fn"]}
    assert archive["Properties"]["RetentionDays"] == 4  # as long as the ledger keeps a session


def test_alarms_can_also_go_to_an_existing_topic_and_mail_an_address(tmp_path: Path) -> None:
    topic = "arn:aws:sns:ap-southeast-1:123456789012:operators"
    done = package(tmp_path, [*DEPLOY_PARAMS, f"alarmTopicArn={topic}", "alarmEmail=ops@example.com"])
    assert done.returncode == 0, done.stdout + done.stderr
    template = json.loads((tmp_path / "out" / TEMPLATE).read_text())
    # every alarm notifies the topic created here and the given one
    for alarm in resources(template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == alarm["Properties"]["OKActions"] == [{"Ref": "AlarmTopic"}, topic]
    # and the address is subscribed to the one created here
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert template["Conditions"]["AlarmEmailOn"] == {"Fn::Not": [{"Fn::Equals": ["ops@example.com", ""]}]}
    assert subscription["Properties"] == {
        "Protocol": "email",
        "Endpoint": "ops@example.com",
        "TopicArn": {"Ref": "AlarmTopic"},
    }


def test_an_alarm_topic_that_is_not_an_sns_arn_stops_packaging(tmp_path: Path) -> None:
    done = package(tmp_path, [*DEPLOY_PARAMS, "alarmTopicArn=ops@example.com"])
    assert done.returncode != 0
    assert "alarmTopicArn must be an SNS topic's ARN" in done.stdout + done.stderr
    assert "    at " not in done.stdout + done.stderr  # a message, not a stack trace


# -- the COS path: the forwarder's IAM user (cosForwarder) ---------------------------------------------------

FORWARDER_RESOURCES = {"CosForwarderGroup", "CosForwarderUser"}
FORWARDER_OUTPUTS = {"CosForwarderUserArn", "CosForwarderTarget"}


def test_without_the_param_there_is_no_forwarder_user(template: dict[str, Any]) -> None:
    assert template["Conditions"]["CosForwarderOn"] == {"Fn::Equals": ["false", "true"]}
    for name in FORWARDER_RESOURCES:
        assert template["Resources"][name]["Condition"] == "CosForwarderOn"
    for name in FORWARDER_OUTPUTS:
        assert template["Outputs"][name]["Condition"] == "CosForwarderOn"


def test_the_forwarders_user_may_invoke_the_cos_uploads_function_and_nothing_else(packaged_forwarder: Path) -> None:
    template = json.loads(packaged_forwarder.read_text())
    assert template["Conditions"]["CosForwarderOn"] == {"Fn::Equals": ["true", "true"]}
    api = {"Fn::GetAtt": ["CosUploadsLambdaFunction", "Arn"]}  # never the API function: its key is outside AWS
    group = template["Resources"]["CosForwarderGroup"]["Properties"]
    [policy] = group["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": api}
    ]
    assert "ManagedPolicyArns" not in group
    # the user holds no permission of its own: only the group's
    user = template["Resources"]["CosForwarderUser"]["Properties"]
    assert user == {"UserName": "faceid-fn-dev-cos-forwarder", "Groups": [{"Ref": "CosForwarderGroup"}]}
    # no other policy names the user or the group, and the template creates no access key
    policies = resources(template, "AWS::IAM::Policy") | resources(template, "AWS::IAM::ManagedPolicy")
    assert not [name for name, p in policies.items() if {"Users", "Groups"} & set(p["Properties"])]
    assert resources(template, "AWS::IAM::AccessKey") == {}
    # the outputs the operator needs: the user (for create-access-key) and what the forwarder invokes
    outputs = template["Outputs"]
    assert outputs["CosForwarderUserArn"]["Value"] == {"Fn::GetAtt": ["CosForwarderUser", "Arn"]}
    assert outputs["CosForwarderTarget"]["Value"] == api
    assert not [name for name, o in outputs.items() if "AccessKey" in json.dumps(o)]


def test_with_snapstart_the_forwarder_invokes_the_alias_events_use(tmp_path: Path) -> None:
    done = package(tmp_path, [*DEPLOY_PARAMS, "cosForwarder=true", "snapStart=true"])
    assert done.returncode == 0, done.stdout + done.stderr
    template = json.loads((tmp_path / "out" / TEMPLATE).read_text())
    alias = template["Resources"]["CosUploadsSnapStartLambdaAlias"]["Properties"]["Name"]
    target = {"Fn::Join": ["", [{"Fn::GetAtt": ["CosUploadsLambdaFunction", "Arn"]}, f":{alias}"]]}
    [statement] = template["Resources"]["CosForwarderGroup"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == target
    assert template["Outputs"]["CosForwarderTarget"]["Value"] == target

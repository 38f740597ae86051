"""What an instance's first start loads: the default (intl) flow with the session ledger, in a fresh process.

The photo is read from COS and the session recorded in DynamoDB (one moto server on 127.0.0.1 plays both),
FaceID is the emulator. Neither needs boto3 or botocore's client, signing or credential code: the COS GET
and the ledger's PutItem are SigV4-signed by requests-aws4auth (bench/README.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3

from local.sample_photo import png
from tests.aws import AWS_REGION, COS_BUCKET, SESSIONS_TABLE, cos_put, md5
from tests.conftest import Emulator, function_environment

ROOT = Path(__file__).resolve().parents[2]
PHOTO_KEY = "reference/cold-path.png"

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    import handler
    from tests.conftest import LambdaContext, http_event
    body = {"CompareImageUrl": sys.argv[2], "CompareImageMd5": sys.argv[3]}
    answer = handler.handler(http_event(body=body), LambdaContext())
    loaded = [m for m in ("boto3", "botocore.client", "botocore.auth", "botocore.credentials",
                          "botocore.exceptions", "botocore.session") if m in sys.modules]
    print(json.dumps({"status": answer["statusCode"], "body": json.loads(answer["body"]), "loaded": loaded}))
    """
)


def test_the_first_intl_start_with_the_ledger_loads_no_boto3(emulator: Emulator, cos_server: str) -> None:
    # GIVEN the photo in COS and the ledger's table (moto, over real HTTP)
    photo = png()
    cos_put(cos_server, PHOTO_KEY, photo)
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=cos_server, region_name=AWS_REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    from local.seed import create_sessions_table

    if SESSIONS_TABLE not in dynamodb.list_tables()["TableNames"]:
        create_sessions_table(dynamodb, SESSIONS_TABLE)
    env = {
        **function_environment(
            emulator.url,
            FACEID_FLOW="intl",
            COS_ENDPOINT=cos_server,
            SESSIONS_TABLE=SESSIONS_TABLE,
            AWS_ENDPOINT_URL_DYNAMODB=cos_server,
            AWS_ACCESS_KEY_ID="x",
            AWS_SECRET_ACCESS_KEY="y",
            AWS_SESSION_TOKEN="z",
            AWS_REGION=AWS_REGION,
            PYDANTIC_DISABLE_PLUGINS="__all__",
        ),
        "PATH": "/usr/bin:/bin",
    }
    url = f"https://{COS_BUCKET}.cos.ap-singapore.myqcloud.com/{PHOTO_KEY}"
    # WHEN a fresh process starts and serves its first request
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT), url, md5(photo)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    # THEN the session started with the photo read from COS, and none of boto3 or botocore's machinery loaded
    assert answer["status"] == 201, answer
    assert answer["loaded"] == []
    sent = emulator.calls[-1]
    assert sent["action"] == "ApplyWebVerificationBizTokenIntl"
    # AND the ledger recorded it
    item = dynamodb.get_item(TableName=SESSIONS_TABLE, Key={"BizToken": {"S": answer["body"]["BizToken"]}})
    assert item["Item"]["Status"] == {"S": "pending"}

"""The baseline: Tencent's API Explorer sample for ApplyWebVerificationToken in a plain Lambda handler.

The full international SDK (3.1.49, the last with this action), its typed FaceidClient built per
call, the SDK's default retry behaviour (none), and Powertools Logger - what users write today.
"""

import json
import os

from aws_lambda_powertools import Logger
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client, models

logger = Logger(service="faceid-baseline")


@logger.inject_lambda_context
def handler(event, context):
    body = json.loads(event.get("body") or "{}")
    try:
        cred = credential.Credential(os.environ["TENCENTCLOUD_SECRET_ID"], os.environ["TENCENTCLOUD_SECRET_KEY"])
        scheme, _, host = os.environ["FACEID_ENDPOINT"].partition("://")
        http_profile = HttpProfile(protocol=scheme, endpoint=host)
        client_profile = ClientProfile()
        client_profile.httpProfile = http_profile
        client = faceid_client.FaceidClient(cred, os.environ.get("FACEID_REGION", "ap-singapore"), client_profile)
        req = models.ApplyWebVerificationTokenRequest()
        params = {
            "RedirectUrl": os.environ["FACEID_REDIRECT_URL"],
            "CompareImageUrl": body["CompareImageUrl"],
            "CompareImageMd5": body["CompareImageMd5"],
        }
        req.from_json_string(json.dumps(params))
        resp = client.ApplyWebVerificationToken(req)
        logger.info("verification started", extra={"request_id": resp.RequestId})
        return {"statusCode": 200, "body": resp.to_json_string()}
    except TencentCloudSDKException as err:
        logger.exception("ApplyWebVerificationToken failed")
        return {"statusCode": 400, "body": json.dumps({"error": str(err)})}

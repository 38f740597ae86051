# The local stack's environment for the function: source it before `osls offline` or
# `osls invoke local` (local/run.sh does). Every endpoint is on 127.0.0.1; no credential is real.
_faceid_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export VIRTUAL_ENV="${_faceid_root}/.venv"   # osls runs the handler with the project's Python
export PATH="${VIRTUAL_ENV}/bin:${_faceid_root}/node_modules/.bin:${PATH}"

export EMULATOR_PORT=${EMULATOR_PORT:-9000}
export MOTO_PORT=${MOTO_PORT:-5000}
export OFFLINE_HTTP_PORT=${OFFLINE_HTTP_PORT:-3000}
export OFFLINE_LAMBDA_PORT=${OFFLINE_LAMBDA_PORT:-3002}
export DEMO_PORT=${DEMO_PORT:-8080}

# FaceID: the emulator (local/emulator/) and its own local credentials.
export FACEID_ENDPOINT="http://127.0.0.1:${EMULATOR_PORT}"
# The demo app (local/demo/) is where FaceID sends the browser back, and the API's CORS origin.
export FACEID_REDIRECT_URL=${FACEID_REDIRECT_URL:-"http://127.0.0.1:${DEMO_PORT}/"}
export CORS_ORIGIN="http://127.0.0.1:${DEMO_PORT}"
# FaceID sends the browser to the function's return route first (it records and announces the outcome),
# which then sends it on to the demo app.
export FACEID_PUBLIC_URL="http://127.0.0.1:${OFFLINE_HTTP_PORT}"
export TENCENTCLOUD_SECRET_ID=AKIDlocalEmulatorFaceidFn0000000000
export TENCENTCLOUD_SECRET_KEY=LocalEmulatorSecretKey0NotForProduction
export FACEID_CREDENTIALS_SECRET=""   # deployed stages read Secrets Manager instead
export FACEID_FLOW=${FACEID_FLOW:-intl}   # or legacy (withdrawn by Tencent): the COS URL is then sent as is
export FACEID_COS_BUCKETS=photos-1250000000   # the seeded COS stand-in bucket (local/seed.py)
# The budget of one FaceID call (deployed: 8 s). serverless-offline's Invoke API (OFFLINE_LAMBDA_PORT, where
# the COS forwarder sends upload events: docs/deploying.md) tells a Python handler it has 6 s in all, and the
# function starts an upload only with FACEID_TIMEOUT_S + 2 s left; the emulator answers in milliseconds.
export FACEID_TIMEOUT_S=${FACEID_TIMEOUT_S:-3}
# serverless.yml refuses an open API unless asked for one: the local stack is one, on loopback.
export OSLS_LOCAL_PARAMS="--param=auth=off --param=cosBuckets=${FACEID_COS_BUCKETS}"

# AWS (S3 uploads, DynamoDB idempotency) and COS's S3-compatible API: one moto server.
export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_DEFAULT_REGION=ap-southeast-1 AWS_REGION=ap-southeast-1
export AWS_ENDPOINT_URL_S3="http://127.0.0.1:${MOTO_PORT}"
export AWS_ENDPOINT_URL_DYNAMODB="http://127.0.0.1:${MOTO_PORT}"
export COS_ENDPOINT="http://127.0.0.1:${MOTO_PORT}"
export IDEMPOTENCY_TABLE=faceid-fn-idempotency-dev
export FACEID_PACING_TABLE=faceid-fn-pacing-dev
export UPLOAD_BUCKET=faceid-fn-uploads-dev
# The session ledger and completion events (moto's DynamoDB and EventBridge). moto's bus has no rule that
# invokes the function, so LOCAL_EVENT_HANDOFF hands each event to the webhook code in process instead
# (once; Lambda's retries and the on-failure queue exist only when deployed).
export SESSIONS_TABLE=faceid-fn-sessions-dev
# The local stack is an open API (auth=off): all its callers share one count of new sessions, here a
# generous one for the demo and the end-to-end tests (deployed default: 10/3600 per owner).
export FACEID_OWNER_STARTS=${FACEID_OWNER_STARTS:-1000/3600}
export EVENT_BUS_NAME=faceid-fn-dev
export AWS_ENDPOINT_URL_EVENTBRIDGE="http://127.0.0.1:${MOTO_PORT}"
export LOCAL_EVENT_HANDOFF=true
# Webhooks go to the local receiver (local/webhook_receiver.py), signed with a local-only secret.
export WEBHOOK_RECEIVER_PORT=${WEBHOOK_RECEIVER_PORT:-8090}
export WEBHOOK_URL="http://127.0.0.1:${WEBHOOK_RECEIVER_PORT}/webhooks"
export WEBHOOK_SECRET=whsec_TG9jYWxXZWJob29rU2VjcmV0Tm90Rm9yUHJvZHVjdGlvbg==
export WEBHOOK_SECRET_NAME=""

export POWERTOOLS_TRACE_DISABLED=true
export FACEID_ARTIFACT=""   # osls offline/invoke local run the source, not the (arm64) deploy artifact
export SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off

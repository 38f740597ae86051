#!/usr/bin/env bash
# Start the FaceID emulator and the function under `osls offline`, both on 127.0.0.1, check that
# a session can be started, print the curl line to start one, and keep running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

EMULATOR_PORT=${EMULATOR_PORT:-9000}
export OFFLINE_HTTP_PORT=${OFFLINE_HTTP_PORT:-3000}
export OFFLINE_LAMBDA_PORT=${OFFLINE_LAMBDA_PORT:-3002}
export FACEID_ENDPOINT="http://127.0.0.1:${EMULATOR_PORT}"
export FACEID_REDIRECT_URL=${FACEID_REDIRECT_URL:-"http://127.0.0.1:${OFFLINE_HTTP_PORT}/done"}
# The emulator's own local credentials (local/emulator.py); never real ones.
export TENCENTCLOUD_SECRET_ID=AKIDlocalEmulatorFaceidFn0000000000
export TENCENTCLOUD_SECRET_KEY=LocalEmulatorSecretKey0NotForProduction
export POWERTOOLS_TRACE_DISABLED=true

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

wait_for() { # url, name, log
  for _ in $(seq 1 60); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.5
  done
  echo "$2 did not start; its log:" >&2; cat "$3" >&2; exit 1
}

mkdir -p .local-logs
python -m local.emulator --port "$EMULATOR_PORT" > .local-logs/emulator.log 2>&1 & pids+=($!)
wait_for "$FACEID_ENDPOINT/__emulator__/health" "FaceID emulator" .local-logs/emulator.log

node_modules/.bin/osls offline start > .local-logs/offline.log 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:${OFFLINE_HTTP_PORT}/" "osls offline" .local-logs/offline.log

body='{"CompareImageUrl": "https://photos-1250000000.cos.ap-singapore.myqcloud.com/alice/reference.jpg", "CompareImageMd5": "9e107d9d372bb6826bd81d3542a419d6"}'
curl_line="curl -s -i -X POST http://127.0.0.1:${OFFLINE_HTTP_PORT}/verifications -H 'content-type: application/json' -d '${body}'"

echo "FaceID emulator: ${FACEID_ENDPOINT}   (log: .local-logs/emulator.log)"
echo "Function (osls offline): http://127.0.0.1:${OFFLINE_HTTP_PORT}   (log: .local-logs/offline.log)"
echo
echo "Self-check, one session started through the local stack:"
eval "$curl_line"
echo
echo
echo "Ready. Start a verification session with:"
echo
echo "  ${curl_line}"
echo
echo "Press Ctrl-C to stop."
wait

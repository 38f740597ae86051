#!/usr/bin/env bash
# Start the local stack on 127.0.0.1: the FaceID emulator, a moto server (S3, DynamoDB and a COS
# stand-in, seeded with the sample photos), the demo app and the function under `osls offline`; check that a
# session can be started, print the commands to start more, and keep running until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=local/env.sh
source local/env.sh

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 0' INT TERM  # Ctrl-C (or the test's SIGTERM) stops the stack: a normal end

# Each port must be free before anything starts: a server already there (another program, or a stack
# left running) would answer our readiness checks and the stack would look ready without being ours.
# (SO_REUSEADDR as the servers set it: a port whose last connections are in TIME_WAIT is free.)
port_free() {
  python -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}
for var in EMULATOR_PORT MOTO_PORT WEBHOOK_RECEIVER_PORT DEMO_PORT OFFLINE_HTTP_PORT OFFLINE_LAMBDA_PORT; do
  port=${!var}
  if ! port_free "$port"; then
    echo "Port ${port} on 127.0.0.1 is already in use, so the local stack cannot start." >&2
    echo "Stop what uses it (a stack still running elsewhere?), or move ours: ${var}=<free port> make run" >&2
    exit 1
  fi
done

wait_for() { # url, name, log, pid: ready when the URL answers while our process still runs
  for _ in $(seq 1 60); do
    if ! kill -0 "$4" 2>/dev/null; then break; fi
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.5
  done
  echo "$2 did not start; its log:" >&2; cat "$3" >&2; exit 1
}

mkdir -p .local-logs
# The emulator knows the console process the function names (FACEID_RULE_ID), else its default rule "1".
python -m local.emulator --port "$EMULATOR_PORT" ${FACEID_RULE_ID:+--rule-id "$FACEID_RULE_ID"} \
  > .local-logs/emulator.log 2>&1 & pids+=($!)
wait_for "$FACEID_ENDPOINT/__emulator__/health" "FaceID emulator" .local-logs/emulator.log $!

moto_server -H 127.0.0.1 -p "$MOTO_PORT" > .local-logs/moto.log 2>&1 & pids+=($!)
wait_for "$AWS_ENDPOINT_URL_S3/moto-api/" "moto server (S3, DynamoDB, COS stand-in)" .local-logs/moto.log $!
python -m local.seed >> .local-logs/moto.log

python -m local.webhook_receiver --port "$WEBHOOK_RECEIVER_PORT" > .local-logs/webhooks.log 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:${WEBHOOK_RECEIVER_PORT}/webhooks" "webhook receiver" .local-logs/webhooks.log $!

python -m http.server "$DEMO_PORT" --bind 127.0.0.1 --directory local/demo > .local-logs/demo.log 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:${DEMO_PORT}/" "demo app server" .local-logs/demo.log $!

# shellcheck disable=SC2086 # OSLS_LOCAL_PARAMS is a list of words
node_modules/.bin/osls offline start $OSLS_LOCAL_PARAMS > .local-logs/offline.log 2>&1 & pids+=($!)
wait_for "http://127.0.0.1:${OFFLINE_HTTP_PORT}/" "osls offline" .local-logs/offline.log $!

body='{"CompareImageUrl": "https://photos-1250000000.cos.ap-singapore.myqcloud.com/reference/alice.png", "CompareImageMd5": "43260cb380965ad3022baec8f7123412"}'
# Only CheckMode 2 (the default) and the legacy flow compare with a reference photo: in the other modes
# (FACEID_INTL_CONFIG='{"CheckMode":1}' make run, or 3, 4) a start names none.
check_mode=$(python -c 'import json, os; print(json.loads(os.environ.get("FACEID_INTL_CONFIG") or "{}").get("CheckMode") or 2)')
if [[ "$FACEID_FLOW" == "intl" && "$check_mode" != "2" ]]; then
  body='{}'
fi
curl_line="curl -s -i -X POST http://127.0.0.1:${OFFLINE_HTTP_PORT}/verifications -H 'content-type: application/json' -d '${body}'"

echo "FaceID emulator: ${FACEID_ENDPOINT}   (log: .local-logs/emulator.log)"
echo "S3 / DynamoDB / COS stand-in (moto): ${AWS_ENDPOINT_URL_S3}   (log: .local-logs/moto.log)"
echo "Function (osls offline): http://127.0.0.1:${OFFLINE_HTTP_PORT}   (log: .local-logs/offline.log)"
echo "Webhook receiver (verifies signatures; GET lists what arrived): ${WEBHOOK_URL}   (log: .local-logs/webhooks.log)"
echo
echo "Self-check, one session started through the local stack:"
answer=$(eval "$curl_line")
echo "$answer"
if [[ "$answer" != "HTTP/1.1 201"* ]]; then
  echo >&2
  echo "The self-check did not start a session (201 expected); see .local-logs/offline.log" >&2
  exit 1
fi
echo
echo
echo "Ready. Start a verification session with:"
echo
echo "  ${curl_line}"
echo
echo "Demo app (the whole journey in a browser): http://127.0.0.1:${DEMO_PORT}/?api=http://127.0.0.1:${OFFLINE_HTTP_PORT}&webhooks=${WEBHOOK_URL}"
echo
echo "Upload events against the same stack (in another shell):"
echo
echo "  make invoke EVENT=events/s3-put.json"
echo "  make invoke EVENT=events/cos-upload.json"
echo
echo "The sweep (reads sessions nobody has read, announces the finished ones): make sweep"
echo
echo "Press Ctrl-C to stop (it stops every part of the stack)."
# Stop the stack (non-zero) as soon as one of its parts stops.
wait -n "${pids[@]}" || true
echo "A part of the local stack stopped; see .local-logs/. Stopping the rest." >&2
exit 1

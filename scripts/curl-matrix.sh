#!/usr/bin/env bash
# The curl matrix of README "Deploy to AWS": one call per answer the API promises, against a deployed
# stage or `npm start`, each checked for its status (and the problem's slug). Prints one line per call
# and exits non-zero when any answer differs.
#
#   scripts/curl-matrix.sh API_URL [API_KEY]
#
# API_URL is the stack's ApiUrl (or http://127.0.0.1:3000). TARGET (an e-mail address or phone number)
# receives one code: a client's test target (README "Policies", testTargets) sends nothing, and then
# CODE must be its fixed code; otherwise the code comes from mockCode (dev mode) or from CODE.
set -uo pipefail

API="${1:?usage: scripts/curl-matrix.sh API_URL [API_KEY]}"
API="${API%/}"
KEY="${2:-}"
TARGET="${TARGET:-curl-matrix-$(date +%s)@example.com}"
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
body=""
status=""
headers=""

# call NAME METHOD PATH [BODY] [extra curl args…]: sets $status, $body, $headers.
call() {
  local method=$1 path=$2 data=${3:-}
  shift 3 || shift $#
  local args=(-s -o $tmp/body -D $tmp/headers -w '%{http_code}' -X "$method")
  [ -n "$KEY" ] && args+=(-H "X-API-Key: $KEY")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data "$data")
  status=$(curl "${args[@]}" "$@" "$API$path")
  body=$(cat $tmp/body)
  headers=$(cat $tmp/headers)
}

# json FIELD: a member of $body (node, which this project needs anyway, instead of jq).
json() {
  node -e 'let v; try { v = JSON.parse(process.argv[1])[process.argv[2]]; } catch {} process.stdout.write(v === undefined ? "" : String(v));' "$body" "$1"
}

# expect WHAT STATUS [SLUG]
expect() {
  local what=$1 want=$2 slug=${3:-} got
  got=$(json error)
  if [ "$status" = "$want" ] && { [ -z "$slug" ] || [ "$got" = "$slug" ]; }; then
    printf 'ok    %s %-24s %s\n' "$status" "$slug" "$what"
  else
    printf 'FAIL  %s %-24s %s (wanted %s %s): %s\n' "$status" "$got" "$what" "$want" "$slug" "$body"
    failed=1
  fi
}

call GET /v1/health
expect 'GET /v1/health' 200
call GET /.well-known/jwks.json
expect 'GET /.well-known/jwks.json' 200
call GET /openapi.json
expect 'GET /openapi.json' 200
call GET /v1/nope
expect 'an unknown path' 404 not-found
call GET /v1/otp/send
expect 'GET on the send route' 405 method-not-allowed
if [ -n "$KEY" ]; then
  call POST /v1/otp/send "{\"target\":\"$TARGET\"}" -H 'X-API-Key: otp_not_a_key'
  expect 'a send with a key that does not exist' 401 invalid-api-key
fi
call POST /v1/otp/send '{"target":'
expect 'a body that is not JSON' 400
call POST /v1/otp/send '{"target":"not an address"}'
expect 'a target that is neither e-mail nor phone' 400 invalid-target
call POST /v1/otp/send '' --data '<target/>' -H 'Content-Type: application/xml'
expect 'a body that is not JSON by its Content-Type' 415 unsupported-media-type

call POST /v1/otp/send "{\"target\":\"$TARGET\"}"
expect "a code to $TARGET" 200
otp_token=$(json otpToken)
code="${CODE:-$(json mockCode)}"
call POST /v1/otp/send "{\"target\":\"$TARGET\"}"
expect 'the same target again at once' 429 rate-limited
grep -qi '^retry-after:' <<<"$headers" || { echo 'FAIL  the 429 has no Retry-After header'; failed=1; }

wrong=$([ "$code" = 000000 ] && echo 111111 || echo 000000)
call POST /v1/otp/verify "{\"otpToken\":\"$otp_token\",\"code\":\"$wrong\"}"
expect 'a wrong code' 401 invalid-code
if [ -z "$code" ]; then
  echo 'FAIL  no code to verify with: deploy with devMode=true, or set CODE (a test target'"'"'s fixed code)'
  exit 1
fi
call POST /v1/otp/verify "{\"otpToken\":\"$otp_token\",\"code\":\"$code\"}"
expect 'the right code' 200
session=$(json sessionToken)
refresh=$(json refreshToken)
call POST /v1/otp/verify "{\"otpToken\":\"$otp_token\",\"code\":\"$code\"}"
expect 'the same code again' 401 invalid-code

call GET /v1/session '' -H "Authorization: Bearer $session"
expect 'GET /v1/session with the session token' 200
call GET /v1/session '' -H 'Authorization: Bearer not-a-session-token'
expect 'GET /v1/session with a made-up token' 401 session-invalid
call POST /v1/session/refresh "{\"refreshToken\":\"$refresh\"}"
expect 'a refresh' 200
rotated_session=$(json sessionToken)
call DELETE /v1/session '' -H "Authorization: Bearer $rotated_session"
expect 'DELETE /v1/session' 204
call GET /v1/session '' -H "Authorization: Bearer $rotated_session"
expect 'the revoked session' 401 session-invalid
call POST /v1/session/refresh "{\"refreshToken\":\"$refresh\"}"
expect 'the used refresh token again' 401 session-invalid

[ "$failed" = 0 ] && echo 'All answers as promised.' || echo 'Some answers differ: see FAIL above.'
exit "$failed"

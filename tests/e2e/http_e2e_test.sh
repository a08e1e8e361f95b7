#!/usr/bin/env bash
# e2e: the HTTP/JSON API with curl, as a SOAR tool would call it: bearer tokens,
# evaluate, lookups, triage feedback, errors, health, readiness and metrics.
source "$(dirname "$0")/e2e_lib.sh"
TOKEN_A="soar-playbook-token-0123456789"
TOKEN_B="other-tenant-token-0123456789"
printf '%s acme\n%s globex\n' "$TOKEN_A" "$TOKEN_B" >"$WORK/tokens"
start_server --token_file "$WORK/tokens"
URL="http://127.0.0.1:$HTTP_PORT"
call() {  # call METHOD PATH [BODY] [TOKEN] -> body in $WORK/body, status in $CODE
  local token="${4-$TOKEN_A}"
  CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$1" "$URL$2" \
    ${token:+-H "Authorization: Bearer $token"} -H 'Content-Type: application/json' \
    ${3:+--data-binary "$3"})
}

call GET /healthz "" ""
expect_eq "$CODE" "200" "healthz"
call GET /readyz "" ""
expect_eq "$CODE" "200" "readyz"

# The example recon burst, as raw records in an EvaluateRequest.
body=$(awk 'BEGIN{printf "{\"payload\":\""} {printf "%s", $0} END{printf "\"}"}' \
  <(base64 -w0 "$SOURCE_DIR"/deploy/examples/*.json))
call POST /v1/evaluate "$body"
expect_eq "$CODE" "200" "evaluate"
expect_contains "$WORK/body" '"kind":"NEW"' "new alert"
expect_contains "$WORK/body" '"ruleId":"aws-discovery-cli-burst"' "burst alert"
expect_contains "$WORK/body" '"tenant":"acme"' "tenant from the token"
expect_contains "$WORK/body" '"accepted":23' "accepted count"
expect_contains "$WORK/body" '"rejected":0' "zero counts are present"

call POST /v1/evaluate '{"events":[{"rawJson":"{\"eventName\":\"ListUsers\"}"}]}'
expect_eq "$CODE" "200" "evaluate with a bad record"
expect_contains "$WORK/body" '"rejectField":"eventSource"' "bad record named"
call POST /v1/evaluate '{"events": [ not json'
expect_eq "$CODE" "400" "malformed body"
expect_contains "$WORK/body" '"code":"INVALID_ARGUMENT"' "error code"

ID="arn:aws:iam::111122223333:user%2Fci-deployer"
call GET "/v1/identities/$ID"
expect_eq "$CODE" "200" "identity lookup"
expect_contains "$WORK/body" '"recentDiscoveryCalls":8' "recent discovery calls"
# false is said, not left out (issue 11 item 10): the example's identity is new.
expect_contains "$WORK/body" '"mature":false' "mature: false is present"
call GET "/v1/identities/$ID" "" "$TOKEN_B"
expect_eq "$CODE" "404" "other tenant cannot see it"
call GET "/v1/identities/$ID" "" ""
expect_eq "$CODE" "401" "no token"
call GET "/v1/alerts?rule_id=aws-discovery-cli-burst&page_size=5"
expect_eq "$CODE" "200" "alerts"
expect_contains "$WORK/body" '"alertId":"burst-' "alert listed"
call GET "/v1/alerts?since=yesterday"
expect_eq "$CODE" "400" "bad since"
# One alert, its triage over PATCH, and both as OCSF (issue 10).
call GET "/v1/alerts?rule_id=aws-discovery-cli-burst"
ALERT="$(sed -n 's/.*"alertId":"\(burst-[0-9a-f]*\)".*/\1/p' "$WORK/body" | head -n 1)"
call GET "/v1/alerts/$ALERT"
expect_eq "$CODE" "200" "one alert"
expect_contains "$WORK/body" '"status":"OPEN"' "an untriaged alert is open"
expect_contains "$WORK/body" '"reason":"arn:aws:iam::111122223333:user/ci-deployer made 8 distinct' "reason"
call PATCH "/v1/alerts/$ALERT" '{"status":"RESOLVED"}'
expect_eq "$CODE" "400" "resolving needs a disposition"
expect_contains "$WORK/body" 'disposition: required to resolve' "the field is named"
call PATCH "/v1/alerts/$ALERT" '{"status":"ACKNOWLEDGED","assignee":"soar","note":"looking"}'
expect_eq "$CODE" "200" "triage"
expect_contains "$WORK/body" '"assignee":"soar"' "assignee set"
call GET "/v1/alerts?status=ACKNOWLEDGED&format=ocsf"
expect_eq "$CODE" "200" "alerts as OCSF"
expect_contains "$WORK/body" '"class_uid":2004' "a Detection Finding"
expect_contains "$WORK/body" '"status":"In Progress"' "acknowledged is in progress"
call GET "/v1/alerts/$ALERT?format=stix"
expect_eq "$CODE" "400" "unknown format"
call POST "/v1/alerts/$ALERT" '{}'
expect_eq "$CODE" "405" "POST on an alert"
call POST /v1/known-networks '{"identity":"arn:aws:iam::111122223333:user/ci-deployer","cidr":"185.220.101.0/24"}'
expect_eq "$CODE" "200" "trust"
expect_contains "$WORK/body" '"network":"185.220.101.0/24"' "trusted network"
call POST /v1/known-networks '{"accountId":"111122223333","cidr":"185.220.101.1/24"}'
expect_eq "$CODE" "400" "bad CIDR"
# List, renew with an expiry, remove (issue 11 item 6).
call POST /v1/known-networks '{"accountId":"111122223333","cidr":"0.0.0.0/0"}'
expect_eq "$CODE" "400" "a whole-internet trust"
expect_contains "$WORK/body" 'min_trusted_prefix_v4' "the limit is named"
call POST /v1/known-networks '{"identity":"arn:aws:iam::111122223333:user/ci-deployer","cidr":"185.220.101.0/24","expiresAt":"2026-04-01T00:00:00Z"}'
expect_eq "$CODE" "200" "renewed with an expiry"
call GET "/v1/known-networks?identity=arn:aws:iam::111122223333:user/ci-deployer"
expect_eq "$CODE" "200" "list"
expect_contains "$WORK/body" '"expiresAt":"2026-04-01T00:00:00Z"' "the expiry is listed"
call DELETE "/v1/known-networks?identity=arn:aws:iam::111122223333:user/ci-deployer&cidr=185.220.101.0/24"
expect_eq "$CODE" "200" "remove"
call DELETE "/v1/known-networks?identity=arn:aws:iam::111122223333:user/ci-deployer&cidr=185.220.101.0/24"
expect_eq "$CODE" "404" "remove again"
call GET "/v1/known-networks?identity=arn:aws:iam::111122223333:user/ci-deployer"
expect_contains "$WORK/body" '"networks":\[\]' "nothing left"
call DELETE "/v1/identities/arn:aws:iam::111122223333:user%2Fnobody"
expect_eq "$CODE" "404" "forget unknown"

call GET /metrics "" ""
expect_eq "$CODE" "200" "metrics"
expect_contains "$WORK/body" 'trailsentry_events_total{verdict="accepted"} 23' "events metric"
expect_contains "$WORK/body" 'trailsentry_events_total{verdict="rejected"} 1' "rejected metric"
expect_contains "$WORK/body" 'trailsentry_alerts_total{rule="aws-discovery-cli-burst",kind="new"} 1' "alerts metric"
expect_contains "$WORK/body" 'trailsentry_request_duration_seconds_count{api="http",method="Evaluate"}' "latency histogram"
expect_contains "$WORK/body" 'trailsentry_rocksdb_live_sst_bytes' "rocksdb gauge"
expect_contains "$WORK/body" 'trailsentry_journal_unapplied_commits' "journal gauge"
# Tokens never reach the log.
if grep -q "$TOKEN_A" "$WORK/server.log"; then fail "a token was logged"; fi
# Every error has a JSON body; a wrong method is 405 with Allow (issue 11 item 3).
call GET /v1/evaluate
expect_eq "$CODE" "405" "GET /v1/evaluate"
expect_contains "$WORK/body" '"code":"INVALID_ARGUMENT"' "405 has a JSON body"
curl -s -D "$WORK/headers" -o /dev/null -H "Authorization: Bearer $TOKEN_A" "$URL/v1/evaluate"
grep -qi '^Allow: POST' "$WORK/headers" || fail "405 without Allow: POST"
call GET /v1/no-such-route
expect_eq "$CODE" "404" "unknown route"
expect_contains "$WORK/body" '"code":"NOT_FOUND"' "404 has a JSON body"
# Wrong input is refused, not guessed (issue 11 item 4): a single object where a
# list belongs, a misspelt or unknown query parameter, one given twice.
call POST /v1/evaluate '{"events":{"rawJson":"{}"}}'
expect_eq "$CODE" "400" "events as an object"
expect_contains "$WORK/body" 'events: expected a list, got an object' "the field is named"
call POST /v1/evaluate '{"events":[7]}'
expect_eq "$CODE" "400" "an event that is a number"
expect_contains "$WORK/body" 'events\[0\]: expected an object, got a number' "the element is named"
call POST /v1/evaluate '{"evnts":[]}'
expect_eq "$CODE" "400" "an unknown field"
expect_contains "$WORK/body" 'evnts' "the unknown field is named"
call POST /v1/evaluate '[]'
expect_eq "$CODE" "400" "a list for a body"
call GET "/v1/alerts?rule=aws-discovery-cli-burst"
expect_eq "$CODE" "400" "rule= (the proto field is rule_id)"
expect_contains "$WORK/body" 'query parameter \\"rule\\": not one of since, until, rule_id' "the parameter is named"
call GET "/v1/alerts?rule_id=a&rule_id=b"
expect_eq "$CODE" "400" "a parameter given twice"
call GET "/v1/identities/$ID?verbose=1"
expect_eq "$CODE" "400" "a parameter a lookup does not take"
# Any JSON body is read whatever its Content-Type, up to max_message_bytes (issue
# 11 item 2): curl -d @file sends application/x-www-form-urlencoded, which
# httplib parsed as form parameters and refused past 8 KiB with an empty 413.
{
  printf '{"events":['
  for i in $(seq 1 40); do
    [[ $i -gt 1 ]] && printf ','
    printf '{"rawJson":"{\\"eventName\\":\\"ListUsers\\",\\"eventSource\\":\\"iam.amazonaws.com\\",\\"eventTime\\":\\"2026-03-15T09:00:00Z\\",\\"eventID\\":\\"form-%d\\",\\"userAgent\\":\\"%0200d\\"}"}' "$i" 0
  done
  printf ']}'
} >"$WORK/form.json"
[[ $(stat -c %s "$WORK/form.json") -gt 8192 ]] || fail "the form body is not over 8 KiB"
CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN_A" \
  -d @"$WORK/form.json" "$URL/v1/evaluate")
expect_eq "$CODE" "200" "a JSON body sent as a form (curl -d)"
expect_contains "$WORK/body" '"accepted":40' "every event of the form-typed body"
CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN_A" \
  -H 'Content-Type: text/plain' --data-binary @"$WORK/form.json" "$URL/v1/evaluate")
expect_eq "$CODE" "200" "a JSON body sent as text/plain"
# Past the limit: 413 with a JSON error naming it.
head -c $((70 << 20)) /dev/zero | tr '\0' ' ' >"$WORK/huge.json"
CODE=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN_A" \
  -d @"$WORK/huge.json" "$URL/v1/evaluate")
expect_eq "$CODE" "413" "a body over max_message_bytes"
expect_contains "$WORK/body" '"code":"RESOURCE_EXHAUSTED"' "413 has a JSON body"
expect_contains "$WORK/body" 'max_message_bytes' "413 names the limit"
rm -f "$WORK/huge.json"
# A field from a request cannot forge a log line (issue 9 row 11).
call POST /v1/known-networks '{"identity":"x\n[2026-01-01 00:00:00.000] [error] FORGED: database corrupted, wiping","cidr":"10.0.0.0/8","force":true}'
expect_eq "$CODE" "200" "trust with a newline in the identity"
if grep -q "^\[2026-01-01 00:00:00.000\] \[error\] FORGED" "$WORK/server.log"; then
  fail "a request field forged a log line"
fi
expect_contains "$WORK/server.log" 'x\\n\[2026-01-01' "the identity logged escaped"
stop_server
echo "http e2e: ok"

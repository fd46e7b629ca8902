#!/bin/bash
# http_dialect.sh - the worker as a CGI through the plain HTTP dialect: connect, message, disconnect, healthz, errors.
. "$top_srcdir/tests/lib.sh"
setup_stack

TOKEN=$(token carol beta)

body_reset
cgi POST /api/connect "" HTTP_X_CONNECTION_ID=h1 HTTP_AUTHORIZATION="Bearer $TOKEN"
check_eq "POST /connect with a valid token is 200" "$RESP_STATUS" 200
check_eq "the connect answer names the connection" "$(jq -r '.message+" "+.connection_id' <<<"$RESP_BODY")" "Connected successfully h1"
check_eq "the row is stored" "$(conn_rows | jq -r 'select(.id=="h1") | .user_id')" carol

cgi POST "/api/connect?Authorization=$TOKEN" "" HTTP_X_CONNECTION_ID=h2
check_eq "the token may come as the Authorization query parameter" "$RESP_STATUS" 200

cgi POST /api/connect "" HTTP_AUTHORIZATION="Bearer $TOKEN"
check_eq "connect without X-Connection-Id is 400" "$RESP_STATUS" 400
check_eq "with a JSON error" "$(jq -r .code <<<"$RESP_BODY")" VALIDATION_ERROR

cgi POST /api/connect "" HTTP_X_CONNECTION_ID=h3 HTTP_AUTHORIZATION="Bearer garbage"
check_eq "connect with a malformed token is 401" "$RESP_STATUS" 401
check_eq "with the reason" "$RESP_BODY" '{"error":"Invalid token: malformed token","code":"UNAUTHORIZED"}'

printf '%s' '{"action":"echo","id":"q1","payload":"hello"}' >"$TMP/body"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1
check_eq "POST /message is 200" "$RESP_STATUS" 200
check "the answer is NDJSON" grep -qx 'Content-Type: application/x-ndjson' <<<"$RESP_HEADERS"
check_eq "the answer is the echo response with its request id" \
	"$(jq -r '.type+" "+.request_id+" "+.data.echo' <<<"$RESP_BODY")" "response q1 hello"
check_eq "the answer is one line" "$(printf '%s\n' "$RESP_BODY" | wc -l)" 1

printf '%s' '{"action":"health","id":"q2"}' >"$TMP/body"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1
check_eq "health reports healthy" "$(jq -r .data.status <<<"$RESP_BODY")" healthy

printf '%s' '[1,2]' >"$TMP/body"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1
check_eq "a JSON array is a VALIDATION_ERROR" "$(jq -r .error.code <<<"$RESP_BODY")" VALIDATION_ERROR

printf '%s' '{"action":"echo","id":"q3"}' >"$TMP/body"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=ghost
check_eq "a message for an unknown connection is 401" "$RESP_STATUS" 401
check_eq "with an UNAUTHORIZED error carrying the request id" \
	"$(jq -r '.error.code+" "+.request_id' <<<"$RESP_BODY")" "UNAUTHORIZED q3"

body_reset
cgi POST /api/disconnect "" HTTP_X_CONNECTION_ID=h1
check_eq "POST /disconnect is 200" "$RESP_STATUS" 200
check_eq "the row is gone" "$(conn_rows | jq -r 'select(.id=="h1") | .id')" ""
cgi POST /api/disconnect "" HTTP_X_CONNECTION_ID=h1
check_eq "disconnecting an unknown id still succeeds" "$RESP_STATUS" 200

cgi GET /healthz ""
check_eq "GET /healthz is 200" "$RESP_STATUS" 200
check_eq "and reports the database" "$(jq -r .checks.database <<<"$RESP_BODY")" ok
cgi GET /api/nothing ""
check_eq "an unknown path is 404" "$RESP_STATUS" 404
cgi GET /api/connect ""
check_eq "GET /connect is 405" "$RESP_STATUS" 405

head -c 5000 /dev/zero >"$TMP/body"
STREAMER_MAX_MESSAGE_BYTES=1000 STREAMER_MAX_BODY_BYTES=2000 cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h2
check_eq "a body over STREAMER_MAX_BODY_BYTES is 413" "$RESP_STATUS" 413

body_reset
cgi POST /api/connect "" HTTP_X_CONNECTION_ID=h4 HTTP_AUTHORIZATION="Bearer $TOKEN" STREAMER_GRIP_KEY=k
check_eq "with STREAMER_GRIP_KEY the plain dialect needs a Grip-Sig too" "$RESP_STATUS" 401

done_testing

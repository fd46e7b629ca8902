#!/bin/bash
# http_dialect.sh - the worker as a CGI through the plain HTTP dialect: connect (with its secret), message, disconnect, healthz, takeover refusals, errors.
. "$top_srcdir/tests/lib.sh"
setup_stack

TOKEN=$(token carol beta)
MALLORY=$(token mallory beta)

http_connect h1 "$TOKEN"
check_eq "POST /connect with a valid token is 200" "$RESP_STATUS" 200
check_eq "the connect answer names the connection" "$(jq -r '.message+" "+.connection_id' <<<"$RESP_BODY")" "Connected successfully h1"
check_jq "and carries a connection_secret of 256 bits in hex" '.connection_secret | test("^[0-9a-f]{64}$")' "$RESP_BODY"
check "the connect answer is not cached" grep -qx 'Cache-Control: no-store' <<<"$RESP_HEADERS"
check_eq "the row is stored" "$(conn_rows | jq -r 'select(.id=="h1") | .user_id')" carol
check_eq "the store keeps the secret's SHA-256, never the secret" \
	"$(db_sql "SELECT secret_hash FROM connections WHERE id='h1'")" \
	"$(printf '%s' "${SECRETS[h1]}" | sha256sum | cut -d' ' -f1)"
check "the secret is not in the log" bash -c '! grep -qF -- "$1" "$2"' _ "${SECRETS[h1]}" "$STREAMER_LOG_FILE"

body_reset
cgi POST "/api/connect?Authorization=$TOKEN" "" HTTP_X_CONNECTION_ID=h2
check_eq "the token may come as the Authorization query parameter" "$RESP_STATUS" 200
SECRETS[h2]=$(jq -r .connection_secret <<<"$RESP_BODY")

cgi POST /api/connect "" HTTP_AUTHORIZATION="Bearer $TOKEN"
check_eq "connect without X-Connection-Id is 400" "$RESP_STATUS" 400
check_eq "with a JSON error" "$(jq -r .code <<<"$RESP_BODY")" VALIDATION_ERROR

http_connect h3 garbage
check_eq "connect with a malformed token is 401" "$RESP_STATUS" 401
check_eq "with the reason" "$RESP_BODY" '{"error":"Invalid token: malformed token","code":"UNAUTHORIZED"}'

for id in . .. ...; do
	http_connect "$id" "$TOKEN"
	check_eq "the dot-only id '$id' is refused (400)" "$RESP_STATUS" 400
done

http_msg h1 '{"action":"echo","id":"q1","payload":"hello"}'
check_eq "POST /message with the secret is 200" "$RESP_STATUS" 200
check "the answer is NDJSON" grep -qx 'Content-Type: application/x-ndjson' <<<"$RESP_HEADERS"
check_eq "the answer is the echo response with its request id" \
	"$(jq -r '.type+" "+.request_id+" "+.data.echo' <<<"$RESP_BODY")" "response q1 hello"
check_eq "the answer is one line" "$(printf '%s\n' "$RESP_BODY" | wc -l)" 1

http_msg h1 '{"action":"health","id":"q2"}'
check_eq "health reports healthy" "$(jq -r .data.status <<<"$RESP_BODY")" healthy

http_msg h1 '[1,2]'
check_eq "a JSON array is a VALIDATION_ERROR" "$(jq -r .error.code <<<"$RESP_BODY")" VALIDATION_ERROR

# Issue 13: the id alone is not enough.
received() { db_sql "SELECT messages_received||' '||last_active_at FROM connections WHERE id='$1'"; }
before=$(received h1)
printf '%s' '{"action":"whoami","id":"w1"}' >"$TMP/body"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1
check_eq "a message without X-Connection-Secret is 401" "$RESP_STATUS" 401
check_eq "with an UNAUTHORIZED error" "$(jq -r .code <<<"$RESP_BODY")" UNAUTHORIZED
check "and names nobody" bash -c '! grep -q carol <<<"$1"' _ "$RESP_BODY"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1 HTTP_X_CONNECTION_SECRET="${SECRETS[h2]}"
check_eq "a message with another connection's secret is 401" "$RESP_STATUS" 401
check_eq "with an UNAUTHORIZED error carrying the request id" \
	"$(jq -r '.error.code+" "+.request_id' <<<"$RESP_BODY")" "UNAUTHORIZED w1"
check "and names nobody" bash -c '! grep -q carol <<<"$1"' _ "$RESP_BODY"
# The right secret with its last digit changed (to 0, or to 1 when it was 0).
wrong=${SECRETS[h1]%?}; [ "${SECRETS[h1]: -1}" = 0 ] && wrong+=1 || wrong+=0
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1 HTTP_X_CONNECTION_SECRET="$wrong"
check_eq "a message with a wrong secret is 401" "$RESP_STATUS" 401
check_eq "refused messages touch nothing (counter, last active)" "$(received h1)" "$before"

http_msg ghost '{"action":"echo","id":"q3"}'
check_eq "a message for an unknown connection is 401" "$RESP_STATUS" 401
check_eq "with an UNAUTHORIZED error carrying the request id" \
	"$(jq -r '.error.code+" "+.request_id' <<<"$RESP_BODY")" "UNAUTHORIZED q3"

# A live id belongs to its identity: 409, the row is not replaced.
http_connect h1 "$MALLORY"
check_eq "connect with a live id of another user is 409" "$RESP_STATUS" 409
check_eq "with a CONFLICT error" "$(jq -r .code <<<"$RESP_BODY")" CONFLICT
check_eq "the row still belongs to its user" "$(conn_rows | jq -r 'select(.id=="h1") | .user_id')" carol
http_connect h1 "$(token carol gamma)"
check_eq "connect with a live id of the same user in another tenant is 409" "$RESP_STATUS" 409
check_eq "the row keeps its tenant" "$(conn_rows | jq -r 'select(.id=="h1") | .tenant_id')" beta
http_msg h1 '{"action":"echo","id":"q4","payload":1}'
check_eq "the owner's secret still works" "$RESP_STATUS" 200

# An expired id is free again.
db_sql "UPDATE connections SET expires_at = 1 WHERE id='h2'"
old_h2=${SECRETS[h2]}
http_connect h2 "$MALLORY"
check_eq "an expired id may be taken by another user" "$RESP_STATUS" 200
check_eq "the row is the new user's" "$(conn_rows | jq -r 'select(.id=="h2") | .user_id')" mallory
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h2 HTTP_X_CONNECTION_SECRET="$old_h2"
check_eq "the old secret does not work on the new connection" "$RESP_STATUS" 401

# The same user reconnecting with its id gets a new secret; the old one stops working.
old_h1=${SECRETS[h1]}
http_connect h1 "$TOKEN"
check_eq "the same user may reconnect with its live id" "$RESP_STATUS" 200
check "with a new secret" test "${SECRETS[h1]}" != "$old_h1"
cgi POST /api/message application/json HTTP_X_CONNECTION_ID=h1 HTTP_X_CONNECTION_SECRET="$old_h1"
check_eq "the previous secret is refused" "$RESP_STATUS" 401

# A WebSocket (Pushpin) connection has no secret: the plain dialect can never use it.
body_reset
ev OPEN
WS_QUERY="Authorization=$TOKEN" ws_event w1
check_eq "a WebSocket connection opens" "$RESP_STATUS" 200
printf '%s' '{"action":"whoami","id":"w2"}' >"$TMP/body"
for s in "" none "$(printf '' | sha256sum | cut -d' ' -f1)"; do
	cgi POST /api/message application/json HTTP_X_CONNECTION_ID=w1 HTTP_X_CONNECTION_SECRET="$s"
	check_eq "the plain dialect cannot message a WebSocket connection (secret '${s:0:8}')" "$RESP_STATUS" 401
done
http_connect w1 "$TOKEN"
check_eq "nor connect over it, even as the same user (409)" "$RESP_STATUS" 409
body_reset
cgi POST /api/disconnect "" HTTP_X_CONNECTION_ID=w1 HTTP_X_CONNECTION_SECRET=""
check_eq "nor disconnect it" "$RESP_STATUS" 401
check_eq "the WebSocket row is still there" "$(conn_rows | jq -r 'select(.id=="w1") | .user_id')" carol

body_reset
cgi POST /api/disconnect "" HTTP_X_CONNECTION_ID=h1
check_eq "POST /disconnect without the secret is 401" "$RESP_STATUS" 401
cgi POST /api/disconnect "" HTTP_X_CONNECTION_ID=h1 HTTP_X_CONNECTION_SECRET="$old_h1"
check_eq "POST /disconnect with a wrong secret is 401" "$RESP_STATUS" 401
check_eq "and the row stays" "$(conn_rows | jq -r 'select(.id=="h1") | .id')" h1
http_disconnect h1
check_eq "POST /disconnect with the secret is 200" "$RESP_STATUS" 200
check_eq "the row is gone" "$(conn_rows | jq -r 'select(.id=="h1") | .id')" ""
http_disconnect h1
check_eq "disconnecting it again is 401 (unknown connection)" "$RESP_STATUS" 401

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

# Through Pushpin (a Grip-Sig) only GET /healthz and the WebSocket dialect are served.
# (Contract change in issue 13: the plain dialect used to need a Grip-Sig when
# STREAMER_GRIP_KEY was set; it is now served on the web server's own port only.)
export STREAMER_GRIP_KEY=k
http_connect h4 "$TOKEN"
check_eq "with STREAMER_GRIP_KEY the plain dialect works without a Grip-Sig" "$RESP_STATUS" 200
for uri in /api/connect /connect /ws/connect; do
	http_connect h5 "$TOKEN" REQUEST_URI="$uri" HTTP_GRIP_SIG="$(grip_sig k)"
	check_eq "POST $uri with a valid Grip-Sig (came through Pushpin) is 404" "$RESP_STATUS" 404
done
check_eq "and stored nothing" "$(conn_rows | jq -r 'select(.id=="h5") | .id')" ""
http_msg h4 '{"action":"whoami","id":"g1"}' HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "POST /message with the right secret but a Grip-Sig is 404" "$RESP_STATUS" 404
http_msg h4 '{"action":"whoami","id":"g1"}' HTTP_GRIP_SIG=forged
check_eq "so is one with a forged Grip-Sig" "$RESP_STATUS" 404
http_disconnect h4 HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "POST /disconnect with a Grip-Sig is 404" "$RESP_STATUS" 404
check_eq "the connection is still there" "$(conn_rows | jq -r 'select(.id=="h4") | .id')" h4
body_reset
cgi GET /metrics "" HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "GET /metrics with a Grip-Sig is 404" "$RESP_STATUS" 404
cgi GET /public/../metrics "" HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "so is a path trick ending in /metrics" "$RESP_STATUS" 404
cgi GET /healthz/../metrics "" HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "and /healthz/../metrics" "$RESP_STATUS" 404
cgi GET /healthz "" HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "GET /healthz with a Grip-Sig is 200" "$RESP_STATUS" 200
cgi POST /healthz "" HTTP_GRIP_SIG="$(grip_sig k)"
check_eq "POST /healthz with a Grip-Sig is 404" "$RESP_STATUS" 404
unset STREAMER_GRIP_KEY

done_testing

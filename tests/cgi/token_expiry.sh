#!/bin/bash
# token_expiry.sh - a connection ends with its token (close 4001), auth.refresh extends it, and a CLOSE on a busy database is retried.
. "$top_srcdir/tests/lib.sh"
setup_stack
export STREAMER_JWT_LEEWAY=0

# jwt_exp TOKEN: the exp claim of TOKEN (not verified).
jwt_exp() {
	local p
	p=$(cut -d. -f2 <<<"$1" | tr '_-' '/+')
	while [ $((${#p} % 4)) -ne 0 ]; do p="$p="; done
	base64 -d <<<"$p" | jq -r .exp
}

# wait_past SECONDS: returns once the clock has passed SECONDS since the epoch (at most 30 s).
wait_past() {
	local i=0
	while [ "$(date +%s)" -le "$1" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
}

# row_field ID COLUMN: one column of a connection row.
row_field() { db_sql "SELECT $2 FROM connections WHERE id = '$1'"; }

# refresh ID TOKEN REQUEST_ID: sends auth.refresh on connection ID (websocket-events).
refresh() {
	body_reset; ev TEXT "{\"action\":\"auth.refresh\",\"id\":\"$3\",\"payload\":{\"token\":\"$2\"}}"
	WS_QUERY= ws_event "$1"
}

# --- a connection ends when its token expires (websocket-events) -----------
SHORT=$(token alice acme --ttl 2)
EXP=$(jwt_exp "$SHORT")
body_reset; ev OPEN; WS_QUERY="Authorization=$SHORT" ws_event x1
check_eq "OPEN with a short-lived token is accepted" "$RESP_STATUS" 200
check_eq "the row keeps the token's expiry (exp + leeway, ms)" "$(row_field x1 token_expires_at)" "$((EXP * 1000))"
check "the row's expiry is capped by the token's, not the 24 h sliding TTL" \
	test "$(row_field x1 expires_at)" -le "$((EXP * 1000))"

body_reset
ws_event x1
check_eq "a keep-alive is answered" "$RESP_STATUS" 200
check "a keep-alive does not extend the expiry past the token's" \
	test "$(row_field x1 expires_at)" -le "$((EXP * 1000))"
body_reset; ev TEXT '{"action":"echo","id":"before"}'
ws_event x1
check_eq "before exp, messages are answered" "$(m_msg 1 | jq -r .type)" response
check "a message does not extend the expiry past the token's" \
	test "$(row_field x1 expires_at)" -le "$((EXP * 1000))"

wait_past "$EXP"
body_reset; ev TEXT '{"action":"echo","id":"after"}'
ws_event x1
m=$(m_msg 1)
check_eq "after exp + leeway, a message is refused with UNAUTHORIZED" "$(jq -r .error.code <<<"$m")" UNAUTHORIZED
check_eq "the refusal carries the request id" "$(jq -r .request_id <<<"$m")" after
check_contains "the refusal names token expiry" "$(jq -r .error.message <<<"$m")" "Token expired"
check_eq "the refusal's details say token_expired" "$(jq -r .error.details.reason <<<"$m")" token_expired
check "the connection is closed with code 4001 and reason 'token expired'" \
	grep -aq $'^CLOSE f\r\n\x0f\xa1token expired' "$TMP/resp"
check "nothing follows the CLOSE" test "$(tr -d '\r' <<<"$RESP_BODY" | tail -n 1)" = $'\x0f\xa1token expired'

# An idle connection is closed at its first keep-alive after exp.
SHORT=$(token alice acme --ttl 2)
EXP=$(jwt_exp "$SHORT")
body_reset; ev OPEN; WS_QUERY="Authorization=$SHORT" ws_event x2
wait_past "$EXP"
body_reset
ws_event x2
check_eq "a keep-alive after exp answers 200" "$RESP_STATUS" 200
check "and closes the idle connection with 4001 'token expired'" \
	grep -aq $'^CLOSE f\r\n\x0f\xa1token expired' "$TMP/resp"
body_reset
ws_event nosuch
check_eq "a keep-alive for an unknown connection is answered with nothing" "$RESP_BODY" ""

# An unknown connection still gets the policy close (1008), not 4001.
body_reset; ev TEXT '{"action":"echo","id":"u"}'
ws_event nosuch
check "an unknown connection is still closed with 1008 'unauthenticated'" \
	grep -aq $'^CLOSE 11\r\n\x03\xf0unauthenticated' "$TMP/resp"

# --- the plain HTTP dialect answers 401 -----------------------------------
SHORT=$(token alice acme --ttl 2)
EXP=$(jwt_exp "$SHORT")
http_connect h1 "$SHORT"
check_eq "plain connect with a short-lived token is 200" "$RESP_STATUS" 200
wait_past "$EXP"
http_msg h1 '{"action":"echo","id":"late"}'
check_eq "a plain message after the token expired is 401" "$RESP_STATUS" 401
check_eq "with UNAUTHORIZED naming token expiry" \
	"$(head -n 1 <<<"$RESP_BODY" | jq -r '.error.code+" "+.error.details.reason')" "UNAUTHORIZED token_expired"

# --- auth.refresh ---------------------------------------------------------
TOKEN=$(token alice acme --permissions read --ttl 2)
EXP=$(jwt_exp "$TOKEN")
body_reset; ev OPEN; WS_QUERY="Authorization=$TOKEN" ws_event r1
check_eq "OPEN r1" "$RESP_STATUS" 200

NEW=$(token alice acme --permissions read,publish --ttl 3600)
NEW_EXP=$(jwt_exp "$NEW")
refresh r1 "$NEW" f1
m=$(m_msg 1)
check_eq "auth.refresh with a new token of the same identity is a response" \
	"$(jq -r '.type+" "+.request_id' <<<"$m")" "response f1"
check_eq "it answers the new expiry as RFC 3339" "$(jq -r .data.expires_at <<<"$m")" \
	"$(date -u -d "@$NEW_EXP" +%Y-%m-%dT%H:%M:%S.000Z)"
check_eq "the row takes the new token's expiry" "$(row_field r1 token_expires_at)" "$((NEW_EXP * 1000))"
check_eq "the row takes the new token's permissions" "$(row_field r1 permissions)" '["read","publish"]'
check "the connection's expiry moves past the old token's" \
	test "$(row_field r1 expires_at)" -gt "$((EXP * 1000))"
wait_past "$EXP"
body_reset; ev TEXT '{"action":"whoami","id":"w"}'
ws_event r1
m=$(m_msg 1)
check_eq "after the old token's exp the refreshed connection still works" "$(jq -r .type <<<"$m")" response
check_eq "with the new permissions" "$(jq -c .data.permissions <<<"$m")" '["read","publish"]'

before=$(db_sql "SELECT permissions, token_expires_at, expires_at FROM connections WHERE id = 'r1'")
refresh r1 "$(token bob acme --ttl 7200)" f2
check_eq "a token of another user is FORBIDDEN" "$(m_msg 1 | jq -r .error.code)" FORBIDDEN
refresh r1 "$(token alice other --ttl 7200)" f3
check_eq "a token of another tenant is FORBIDDEN" "$(m_msg 1 | jq -r .error.code)" FORBIDDEN
refresh r1 "$(token alice acme --ttl -10)" f4
m=$(m_msg 1)
check_eq "an expired token is UNAUTHORIZED" "$(jq -r .error.code <<<"$m")" UNAUTHORIZED
check_contains "naming expiry" "$(jq -r .error.message <<<"$m")" "expired"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/other.pem" 2>/dev/null
FORGED=$("$STREAMER_CLI" token --key "$TMP/other.pem" --sub alice --tenant acme --ttl 7200)
refresh r1 "$FORGED" f5
check_eq "a token signed with another key is UNAUTHORIZED" "$(m_msg 1 | jq -r .error.code)" UNAUTHORIZED
refresh r1 "not.a.jwt" f6
check_eq "a malformed token is UNAUTHORIZED" "$(m_msg 1 | jq -r .error.code)" UNAUTHORIZED
body_reset; ev TEXT '{"action":"auth.refresh","id":"f7","payload":{}}'
ws_event r1
check_eq "a refresh without a token is a VALIDATION_ERROR" "$(m_msg 1 | jq -r .error.code)" VALIDATION_ERROR
check_eq "refused refreshes leave the connection unchanged" \
	"$(db_sql "SELECT permissions, token_expires_at, expires_at FROM connections WHERE id = 'r1'")" "$before"
check "no token ever reaches the log" sh -c '! grep -qF -e "$1" -e "$2" -e "$3" "$4"' sh \
	"$NEW" "$FORGED" "$TOKEN" "$STREAMER_LOG_FILE"
check "refreshes are logged without the token" grep -q '"event":"refresh"' "$STREAMER_LOG_FILE"

# --- a CLOSE that meets a busy database is retried -------------------------
body_reset; ev OPEN; WS_QUERY="Authorization=$(token carol acme)" ws_event b1
check_eq "OPEN b1" "$RESP_STATUS" 200
# Another process holds the write lock (on PostgreSQL: b1's row) until told to let go.
check "another process holds the write lock" db_hold '' "SELECT 1 FROM connections WHERE id = 'b1' FOR UPDATE;"
body_reset; printf 'CLOSE 2\r\n\003\350\r\n' >"$TMP/body"
( STREAMER_DB_BUSY_TIMEOUT=1000 ws_event b1; echo "$RESP_STATUS" >"$TMP/close_status" ) &
closer=$!
# Let go only once the worker has failed once and said it will try again.
i=0
while ! grep -q disconnect_retry "$STREAMER_LOG_FILE" && kill -0 $closer 2>/dev/null && [ $i -lt 600 ]; do
	sleep 0.05; i=$((i + 1))
done
check "the busy CLOSE is logged as retried" grep -q disconnect_retry "$STREAMER_LOG_FILE"
db_release
wait $closer
check_eq "the retried CLOSE answers 200" "$(cat "$TMP/close_status")" 200
check_eq "and removed the connection row once the lock was free" "$(row_field b1 id)" ""
check "no disconnect_failed was logged" sh -c '! grep -q disconnect_failed "$1"' sh "$STREAMER_LOG_FILE"

done_testing

#!/bin/bash
# ws_dialect.sh - the worker as a CGI through Pushpin's WebSocket-over-HTTP dialect: open, echo, close, refusals, malformed bodies.
. "$top_srcdir/tests/lib.sh"
setup_stack
# An hour between touches: the row checks below cannot race a due touch, however slow the machine.
export STREAMER_TOUCH_INTERVAL=3600

TOKEN=$(token alice acme --permissions read,write)
WS_QUERY="Authorization=$TOKEN"

# --- OPEN accepted --------------------------------------------------------
body_reset; ev OPEN
ws_event c1 HTTP_USER_AGENT="test-agent/1.0"
check_eq "OPEN with a valid token answers 200" "$RESP_STATUS" 200
check "content type is exactly application/websocket-events" \
	grep -qx 'Content-Type: application/websocket-events' <<<"$RESP_HEADERS"
check "OPEN enables GRIP" grep -qx 'Sec-WebSocket-Extensions: grip' <<<"$RESP_HEADERS"
check "OPEN sets a keep-alive interval" grep -qx 'Keep-Alive-Interval: 60' <<<"$RESP_HEADERS"
check_eq "the first event answered is OPEN" "$(head -c 6 <<<"$RESP_BODY" | tr -d '\r\n')" "OPEN"
check_contains "subscribes the connection to its own channel" "$RESP_BODY" 'c:{"type":"subscribe","channel":"conn:c1"}'
check_contains "subscribes the connection to its tenant's channel" "$RESP_BODY" 'c:{"type":"subscribe","channel":"tenant:acme"}'
row=$(conn_rows | jq -c 'select(.id=="c1")')
check_eq "the connection row holds user and tenant" "$(jq -r '.user_id+"/"+.tenant_id' <<<"$row")" "alice/acme"
check_eq "the connection row holds the permissions" "$(jq -c .permissions <<<"$row")" '["read","write"]'
check_eq "the connection row holds the user agent" "$(jq -r .user_agent <<<"$row")" "test-agent/1.0"
check_eq "the connection row holds the source address" "$(jq -r .source_addr <<<"$row")" "127.0.0.1"

# --- messages -------------------------------------------------------------
body_reset; ev TEXT '{"action":"echo","id":"r1","payload":{"x":1}}'
ws_event c1
m=$(m_msg 1)
check_eq "echo answers 200" "$RESP_STATUS" 200
check_eq "echo reply is a response" "$(jq -r .type <<<"$m")" response
check_eq "echo reply carries the request id" "$(jq -r .request_id <<<"$m")" r1
check_eq "echo reply has success true" "$(jq -r .success <<<"$m")" true
check_eq "echo reply echoes the payload" "$(jq -c .data.echo <<<"$m")" '{"x":1}'
check "echo reply has an RFC 3339 UTC timestamp with ms" \
	grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' <<<"$(jq -r .data.received_at <<<"$m")"
check_eq "type is the first key of the reply" "${m:0:8}" '{"type":'

body_reset
for i in 1 2 3 4 5; do ev TEXT "{\"action\":\"echo\",\"id\":\"b$i\",\"payload\":$i}"; done
ev PING 'hi'
ws_event c1
ids=$(for i in 1 2 3 4 5; do m_msg $i | jq -r .request_id; done | tr '\n' ' ')
check_eq "a batch of 5 messages is answered in order" "$ids" "b1 b2 b3 b4 b5 "
check_contains "PING is answered with PONG carrying the same data" "$(tr -d '\r' <<<"$RESP_BODY")" $'PONG 2\nhi'

body_reset; ev TEXT '{"action":"echo"}'
ws_event c1
check "a message without id gets a generated request id" grep -Eq '^req_[0-9a-f]{24}$' <<<"$(m_msg 1 | jq -r .request_id)"

body_reset; ev TEXT 'not json'
ws_event c1
m=$(m_msg 1)
check_eq "invalid JSON is a VALIDATION_ERROR" "$(jq -r .error.code <<<"$m")" VALIDATION_ERROR
check_eq "invalid JSON's error has request_id null" "$(jq -c .request_id <<<"$m")" null

body_reset; ev TEXT '{"action":"nope","id":"r2"}'
ws_event c1
m=$(m_msg 1)
check_eq "an unknown action is INVALID_ACTION" "$(jq -r .error.code <<<"$m")" INVALID_ACTION
check_eq "INVALID_ACTION carries the request id" "$(jq -r .request_id <<<"$m")" r2

body_reset; ev TEXT '{"action":"bad action!","id":"r3"}'
ws_event c1
check_eq "a malformed action name is a VALIDATION_ERROR with its id" \
	"$(m_msg 1 | jq -r '.error.code+" "+.request_id')" "VALIDATION_ERROR r3"

body_reset; ev TEXT "{\"action\":\"echo\",\"id\":\"$(printf 'x%.0s' $(seq 129))\"}"
ws_event c1
check_eq "an id over 128 characters is refused" "$(m_msg 1 | jq -r .error.code)" VALIDATION_ERROR

big=$(head -c 140000 /dev/zero | tr '\0' 'a')
body_reset; ev TEXT "{\"action\":\"echo\",\"id\":\"big\",\"payload\":\"$big\"}"
ws_event c1
check_eq "a message over STREAMER_MAX_MESSAGE_BYTES is PAYLOAD_TOO_LARGE" "$(m_msg 1 | jq -r .error.code)" PAYLOAD_TOO_LARGE

body_reset; printf 'BINARY 3\r\n\001\002\003\r\n' >"$TMP/body"
ws_event c1
check_eq "a binary message is refused with a VALIDATION_ERROR" "$(m_msg 1 | jq -r .error.code)" VALIDATION_ERROR

body_reset; ev TEXT '{"action":"whoami","id":"w"}'
ws_event c1
check_eq "whoami reports the token's identity" \
	"$(m_msg 1 | jq -c '[.data.user_id,.data.tenant_id,.data.permissions]')" '["alice","acme",["read","write"]]'

row=$(conn_rows | jq -c 'select(.id=="c1")')
# Within the touch interval (an hour here) messages write nothing: their counts wait
# in the host's activity table until a touch or the close (tests/cgi/touch.sh).
check_jq "messages within the touch interval leave the row as it was" \
	'.messages_received == 0 and .messages_sent == 0 and .last_active_at == .connected_at' "$row"
check_eq "messages_sent equals messages_received" "$(jq .messages_sent <<<"$row")" "$(jq .messages_received <<<"$row")"

body_reset
ws_event c1
check_eq "an empty body (keep-alive) answers 200" "$RESP_STATUS" 200
check_eq "an empty body is answered with no events" "$RESP_BODY" ""

# --- expired and unknown connections --------------------------------------
body_reset; ev TEXT '{"action":"echo","id":"u1"}'
ws_event nosuch
m=$(m_msg 1)
check_eq "a message on an unknown connection is UNAUTHORIZED" "$(jq -r .error.code <<<"$m")" UNAUTHORIZED
check_eq "that error carries the request id" "$(jq -r .request_id <<<"$m")" u1
check "and the connection is closed (1008)" grep -q "^CLOSE" <<<"$RESP_BODY"

body_reset; ev OPEN; ws_event c2
db_sql "UPDATE connections SET expires_at = 1000 WHERE id = 'c2'"
body_reset; ev TEXT '{"action":"echo","id":"e1"}'
ws_event c2
check_eq "a message on an expired connection is UNAUTHORIZED" "$(m_msg 1 | jq -r .error.code)" UNAUTHORIZED
check "and closes the client" grep -q "^CLOSE" <<<"$RESP_BODY"

# --- the 1,000,000-byte answer limit of Pushpin ------------------------------
# 20 echoes of 100,000 bytes: 2 MB of answers. Those that fit are answered,
# the rest get a small RATE_LIMITED each (not handled: resend), in order.
big=$(head -c 100000 /dev/zero | tr '\0' 'b')
body_reset; ev OPEN; ws_event bt1
body_reset
for i in $(seq 20); do ev TEXT "{\"action\":\"echo\",\"id\":\"x$i\",\"payload\":\"$big\"}"; done
ws_event bt1
size=$(sed '1,/^\r$/d' "$TMP/resp" | wc -c)
check "a batch whose answers add up to 2 MB is answered in under 1,000,000 bytes ($size)" test "$size" -lt 1000000
check_eq "every request id of the batch gets one answer, in order" \
	"$(for i in $(seq 20); do m_msg "$i" | jq -r .request_id; done | tr '\n' ' ')" "$(seq -f 'x%g' 20 | tr '\n' ' ')"
answered=$(for i in $(seq 20); do m_msg "$i" | jq -r '.type'; done | grep -c '^response$')
check "the first ones are echoed ($answered)" test "$answered" -ge 5 -a "$answered" -lt 20
check_eq "the rest are RATE_LIMITED (batch) with a retry_after_ms" \
	"$(for i in $(seq $((answered + 1)) 20); do m_msg "$i" | jq -r '[.error.code,.error.details.limit,(.error.details.retry_after_ms > 0)] | join(" ")'; done | sort -u)" \
	"RATE_LIMITED batch true"
check "a refused message was not handled: its id is in no worker log line" \
	bash -c "! grep '\"event\":\"message\"' '$STREAMER_LOG_FILE' | grep -q '\"request_id\":\"x20\"'"
check "the connection stays open (no CLOSE)" bash -c "! grep -qa '^CLOSE' '$TMP/resp'"
body_reset; ev TEXT '{"action":"echo","id":"after","payload":1}'
ws_event bt1
check_eq "and the next batch is served" "$(m_msg 1 | jq -r .request_id)" after

# When not even the small errors fit, the connection is closed (1009), never answered over the limit.
big=$(head -c 120000 /dev/zero | tr '\0' 'c')
body_reset; ev OPEN; ws_event bt2
body_reset
for i in $(seq 8); do ev TEXT "{\"action\":\"echo\",\"id\":\"y$i\",\"payload\":\"$big\"}"; done
for i in $(seq 2000); do ev TEXT "{\"action\":\"echo\",\"id\":\"t$i\"}"; done
ws_event bt2
size=$(sed '1,/^\r$/d' "$TMP/resp" | wc -c)
check_eq "a batch with too many answers is still a 200" "$RESP_STATUS" 200
check "its answer stays under 1,000,000 bytes ($size)" test "$size" -lt 1000000
close_content=$(sed '1,/^\r$/d' "$TMP/resp" | grep -a -A1 '^CLOSE' | tail -1 | tr -d '\r')
check_eq "and ends with CLOSE 1009" "$(head -c 2 <<<"$close_content" | od -An -tx1 | tr -d ' \n')" 03f1
check_eq "whose reason says why" "$(cut -c3- <<<"$close_content")" "batch answer too large; send fewer messages at once"
check_eq "every message answered before the close has its own id, in order" \
	"$(tr -d '\r' <<<"$RESP_BODY" | grep '^m:' | cut -c3- | jq -r .request_id | head -10 | tr '\n' ' ')" \
	"y1 y2 y3 y4 y5 y6 y7 y8 t1 t2 "
check_eq "the closed connection's row is removed" "$(conn_rows | jq -r 'select(.id=="bt2") | .id')" ""
check "the close is logged" grep -q '"event":"batch_too_large"' "$STREAMER_LOG_FILE"

# --- close and disconnect ---------------------------------------------------
body_reset; printf 'CLOSE 2\r\n\003\350\r\n' >"$TMP/body"
ws_event c1
check_eq "CLOSE answers 200" "$RESP_STATUS" 200
check_eq "CLOSE is echoed with its code" "$(sed '1,/^\r$/d' "$TMP/resp" | od -An -tx1 | tr -d ' \n')" 434c4f534520320d0a03e80d0a
check_eq "CLOSE removes the connection row" "$(conn_rows | jq -r 'select(.id=="c1") | .id')" ""
line=$(grep '"event":"disconnect"' "$STREAMER_LOG_FILE" | grep '"connection_id":"c1"' | tail -1)
check_eq "the disconnect is logged with its close code" "$(jq .close_code <<<"$line")" 1000
check_jq "the disconnect log line has duration and counters" \
	'.connected_seconds >= 0 and .messages_received >= 12 and .messages_sent >= 12' "$line"
check_jq "whose counters are those of every message, taken from the activity table" \
	".messages_received == $(grep '"event":"message"' "$STREAMER_LOG_FILE" | grep -c '"connection_id":"c1"')" "$line"

body_reset; ev OPEN; ws_event c3
body_reset; ev DISCONNECT; ws_event c3
check_eq "DISCONNECT answers 200" "$RESP_STATUS" 200
check_eq "DISCONNECT removes the connection row" "$(conn_rows | jq -r 'select(.id=="c3") | .id')" ""
body_reset; ev DISCONNECT; ws_event never-seen
check_eq "DISCONNECT of an unknown connection still succeeds" "$RESP_STATUS" 200

# --- refused opens ------------------------------------------------------------
body_reset; ev OPEN
WS_QUERY= ws_event r1
check_eq "OPEN without a token is 401" "$RESP_STATUS" 401
check_eq "with the JSON reason" "$RESP_BODY" '{"error":"Missing authorization token","code":"UNAUTHORIZED"}'

WS_QUERY="Authorization=$(token bob acme --ttl -120)" ws_event r2
check_eq "OPEN with an expired token is 401" "$(jq -r '.code+" "+.error' <<<"$RESP_BODY")" "UNAUTHORIZED Invalid token: token is expired"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/other.pem" 2>/dev/null
forged=$("$STREAMER_CLI" token --key "$TMP/other.pem" --sub bob --tenant acme)
WS_QUERY="Authorization=$forged" ws_event r3
check_eq "OPEN with a token signed by another key is 401" "$RESP_STATUS" 401

WS_QUERY= ws_event r4 HTTP_AUTHORIZATION="Bearer $TOKEN"
check_eq "the Authorization: Bearer header is accepted too" "$RESP_STATUS" 200

STREAMER_ALLOWED_TENANTS="other, more" WS_QUERY="Authorization=$TOKEN" ws_event r5
check_eq "OPEN for a tenant not allowed is 403" "$RESP_STATUS" 403
check_eq "with FORBIDDEN" "$RESP_BODY" '{"error":"Tenant not allowed","code":"FORBIDDEN"}'
check_eq "refused opens store nothing" "$(conn_rows | jq -r 'select(.id|test("^r[1235]$")) | .id')" ""
check "the token never appears in the log" bash -c "! grep -qF '$TOKEN' '$STREAMER_LOG_FILE'"

# --- malformed requests ---------------------------------------------------------
for bad in 'TEXT zz\r\nabc\r\n' 'TEXT 5\r\nab\r\n' 'OPEN\r\nJUNK\r\n' 'TEXT 3\r\nabcXY' 'OPEN'; do
	printf "$bad" >"$TMP/body"
	ws_event m1
	check_eq "malformed body '$bad' is 400" "$RESP_STATUS" 400
done
check_eq "malformed bodies store nothing" "$(conn_rows | jq -r 'select(.id=="m1") | .id')" ""
body_reset; ev OPEN
ws_event 'bad id!'
check_eq "an invalid Connection-Id is 400" "$RESP_STATUS" 400
cgi POST /ws application/websocket-events
check_eq "a missing Connection-Id is 400" "$RESP_STATUS" 400

# --- Grip-Sig ---------------------------------------------------------------------
export STREAMER_GRIP_KEY=sekrit
body_reset; ev OPEN
ws_event g1
check_eq "with STREAMER_GRIP_KEY, a request without Grip-Sig is 401" "$RESP_STATUS" 401
ws_event g1 HTTP_GRIP_SIG="$(grip_sig wrong)"
check_eq "a Grip-Sig signed with another key is 401" "$RESP_STATUS" 401
ws_event g1 HTTP_GRIP_SIG="$(grip_sig sekrit -10)"
check_eq "an expired Grip-Sig is 401" "$RESP_STATUS" 401
ws_event g1 HTTP_GRIP_SIG="$(grip_sig sekrit 3600 someone)"
check_eq "a Grip-Sig from another issuer is 401" "$RESP_STATUS" 401
ws_event g1 HTTP_GRIP_SIG="$(grip_sig sekrit)"
check_eq "a valid Grip-Sig is accepted" "$RESP_STATUS" 200
cgi GET /healthz ""
check_eq "GET /healthz needs no Grip-Sig" "$RESP_STATUS" 200

# A path that holds a token (PATH_INFO is decoded: %3F is a '?') is logged without it.
body_reset; ev OPEN
cgi POST "" application/websocket-events REQUEST_URI= SCRIPT_NAME=/ws \
	PATH_INFO="/x?Authorization=$TOKEN&a=1" HTTP_CONNECTION_ID=leak1
check_eq "an unsigned event is still refused" "$RESP_STATUS" 401
line=$(grep '"event":"grip_rejected"' "$STREAMER_LOG_FILE" | tail -1)
check_jq "grip_rejected logs the path with the token masked" '.path == "/ws/x?Authorization=***&a=1"' "$line"
check "and no log line holds the token" bash -c '! grep -qF "$1" "$2"' _ "$TOKEN" "$STREAMER_LOG_FILE"
unset STREAMER_GRIP_KEY

# --- a live id is not taken over (issue 13) ---------------------------------------
body_reset; ev OPEN
ws_event t1
check_eq "OPEN t1 as alice" "$RESP_STATUS" 200
WS_QUERY="Authorization=$(token mallory acme --permissions admin)" ws_event t1
check_eq "OPEN of the live id t1 by another user is answered 409" "$RESP_STATUS" 409
check_eq "with a CONFLICT error as the handshake answer" "$(jq -r .code <<<"$RESP_BODY")" CONFLICT
WS_QUERY="Authorization=$(token alice globex)" ws_event t1
check_eq "so is one by the same user of another tenant" "$RESP_STATUS" 409
row=$(conn_rows | jq -c 'select(.id=="t1")')
check_eq "the row keeps its identity and permissions" "$(jq -c '[.user_id,.tenant_id,.permissions]' <<<"$row")" '["alice","acme",["read","write"]]'
ws_event t1
check_eq "the same identity may OPEN the id again" "$RESP_STATUS" 200
db_sql "UPDATE connections SET expires_at = 1 WHERE id='t1'"
WS_QUERY="Authorization=$(token mallory acme)" ws_event t1
check_eq "an expired id may be opened by another user" "$RESP_STATUS" 200
check_eq "then the row is the new user's" "$(conn_rows | jq -r 'select(.id=="t1") | .user_id')" mallory

# --- X-Forwarded-For ----------------------------------------------------------------
body_reset; ev OPEN
ws_event x1 HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.9"
check_eq "the last X-Forwarded-For address is recorded" "$(conn_rows | jq -r 'select(.id=="x1") | .source_addr')" 203.0.113.9
ws_event x2 HTTP_X_FORWARDED_FOR="1.2.3.4, <script>"
check_eq "a last entry that is no IP address is ignored for the peer's" "$(conn_rows | jq -r 'select(.id=="x2") | .source_addr')" 127.0.0.1
ws_event x3 HTTP_X_FORWARDED_FOR="2001:db8::7"
check_eq "an IPv6 address is recorded" "$(conn_rows | jq -r 'select(.id=="x3") | .source_addr')" 2001:db8::7

# --- dot-only ids -------------------------------------------------------------------
for id in . ..; do
	ws_event "$id"
	check_eq "the Connection-Id '$id' is refused (400)" "$RESP_STATUS" 400
done
# Invalid UTF-8 in headers: the log line keeps every field, bad bytes become U+FFFD.
body_reset; ev OPEN
WS_QUERY="Authorization=$TOKEN" ws_event u1 HTTP_USER_AGENT=$'agent\xff\xfe/1 caf\xc3\xa9' \
	REMOTE_ADDR=$'127.0.0.1\xc0'
check_eq "OPEN with an invalid UTF-8 user agent answers 200" "$RESP_STATUS" 200
line=$(grep '"event":"connect"' "$STREAMER_LOG_FILE" | grep '"connection_id":"u1"')
check_jq "its connect line is complete" \
	'.user == "alice" and .tenant == "acme" and .outcome == "ok" and (.duration_us | type) == "number"' "$line"
check_jq "with the user agent repaired" '.user_agent == "agent\ufffd\ufffd/1 caf\u00e9"' "$line"
check_eq "the stored user agent is repaired too" "$(conn_rows | jq -r 'select(.id=="u1") | .user_agent')" \
	"$(printf 'agent\xef\xbf\xbd\xef\xbf\xbd/1 caf\xc3\xa9')"

# A push that fails answers PROCESSING_FAILED without the callback URL, its host or its
# credentials; the log has the reason with the credentials masked.
cb="http://pushuser:pushpass-SECRET@127.0.0.1:9/publish/?token=tok-SECRET"
PUB_TOKEN=$(token pat acme --permissions publish)
body_reset; ev OPEN
WS_QUERY="Authorization=$PUB_TOKEN" ws_event u2
body_reset; ev TEXT '{"action":"publish","id":"p1","payload":{"topic":"news","data":1}}'
WS_QUERY="Authorization=$PUB_TOKEN" ws_event u2 STREAMER_CALLBACK_URL="$cb" STREAMER_CALLBACK_CONNECT_TIMEOUT=200 \
	STREAMER_CALLBACK_TIMEOUT=300
m=$(m_msg 1)
check_eq "a failed publish answers PROCESSING_FAILED" "$(jq -r .error.code <<<"$m")" PROCESSING_FAILED
check_eq "with a generic message" "$(jq -r .error.message <<<"$m")" "Could not deliver the message"
check "naming no host, URL or credential" bash -c '! grep -Eq "127\.0\.0\.1|http|SECRET|pushuser" <<<"$1"' _ "$RESP_BODY"
line=$(grep '"event":"push_failed"' "$STREAMER_LOG_FILE" | tail -1)
check_contains "the log has the reason" "$line" "http://***@127.0.0.1:9/publish/?token=***"
check "no log line holds the callback's credentials" bash -c '! grep -q SECRET "$1"' _ "$STREAMER_LOG_FILE"

done_testing

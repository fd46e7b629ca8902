#!/bin/bash
# api.sh - the server HTTP API (/api/v1/…) as a CGI: keys and admin tokens, every route and every rejection, the batch, the log.
. "$top_srcdir/tests/lib.sh"
setup_stack

KEY1=k1-0123456789abcdef-SECRET
KEY2=k2-fedcba9876543210-SECRET
export STREAMER_API_KEY="$KEY1, $KEY2"
# Pushes go nowhere reachable: the push routes answer 503 after numbering the message.
DEAD_CB="http://cbuser:cbpass-SECRET@127.0.0.1:9/publish/"
DEAD=(STREAMER_CALLBACK_URL="$DEAD_CB" STREAMER_CALLBACK_CONNECT_TIMEOUT=200 STREAMER_CALLBACK_TIMEOUT=300)

# api METHOD PATH [JSON] [VAR=VALUE...]: one API call with the first key (RESP_* as cgi sets them).
api() {
	local method=$1 path=$2 json=${3:-}
	shift $(($# < 3 ? $# : 3))
	printf '%s' "$json" >"$TMP/body"
	cgi "$method" "$path" application/json HTTP_AUTHORIZATION="Bearer $KEY1" "$@"
}
err() { jq -r '.error.code + " " + (.error.field // "-")' <<<"$RESP_BODY"; }

check_eq "streamer-fcgi --api-routes lists the routes" "$("$STREAMER_FCGI" --api-routes | tr '\n' ' ')" \
	"POST /api/v1/send POST /api/v1/broadcast POST /api/v1/close GET /api/v1/connections GET /api/v1/presence GET /api/v1/history POST /api/v1/batch "

# ---- authentication -----------------------------------------------------------------
printf '{}' >"$TMP/body"
cgi GET "/api/v1/connections?tenant=acme" ""
check_eq "no Authorization: 401" "$RESP_STATUS" 401
check_eq "with the error in the client protocol's shape" "$(err)" "UNAUTHORIZED -"
check_jq "and a message" '.error.message | test("Bearer")' "$RESP_BODY"
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer wrong-key-0123456789"
check_eq "a wrong key: 401" "$RESP_STATUS" 401
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer ${KEY1}x"
check_eq "a key with one more character: 401" "$RESP_STATUS" 401
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer ${KEY1%?}"
check_eq "a key one character short: 401" "$RESP_STATUS" 401
cgi GET "/api/v1/connections?tenant=acme&Authorization=$KEY1" ""
check_eq "a key in the query string is not accepted: 401" "$RESP_STATUS" 401
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Basic $KEY1"
check_eq "another scheme: 401" "$RESP_STATUS" 401
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $KEY2"
check_eq "the second key (rotation) opens the API" "$RESP_STATUS" 200
check_jq "the log names the key by its position" 'select(.event=="api_call") | .auth == "key#2"' \
	"$(grep '"api_call"' "$STREAMER_LOG_FILE" | tail -1)"
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $KEY1" STREAMER_API_KEY=
check_eq "with STREAMER_API_KEY empty no key opens it" "$RESP_STATUS" 401

ADMIN=$(token ops acme --permissions admin)
ADMIN_OTHER=$(token ops globex --permissions admin)
PLAIN=$(token alice acme --permissions publish)
EXPIRED=$(token ops acme --permissions admin --ttl -600)
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $ADMIN"
check_eq "a JWT with the admin permission opens its tenant" "$RESP_STATUS" 200
check_jq "logged as the token's subject, not the token" 'select(.event=="api_call") | .auth == "jwt:ops@acme"' \
	"$(grep '"api_call"' "$STREAMER_LOG_FILE" | tail -1)"
cgi GET "/api/v1/connections?tenant=globex" "" HTTP_AUTHORIZATION="Bearer $ADMIN"
check_eq "but not another tenant: 403" "$RESP_STATUS" 403
check_eq "FORBIDDEN naming the field" "$(err)" "FORBIDDEN tenant"
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $PLAIN"
check_eq "a valid JWT without the permission: 403" "$RESP_STATUS" 403
check_jq "naming the permission" '.error.message | test("admin")' "$RESP_BODY"
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $PLAIN" STREAMER_API_PERMISSION=publish
check_eq "STREAMER_API_PERMISSION chooses the permission" "$RESP_STATUS" 200
cgi GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $EXPIRED"
check_eq "an expired admin JWT: 401" "$RESP_STATUS" 401
check_jq "saying why" '.error.message | test("expired")' "$RESP_BODY"
check "no log line holds a key or a token" bash -c '! grep -qE -- "SECRET|$1|$2" "$3"' _ "${ADMIN%%.*}.${ADMIN#*.}" "$KEY1" "$STREAMER_LOG_FILE"

# ---- only on the web server's own listener ------------------------------------------
api GET "/api/v1/connections?tenant=acme" "" HTTP_GRIP_SIG=anything
check_eq "a request that came through Pushpin (Grip-Sig) is 404" "$RESP_STATUS" 404
api GET "/public/api/v1/connections?tenant=acme" "" HTTP_GRIP_SIG=anything
check_eq "so is Pushpin's rewritten path" "$RESP_STATUS" 404

# ---- routes, methods, bodies ---------------------------------------------------------
api GET /api/v1/nothing
check_eq "an unknown route: 404" "$RESP_STATUS $(err)" "404 NOT_FOUND -"
api GET /api/v1/send
check_eq "a wrong method: 405" "$RESP_STATUS" 405
api POST /api/v1/send '{"connection":'
check_eq "a body that is not JSON: 400" "$RESP_STATUS $(err)" "400 VALIDATION_ERROR -"
check_jq "saying where" '.error.message | test("not JSON")' "$RESP_BODY"
api POST /api/v1/send '[1,2]'
check_eq "a body that is not an object: 400" "$RESP_STATUS" 400
api POST /mount/api/v1/send/ '{}'
check_eq "a deployment prefix and a trailing slash are accepted" "$(err)" "VALIDATION_ERROR connection"
big=$(head -c 3000 /dev/zero | tr '\0' a)
api POST /api/v1/broadcast "{\"tenant\":\"acme\",\"data\":{\"x\":\"$big\"}}" STREAMER_API_MAX_BODY=2048
check_eq "a body over STREAMER_API_MAX_BODY: 413" "$RESP_STATUS $(err)" "413 PAYLOAD_TOO_LARGE -"
api POST /api/v1/broadcast "{\"tenant\":\"acme\",\"data\":{\"x\":\"$big\"}}" STREAMER_MAX_BODY_BYTES=2048 STREAMER_MAX_MESSAGE_BYTES=1024
check_eq "also over the worker's STREAMER_MAX_BODY_BYTES, in the API's shape" "$RESP_STATUS $(err)" "413 PAYLOAD_TOO_LARGE -"

# ---- send -----------------------------------------------------------------------------
TOKEN=$(token alice acme)
http_connect c1 "$TOKEN"
http_connect c2 "$(token bob acme)"
http_connect g1 "$(token gina globex)"
api POST /api/v1/send '{"connection":"c1"}'
check_eq "send without data: 400 naming data" "$(err)" "VALIDATION_ERROR data"
api POST /api/v1/send '{"connection":"c1","data":"text"}'
check_eq "send with data that is no object: 400" "$(err)" "VALIDATION_ERROR data"
api POST /api/v1/send '{"connection":"c1","user":"alice","tenant":"acme","data":{}}'
check_eq "send with both targets: 400" "$RESP_STATUS" 400
api POST /api/v1/send '{"user":"alice","data":{}}'
check_eq "send to a user without a tenant: 400" "$RESP_STATUS" 400
api POST /api/v1/send '{"connection":"no such/id","data":{}}'
check_eq "send to an invalid connection id: 400 naming it" "$(err)" "VALIDATION_ERROR connection"
api POST /api/v1/send '{"connection":"nobody","data":{}}'
check_eq "send to an unknown connection: 404" "$RESP_STATUS $(err)" "404 NOT_FOUND connection"
api POST /api/v1/send '{"connection":"g1","data":{}}' HTTP_AUTHORIZATION="Bearer $ADMIN"
check_eq "an admin JWT of acme cannot see globex's connection: 404" "$RESP_STATUS" 404
api POST /api/v1/send '{"user":"zed","tenant":"acme","data":{"a":1}}' "${DEAD[@]}"
check_eq "send to a user with no live connection: 404" "$RESP_STATUS $(err)" "404 NOT_FOUND user"
api POST /api/v1/send '{"connection":"c1","data":{"a":1}}'
check_eq "send without a callback URL: 503" "$RESP_STATUS" 503
check_jq "saying pushes are not configured" '.error.message | test("not configured")' "$RESP_BODY"
api POST /api/v1/send '{"connection":"c1","data":{"a":1}}' "${DEAD[@]}"
check_eq "send whose push fails: 503" "$RESP_STATUS $(err)" "503 INTERNAL_ERROR -"
check "naming no URL, host or credential" bash -c '! grep -Eq "127\.0\.0\.1|http|SECRET|cbuser" <<<"$1"' _ "$RESP_BODY"
check "no log line holds the callback's credentials" bash -c '! grep -q "cbpass" "$1"' _ "$STREAMER_LOG_FILE"

# ---- broadcast ---------------------------------------------------------------------------
api POST /api/v1/broadcast '{"data":{}}'
check_eq "broadcast without a tenant: 400 naming it" "$(err)" "VALIDATION_ERROR tenant"
api POST /api/v1/broadcast '{"tenant":"ac:me","data":{}}'
check_eq "broadcast to an invalid tenant: 400" "$(err)" "VALIDATION_ERROR tenant"
api POST /api/v1/broadcast '{"tenant":"acme","topic":"bad topic","data":1}'
check_eq "broadcast to an invalid topic: 400 naming it" "$(err)" "VALIDATION_ERROR topic"
api POST /api/v1/broadcast '{"tenant":"acme","data":5}'
check_eq "a tenant broadcast's data must be an object" "$(err)" "VALIDATION_ERROR data"
api POST /api/v1/broadcast '{"tenant":"acme","topic":"news"}'
check_eq "a topic broadcast needs data" "$(err)" "VALIDATION_ERROR data"
api POST /api/v1/broadcast '{"tenant":"globex","data":{}}' HTTP_AUTHORIZATION="Bearer $ADMIN"
check_eq "an admin JWT of acme cannot broadcast to globex: 403" "$RESP_STATUS" 403
api POST /api/v1/broadcast '{"tenant":"acme","topic":"news","data":{"n":1}}' "${DEAD[@]}"
check_eq "a broadcast whose push fails: 503" "$RESP_STATUS" 503

# ---- history ------------------------------------------------------------------------------
api GET "/api/v1/history?stream=topic:acme:news"
check_eq "history of the topic: 200" "$RESP_STATUS" 200
check_jq "holds the numbered event (numbered before the push failed)" \
	'.stream == "topic:acme:news" and .offset == 1 and (.messages | length) == 1 and .messages[0].type == "event" and .messages[0].data.n == 1 and .messages[0].offset == 1' "$RESP_BODY"
epoch=$(jq -r .epoch <<<"$RESP_BODY")
api GET "/api/v1/history?stream=topic:acme:news&since=$epoch:1"
check_jq "since=<epoch>:<offset> gives what came after" '(.messages | length) == 0 and .recovered == true' "$RESP_BODY"
api GET "/api/v1/history?stream=user:acme:alice&limit=5"
check_jq "a user stream holds what send numbered" '.messages | length == 2' "$RESP_BODY"
api GET "/api/v1/history?stream=nonsense"
check_eq "a malformed stream: 400 naming it" "$(err)" "VALIDATION_ERROR stream"
api GET "/api/v1/history?stream=topic:acme:news&since=zz:1"
check_eq "a malformed since: 400 naming it" "$(err)" "VALIDATION_ERROR since"
api GET "/api/v1/history?stream=topic:acme:news&limit=0"
check_eq "a limit out of range: 400 naming it" "$(err)" "VALIDATION_ERROR limit"
api GET "/api/v1/history?stream=topic:globex:news" "" HTTP_AUTHORIZATION="Bearer $ADMIN"
check_eq "an admin JWT of acme cannot read globex's streams: 403" "$RESP_STATUS" 403
api GET "/api/v1/history"
check_eq "history without a stream: 400" "$(err)" "VALIDATION_ERROR stream"

# ---- connections -----------------------------------------------------------------------------
api GET "/api/v1/connections?tenant=acme"
check_jq "connections lists the tenant's live connections, oldest first" \
	'[.connections[].id] == ["c1","c2"] and .truncated == false' "$RESP_BODY"
check_jq "with their user, permissions and times" \
	'.connections[0] | .user_id == "alice" and .tenant_id == "acme" and .permissions == [] and (.expires_at > .connected_at)' "$RESP_BODY"
check "and never a connection's secret" bash -c '! grep -q secret <<<"$1"' _ "$RESP_BODY"
api GET "/api/v1/connections?tenant=acme&user=bob"
check_jq "filtered by user" '[.connections[].id] == ["c2"]' "$RESP_BODY"
api GET "/api/v1/connections?tenant=acme&limit=1"
check_jq "cut at limit, saying so" '(.connections | length) == 1 and .truncated == true' "$RESP_BODY"
db_sql "UPDATE connections SET expires_at = 1 WHERE id = 'c2'" >/dev/null
api GET "/api/v1/connections?tenant=acme"
check_jq "an expired connection is not listed" '[.connections[].id] == ["c1"]' "$RESP_BODY"
api GET "/api/v1/connections"
check_eq "connections without a tenant: 400 naming it" "$(err)" "VALIDATION_ERROR tenant"
api GET "/api/v1/connections?tenant=acme&limit=abc"
check_eq "a limit that is no number: 400" "$(err)" "VALIDATION_ERROR limit"

# ---- close ------------------------------------------------------------------------------------
api POST /api/v1/close '{"connection":"nobody"}'
check_eq "close of an unknown connection: 404" "$RESP_STATUS $(err)" "404 NOT_FOUND connection"
api POST /api/v1/close '{"connection":"c1","code":1006}'
check_eq "a close code a server may not send: 400 naming it" "$(err)" "VALIDATION_ERROR code"
api POST /api/v1/close "{\"connection\":\"c1\",\"reason\":\"$(head -c 124 /dev/zero | tr '\0' r)\"}"
check_eq "a reason over 123 bytes: 400 naming it" "$(err)" "VALIDATION_ERROR reason"
api POST /api/v1/close '{}'
check_eq "close without a connection: 400" "$(err)" "VALIDATION_ERROR connection"
api POST /api/v1/close '{"connection":"c1"}'
check_eq "close without a callback URL: 503, the row stays" "$RESP_STATUS $(conn_rows | jq -r 'select(.id=="c1") | .id')" "503 c1"

# ---- presence ------------------------------------------------------------------------------------
for id in w1 w2 w3; do
	body_reset; ev OPEN
	WS_QUERY="Authorization=$(token "u$id" acme)" ws_event "$id"
done
body_reset; ev OPEN
WS_QUERY="Authorization=$(token uw1 acme)" ws_event w4
for id in w1 w2 w4; do
	body_reset; ev TEXT '{"action":"subscribe","id":"s","payload":{"topic":"room"}}'
	WS_QUERY="Authorization=x" ws_event "$id"
done
api GET "/api/v1/presence?tenant=acme&topic=room"
check_jq "presence lists each user once with its connection count" \
	'.topic == "room" and .users == [{"user_id":"uw1","connections":2},{"user_id":"uw2","connections":1}] and .count == {"users":2,"connections":3} and .truncated == false' "$RESP_BODY"
api GET "/api/v1/presence?tenant=acme&topic=empty"
check_jq "an empty topic has nobody" '.users == [] and .count.users == 0' "$RESP_BODY"
api GET "/api/v1/presence?tenant=acme"
check_eq "presence without a topic: 400 naming it" "$(err)" "VALIDATION_ERROR topic"
api GET "/api/v1/presence?tenant=globex&topic=room" "" HTTP_AUTHORIZATION="Bearer $ADMIN"
check_eq "an admin JWT of acme cannot see globex's presence: 403" "$RESP_STATUS" 403

# ---- batch ------------------------------------------------------------------------------------------
api POST /api/v1/batch '{"requests":[
	{"method":"GET","path":"/api/v1/presence?tenant=acme&topic=room"},
	{"method":"POST","path":"/api/v1/send","body":{"connection":"nobody","data":{}}},
	{"method":"GET","path":"/api/v1/nothing"},
	{"method":"POST","path":"/api/v1/batch?x=1","body":{"requests":[]}},
	{"method":"POST","path":"/api/v1/broadcast","body":{"data":{}}},
	{"path":"/api/v1/send"}]}'
check_eq "a batch is 200" "$RESP_STATUS" 200
check_jq "answered per item, in order" \
	'[.responses[].status] == [200,404,404,400,400,400] and .responses[0].body.count.users == 2 and .responses[4].body.error.field == "tenant"' "$RESP_BODY"
api POST /api/v1/batch '{"requests":[]}'
check_eq "an empty batch: 400 naming requests" "$(err)" "VALIDATION_ERROR requests"
items=$(printf '{"method":"GET","path":"/api/v1/presence?tenant=acme&topic=room"},%.0s' $(seq 101))
api POST /api/v1/batch "{\"requests\":[${items%,}]}"
check_eq "a batch of 101: 400" "$(err)" "VALIDATION_ERROR requests"
api POST /api/v1/batch '{"requests":[{"method":"GET","path":"/api/v1/connections?tenant=globex"}]}' HTTP_AUTHORIZATION="Bearer $ADMIN"
check_jq "each item is held to the caller's tenant" '.responses[0].status == 403' "$RESP_BODY"

done_testing

#!/bin/bash
# api_doc.sh - docs/api.yaml against the implementation: a valid OpenAPI 3.0 document; every documented path and method answers on the worker (as a CGI, with an API key); every route of `streamer-fcgi --api-routes` is documented; the answers (successes and errors) match the documented schemas.
. "$top_srcdir/tests/lib.sh"

if ! python3 -c 'import yaml' 2>/dev/null; then
	echo "1..0 # SKIP python3 with the yaml module is not installed (./dev.sh test installs python3-yaml)"
	exit 0
fi
DOC=$top_srcdir/docs/api.yaml
doc() { python3 "$top_srcdir/tests/api_doc.py" "$@"; }

setup_stack
KEY=apidoc-$(openssl rand -hex 16)
export STREAMER_API_KEY=$KEY

# A stand-in for Pushpin's publish API (200 to every POST, bodies kept in
# $TMP/published), so that the push routes can answer 200.
python3 - "$TMP/pub.port" "$TMP/published" <<'EOF' &
import http.server, os, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open(sys.argv[2], "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.write(b"Published\n")
    def log_message(self, *args):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.serve_forever()
EOF
PUB_PID=$!
trap 'kill "$PUB_PID" 2>/dev/null; wait "$PUB_PID" 2>/dev/null; db_release 2>/dev/null; pg_drop; rm -rf "$TMP"' EXIT
wait_file "$TMP/pub.port" || { echo "Bail out! the stand-in publish server did not start"; exit 1; }
export STREAMER_CALLBACK_URL=http://127.0.0.1:$(<"$TMP/pub.port")/publish/

# call METHOD TARGET [JSON] [VAR=VALUE...]: one API call with the key (RESP_* as cgi sets them).
call() {
	local method=$1 target=$2 json=${3:-}
	shift $(($# < 3 ? $# : 3))
	printf '%s' "$json" >"$TMP/body"
	cgi "$method" "$target" application/json HTTP_AUTHORIZATION="Bearer $KEY" "$@"
}
# conforms DESCRIPTION METHOD TARGET: the last answer (status and body) is one docs/api.yaml gives METHOD TARGET.
conforms() {
	local out
	if out=$(doc validate "$DOC" "$2" "${3%%\?*}" "$RESP_STATUS" <<<"$RESP_BODY" 2>&1); then
		ok "$1"
	else
		not_ok "$1"
		diag "$2 $3 answered $RESP_STATUS $RESP_BODY" "$out"
	fi
}
# unknown_route: true when the last answer is the 404 of a route the worker does not have.
unknown_route() {
	[ "$RESP_STATUS" = 404 ] && jq -e '.error.code == "NOT_FOUND" and (.error | has("field") | not)' >/dev/null 2>&1 <<<"$RESP_BODY"
}

# ---- the document itself ---------------------------------------------------------------
check_eq "docs/api.yaml is a valid OpenAPI 3.0 document (keys, \$refs, schemas, examples)" "$(doc lint "$DOC" 2>&1)" ""

# ---- documented routes == implemented routes ---------------------------------------------
doc routes "$DOC" >"$TMP/documented"
"$STREAMER_FCGI" --api-routes | sort >"$TMP/implemented"
check "streamer-fcgi --api-routes lists routes" test -s "$TMP/implemented"
check_eq "every route of streamer-fcgi --api-routes is in docs/api.yaml" \
	"$(comm -13 "$TMP/documented" "$TMP/implemented" | tr '\n' ' ')" ""
check_eq "every route of docs/api.yaml is one streamer-fcgi --api-routes has" \
	"$(comm -23 "$TMP/documented" "$TMP/implemented" | tr '\n' ' ')" ""

# ---- every documented path and method answers, as documented ------------------------------
big=$(head -c 2048 /dev/zero | tr '\0' a)
while IFS=$'\t' read -r method target body; do
	call "$method" "$target" "$body"
	if [ -n "$RESP_STATUS" ] && [ "$RESP_STATUS" != 405 ] && ! unknown_route; then
		ok "$method $target answers ($RESP_STATUS)"
	else
		not_ok "$method $target answers"
		diag "got ${RESP_STATUS:-no status}: $RESP_BODY"
	fi
	conforms "$method $target: the documented example's answer is documented" "$method" "$target"

	body_reset
	cgi "$method" "$target" application/json
	check_eq "$method ${target%%\?*} without a key: 401" "$RESP_STATUS" 401
	conforms "$method ${target%%\?*}: 401 as documented" "$method" "$target"

	if [ "$method" = GET ]; then other=POST; else other=GET; fi
	call "$other" "$target" '{}'
	check_eq "$other ${target%%\?*}: 405" "$RESP_STATUS" 405
	conforms "$method ${target%%\?*}: 405 as documented" "$method" "$target"

	call "$method" "$target" "{\"x\":\"$big\"}" STREAMER_API_MAX_BODY=1024
	check_eq "$method ${target%%\?*} with a body over STREAMER_API_MAX_BODY: 413" "$RESP_STATUS" 413
	conforms "$method ${target%%\?*}: 413 as documented" "$method" "$target"
done < <(doc calls "$DOC")

call GET /api/v1/no-such-route
check "an undocumented route is the unknown route's 404" unknown_route

# ---- the answers of real calls match their documented schemas ------------------------------
# run DESCRIPTION WANT_STATUS METHOD TARGET [JSON] [VAR=VALUE...]: the call answers WANT_STATUS, as documented.
run() {
	local desc=$1 want=$2 method=$3 target=$4
	shift 4
	call "$method" "$target" "$@"
	check_eq "$desc: $want" "$RESP_STATUS" "$want"
	conforms "$desc: as documented" "$method" "$target"
}
http_connect c1 "$(token alice acme)" HTTP_USER_AGENT=api-doc/1
http_connect c2 "$(token bob acme --permissions publish)"
http_msg c1 '{"action":"subscribe","id":"s1","payload":{"topic":"room"}}'
http_msg c2 '{"action":"subscribe","id":"s2","payload":{"topic":"room"}}'

run "send to a connection" 200 POST /api/v1/send '{"connection":"c1","data":{"type":"notice","n":1}}'
run "send to a user" 200 POST /api/v1/send '{"user":"bob","tenant":"acme","data":{"type":"notice","n":2}}'
run "send to a user without a live connection" 404 POST /api/v1/send '{"user":"zed","tenant":"acme","data":{}}'
run "send to an unknown connection" 404 POST /api/v1/send '{"connection":"nobody","data":{}}'
run "send with data that is no object" 400 POST /api/v1/send '{"connection":"c1","data":[1]}'
run "a body that is not JSON" 400 POST /api/v1/send '{"connection":'
run "a topic broadcast" 200 POST /api/v1/broadcast '{"tenant":"acme","topic":"room","data":"any JSON"}'
run "a tenant broadcast" 200 POST /api/v1/broadcast '{"tenant":"acme","data":{"type":"notice"}}'
run "a broadcast to an invalid topic" 400 POST /api/v1/broadcast '{"tenant":"acme","topic":"a b","data":1}'
run "connections" 200 GET "/api/v1/connections?tenant=acme"
check_jq "  listing both, user agent and address included" \
	'[.connections[].id] == ["c1","c2"] and .connections[0].user_agent == "api-doc/1" and (.connections[0] | has("source_addr"))' "$RESP_BODY"
run "connections of a user, cut at limit" 200 GET "/api/v1/connections?tenant=acme&user=alice&limit=1"
run "connections without a tenant" 400 GET /api/v1/connections
run "presence" 200 GET "/api/v1/presence?tenant=acme&topic=room"
check_jq "  with both users" '.count == {"users":2,"connections":2}' "$RESP_BODY"
run "presence of an empty topic" 200 GET "/api/v1/presence?tenant=acme&topic=nobody-here"
run "history of a topic" 200 GET "/api/v1/history?stream=topic:acme:room"
epoch=$(jq -r .epoch <<<"$RESP_BODY")
check_jq "  holding the broadcast event" '.messages[-1] | .type == "event" and .topic == "room" and .data == "any JSON"' "$RESP_BODY"
run "history since a position" 200 GET "/api/v1/history?stream=topic:acme:room&since=$epoch:0&limit=1"
check_jq "  recovered" '.recovered == true' "$RESP_BODY"
run "history of a user stream" 200 GET "/api/v1/history?stream=user:acme:alice"
run "history of a stream never written (epoch null)" 200 GET "/api/v1/history?stream=tenant:nobody"
check_jq "  epoch null" '.epoch == null' "$RESP_BODY"
run "history with a malformed since" 400 GET "/api/v1/history?stream=topic:acme:room&since=x"
run "close with a code that may not be sent" 400 POST /api/v1/close '{"connection":"c2","code":1005}'
run "close of an unknown connection" 404 POST /api/v1/close '{"connection":"nobody"}'
ADMIN=$(token ops globex --permissions admin)
run "an admin token on another tenant" 403 GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer $ADMIN"
run "a token without the admin permission" 403 GET "/api/v1/connections?tenant=acme" "" \
	HTTP_AUTHORIZATION="Bearer $(token alice acme)"
run "a wrong key" 401 GET "/api/v1/connections?tenant=acme" "" HTTP_AUTHORIZATION="Bearer wrong-key-0123456789abcdef"

run "a batch" 200 POST /api/v1/batch '{"requests":[
	{"method":"POST","path":"/api/v1/send","body":{"connection":"c1","data":{"n":3}}},
	{"method":"POST","path":"/api/v1/broadcast","body":{"tenant":"acme","topic":"room","data":{"n":4}}},
	{"method":"GET","path":"/api/v1/connections?tenant=acme"},
	{"method":"GET","path":"/api/v1/presence?tenant=acme&topic=room"},
	{"method":"GET","path":"/api/v1/history?stream=topic:acme:room&limit=2"},
	{"method":"POST","path":"/api/v1/send","body":{"connection":"nobody","data":{}}},
	{"method":"GET","path":"/api/v1/send"},
	{"method":"GET","path":"/api/v1/nothing"},
	{"method":"POST","path":"/api/v1/batch","body":{"requests":[]}}]}'
check_jq "  answered per item" '[.responses[].status] == [200,200,200,200,200,404,405,404,400]' "$RESP_BODY"
# Each item's answer to a documented route and method is the one documented.
batch=$RESP_BODY
n=$(jq '.responses | length' <<<"$batch")
for ((i = 0; i < n && i < 6; i++)); do
	RESP_STATUS=$(jq -r ".responses[$i].status" <<<"$batch")
	RESP_BODY=$(jq -c ".responses[$i].body" <<<"$batch")
	item=$(jq -r ".requests[$i] | .method + \" \" + .path" "$TMP/body")
	conforms "  batch item $i ($item, $RESP_STATUS) as documented" "${item%% *}" "${item#* }"
done
run "an empty batch" 400 POST /api/v1/batch '{"requests":[]}'
run "close" 200 POST /api/v1/close '{"connection":"c2","code":4000,"reason":"bye"}'
check "the pushes went to the publish API" grep -q '"close"' "$TMP/published"

done_testing

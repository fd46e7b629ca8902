#!/bin/bash
# valgrind.sh - one FastCGI worker under valgrind serves 1,000+ requests (open with server-side subscriptions, echo, bad input, topics, presence, pushes, async requests, the server API, metrics, close); no leak, no error.
# Run by `make check-valgrind` from the build directory.
set -u
export LC_ALL=C
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
build=${top_builddir:-$PWD}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/streamer-vg.XXXXXX")
trap 'kill "$vg" "$pub" 2>/dev/null; rm -rf "$TMP"' EXIT
pub=

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/priv.pem" 2>/dev/null
openssl pkey -in "$TMP/priv.pem" -pubout -out "$TMP/pub.pem"
export STREAMER_DB="$TMP/streamer.db" STREAMER_JWT_KEY_FILE="$TMP/pub.pem" STREAMER_LOG_FILE="$TMP/worker.log"
# One user opens all 200 connections: the per-user limit is counted (its code runs) but not reached.
export STREAMER_MAX_CONNECTIONS_PER_USER=1000
"$build/streamer" init-db >/dev/null || exit 1
token=$("$build/streamer" token --key "$TMP/priv.pem" --sub vg --tenant t1 --permissions read,publish \
	--topics 'feed,prices.*' --publish-topics 'news,chat.*')
admin=$("$build/streamer" token --key "$TMP/priv.pem" --sub ops --tenant t1 --permissions admin)
export STREAMER_API_KEY=vg-api-key-0123456789abcdef STREAMER_TOPIC_POLICY=claims

# A stand-in for Pushpin's publish API, so pushes take their real path.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "10"); self.end_headers(); self.wfile.write(b"Published\n")
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_address[1]))
s.serve_forever()' "$TMP/pub.port" &
pub=$!
for _ in $(seq 50); do [ -s "$TMP/pub.port" ] && break; sleep 0.1; done
# Two callback nodes, the second down: pushes take the fan-out's every path
# (parallel transfers, a node given up, its breaker opening).
export STREAMER_CALLBACK_URL="http://127.0.0.1:$(cat "$TMP/pub.port")/publish/,http://127.0.0.1:9/publish/"

valgrind --quiet --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --log-file="$TMP/valgrind.log" \
	"$build/streamer-fcgi" --listen "$TMP/fcgi.sock" &
vg=$!
for _ in $(seq 100); do [ -S "$TMP/fcgi.sock" ] && break; sleep 0.1; done

client() { "$build/tests/fcgi-client" "$TMP/fcgi.sock" --count 200 "$@"; }
common=(--param REQUEST_METHOD=POST --param REQUEST_URI=/ws --param "QUERY_STRING=Authorization=$token"
	--param CONTENT_TYPE=application/websocket-events --param HTTP_CONNECTION_ID=vg-%d)
fail=0
client "${common[@]}" --body $'OPEN\r\n' --expect-status 200 --expect-body 'c:{"type":"subscribe"' || fail=1
# text JSON...: websocket-events TEXT events for each argument, into $body.
text() { body=; for m in "$@"; do printf -v body '%sTEXT %x\r\n%s\r\n' "$body" "${#m}" "$m"; done; }
text '{"action":"echo","id":"rr","payload":[1,2,3]}' '{"action":"whoami"}'
client "${common[@]}" --body "$body" --expect-body '"type":"response"' || fail=1
text 'not json' '{"action":"zzz"}' '{"action":"echo","id":"x","metadata":[]}'
client "${common[@]}" --body "$body"$'PING\r\n' --expect-body 'INVALID_ACTION' || fail=1
client "${common[@]}" --body $'TEXT 3\r\nab' --expect-status 400 || fail=1
text '{"action":"subscribe","payload":{"topic":"news"}}' '{"action":"publish","payload":{"topic":"news","data":{"n":1}}}' \
	'{"action":"unsubscribe","payload":{"topic":"news"}}' '{"action":"subscribe","payload":{"topic":"bad name"}}'
client "${common[@]}" --body "$body" --expect-body '"published":true' || fail=1
text '{"action":"subscribe","payload":{"topic":"news","since":{"epoch":null,"offset":0}}}' \
	'{"action":"history","payload":{"stream":"topic:t1:news","since":{"epoch":null,"offset":0},"limit":2}}' \
	'{"action":"streams.recover","payload":{"streams":{"tenant:t1":{"epoch":null,"offset":0}},"connections":["x"]}}' \
	'{"action":"history","payload":{"stream":"tenant:t2"}}' '{"action":"history","payload":{"stream":"user:t1:vg","since":{"epoch":1}}}'
client "${common[@]}" --body "$body" --expect-body '"recovered":true' || fail=1
text '{"action":"echo_async","id":"j","payload":{"a":1}}' '{"action":"request.status","payload":{"request_id":"j"}}' \
	'{"action":"request.cancel","payload":{"request_id":"j"}}' '{"action":"generate_report","payload":{"start_date":"2026-02-30"}}'
client "${common[@]}" --body "$body" --expect-body '"cancelled":true' || fail=1
text '{"action":"subscribe","payload":{"topic":"prices.eur","presence":true}}' '{"action":"presence","payload":{"topic":"prices.eur"}}' \
	'{"action":"presence.count","payload":{"topic":"feed"}}' '{"action":"subscribe","payload":{"topic":"secret"}}' \
	'{"action":"publish","payload":{"topic":"chat.x","data":1}}' '{"action":"unsubscribe","payload":{"topic":"prices.eur"}}'
client "${common[@]}" --body "$body" --expect-body '"connections":' || fail=1
# The server API: every route, good and bad, with the key and with an admin token.
api() { "$build/tests/fcgi-client" "$TMP/fcgi.sock" --count 20 --param REQUEST_URI="/api/v1/$1" \
	--param CONTENT_TYPE=application/json --param REMOTE_ADDR=127.0.0.1 "${@:2}"; }
key=(--param "HTTP_AUTHORIZATION=Bearer $STREAMER_API_KEY")
api broadcast --param REQUEST_METHOD=POST "${key[@]}" --body '{"tenant":"t1","topic":"prices.eur","data":{"p":1}}' --expect-body '"published":true' || fail=1
api send --param REQUEST_METHOD=POST "${key[@]}" --body '{"user":"vg","tenant":"t1","data":{"d":1}}' --expect-body '"sent"' || fail=1
api send --param REQUEST_METHOD=POST "${key[@]}" --body '{"connection":"vg-0","data":[1]}' --expect-status 400 || fail=1
api "connections?tenant=t1&limit=5" --param REQUEST_METHOD=GET --param QUERY_STRING="tenant=t1&limit=5" --param "HTTP_AUTHORIZATION=Bearer $admin" --expect-body '"truncated":true' || fail=1
api "presence?tenant=t1&topic=feed" --param REQUEST_METHOD=GET --param QUERY_STRING="tenant=t1&topic=feed" "${key[@]}" --expect-body '"users"' || fail=1
api "history?stream=topic:t1:prices.eur&since=1" --param REQUEST_METHOD=GET --param QUERY_STRING="stream=topic:t1:prices.eur&since=1" "${key[@]}" --expect-body '"messages"' || fail=1
api batch --param REQUEST_METHOD=POST "${key[@]}" --body '{"requests":[{"method":"GET","path":"/api/v1/presence?tenant=t1&topic=feed"},{"method":"POST","path":"/api/v1/close","body":{"connection":"nobody"}},{"path":"x"}]}' --expect-body '"responses"' || fail=1
api send --param REQUEST_METHOD=POST --param "HTTP_AUTHORIZATION=Bearer wrong-key-000000000" --body '{}' --expect-status 401 || fail=1
api send --param REQUEST_METHOD=POST "${key[@]}" --body '{"connection":' --expect-status 400 || fail=1
"$build/tests/fcgi-client" "$TMP/fcgi.sock" --count 20 --param REQUEST_METHOD=GET --param REQUEST_URI=/metrics --param REMOTE_ADDR=127.0.0.1 \
	--expect-body 'streamer_messages_total' || fail=1
client "${common[@]}" --body $'CLOSE 2\r\n\003\350\r\n' --expect-status 200 || fail=1
"$build/tests/fcgi-client" "$TMP/fcgi.sock" --param REQUEST_METHOD=GET --param REQUEST_URI=/healthz --expect-status 200 || fail=1

kill -TERM "$vg"
wait "$vg"
rc=$?
vg=
served=$(grep -o '"requests":[0-9]*' "$TMP/worker.log" | tail -1)
echo "worker stopped (exit $rc) after ${served#*:} requests"
if [ "$rc" -ne 0 ] || [ -s "$TMP/valgrind.log" ]; then
	echo "valgrind found problems (exit $rc):"
	cat "$TMP/valgrind.log"
	exit 1
fi
if [ "$fail" -ne 0 ]; then
	echo "some requests failed"
	exit 1
fi
[ "${served#*:}" -ge 1000 ] || { echo "expected at least 1000 requests, got ${served#*:}"; exit 1; }
echo "valgrind: 1000+ requests, no leaks, no errors"

#!/bin/bash
# worker-cpu.sh - CPU time the worker spends per RS256 connect, echo message, keep-alive, publish and close, measured from /proc over N FastCGI requests.
# Usage: bench/worker-cpu.sh [BUILD_DIR] [N]   (BUILD_DIR holds streamer-fcgi, streamer and tests/fcgi-client)
set -euo pipefail
export LC_ALL=C
die() {
	echo "worker-cpu.sh: $*" >&2
	exit 1
}
[ -d "${1:-build}" ] || die "no build directory ${1:-build} (give it as the first argument)"
build=$(cd "${1:-build}" && pwd)
n=${2:-5000}
[[ $n =~ ^[1-9][0-9]*$ ]] || die "N must be a positive number, not '$n'"
for prog in streamer-fcgi streamer tests/fcgi-client; do
	[ -x "$build/$prog" ] || die "no $build/$prog: build it first (make -C $build streamer-fcgi streamer tests/fcgi-client)"
done
pid= cb=
TMP=$(mktemp -d "${TMPDIR:-/tmp}/streamer-bench.XXXXXX")
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; [ -n "$cb" ] && kill "$cb" 2>/dev/null; rm -rf "$TMP"' EXIT

# The callback URL: a node HTTP server that takes every publish as Pushpin's publish API does (200).
node -e 'const s = require("http").createServer((q, r) => { q.resume(); q.on("end", () => r.end("Published\n")); });
	s.keepAliveTimeout = 60000;
	s.listen(0, "127.0.0.1", () => require("fs").writeFileSync(process.argv[1], String(s.address().port)));' \
	"$TMP/cb.port" &
cb=$!
for _ in $(seq 100); do [ -s "$TMP/cb.port" ] && break; sleep 0.05; done
[ -s "$TMP/cb.port" ] || die "the callback server (node) did not start"
export STREAMER_CALLBACK_URL="http://127.0.0.1:$(cat "$TMP/cb.port")/publish/"

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/priv.pem" 2>/dev/null
openssl pkey -in "$TMP/priv.pem" -pubout -out "$TMP/pub.pem"
export STREAMER_DB="$TMP/streamer.db" STREAMER_JWT_KEY_FILE="$TMP/pub.pem" STREAMER_LOG_FILE="$TMP/worker.log"
# One user opens all N connections: no per-user connection limit (STREAMER_MAX_CONNECTIONS_PER_USER).
export STREAMER_MAX_CONNECTIONS_PER_USER=${STREAMER_MAX_CONNECTIONS_PER_USER:-0}
# The limiter runs on every message, but never refuses one (as bench/echo).
export STREAMER_RATE_LIMIT=${STREAMER_RATE_LIMIT:-1000000}
"$build/streamer" init-db >/dev/null
token=$("$build/streamer" token --key "$TMP/priv.pem" --sub bench --tenant t1 --ttl 3600 --permissions publish)
"$build/streamer-fcgi" --listen "$TMP/fcgi.sock" &
pid=$!
for _ in $(seq 100); do [ -S "$TMP/fcgi.sock" ] && break; sleep 0.05; done
[ -S "$TMP/fcgi.sock" ] || die "streamer-fcgi did not open $TMP/fcgi.sock (see $TMP/worker.log)"

hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
common=(--param REQUEST_METHOD=POST --param REQUEST_URI=/ws --param "QUERY_STRING=Authorization=$token"
	--param CONTENT_TYPE=application/websocket-events)

# measure LABEL fcgi-client-args...: prints CPU µs per request in the worker.
measure() {
	local label=$1 before after
	shift
	before=$(cpu_ticks)
	"$build/tests/fcgi-client" "$TMP/fcgi.sock" --count "$n" "$@" 2>"$TMP/client.txt" ||
		die "$label: fcgi-client failed: $(head -c 1000 "$TMP/client.txt")"
	after=$(cpu_ticks)
	awk -v l="$label" -v t=$((after - before)) -v hz="$hz" -v n="$n" -v c="$(cat "$TMP/client.txt")" \
		'BEGIN { printf "%-22s %8.1f us CPU per request in the worker   (%s)\n", l, t / hz * 1e6 / n, c }'
}

echo "streamer-fcgi CPU per request, $n requests each, one worker, $(nproc) cores"
measure "RS256 connect (OPEN)" "${common[@]}" --param HTTP_CONNECTION_ID=b-%d --body $'OPEN\r\n' --expect-status 200
m='{"action":"echo","id":"r1","payload":{"hello":"world"}}'
printf -v body 'TEXT %x\r\n%s\r\n' "${#m}" "$m"
measure "echo message (TEXT)" "${common[@]}" --param HTTP_CONNECTION_ID=b-1 --body "$body" --expect-body '"success":true'
measure "keep-alive (empty)" "${common[@]}" --param HTTP_CONNECTION_ID=b-1 --body '' --expect-status 200
m='{"action":"publish","id":"p1","payload":{"topic":"prices","data":{"sym":"ABC","px":12.5}}}'
printf -v body 'TEXT %x\r\n%s\r\n' "${#m}" "$m"
measure "publish (TEXT)" "${common[@]}" --param HTTP_CONNECTION_ID=b-2 --body "$body" --expect-body '"published":true'
measure "close (CLOSE)" "${common[@]}" --param HTTP_CONNECTION_ID=b-%d --body $'CLOSE 2\r\n\003\350\r\n' --expect-status 200

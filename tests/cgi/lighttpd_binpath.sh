#!/bin/bash
# lighttpd_binpath.sh - lighttpd starting the workers itself (mod_fastcgi "bin-path"), as contrib/lighttpd/streamer.conf shows commented.
. "$top_srcdir/tests/lib.sh"
if ! command -v lighttpd >/dev/null; then
	echo "1..0 # SKIP lighttpd is not installed (./dev.sh test installs it)"
	exit 0
fi
setup_stack

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
	done
	return 1
}
PORT=$(free_port)
mkdir -p "$TMP/www"
# The commented bin-path block of contrib/lighttpd/streamer.conf, with this
# test's paths: lighttpd spawns 2 workers and hands them their environment.
cat >"$TMP/lighttpd.conf" <<EOF
server.bind = "127.0.0.1"
server.port = $PORT
server.document-root = "$TMP/www"
server.errorlog = "$TMP/lighttpd.log"
server.modules += ( "mod_fastcgi" )
fastcgi.server += (
	"/api" => ((
		"socket"          => "$TMP/binpath.sock",
		"bin-path"        => "$STREAMER_FCGI",
		"max-procs"       => 2,
		"check-local"     => "disable",
		"bin-environment" => (
			"STREAMER_DB"           => "$STREAMER_DB",
			"STREAMER_JWT_KEY_FILE" => "$STREAMER_JWT_KEY_FILE",
			"STREAMER_LOG_FILE"     => "$STREAMER_LOG_FILE",
		),
	)),
)
EOF
check "lighttpd accepts the bin-path configuration" lighttpd -tt -f "$TMP/lighttpd.conf"
lighttpd -D -f "$TMP/lighttpd.conf" &
lpid=$!
up() { curl -sf "http://127.0.0.1:$PORT/api/healthz" >/dev/null; }
for _ in $(seq 100); do up && break; sleep 0.05; done

check_contains "GET /api/healthz is answered by a worker lighttpd started" \
	"$(curl -s "http://127.0.0.1:$PORT/api/healthz")" '"database":"ok"'
TOKEN=$(token binpath acme)
answer=$(curl -s -X POST "http://127.0.0.1:$PORT/api/connect" -d '' -H 'X-Connection-Id: bp-1' \
	-H "Authorization: Bearer $TOKEN")
check_contains "POST /api/connect authenticates and stores the connection" "$answer" '"connection_id":"bp-1"'
secret=$(jq -r .connection_secret <<<"$answer")
check_contains "POST /api/message with the connection secret echoes with the request id" \
	"$(curl -s -X POST "http://127.0.0.1:$PORT/api/message" -H 'X-Connection-Id: bp-1' \
		-H "X-Connection-Secret: $secret" -d '{"action":"echo","id":"bp-r1","payload":"hi"}')" '"request_id":"bp-r1"'
check_eq "lighttpd runs 2 worker processes" "$(pgrep -P $lpid -c -f "$STREAMER_FCGI")" 2
kill -TERM $lpid
wait $lpid
check_eq "lighttpd stops cleanly and takes its workers along" "$(pgrep -c -f "$TMP/binpath.sock" || true)" 0
check "the workers logged worker_stop" grep -q '"event":"worker_stop"' "$STREAMER_LOG_FILE"
check "no worker error was logged" bash -c "! grep -q '\"level\":\"error\"' '$STREAMER_LOG_FILE'"

done_testing

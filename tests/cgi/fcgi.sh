#!/bin/bash
# fcgi.sh - the worker as a FastCGI server: under spawn-fcgi, with --listen, and finishing the request in hand on SIGTERM.
. "$top_srcdir/tests/lib.sh"
setup_stack
client="$top_builddir/tests/fcgi-client"
TOKEN=$(token fc tenant1)
open_args=(--param REQUEST_METHOD=POST --param REQUEST_URI=/ws --param "QUERY_STRING=Authorization=$TOKEN"
	--param CONTENT_TYPE=application/websocket-events --param HTTP_CONNECTION_ID=f-%d --body $'OPEN\r\n')

wait_socket() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }

# Under spawn-fcgi: the worker inherits the listening socket on stdin.
spawn-fcgi -s "$TMP/spawn.sock" -n -- "$STREAMER_FCGI" >/dev/null 2>&1 &
spawn=$!
check "spawn-fcgi starts the worker on its socket" wait_socket "$TMP/spawn.sock"
check "the worker serves 50 OPENs under spawn-fcgi" \
	"$client" "$TMP/spawn.sock" --count 50 "${open_args[@]}" --expect-status 200
check_eq "each OPEN stored its connection" "$(conn_rows | grep -c '"f-')" 50
kill -TERM $spawn
wait $spawn
check_eq "SIGTERM stops an idle worker with status 0" "$?" 0

# Several workers on one socket: an idle one stopped leaves the socket to the others
# (on_stop points only its own descriptor at /dev/null).
pids=$(spawn-fcgi -s "$TMP/pair.sock" -F 2 -- "$STREAMER_FCGI" 2>&1 | sed -n 's/.*PID: \([0-9]*\).*/\1/p')
check_eq "spawn-fcgi starts two workers on one socket" "$(wc -w <<<"$pids")" 2
wait_socket "$TMP/pair.sock"
first=$(sed -n 1p <<<"$pids") second=$(sed -n 2p <<<"$pids")
kill -TERM "$first"
for _ in $(seq 100); do kill -0 "$first" 2>/dev/null || break; sleep 0.05; done
check "SIGTERM stops one idle worker of two" bash -c "! kill -0 $first 2>/dev/null"
check "the other still serves the socket: 30 OPENs" \
	"$client" "$TMP/pair.sock" --count 30 "${open_args[@]}" --expect-status 200
kill -TERM "$second"
for _ in $(seq 100); do kill -0 "$second" 2>/dev/null || break; sleep 0.05; done
check "then it stops too" bash -c "! kill -0 $second 2>/dev/null"

# --listen, and a request in hand when SIGTERM arrives.
"$STREAMER_FCGI" --listen "$TMP/own.sock" &
worker=$!
wait_socket "$TMP/own.sock"
"$client" "$TMP/own.sock" --stdin-delay 700 --param REQUEST_METHOD=POST --param REQUEST_URI=/ws \
	--param CONTENT_TYPE=application/websocket-events --param HTTP_CONNECTION_ID=f-1 \
	--body $'TEXT 1d\r\n{"action":"echo","id":"late"}\r\n' --expect-body '"request_id":"late"' 2>"$TMP/client.err" &
client_pid=$!
sleep 0.3
kill -TERM $worker
wait $client_pid
check_eq "a request in hand when SIGTERM arrives is still answered" "$?" 0
wait $worker
check_eq "then the worker exits with status 0" "$?" 0
check "and logs worker_stop" grep -q '"event":"worker_stop"' "$STREAMER_LOG_FILE"
check "no worker error was logged" bash -c "! grep -q '\"level\":\"error\"' '$STREAMER_LOG_FILE'"

# The database deleted under a running worker: detected (one stat() per 2 s at most),
# answered with errors and logged, never written to the unlinked file. (SQLite's
# file only: PostgreSQL's outages are tests/e2e/pg_outage.mjs.)
on_pg && done_testing
"$STREAMER_FCGI" --listen "$TMP/gone.sock" &
worker=$!
wait_socket "$TMP/gone.sock"
health=(--param REQUEST_METHOD=GET --param REQUEST_URI=/healthz)
check "healthz is 200 while the database is there" "$client" "$TMP/gone.sock" "${health[@]}" --expect-status 200
mv "$STREAMER_DB" "$TMP/moved.db"
refused=no
for _ in $(seq 200); do
	if "$client" "$TMP/gone.sock" "${health[@]}" --expect-status 503 >/dev/null 2>&1; then refused=yes; break; fi
	sleep 0.05
done
check_eq "healthz answers 503 once the database file is gone" "$refused" yes
check "a message then answers INTERNAL_ERROR" "$client" "$TMP/gone.sock" --param REQUEST_METHOD=POST \
	--param REQUEST_URI=/ws --param CONTENT_TYPE=application/websocket-events --param HTTP_CONNECTION_ID=f-2 \
	--body $'TEXT 1d\r\n{"action":"echo","id":"gone"}\r\n' --expect-body INTERNAL_ERROR
line=$(grep '"event":"database_replaced"' "$STREAMER_LOG_FILE" | head -1)
check_jq "the worker logged an error naming the file" ".level == \"error\" and .path == \"$STREAMER_DB\"" "$line"
check "no file was created at the path" test ! -e "$STREAMER_DB"
kill -TERM $worker
wait $worker
mv "$TMP/moved.db" "$STREAMER_DB"

done_testing

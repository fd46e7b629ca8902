#!/bin/bash
# touch.sh - the coarse touch: a connection's row is written at most once per STREAMER_TOUCH_INTERVAL, it still expires after TTL of inactivity (within one interval), and its message counts are exact at a clean close, across workers and a killed worker.
. "$top_srcdir/tests/lib.sh"
setup_stack

# TTL 60 s: the default interval is TTL/20 = 3 s, so a touch makes the expiry 63 s ahead.
export STREAMER_CONNECTION_TTL=60
TOKEN=$(token tina acme)
WS_QUERY="Authorization=$TOKEN"
TTL_MS=60000 IV_MS=3000

sql() { db_sql "$@"; }
field() { sql "SELECT $2 FROM connections WHERE id = '$1'"; }
now_ms() { date +%s%3N; }
# age ID MS: moves every time of the row MS back, as if that much time had passed.
age() {
	sql "UPDATE connections SET connected_at = connected_at - $2, last_active_at = last_active_at - $2,
	     expires_at = expires_at - $2 WHERE id = '$1'"
}
# echo_on ID: one echo message; prints the answer's success or error code.
echo_on() {
	body_reset
	ev TEXT '{"action":"echo","id":"e","payload":1}'
	ws_event "$1"
	m_msg 1 | jq -r 'if .success then "ok" else .error.code end'
}

# --- the first touch, and messages within the interval ------------------------
body_reset; ev OPEN; ws_event t1
check_eq "OPEN answers 200" "$RESP_STATUS" 200
check_eq "a new connection expires TTL + one interval after it opened" \
	"$(($(field t1 expires_at) - $(field t1 connected_at)))" $((TTL_MS + IV_MS))
before=$(sql "SELECT last_active_at, expires_at, messages_received, messages_sent FROM connections WHERE id = 't1'")
check_eq "a message within the interval is answered" "$(echo_on t1)" ok
check_eq "and writes nothing to the row" \
	"$(sql "SELECT last_active_at, expires_at, messages_received, messages_sent FROM connections WHERE id = 't1'")" "$before"
body_reset; ws_event t1
check_eq "nor does a keep-alive within the interval" \
	"$(sql "SELECT last_active_at, expires_at, messages_received, messages_sent FROM connections WHERE id = 't1'")" "$before"

# --- once the interval has passed, the next message writes the touch ------------
age t1 $IV_MS
t0=$(now_ms)
check_eq "a message one interval later is answered" "$(echo_on t1)" ok
t1=$(now_ms)
check "it wrote its activity" test "$(field t1 last_active_at)" -ge "$t0"
check "and the expiry, TTL + one interval ahead" \
	test "$(field t1 expires_at)" -ge $((t0 + TTL_MS + IV_MS)) -a "$(field t1 expires_at)" -le $((t1 + TTL_MS + IV_MS))
check_eq "with the counts gathered meanwhile (both messages)" \
	"$(sql "SELECT messages_received || ' ' || messages_sent FROM connections WHERE id = 't1'")" "2 2"

# --- a keep-alive extends the expiry once an interval, without activity ----------
active=$(field t1 last_active_at)
age t1 $IV_MS
body_reset; ws_event t1
check_eq "a keep-alive one interval later answers 200" "$RESP_STATUS" 200
check "extends the expiry" test "$(field t1 expires_at)" -ge $(($(now_ms) + TTL_MS))
check_eq "but is not activity" "$(field t1 last_active_at)" $((active - IV_MS))

# --- active every TTL/2: never expires ----------------------------------------------
live=yes
for _ in 1 2 3 4 5 6; do
	age t1 $((TTL_MS / 2))
	[ "$(echo_on t1)" = ok ] || live=no
done
check_eq "a connection active every TTL/2 for 3 TTLs never expires" "$live" yes

# --- idle: expires after TTL, at most one interval later ---------------------------
# The last message above was written (a touch); one more within the interval is not.
age t1 1000
written=$(field t1 messages_received)
m_ms=$(now_ms)
check_eq "a message 1 s after a touch is answered" "$(echo_on t1)" ok
check_eq "without a write" "$(field t1 messages_received)" "$written"
# Idle since that message: TTL later it is still live (its expiry is the touch's, 1 s
# earlier, + TTL + an interval), TTL + an interval later it has expired.
# since_message MS: ages t1 so that MS ms have passed since that message, the time
# this test took since then included (each step here starts a process: on a loaded
# machine that is not nothing).
aged=0
since_message() {
	local d=$(($1 - ($(now_ms) - m_ms) - aged))
	age t1 $d
	aged=$((aged + d))
}
since_message $TTL_MS
check "TTL after its last message (idle) it is still live" \
	test "$(field t1 expires_at)" -gt "$(now_ms)"
since_message $((TTL_MS + IV_MS))
check_eq "TTL + one interval after it, it has expired" "$(echo_on t1)" UNAUTHORIZED

# --- a touch interval of 0: every message writes -------------------------------------
body_reset; ev OPEN; ws_event t2
STREAMER_TOUCH_INTERVAL=0 echo_on t2 >/dev/null
STREAMER_TOUCH_INTERVAL=0 echo_on t2 >/dev/null
check_eq "STREAMER_TOUCH_INTERVAL=0 writes the counts of every message" \
	"$(sql "SELECT messages_received || ' ' || messages_sent FROM connections WHERE id = 't2'")" "2 2"

# --- counts are exact at a clean close, across workers and a killed one -------------
client="$top_builddir/tests/fcgi-client"
wait_socket() { for _ in $(seq 200); do [ -S "$1" ] && return 0; sleep 0.05; done; return 1; }
common=(--param REQUEST_METHOD=POST --param REQUEST_URI=/ws --param "QUERY_STRING=$WS_QUERY"
	--param CONTENT_TYPE=application/websocket-events --param HTTP_CONNECTION_ID=m1)
# spawn N: N workers on $TMP/w.sock; their pids in WORKERS (never pkill: other tests run the same binary).
spawn() {
	rm -f "$TMP/w.sock"
	WORKERS=$(spawn-fcgi -s "$TMP/w.sock" -F "$1" -- "$STREAMER_FCGI" 2>&1 | sed -n 's/.*PID: \([0-9]*\).*/\1/p')
	wait_socket "$TMP/w.sock"
}
# stop SIGNAL: signals the workers and waits until they are gone.
stop() {
	kill "-$1" $WORKERS 2>/dev/null
	for _ in $(seq 200); do kill -0 $WORKERS 2>/dev/null || return 0; sleep 0.05; done
}
export STREAMER_RATE_LIMIT=0 # 300 messages at once
spawn 4
check_eq "four FastCGI workers start" "$(wc -w <<<"$WORKERS")" 4
"$client" "$TMP/w.sock" "${common[@]}" --body $'OPEN\r\n' --expect-status 200
msg='{"action":"echo","id":"x","payload":1}'
printf -v body 'TEXT %x\r\n%s\r\n' "${#msg}" "$msg"
"$client" "$TMP/w.sock" --count 300 "${common[@]}" --body "$body" --expect-body '"success":true'
check_eq "300 messages are answered" "$?" 0
pids=$(grep '"event":"message"' "$STREAMER_LOG_FILE" | grep '"connection_id":"m1"' | jq -r .pid | sort -u | wc -l)
check "by more than one worker" test "$pids" -ge 2
check "the row holds at most what was sent (the rest waits in the activity table)" \
	test "$(field m1 messages_received)" -le 300
# A killed worker loses nothing: the counts are in the host's table, not in the process.
stop KILL
spawn 2
"$client" "$TMP/w.sock" --count 20 "${common[@]}" --body "$body" --expect-body '"success":true'
"$client" "$TMP/w.sock" "${common[@]}" --body $'CLOSE 2\r\n\003\350\r\n' --expect-status 200
line=$(grep '"event":"disconnect"' "$STREAMER_LOG_FILE" | grep '"connection_id":"m1"' | tail -1)
check_jq "after workers were killed, the close counts every message exactly" \
	'.messages_received == 320 and .messages_sent == 320' "$line"
stop TERM
done_testing

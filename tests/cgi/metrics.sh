#!/bin/bash
# metrics.sh - GET /metrics and /healthz, the shared counters across processes, promtool, and the JSON log lines (no token in them).
. "$top_srcdir/tests/lib.sh"
setup_stack

msg() { http_msg "$@"; }

scrape
check_eq "GET /metrics is 200" "$RESP_STATUS" 200
check "in the Prometheus text format" grep -q '^Content-Type: text/plain; version=0.0.4' <<<"$RESP_HEADERS"
opened0=$(metric streamer_connections_opened_total)
badsig0=$(metric 'streamer_auth_failures_total{reason="malformed"}')
echo0=$(metric 'streamer_messages_total{action="echo",outcome="ok"}')
unknown0=$(metric 'streamer_messages_total{action="unknown",outcome="INVALID_ACTION"}')
err0=$(metric 'streamer_errors_total{code="INVALID_ACTION"}')
closed0=$(metric 'streamer_connections_closed_total{reason="http"}')
hist0=$(metric 'streamer_event_duration_seconds_count{event="message"}')

# Scripted traffic: every request is a new process, so the counts below are
# the sum over processes (the shared file), not one process's view.
TOKEN=$(token mallory acme)
http_connect m1 "$TOKEN"
http_connect m2 "$TOKEN"
http_connect m3 not.a.token
for i in 1 2 3; do msg m1 "{\"action\":\"echo\",\"id\":\"e$i\",\"payload\":$i}"; done
msg m2 '{"action":"no.such.action","id":"u1"}'
msg m2 '{"action":"x'"$RANDOM"'","id":"u2"}'
http_disconnect m2

scrape
check_eq "connections opened +2" "$(metric streamer_connections_opened_total)" $((opened0 + 2))
check_eq "auth failures by reason +1" "$(metric 'streamer_auth_failures_total{reason="malformed"}')" $((badsig0 + 1))
check_eq "echo messages +3" "$(metric 'streamer_messages_total{action="echo",outcome="ok"}')" $((echo0 + 3))
check_eq "unknown actions share one series +2" \
	"$(metric 'streamer_messages_total{action="unknown",outcome="INVALID_ACTION"}')" $((unknown0 + 2))
check_eq "errors by code +2" "$(metric 'streamer_errors_total{code="INVALID_ACTION"}')" $((err0 + 2))
check_eq "connections closed by reason +1" "$(metric 'streamer_connections_closed_total{reason="http"}')" $((closed0 + 1))
check_eq "the event histogram counted 5 messages" \
	"$(metric 'streamer_event_duration_seconds_count{event="message"}')" $((hist0 + 5))
check_eq "active connections is a gauge from the store" "$(metric streamer_connections_active)" 1
check "no client-chosen action name became a label" bash -c '! grep -q "action=\"x[0-9]" <<<"$1"' _ "$RESP_BODY"

if command -v promtool >/dev/null; then
	printf '%s\n' "$RESP_BODY" >"$TMP/metrics.txt"
	check "promtool check metrics accepts the output" promtool check metrics <"$TMP/metrics.txt"
	check "promtool accepts contrib/prometheus's scrape config and rules" \
		bash -c 'cd "$1/contrib/prometheus" && promtool check config prometheus.yml >/dev/null'  _ "$top_srcdir"
	check "the alert rules fire on their thresholds (promtool test rules)" \
		bash -c 'cd "$1/contrib/prometheus" && promtool test rules streamer-alerts.test.yml >/dev/null' _ "$top_srcdir"
else
	ok "# SKIP promtool is not installed (./dev.sh test installs prometheus)"
fi

# Async requests: pending gauge, then a processor runs it; jobs by action and outcome.
jobs0=$(metric 'streamer_jobs_total{action="echo_async",outcome="ok"}')
msg m1 '{"action":"echo_async","id":"j1","payload":{"x":1}}'
check_eq "an async action is acknowledged" "$(jq -r .type <<<"$RESP_BODY")" acknowledgment
scrape
check_eq "jobs pending 1" "$(metric streamer_jobs_pending)" 1
"$STREAMER_CLI" processor --once >"$TMP/proc.out" 2>&1
check_eq "streamer processor --once exits 0" "$?" 0
scrape
check_eq "jobs pending 0 after the processor ran" "$(metric streamer_jobs_pending)" 0
check_eq "jobs by action and outcome +1" "$(metric 'streamer_jobs_total{action="echo_async",outcome="ok"}')" $((jobs0 + 1))
check "the queue wait histogram has a sample" test "$(metric streamer_job_queue_wait_seconds_count)" -ge 1

# The bearer token.
export STREAMER_METRICS_TOKEN=s3cret-metrics
scrape
check_eq "with STREAMER_METRICS_TOKEN, no token is 401" "$RESP_STATUS" 401
scrape HTTP_AUTHORIZATION="Bearer wrong"
check_eq "a wrong token is 401" "$RESP_STATUS" 401
scrape HTTP_AUTHORIZATION="Bearer s3cret-metrics"
check_eq "the right token is 200" "$RESP_STATUS" 200
unset STREAMER_METRICS_TOKEN

# Without STREAMER_METRICS_TOKEN: loopback peers only, and not through a proxy (issue 13).
scrape REMOTE_ADDR=::1
check_eq "without a token, a ::1 peer is served" "$RESP_STATUS" 200
scrape REMOTE_ADDR=127.0.0.2
check_eq "so is any 127.0.0.0/8 peer" "$RESP_STATUS" 200
for peer in 10.0.0.5 192.168.1.9 2001:db8::1 128.0.0.1 ""; do
	scrape REMOTE_ADDR="$peer"
	check_eq "without a token, the peer '$peer' is refused with 403" "$RESP_STATUS" 403
done
check_eq "with a JSON error" "$(jq -r .code <<<"$RESP_BODY")" FORBIDDEN
scrape HTTP_X_FORWARDED_FOR=203.0.113.5
check_eq "a loopback peer that forwards for someone (X-Forwarded-For) is refused" "$RESP_STATUS" 403
scrape HTTP_GRIP_SIG=x.y.z
check_eq "a loopback peer with a Grip-Sig (Pushpin) is not served" "$RESP_STATUS" 404
STREAMER_METRICS_TOKEN=s3cret-metrics scrape REMOTE_ADDR=10.0.0.5 HTTP_AUTHORIZATION="Bearer s3cret-metrics"
check_eq "with the token, any peer is served" "$RESP_STATUS" 200

export STREAMER_METRICS_FILE=off
scrape
check_eq "STREAMER_METRICS_FILE=off still answers" "$RESP_STATUS" 200
check "but without shared counters" bash -c '! grep -q "^streamer_connections_opened_total " <<<"$1"' _ "$RESP_BODY"
unset STREAMER_METRICS_FILE

# Health with its components.
body_reset
cgi GET /healthz ""
check_eq "healthz is 200" "$RESP_STATUS" 200
check_eq "database ok, callback not configured" "$(jq -r '.checks.database+" "+.checks.callback' <<<"$RESP_BODY")" "ok not configured"
port=9 # discard: nothing listens there
cgi GET /healthz "" STREAMER_CALLBACK_URL="http://127.0.0.1:$port/publish/" STREAMER_CALLBACK_CONNECT_TIMEOUT=200
check_eq "an unreachable callback is 503" "$RESP_STATUS" 503
check_eq "naming the failing part" "$(jq -c .failing <<<"$RESP_BODY")" '["callback"]'
check_eq "by its state only: no URL, no error text" "$(jq -r .checks.callback <<<"$RESP_BODY")" failing
check "the callback URL is nowhere in the answer" bash -c '! grep -q "127.0.0.1:9" <<<"$1"' _ "$RESP_BODY"
# /healthz takes no write lock (it used to BEGIN IMMEDIATE): a writer holding
# the lock longer than the busy timeout does not make it fail or wait.
# (Contract change, issue 13: a read-only database file is no longer a 503.)
# On PostgreSQL the holder locks every table a writer could want.
check "another process holds the write lock" db_hold \
	'UPDATE connections SET messages_sent = messages_sent;' \
	'LOCK TABLE connections, requests, subscriptions, streams, history IN ACCESS EXCLUSIVE MODE;'
start=$(date +%s%N)
cgi GET /healthz "" STREAMER_DB_BUSY_TIMEOUT=3000
took=$((($(date +%s%N) - start) / 1000000))
check_eq "healthz is 200 while another process holds the write lock" "$RESP_STATUS" 200
check "without waiting for the lock (${took} ms)" test "$took" -lt 2500
db_release

# Every log line is one JSON object with the common fields; no token anywhere.
check "every log line is JSON with time, level and event" \
	jq -e -s 'all(.[]; (.time|type)=="string" and (.level|type)=="string" and (.event|type)=="string")' "$STREAMER_LOG_FILE"
check "message lines carry connection, request, user, tenant, action, outcome, duration" \
	jq -e -s '[.[] | select(.event=="message" and .outcome=="ok")] | length > 0 and all(.[]; .connection_id and .request_id and .user and .tenant and .action and .outcome and (.duration_us|type)=="number")' "$STREAMER_LOG_FILE"
check "no token in the log" bash -c '! grep -qF -- "$1" "$2"' _ "$TOKEN" "$STREAMER_LOG_FILE"
check "no metrics token in the log" bash -c '! grep -qF s3cret-metrics "$1"' _ "$STREAMER_LOG_FILE"

done_testing

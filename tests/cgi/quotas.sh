#!/bin/bash
# quotas.sh - quotas and rate limits through the CGI binary: the message rate shared by processes, async quotas, connections per user, /metrics.
. "$top_srcdir/tests/lib.sh"
setup_stack

# Every CGI run is its own process: what one run takes from a bucket, the next one sees.
export STREAMER_RATE_LIMIT=1 STREAMER_RATE_BURST=3
export STREAMER_MAX_REQUESTS_PER_CONNECTION=2 STREAMER_MAX_PENDING_PER_TENANT=3
export STREAMER_MAX_CONNECTIONS_PER_USER=2
# Every message writes its counts (no touch interval): the row is exact at once.
export STREAMER_TOUCH_INTERVAL=0

TOKEN=$(token quinn qt)
WS_QUERY="Authorization=$TOKEN"

# --- message rate: burst 3, then 1 per second ----------------------------------
body_reset; ev OPEN; ws_event rl1
check_eq "OPEN answers 200" "$RESP_STATUS" 200
body_reset
for i in 1 2 3 4 5; do ev TEXT "{\"action\":\"echo\",\"id\":\"e$i\",\"payload\":$i}"; done
ws_event rl1
check_eq "the burst of 3 is answered" \
	"$(for i in 1 2 3; do m_msg $i | jq -r '.type+" "+.request_id'; done | tr '\n' ' ')" \
	"response e1 response e2 response e3 "
m=$(m_msg 4)
check_eq "the 4th message is RATE_LIMITED with its request id" "$(jq -r '.error.code+" "+.request_id' <<<"$m")" "RATE_LIMITED e4"
check_jq "with details.retry_after_ms (about 1 s at 1/s) and the limit's name" \
	'.error.details.retry_after_ms > 0 and .error.details.retry_after_ms <= 1000 and .error.details.limit == "message"' "$m"
check_eq "the 5th too" "$(m_msg 5 | jq -r .error.code)" RATE_LIMITED
check "a refused message is not routed (no message log line for it)" \
	bash -c "! grep '\"event\":\"message\"' '$STREAMER_LOG_FILE' | grep '\"request_id\":\"e4\"' | grep -qv RATE_LIMITED"
check_eq "nor counted on the connection" "$(conn_rows | jq -r 'select(.id=="rl1") | .messages_received')" 3

body_reset; ev TEXT '{"action":"echo","id":"e6"}'
ws_event rl1
check_eq "another process shares the bucket: still RATE_LIMITED" "$(m_msg 1 | jq -r .error.code)" RATE_LIMITED
retry=$(m_msg 1 | jq -r .error.details.retry_after_ms)

body_reset; ev OPEN; ws_event rl2
body_reset; ev TEXT '{"action":"echo","id":"o1"}'
ws_event rl2
check_eq "another connection has its own bucket" "$(m_msg 1 | jq -r .type)" response

sleep "$(awk -v ms="$retry" 'BEGIN { printf "%.3f", ms / 1000 + 0.05 }')"
body_reset; ev TEXT '{"action":"echo","id":"e7"}'
ws_event rl1
check_eq "after retry_after_ms the message passes" "$(m_msg 1 | jq -r '.type+" "+.request_id')" "response e7"

http_connect hr1 "$(token hank qt2)"
check_eq "plain connect hr1" "$RESP_STATUS" 200
# A wrong secret is refused before the bucket: it cannot drain the connection's messages.
for i in 1 2 3 4 5; do http_msg hr1 '{"action":"echo","id":"x"}' HTTP_X_CONNECTION_SECRET=0000; done
check_eq "a wrong secret is 401" "$RESP_STATUS" 401
codes=$(for i in 1 2 3 4; do
	http_msg hr1 '{"action":"echo","id":"h1"}'
	jq -r 'if .type == "error" then .error.code else .type end' <<<"$RESP_BODY"
done | tr '\n' ' ')
check_eq "the plain HTTP dialect is limited the same way" "$codes" "response response response RATE_LIMITED "

body_reset
for i in 1 2 3 4 5 6; do ev TEXT "{\"action\":\"echo\",\"id\":\"z$i\"}"; done
STREAMER_RATE_LIMIT=0 ws_event rl1
check_eq "STREAMER_RATE_LIMIT=0 turns the message limit off" \
	"$(tr -d '\r' <<<"$RESP_BODY" | grep '^m:' | cut -c3- | jq -r .type | sort | uniq -c | tr -s ' ')" " 6 response"
STREAMER_RATELIMIT_FILE=off ws_event rl1
check_eq "so does STREAMER_RATELIMIT_FILE=off" \
	"$(tr -d '\r' <<<"$RESP_BODY" | grep '^m:' | cut -c3- | jq -r .type | sort | uniq -c | tr -s ' ')" " 6 response"
check "the table is the host file (beside a SQLite database)" test -s "$(host_file ratelimit)"

# --- async quotas: 2 live per connection, 3 pending per tenant ---------------------
export STREAMER_RATE_LIMIT=0
q=$(token aq qa)
for c in a1 a2; do body_reset; ev OPEN; WS_QUERY="Authorization=$q" ws_event $c; done
body_reset
for i in 1 2 3; do ev TEXT "{\"action\":\"delay\",\"id\":\"d$i\",\"payload\":{\"seconds\":1}}"; done
ws_event a1
check_eq "2 async requests per connection are acknowledged" \
	"$(for i in 1 2; do m_msg $i | jq -r '.type+" "+.request_id'; done | tr '\n' ' ')" "acknowledgment d1 acknowledgment d2 "
m=$(m_msg 3)
check_eq "the 3rd is RATE_LIMITED with its id" "$(jq -r '.error.code+" "+.request_id' <<<"$m")" "RATE_LIMITED d3"
check_jq "details name the limit and a retry_after_ms" '.error.details.limit == "requests" and .error.details.retry_after_ms > 0' "$m"
check_eq "and nothing is queued for it" "$(db_sql "SELECT count(*) FROM requests WHERE request_id = 'd3'")" 0
body_reset
for i in 4 5; do ev TEXT "{\"action\":\"delay\",\"id\":\"d$i\",\"payload\":{\"seconds\":1}}"; done
ws_event a2
check_eq "another connection of the tenant gets the tenant's 3rd pending place" "$(m_msg 1 | jq -r .type)" acknowledgment
m=$(m_msg 2)
check_eq "the tenant's 4th pending request is RATE_LIMITED" "$(jq -r '.error.code+" "+.error.details.limit' <<<"$m")" "RATE_LIMITED tenant_pending"
check_eq "nothing is queued for it" "$(db_sql "SELECT count(*) FROM requests WHERE request_id = 'd5'")" 0
body_reset; ev TEXT '{"action":"echo","id":"s1"}'
ws_event a2
check_eq "synchronous actions are not affected" "$(m_msg 1 | jq -r .type)" response
db_sql "UPDATE requests SET status = 'COMPLETED', finished_at = 1, expires_at = 9999999999999 WHERE request_id = 'd1'"
body_reset; ev TEXT '{"action":"delay","id":"d6","payload":{"seconds":1}}'
ws_event a1
check_eq "once one has finished, the connection may queue again" "$(m_msg 1 | jq -r .type)" acknowledgment
body_reset; ev TEXT '{"action":"delay","id":"d7","payload":{"seconds":1}}'
STREAMER_MAX_REQUESTS_PER_CONNECTION=0 STREAMER_MAX_PENDING_PER_TENANT=0 ws_event a1
check_eq "0 turns both async limits off" "$(m_msg 1 | jq -r .type)" acknowledgment

# --- connections per user: 2 live, at connect ---------------------------------------
u=$(token ursula qu)
for c in u1 u2; do body_reset; ev OPEN; WS_QUERY="Authorization=$u" ws_event $c; done
check_eq "2 connections of a user are accepted" "$(conn_rows | jq -r 'select(.user_id=="ursula") | .id' | sort | tr '\n' ' ')" "u1 u2 "
body_reset; ev OPEN; WS_QUERY="Authorization=$u" ws_event u3
check_eq "the 3rd is refused with 429" "$RESP_STATUS" 429
check_eq "and a JSON body with RATE_LIMITED" "$RESP_BODY" '{"error":"Too many connections for this user","code":"RATE_LIMITED"}'
check_eq "and is not stored" "$(conn_rows | jq -r 'select(.id=="u3") | .id')" ""
body_reset; ev OPEN; WS_QUERY="Authorization=$u" ws_event u2
check_eq "a reconnect under a live id of the user is not an extra connection" "$RESP_STATUS" 200
body_reset; ev OPEN; WS_QUERY="Authorization=$(token other qu)" ws_event o9
check_eq "another user of the tenant may connect" "$RESP_STATUS" 200
body_reset
cgi POST /api/connect "" HTTP_X_CONNECTION_ID=u4 HTTP_AUTHORIZATION="Bearer $u"
check_eq "the plain HTTP connect is refused with 429 too" "$RESP_STATUS" 429
db_sql "UPDATE connections SET expires_at = 1000 WHERE id = 'u1'"
body_reset; ev OPEN; WS_QUERY="Authorization=$u" ws_event u5
check_eq "an expired connection does not count" "$RESP_STATUS" 200
check "the refusal is logged" grep -q '"outcome":"RATE_LIMITED","reason":"connections_per_user"\|"reason":"connections_per_user".*"RATE_LIMITED"' "$STREAMER_LOG_FILE"

# --- /metrics -------------------------------------------------------------------------
scrape
check_eq "GET /metrics is 200" "$RESP_STATUS" 200
check "refused messages are counted" test "$(metric 'streamer_rate_limited_total{limit="message"}')" -ge 4
check_eq "refused async requests per connection" "$(metric 'streamer_rate_limited_total{limit="requests"}')" 1
check_eq "refused async requests per tenant" "$(metric 'streamer_rate_limited_total{limit="tenant_pending"}')" 1
check_eq "refused connects" "$(metric 'streamer_rate_limited_total{limit="connections"}')" 2
check_eq "the configured limits are gauges" \
	"$(for l in message_rate message_burst requests_per_connection pending_per_tenant connections_per_user; do metric "streamer_limit{limit=\"$l\"}"; done | tr '\n' ' ')" \
	"0 3 2 3 2 "
if command -v promtool >/dev/null; then
	check "promtool accepts the exposition" bash -c "printf '%s\n' \"\$1\" | promtool check metrics" _ "$RESP_BODY"
fi

# --- validation -------------------------------------------------------------------------
for bad in STREAMER_RATE_LIMIT=-1 STREAMER_RATE_BURST=0 STREAMER_MAX_REQUESTS_PER_CONNECTION=x \
	STREAMER_MAX_PENDING_PER_TENANT=1e3 STREAMER_MAX_CONNECTIONS_PER_USER=-5 STREAMER_RATELIMIT_FILE=rel/path; do
	env "$bad" "$STREAMER_CLI" connections >/dev/null 2>"$TMP/err"
	check "a bad $bad stops the process naming the variable" grep -q "${bad%%=*}" "$TMP/err"
done

done_testing

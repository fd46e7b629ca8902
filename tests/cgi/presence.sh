#!/bin/bash
# presence.sh - presence and presence.count, subscribe with presence, the topics claim (server-side subscriptions) and STREAMER_TOPIC_POLICY=claims, as a CGI.
. "$top_srcdir/tests/lib.sh"
setup_stack

# open ID TOKEN [VAR=VALUE...]: a WebSocket OPEN for ID.
open() {
	local id=$1 tok=$2
	shift 2
	body_reset; ev OPEN
	WS_QUERY="Authorization=$tok" ws_event "$id" "$@"
}
# say ID JSON [VAR=VALUE...]: one TEXT message on ID; its answer in MSG.
say() {
	local id=$1
	body_reset; ev TEXT "$2"
	shift 2
	ws_event "$id" "$@"
	MSG=$(m_msg 1)
}
controls() { printf '%s\n' "$RESP_BODY" | tr -d '\r' | grep '^c:' | cut -c3- | jq -c .; }

open a1 "$(token ann acme)"
open a2 "$(token ann acme)"
open b1 "$(token bob acme)"
open g1 "$(token gus globex)"
say a1 '{"action":"subscribe","id":"s1","payload":{"topic":"room","presence":true}}'
check_jq "subscribe with presence says so" '.data.subscribed == true and .data.presence == true' "$MSG"
check_contains "and subscribes to the topic's presence channel" "$(controls)" '{"type":"subscribe","channel":"presence:acme:room"}'
check_eq "the store keeps the flag" "$(db_sql "SELECT presence FROM subscriptions WHERE connection_id = 'a1'")" 1
say a2 '{"action":"subscribe","id":"s2","payload":{"topic":"room"}}'
check_jq "subscribe without presence answers presence false" '.data.presence == false' "$MSG"
check "and touches no presence channel" bash -c '! grep -q presence: <<<"$1"' _ "$(controls)"
say b1 '{"action":"subscribe","id":"s3","payload":{"topic":"room"}}'
say g1 '{"action":"subscribe","id":"s4","payload":{"topic":"room"}}'
say a1 '{"action":"subscribe","id":"s5","payload":{"topic":"room","presence":"yes"}}'
check_eq "presence that is no boolean: VALIDATION_ERROR" "$(jq -r .error.code <<<"$MSG")" VALIDATION_ERROR

say b1 '{"action":"presence","id":"p1","payload":{"topic":"room"}}'
check_jq "presence lists the tenant's users with their connection counts" \
	'.data.users == [{"user_id":"ann","connections":2},{"user_id":"bob","connections":1}] and .data.count == {"users":2,"connections":3} and .data.truncated == false' "$MSG"
say g1 '{"action":"presence","id":"p2","payload":{"topic":"room"}}'
check_jq "another tenant sees only its own" '.data.users == [{"user_id":"gus","connections":1}]' "$MSG"
say b1 '{"action":"presence.count","id":"p3","payload":{"topic":"room"}}'
check_jq "presence.count gives the numbers only" '.data == {"topic":"room","users":2,"connections":3}' "$MSG"
say b1 '{"action":"presence","id":"p4","payload":{"topic":"bad topic"}}'
check_eq "an invalid topic: VALIDATION_ERROR" "$(jq -r .error.code <<<"$MSG")" VALIDATION_ERROR
say b1 '{"action":"presence","id":"p5","payload":{}}'
check_eq "no topic: VALIDATION_ERROR" "$(jq -r .error.code <<<"$MSG")" VALIDATION_ERROR

db_sql "UPDATE connections SET expires_at = 1 WHERE id = 'a2'" >/dev/null
say b1 '{"action":"presence","id":"p6","payload":{"topic":"room"}}'
check_jq "a connection past its expiry (no DISCONNECT came) is not present" \
	'.data.users == [{"user_id":"ann","connections":1},{"user_id":"bob","connections":1}]' "$MSG"
"$STREAMER_CLI" gc >/dev/null
check_eq "gc removes it and its subscription" "$(db_sql "SELECT count(*) FROM subscriptions WHERE connection_id = 'a2'")" 0

say b1 '{"action":"unsubscribe","id":"u1","payload":{"topic":"room"}}'
check_contains "unsubscribe leaves the presence channel too" "$(controls)" '{"type":"unsubscribe","channel":"presence:acme:room"}'
say a1 '{"action":"presence.count","id":"p7","payload":{"topic":"room"}}'
check_jq "who unsubscribed is gone" '.data.users == 1' "$MSG"
body_reset; ev DISCONNECT
ws_event a1
say b1 '{"action":"presence.count","id":"p8","payload":{"topic":"room"}}'
check_jq "who disconnected is gone" '.data.users == 0' "$MSG"

# STREAMER_PRESENCE_PERMISSION
open p1 "$(token pia acme --permissions presence)"
say b1 '{"action":"presence","id":"q1","payload":{"topic":"room"}}' STREAMER_PRESENCE_PERMISSION=presence
check_eq "without the presence permission: FORBIDDEN" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
check_jq "naming it" '.error.message | test("presence permission")' "$MSG"
say b1 '{"action":"subscribe","id":"q2","payload":{"topic":"room","presence":true}}' STREAMER_PRESENCE_PERMISSION=presence
check_eq "nor subscribe with presence" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
say p1 '{"action":"presence.count","id":"q3","payload":{"topic":"room"}}' STREAMER_PRESENCE_PERMISSION=presence
check_eq "with it: answered" "$(jq -r .type <<<"$MSG")" response

# The topics claim: server-side subscriptions at connect.
TOK=$(token tia acme --topics 'news,prices.*')
open t1 "$TOK"
check_eq "a token with a topics claim connects" "$RESP_STATUS" 200
check_contains "subscribed at connect to the topic's channel" "$(controls)" '{"type":"subscribe","channel":"topic:acme:news"}'
check_contains "and to the pattern's" "$(controls)" '{"type":"subscribe","channel":"topic:acme:prices.*"}'
m=$(m_msg 1)
check_jq "the client is told, with the topic's position" \
	'.type == "subscriptions" and .server_side == true and .topics[0].topic == "news" and .topics[0].stream == "topic:acme:news" and .topics[0].offset == 0 and .topics[1] == {"topic":"prices.*","pattern":true}' "$m"
check_eq "the store has both subscriptions" "$(db_sql "SELECT topic FROM subscriptions WHERE connection_id = 't1' ORDER BY topic" | tr '\n' ' ')" "news prices.* "
check_eq "and the claims" "$(db_sql "SELECT topic_claims FROM connections WHERE id = 't1'")" '{"topics":["news","prices.*"]}'
say t1 '{"action":"presence","id":"t","payload":{"topic":"news"}}'
check_jq "a server-side subscriber is present" '.data.users == [{"user_id":"tia","connections":1}]' "$MSG"
http_connect h1 "$TOK"
check_jq "the plain HTTP connect answer lists them too" '.subscriptions[0].topic == "news" and .subscriptions[1].pattern == true' "$RESP_BODY"
open t2 "$(token tia acme --topics 'bad topic')"
check_eq "a malformed topics claim is refused: 401" "$RESP_STATUS" 401
check_jq "naming the claim" '.error | test("topics")' "$RESP_BODY"
open t3 "$(token tia acme --topics "$(seq -s, -f 't%g' 19)")"
check_eq "more topics than a connection may hold: 401" "$RESP_STATUS" 401
open t4 "$(token tia acme --publish-topics 'x.*.y')"
check_eq "a pattern with * inside is refused: 401" "$RESP_STATUS" 401

# STREAMER_TOPIC_POLICY=claims
POL=STREAMER_TOPIC_POLICY=claims
open c1 "$(token cal acme --permissions publish --topics 'news,prices.*' --publish-topics 'chat.*')"
open c2 "$(token cid acme --permissions publish)"
say c1 '{"action":"subscribe","id":"x1","payload":{"topic":"prices.eur"}}' $POL
check_eq "claims: a topic a pattern allows may be subscribed" "$(jq -r .data.subscribed <<<"$MSG")" true
say c1 '{"action":"subscribe","id":"x2","payload":{"topic":"secret"}}' $POL
check_eq "claims: an unlisted topic is FORBIDDEN" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
check_eq "naming the topic and the claim" "$(jq -r .error.message <<<"$MSG")" \
	"Topic 'secret' is not allowed by this connection's token (topics claim)"
say c1 '{"action":"subscribe","id":"x3","payload":{"topic":"prices"}}' $POL
check_eq "claims: prices.* does not cover prices itself" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
say c1 '{"action":"publish","id":"x4","payload":{"topic":"news","data":1}}' $POL
check_eq "claims: publishing needs publish_topics" "$(jq -r .error.message <<<"$MSG")" \
	"Topic 'news' is not allowed by this connection's token (publish_topics claim)"
say c1 '{"action":"presence","id":"x5","payload":{"topic":"secret"}}' $POL
check_eq "claims: nor presence of an unlisted topic" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
say c1 '{"action":"publish","id":"x8","payload":{"topic":"chat.room","data":1}}' $POL
check_eq "claims: a topic publish_topics allows passes the check (then fails to push: no callback here)" \
	"$(jq -r .error.code <<<"$MSG")" PROCESSING_FAILED
say c2 '{"action":"subscribe","id":"x6","payload":{"topic":"news"}}' $POL
check_eq "claims: a token without the claims may subscribe to nothing" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
say c1 '{"action":"history","id":"h1","payload":{"stream":"topic:acme:secret"}}' $POL
check_eq "claims: nor the history of an unlisted topic" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
say c1 '{"action":"streams.recover","id":"h2","payload":{"streams":{"topic:acme:secret":{"epoch":null,"offset":0}}}}' $POL
check_eq "nor its recovery" "$(jq -r .error.code <<<"$MSG")" FORBIDDEN
say c1 '{"action":"history","id":"h3","payload":{"stream":"topic:acme:prices.eur"}}' $POL
check_eq "a covered topic's history is readable" "$(jq -r .type <<<"$MSG")" response
say c2 '{"action":"subscribe","id":"x7","payload":{"topic":"news"}}'
check_eq "open (the default): anything of the tenant" "$(jq -r .data.subscribed <<<"$MSG")" true
check_eq "a refused subscribe stored nothing" \
	"$(db_sql "SELECT count(*) FROM subscriptions WHERE connection_id = 'c1' AND topic = 'secret'")" 0

done_testing

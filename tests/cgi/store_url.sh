#!/bin/bash
# store_url.sh - STREAMER_DB as a store URL: "sqlite:<path>" serves like the plain path, an engine this build lacks is refused by name.
. "$top_srcdir/tests/lib.sh"
if on_pg; then
	echo "1..0 # SKIP sqlite:PATH URLs: the suite runs on PostgreSQL"
	exit 0
fi
setup_stack
db=$STREAMER_DB
cd "$TMP" || exit 1

export STREAMER_DB="sqlite:$db"
TOKEN=$(token una ut)
WS_QUERY="Authorization=$TOKEN"
body_reset; ev OPEN; ws_event u1
check_eq "a worker on sqlite:PATH accepts a connection" "$RESP_STATUS" 200
check_eq "its row is in the file at PATH" "$(sqlite3 "$db" "SELECT tenant_id FROM connections WHERE id = 'u1'")" ut
check_eq "the CLI reads the same store" "$(conn_rows | jq -r 'select(.id=="u1") | .user_id')" una
body_reset; cgi GET /healthz ""
check_eq "healthz answers 200" "$RESP_STATUS" 200
scrape
check_eq "/metrics answers 200" "$RESP_STATUS" 200
check "the metrics file is beside the database file" test -f "$db.metrics"
check "nothing is made under a directory named after the scheme" test ! -e "$TMP/sqlite:"

url='mongodb://streamer:pw-not-shown@db.example/streamer'
body_reset; cgi GET /healthz "" STREAMER_DB="$url"
check_eq "a worker on a mongodb:// URL (no such engine) stops with a generic 500" "$RESP_STATUS" 500
check_contains "its reason names the missing engine" "$(cat "$TMP/stderr")" "no store engine for mongodb://"
check "the reason never repeats the URL's credentials" bash -c '! grep -q pw-not-shown "$1" && ! grep -q pw-not-shown <<<"$2"' _ "$TMP/stderr" "$RESP_BODY"
out=$(STREAMER_DB="$url" "$STREAMER_CLI" init-db 2>&1)
check_eq "init-db refuses it too (exit 1)" "$?" 1
check_contains "naming the missing engine" "$out" "no store engine for mongodb://"
done_testing

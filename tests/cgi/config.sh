#!/bin/bash
# config.sh - configuration: every bad value stops the worker with a message naming the variable; the file and the environment.
. "$top_srcdir/tests/lib.sh"
setup_stack

# bad VAR=VALUE EXPECTED-TEXT [NAMED-VAR]: the CGI answers a generic 500 and exits 1;
# the reason, naming the variable (or NAMED-VAR, when another setting is the one at
# fault), goes to stderr (the web server's error log), never to the client.
bad() {
	local assign=$1 want=$2 var=${3:-${1%%=*}}
	body_reset
	cgi GET /healthz "" "$assign"
	if [ "$RESP_STATUS" = 500 ] && [ "$CGI_RC" = 1 ] &&
		[ "$(jq -r .code <<<"$RESP_BODY")" = INTERNAL_ERROR ] &&
		! grep -q "$var" <<<"$RESP_BODY" && ! grep -qF "$want" <<<"$RESP_BODY" &&
		! grep -q "$TMP" <<<"$RESP_BODY" &&
		grep -q "$var" "$TMP/stderr" && grep -qF "$want" "$TMP/stderr"; then
		ok "$assign is refused naming $var"
	else
		not_ok "$assign is refused naming $var"
		diag "status=$RESP_STATUS rc=$CGI_RC body=$RESP_BODY stderr=$(cat "$TMP/stderr")"
	fi
}

bad STREAMER_JWT_ALG=none "unsupported algorithm"
bad STREAMER_JWT_ALG=rs256 "unsupported algorithm"
bad STREAMER_JWT_LEEWAY=abc "expected an integer"
bad STREAMER_JWT_LEEWAY=-1 "expected an integer"
bad STREAMER_JWT_LEEWAY=99999 "expected an integer"
bad STREAMER_CONNECTION_TTL=0 "expected an integer"
bad STREAMER_CONNECTION_TTL=10s "expected an integer"
bad STREAMER_MAX_MESSAGE_BYTES=2000000 "expected an integer"
bad STREAMER_MAX_BODY_BYTES=100 "expected an integer"
bad STREAMER_KEEPALIVE_INTERVAL=5 "at least 20"
# The touch interval: whole seconds from 0 to the TTL (86400 by default).
bad STREAMER_TOUCH_INTERVAL=86401 "expected an integer from 0 to 86400"
bad STREAMER_TOUCH_INTERVAL=5s "expected an integer"
bad STREAMER_TOUCH_INTERVAL=-1 "expected an integer"
bad STREAMER_DB_BUSY_TIMEOUT=x "expected an integer"
bad STREAMER_LOG_LEVEL=loud "expected debug"
bad STREAMER_LOG_FILE=/nonexistent/dir/log "cannot open"
bad STREAMER_JWT_KEY_FILE= "must name"
bad STREAMER_JWT_KEY_FILE=/nonexistent.pem "cannot read"
bad STREAMER_DB= "must name"
bad STREAMER_DB=/nonexistent/dir/x.db "does not exist"
# Only `streamer init-db` creates a database: a worker refuses to start without one.
bad STREAMER_DB="$TMP/missing.db" "$TMP/missing.db does not exist; create it with 'streamer init-db'"
check "the worker did not create the missing database" test ! -e "$TMP/missing.db"
printf 'not a key' >"$TMP/garbage.pem"
bad STREAMER_JWT_KEY_FILE="$TMP/garbage.pem" "STREAMER_JWT_KEY_FILE"
bad STREAMER_JWT_ALG=ES256 "needs an EC key" STREAMER_JWT_KEY_FILE
bad STREAMER_CONFIG=/nonexistent.conf "cannot read"

printf '# comment\n\nSTREAMER_LOG_LEVEL = warn\nSTREAMER_NOT_A_THING=1\n' >"$TMP/typo.conf"
bad STREAMER_CONFIG="$TMP/typo.conf" "unknown variable STREAMER_NOT_A_THING"
printf 'STREAMER_LOG_LEVEL\n' >"$TMP/noeq.conf"
bad STREAMER_CONFIG="$TMP/noeq.conf" "expected KEY=VALUE"

# A file supplies values; the environment wins over it.
printf 'STREAMER_KEEPALIVE_INTERVAL="45"\nSTREAMER_ALLOWED_TENANTS=acme\n' >"$TMP/good.conf"
body_reset; ev OPEN
STREAMER_CONFIG="$TMP/good.conf" WS_QUERY="Authorization=$(token u acme)" ws_event f1
check "values come from the STREAMER_CONFIG file" grep -qx 'Keep-Alive-Interval: 45' <<<"$RESP_HEADERS"
STREAMER_CONFIG="$TMP/good.conf" STREAMER_KEEPALIVE_INTERVAL=30 WS_QUERY="Authorization=$(token u acme)" ws_event f2
check "the environment wins over the file" grep -qx 'Keep-Alive-Interval: 30' <<<"$RESP_HEADERS"
STREAMER_CONFIG="$TMP/good.conf" WS_QUERY="Authorization=$(token u other)" ws_event f3
check_eq "STREAMER_ALLOWED_TENANTS from the file is enforced" "$RESP_STATUS" 403
STREAMER_KEEPALIVE_INTERVAL=0 WS_QUERY="Authorization=$(token u acme)" ws_event f4
check "STREAMER_KEEPALIVE_INTERVAL=0 sends no Keep-Alive-Interval" bash -c "! grep -q Keep-Alive-Interval <<<'$RESP_HEADERS'"

out=$("$STREAMER_FCGI" --check-config)
check_eq "--check-config accepts a good configuration" "$?" 0
STREAMER_JWT_ALG=bogus "$STREAMER_FCGI" --check-config >/dev/null 2>"$TMP/err"
check_eq "--check-config refuses a bad one" "$?" 1
check_contains "naming the variable" "$(cat "$TMP/err")" "STREAMER_JWT_ALG"

done_testing

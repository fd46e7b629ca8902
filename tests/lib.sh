# tests/lib.sh - shell helpers for the CGI-mode tests: TAP output, keys, tokens, running the worker as a CGI.
# Sourced by tests/cgi/*.sh under `make check` (which exports STREAMER_FCGI, STREAMER_CLI, top_srcdir).
export LC_ALL=C
: "${STREAMER_FCGI:?run under make check}"
: "${STREAMER_CLI:?run under make check}"

TAP_N=0
TAP_FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/streamer-test.XXXXXX")
PG_TEST_DB= # the database setup_stack made on STREAMER_TEST_PG_URL's server
trap 'db_release 2>/dev/null; pg_drop; rm -rf "$TMP"' EXIT

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1"; }
not_ok() { TAP_N=$((TAP_N + 1)); echo "not ok $TAP_N - $1"; TAP_FAILED=1; }
diag() { printf '# %s\n' "$@"; }

# check DESCRIPTION COMMAND...: one TAP line for whether COMMAND succeeds.
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; diag "failed: $*"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1"; diag "got:  $2" "want: $3"; fi
}

# check_jq DESCRIPTION FILTER JSON: jq -e FILTER holds for JSON.
check_jq() {
	if jq -e "$2" >/dev/null 2>&1 <<<"$3"; then ok "$1"; else not_ok "$1"; diag "jq $2 fails on: $3"; fi
}

# check_contains DESCRIPTION HAYSTACK NEEDLE
check_contains() {
	case $2 in
	*"$3"*) ok "$1" ;;
	*) not_ok "$1"; diag "in:   $2" "want: $3" ;;
	esac
}

done_testing() { echo "1..$TAP_N"; exit $TAP_FAILED; }

# ---- the engine under test -------------------------------------------------------
# SQLite by default. With STREAMER_TEST_PG_URL (`make check-postgresql` sets it: a
# libpq URL of a database on a server where the tests may create databases),
# setup_stack makes a database of the test's own there and points STREAMER_DB at it.

# on_pg: true when the tests run on PostgreSQL.
on_pg() { [ -n "${STREAMER_TEST_PG_URL:-}" ]; }

# pg_url_of NAME: STREAMER_TEST_PG_URL with its database replaced by NAME.
pg_url_of() {
	local u=$STREAMER_TEST_PG_URL q=
	case $u in *\?*) q="?${u#*\?}" u=${u%%\?*} ;; esac
	printf '%s/%s%s\n' "${u%/*}" "$1" "$q"
}

# pg_admin SQL: runs SQL on STREAMER_TEST_PG_URL's database (CREATE/DROP DATABASE).
pg_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$STREAMER_TEST_PG_URL" -c "$1" >/dev/null; }

# pg_drop: drops the test's database (at exit), even with sessions still on it.
pg_drop() {
	[ -n "$PG_TEST_DB" ] || return 0
	pg_admin "DROP DATABASE IF EXISTS \"$PG_TEST_DB\" WITH (FORCE)" || true
	PG_TEST_DB=
}

# db_sql SQL: runs one statement on the test's database, whichever the engine,
# and prints its rows as sqlite3 does: columns joined by |, no header.
db_sql() {
	if on_pg; then
		psql -X -A -t -q -F '|' -v ON_ERROR_STOP=1 -d "$STREAMER_DB" -c "$1"
	else
		sqlite3 "$STREAMER_DB" "$1"
	fi
}

# host_file SUFFIX: where the workers keep the host file SUFFIX (metrics,
# ratelimit, activity): beside a SQLite file, in STREAMER_HOST_DIR otherwise.
host_file() {
	if on_pg; then echo "$STREAMER_HOST_DIR/streamer.$1"; else echo "$STREAMER_DB.$1"; fi
}

# db_hold SQLITE_SQL PG_SQL: another process opens a write transaction (SQLite:
# BEGIN IMMEDIATE, the database's write lock), runs the engine's SQL in it and
# keeps it open, with its locks, until db_release; returns once they are held.
db_hold() {
	local begin sql mark client
	if on_pg; then
		begin="BEGIN;" sql=$2 mark="\\! touch '$TMP/held'" client=(psql -X -q -d "$STREAMER_DB")
	else
		begin="BEGIN IMMEDIATE;" sql=$1 mark=".shell touch '$TMP/held'" client=(sqlite3 "$STREAMER_DB")
	fi
	rm -f "$TMP/held" "$TMP/release"
	{ echo "$begin"; echo "$sql"; echo "$mark"; wait_file "$TMP/release"; echo "COMMIT;"; } |
		"${client[@]}" >/dev/null 2>&1 &
	DB_HOLDER=$!
	wait_file "$TMP/held"
}

# wait_file PATH: waits up to 30 s for PATH to exist; false if it does not.
wait_file() {
	local i=0
	while [ ! -e "$1" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
	[ -e "$1" ]
}

# db_release: ends db_hold's transaction and waits for its process.
db_release() {
	[ -n "${DB_HOLDER:-}" ] || return 0
	touch "$TMP/release"
	wait "$DB_HOLDER" 2>/dev/null
	DB_HOLDER=
}

# Development keys and a database for one test file (on PostgreSQL a fresh
# database, its host files in $TMP).
setup_stack() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/priv.pem" 2>/dev/null
	openssl pkey -in "$TMP/priv.pem" -pubout -out "$TMP/pub.pem"
	if on_pg; then
		PG_TEST_DB=streamer_t$$_$RANDOM
		pg_admin "CREATE DATABASE \"$PG_TEST_DB\"" || { echo "Bail out! cannot create a database on STREAMER_TEST_PG_URL"; exit 1; }
		export STREAMER_DB
		STREAMER_DB=$(pg_url_of "$PG_TEST_DB")
		export STREAMER_HOST_DIR="$TMP"
	else
		export STREAMER_DB="$TMP/streamer.db"
	fi
	export STREAMER_JWT_KEY_FILE="$TMP/pub.pem"
	export STREAMER_LOG_FILE="$TMP/worker.log"
	unset STREAMER_CONFIG STREAMER_GRIP_KEY STREAMER_ALLOWED_TENANTS STREAMER_JWT_ISSUER STREAMER_JWT_AUDIENCE
	"$STREAMER_CLI" init-db >/dev/null
}

# token SUB TENANT [streamer token options...]: a token signed with the test key.
token() {
	local sub=$1 tenant=$2
	shift 2
	"$STREAMER_CLI" token --key "$TMP/priv.pem" --sub "$sub" --tenant "$tenant" "$@"
}

. "$top_srcdir/tests/grip.sh" # b64url, grip_sig

# ev NAME [CONTENT]: appends one websocket-events event to $TMP/body.
ev() {
	if [ $# -eq 1 ]; then
		printf '%s\r\n' "$1" >>"$TMP/body"
	else
		printf '%s %x\r\n%s\r\n' "$1" "${#2}" "$2" >>"$TMP/body"
	fi
}
body_reset() { : >"$TMP/body"; }

# cgi METHOD URI CONTENT_TYPE [VAR=VALUE...]: runs the worker as a CGI with $TMP/body
# as its input. Sets RESP_STATUS, RESP_HEADERS, RESP_BODY and CGI_RC.
cgi() {
	local method=$1 uri=$2 ctype=$3 query=
	shift 3
	case $uri in *\?*) query=${uri#*\?} ;; esac
	env REQUEST_METHOD="$method" REQUEST_URI="$uri" QUERY_STRING="$query" \
		CONTENT_TYPE="$ctype" CONTENT_LENGTH="$(wc -c <"$TMP/body")" \
		REMOTE_ADDR=127.0.0.1 GATEWAY_INTERFACE=CGI/1.1 "$@" \
		"$STREAMER_FCGI" <"$TMP/body" >"$TMP/resp" 2>"$TMP/stderr"
	CGI_RC=$?
	RESP_STATUS=$(sed -n '1s/^Status: \([0-9]*\).*/\1/p' "$TMP/resp")
	RESP_HEADERS=$(sed '/^\r$/q' "$TMP/resp" | tr -d '\r')
	RESP_BODY=$(sed '1,/^\r$/d' "$TMP/resp")
}

# ws_event CONN_ID [VAR=VALUE...]: a Pushpin websocket-events POST to /ws with $TMP/body.
ws_event() {
	local id=$1
	shift
	cgi POST "/ws${WS_QUERY:+?$WS_QUERY}" application/websocket-events HTTP_CONNECTION_ID="$id" "$@"
}

# The JSON of the n-th "m:" message in RESP_BODY (1-based).
m_msg() { printf '%s\n' "$RESP_BODY" | tr -d '\r' | grep '^m:' | sed -n "${1}p" | cut -c3-; }

# metric 'NAME{labels}': its value in the last /metrics answer (0 when absent).
metric() {
	local v
	v=$(printf '%s\n' "$RESP_BODY" | awk -v k="$1" '$1 == k { print $2 }')
	echo "${v:-0}"
}
# scrape [VAR=VALUE...]: GET /metrics (RESP_* as cgi sets them).
scrape() {
	body_reset
	cgi GET /metrics "" "$@"
}

# http_connect ID TOKEN [VAR=VALUE...]: POST /api/connect on the plain dialect
# (RESP_* as cgi sets them); on 200 remembers the connection_secret, which
# http_msg and http_disconnect send.
declare -A SECRETS
http_connect() {
	local id=$1 tok=$2
	shift 2
	body_reset
	cgi POST /api/connect "" HTTP_X_CONNECTION_ID="$id" HTTP_AUTHORIZATION="Bearer $tok" "$@"
	[ "$RESP_STATUS" != 200 ] || SECRETS[$id]=$(jq -r .connection_secret <<<"$RESP_BODY")
}
# http_msg ID JSON [VAR=VALUE...]: POST /api/message with ID's secret.
http_msg() {
	local id=$1
	printf '%s' "$2" >"$TMP/body"
	shift 2
	cgi POST /api/message application/json HTTP_X_CONNECTION_ID="$id" \
		HTTP_X_CONNECTION_SECRET="${SECRETS[$id]:-none}" "$@"
}
# http_disconnect ID [VAR=VALUE...]: POST /api/disconnect with ID's secret.
http_disconnect() {
	local id=$1
	shift
	body_reset
	cgi POST /api/disconnect "" HTTP_X_CONNECTION_ID="$id" HTTP_X_CONNECTION_SECRET="${SECRETS[$id]:-none}" "$@"
}

# Rows of the connections table as JSON lines.
conn_rows() { "$STREAMER_CLI" connections --json; }

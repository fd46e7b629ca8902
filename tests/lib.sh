# tests/lib.sh - shell helpers for the CGI-mode tests: TAP output, keys, tokens, running the worker as a CGI.
# Sourced by tests/cgi/*.sh under `make check` (which exports STREAMER_FCGI, STREAMER_CLI, top_srcdir).
export LC_ALL=C
: "${STREAMER_FCGI:?run under make check}"
: "${STREAMER_CLI:?run under make check}"

TAP_N=0
TAP_FAILED=0
TMP=$(mktemp -d "${TMPDIR:-/tmp}/streamer-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

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

# Development keys and a database for one test file.
setup_stack() {
	openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$TMP/priv.pem" 2>/dev/null
	openssl pkey -in "$TMP/priv.pem" -pubout -out "$TMP/pub.pem"
	export STREAMER_DB="$TMP/streamer.db"
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

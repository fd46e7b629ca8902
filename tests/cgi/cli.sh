#!/bin/bash
# cli.sh - the streamer command: help, version, init-db, token, connections, usage errors, gc of the streams' history.
. "$top_srcdir/tests/lib.sh"

out=$("$STREAMER_CLI" --help)
check_eq "streamer --help exits 0" "$?" 0
for cmd in init-db token connections; do
	check_contains "--help lists $cmd" "$out" "$cmd"
done
check "streamer --version prints the version" grep -Eq '^streamer [0-9]+\.[0-9]+\.[0-9]+$' <<<"$("$STREAMER_CLI" --version)"
"$STREAMER_CLI" frobnicate >/dev/null 2>&1
check_eq "an unknown command exits 2" "$?" 2
"$STREAMER_CLI" >/dev/null 2>&1
check_eq "no command exits 2" "$?" 2
for cmd in init-db token connections stats send broadcast close gc processor; do
	"$STREAMER_CLI" $cmd --no-such-option >/dev/null 2>"$TMP/err"
	check_eq "streamer $cmd: an unknown option exits 2" "$?" 2
	check_eq "streamer $cmd: an unknown option is named, with where to look" "$(cat "$TMP/err")" \
		"streamer $cmd: unknown option '--no-such-option'"$'\n'"Try 'streamer $cmd --help'."
done
check_contains "a missing value is named" "$("$STREAMER_CLI" token --key 2>&1)" "streamer token: option '--key' needs a value"
check "streamer-fcgi --help lists the configuration" grep -q STREAMER_JWT_KEY_FILE <<<"$("$STREAMER_FCGI" --help)"
check "streamer-fcgi --version" grep -Eq '^streamer-fcgi [0-9.]+$' <<<"$("$STREAMER_FCGI" --version)"

missing=
for v in $("$STREAMER_FCGI" --help | grep -o '^  STREAMER_[A-Z_]*'); do
	grep -q "^| \`$v\` |" "$top_srcdir/docs/configuration.md" || missing="$missing $v"
done
check_eq "docs/configuration.md's table lists every variable the worker knows" "$missing" ""

setup_stack
out=$("$STREAMER_CLI" init-db)
check_eq "init-db is idempotent" "$?" 0
check_contains "init-db reports the schema version" "$out" "schema version"
if on_pg; then
	check "the schema version is recorded" test "$(db_sql 'SELECT max(version) FROM streamer_schema')" -ge 8
	diag "the SQLite file checks (WAL, modes, groups, missing files) are skipped on PostgreSQL"
	sqlite_file_checks=
else
	sqlite_file_checks=1
	check "init-db created the database" test -s "$STREAMER_DB"
	check_eq "the database is in WAL mode" "$(sqlite3 "$STREAMER_DB" 'PRAGMA journal_mode')" wal
	check "PRAGMA user_version is set" test "$(sqlite3 "$STREAMER_DB" 'PRAGMA user_version')" -ge 1
fi
[ -n "$sqlite_file_checks" ] && {
"$STREAMER_CLI" init-db --db "$TMP/nodir/x.db" >/dev/null 2>"$TMP/err"
check_eq "init-db in a missing directory fails" "$?" 1
check_contains "with a one-line reason" "$(cat "$TMP/err")" "streamer init-db:"
check_eq "the database is created mode 0600" "$(stat -c %a "$STREAMER_DB")" 600
STREAMER_DB_GROUP=$(id -gn) "$STREAMER_CLI" init-db --db "$TMP/group.db" >/dev/null
check_eq "with STREAMER_DB_GROUP it is 0640 and that group's" "$(stat -c '%a %G' "$TMP/group.db")" "640 $(id -gn)"
STREAMER_DB_GROUP=no-such-group-xyz "$STREAMER_CLI" init-db --db "$TMP/nogroup.db" >/dev/null 2>"$TMP/err"
check_contains "an unknown STREAMER_DB_GROUP is refused naming it" "$(cat "$TMP/err")" "STREAMER_DB_GROUP: no group named"

# Only init-db creates a database: every other command refuses a missing one, naming it.
for cmd in "connections" "stats" "gc" "processor --once"; do
	STREAMER_DB="$TMP/absent.db" "$STREAMER_CLI" $cmd >/dev/null 2>"$TMP/err"
	rc=$?
	if [ "$rc" = 1 ] && grep -qF "$TMP/absent.db does not exist; create it with 'streamer init-db'" "$TMP/err" &&
		[ ! -e "$TMP/absent.db" ]; then
		ok "streamer $cmd refuses a missing database, naming it, and creates nothing"
	else
		not_ok "streamer $cmd refuses a missing database, naming it, and creates nothing"
		diag "rc=$rc err=$(cat "$TMP/err")" "$(ls "$TMP")"
	fi
done
}

t=$(token dave delta --permissions a,b --ttl 600 --issuer iss1 --audience aud1)
check_eq "token prints three base64url parts" "$(grep -Ec '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' <<<"$t")" 1
claims=$(cut -d. -f2 <<<"$t" | tr '_-' '/+' | awk '{ while (length($0) % 4) $0 = $0 "="; print }' | openssl base64 -d -A)
check_eq "token carries the claims" "$(jq -c '[.sub,.tenant_id,.permissions,.iss,.aud,(.exp-.iat)]' <<<"$claims")" '["dave","delta",["a","b"],"iss1","aud1",600]'
"$STREAMER_CLI" token --key "$TMP/priv.pem" --tenant x >/dev/null 2>&1
check_eq "token without --sub is a usage error" "$?" 2
"$STREAMER_CLI" token --key "$TMP/missing.pem" --sub a --tenant b >/dev/null 2>&1
check_eq "token with a missing key file fails" "$?" 1

export STREAMER_JWT_ISSUER=iss1 STREAMER_JWT_AUDIENCE=aud1
body_reset; ev OPEN
WS_QUERY="Authorization=$t" ws_event k1
check_eq "a minted token with issuer and audience connects" "$RESP_STATUS" 200
WS_QUERY="Authorization=$(token dave delta --issuer other --audience aud1)" ws_event k2
check_eq "a wrong issuer is refused" "$(jq -r .error <<<"$RESP_BODY")" "Invalid token: invalid issuer"
WS_QUERY="Authorization=$(token dave delta --issuer iss1 --audience other)" ws_event k3
check_eq "a wrong audience is refused" "$(jq -r .error <<<"$RESP_BODY")" "Invalid token: invalid audience"
unset STREAMER_JWT_ISSUER STREAMER_JWT_AUDIENCE
WS_QUERY="Authorization=$(token erin echo)" ws_event k4

check_eq "connections --json lists every connection" "$("$STREAMER_CLI" connections --json | jq -r .id | sort | tr '\n' ' ')" "k1 k4 "
check_eq "connections --tenant filters" "$("$STREAMER_CLI" connections --json --tenant echo | jq -r .id)" "k4"
out=$("$STREAMER_CLI" connections)
check_contains "connections prints a table with the user" "$out" "erin"

for alg in HS256 ES256; do
	case $alg in
	HS256) printf 'a-shared-secret\n' >"$TMP/sign.key"; cp "$TMP/sign.key" "$TMP/verify.key" ;;
	ES256) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TMP/sign.key" 2>/dev/null
	       openssl pkey -in "$TMP/sign.key" -pubout -out "$TMP/verify.key" ;;
	esac
	t=$("$STREAMER_CLI" token --alg $alg --key "$TMP/sign.key" --sub s --tenant t)
	STREAMER_JWT_ALG=$alg STREAMER_JWT_KEY_FILE="$TMP/verify.key" WS_QUERY="Authorization=$t" ws_event a-$alg
	check_eq "a $alg token connects when $alg is configured" "$RESP_STATUS" 200
	WS_QUERY="Authorization=$t" ws_event b-$alg
	check_eq "a $alg token is refused when RS256 is pinned" "$(jq -r .error <<<"$RESP_BODY")" "Invalid token: algorithm not allowed"
done

# --- gc: the streams' old messages and the streams idle for a day ------------
now=$(($(date +%s) * 1000)); day_ago=$((now - 90000000))
db_sql "INSERT INTO streams VALUES ('topic:t:idle', '0123456789abcdef', 2, $day_ago),
	('topic:t:busy', 'fedcba9876543210', 2, $now)"
db_sql "INSERT INTO history VALUES ('topic:t:idle', 1, NULL, '{}', $day_ago), ('topic:t:idle', 2, NULL, '{}', $day_ago),
	('topic:t:busy', 1, NULL, '{}', $((now - 600000))), ('topic:t:busy', 2, NULL, '{}', $now)"
out=$(STREAMER_HISTORY_TTL=172800 "$STREAMER_CLI" gc 2>&1)
check_contains "with a ttl of two days gc keeps a stream idle for one, and its messages" \
	"$out" "0 expired stream messages, 0 idle streams"
out=$(STREAMER_HISTORY_TTL=300 "$STREAMER_CLI" gc 2>&1)
check_contains "gc removes the stream messages older than STREAMER_HISTORY_TTL and the streams idle for a day" \
	"$out" "3 expired stream messages, 1 idle stream"
check_eq "the busy stream and its newest message are left" \
	"$(db_sql "SELECT name FROM streams"; db_sql "SELECT stream || '/' || seq FROM history")" \
	"$(printf 'topic:t:busy\ntopic:t:busy/2')"

done_testing

#!/usr/bin/env bash
# dev.sh - the README's two commands: `./dev.sh up` (the whole stack on loopback) and `./dev.sh test` (every test); also down, restart, status, logs.
#
#   ./dev.sh up        install what is missing, build, start zurl + Pushpin,
#                      lighttpd and the streamer-fcgi workers (and PostgreSQL,
#                      and more nodes, as the settings below say); print how to use them
#   ./dev.sh down      stop exactly the processes `up` started (recorded pids),
#                      every node and PostgreSQL included
#   ./dev.sh restart   down, then up (after a rebuild, to run the new workers);
#                      keeps the running stack's engine and node count unless set
#   ./dev.sh status    what is running
#   ./dev.sh logs [-f] the end of every log (-f: follow them)
#   ./dev.sh test      install what is missing, build with -Werror, run the
#                      sanitizer, valgrind, fuzz, PostgreSQL and Debian package
#                      checks, then `make distcheck` (the whole `make check` on the tarball)
#
# Settings (environment):
#   STREAMER_PUSHPIN_PORT=7999  STREAMER_HTTP_PORT=8080  STREAMER_PUBLISH_PORT=5561
#   STREAMER_WORKERS=2  STREAMER_PROCESSORS=2 (concurrency of `streamer processor`; 0 = none)
#   STREAMER_WEB_SERVER=lighttpd|apache
#   STREAMER_VAR_DIR=./var  (keys, database, configs, sockets, pids, logs)
#   STREAMER_BUILD_DIR=./build
#   STREAMER_DB_ENGINE=sqlite|postgresql  the database: sqlite = var/streamer.db;
#                      postgresql = a PostgreSQL server of its own (Debian's postgresql
#                      package, data and socket in var/pg/, no TCP, run as the user
#                      postgres when dev.sh runs as root), database "streamer"
#   STREAMER_NODES=1   nodes (1-9; more than 1 needs STREAMER_DB_ENGINE=postgresql): each
#                      its own Pushpin, zurl, web server, workers and processor, all on the
#                      one database; node k in var/node<k>/ on the ports above + 100*(k-1)
#                      (WebSocket 7999, 8099, ...); one JWT key (node 1's), and every
#                      node's workers push to every node's Pushpin (STREAMER_CALLBACK_URL)
#   any other STREAMER_* variable is passed to the workers (docs/configuration.md)
# Example: STREAMER_DB_ENGINE=postgresql STREAMER_NODES=2 ./dev.sh up
# A second stack runs beside the first with its own var directory and ports:
#   STREAMER_VAR_DIR=/tmp/s2 STREAMER_PUSHPIN_PORT=7998 STREAMER_HTTP_PORT=8081 \
#   STREAMER_PUBLISH_PORT=5571 ./dev.sh up
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$SRC"
BUILD=${STREAMER_BUILD_DIR:-$SRC/build}
# shellcheck source=tests/e2e/stack.sh
source "$SRC/tests/e2e/stack.sh"

say() { printf '%s\n' "$*"; }
die() {
	printf 'dev.sh: %s\n' "$*" >&2
	exit 1
}

# ---- Debian packages ---------------------------------------------------------
BUILD_PKGS=(build-essential autoconf automake libtool pkg-config libfcgi-dev libsqlite3-dev
	libjansson-dev libjwt-dev libssl-dev libcurl4-openssl-dev libpq-dev)
RUNTIME_PKGS=(pushpin zurl lighttpd apache2 spawn-fcgi multiwatch sqlite3 nodejs npm)
# ---- the PostgreSQL engine (issue 17): a server for `make check-postgresql` and STREAMER_DB_ENGINE=postgresql ----
RUNTIME_PKGS+=(postgresql)
TOOL_PKGS=(valgrind wrk jq curl openssl prometheus chromium)
# ---- fuzzing (issue 14 §3): clang and its runtimes (libFuzzer, ASan, UBSan) for `make check-fuzz` ----
TOOL_PKGS+=(clang libclang-rt-dev)
# ---- end fuzzing ----
# ---- the server API (issue 18): tests/cgi/api_doc.sh reads docs/api.yaml with python3's yaml module ----
TOOL_PKGS+=(python3-yaml)
# ---- packaging (issue 19): make check-deb builds, lints and installs the .deb; man renders the pages ----
TOOL_PKGS+=(dpkg-dev debhelper lintian man-db groff-base)

pkg_installed() {
	dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'
}

as_root() {
	if [[ $(id -u) == 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null; then
		sudo "$@"
	else
		die "run as root (or install sudo) to install packages: $*"
	fi
}

# Installs whichever of the packages above are missing; apt-get update once.
install_packages() {
	local -a missing=()
	local p
	for p in "${BUILD_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${TOOL_PKGS[@]}"; do
		case $p in
		nodejs) command -v node >/dev/null && continue ;;
		npm)
			# NodeSource's nodejs bundles npm, and Debian's npm would
			# conflict with it: any working npm counts.
			command -v npm >/dev/null && continue
			;;
		esac
		pkg_installed "$p" || missing+=("$p")
	done
	((${#missing[@]} == 0)) && return 0
	say "dev.sh: installing ${missing[*]}"
	command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand"
	# Keep the packages from starting their system services (a system
	# Pushpin would take port 7999); the guard goes away afterwards.
	local guard=
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		guard=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' | as_root tee "$guard" >/dev/null
		as_root chmod 755 "$guard"
	fi
	local rc=0
	as_root apt-get update -qq </dev/null &&
		as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			"${missing[@]}" </dev/null || rc=$?
	[[ -z $guard ]] || as_root rm -f "$guard"
	((rc == 0)) || die "apt-get install ${missing[*]} failed"
}

# ---- build -------------------------------------------------------------------
# autoreconf when configure is missing or older than configure.ac, configure
# in $BUILD when needed (--enable-werror: `up` and `test` share the tree),
# then make.
build() {
	if [[ ! -x $SRC/configure || ! -f $SRC/Makefile.in || $SRC/configure.ac -nt $SRC/configure ]]; then
		say "dev.sh: autoreconf -fi"
		(cd "$SRC" && autoreconf -fi)
	fi
	mkdir -p "$BUILD"
	if [[ ! -f $BUILD/Makefile ]] || ! grep -q -- '--enable-werror' "$BUILD/config.status" 2>/dev/null; then
		say "dev.sh: configure --enable-werror in $BUILD"
		(cd "$BUILD" && "$SRC/configure" -q --enable-werror)
	fi
	make -C "$BUILD" -s -j"$(nproc 2>/dev/null || echo 2)"
}

# The ws package, for the Node example `up` prints (the tests install it too).
npm_deps() {
	[[ -f $SRC/tests/e2e/node_modules/ws/package.json ]] && return 0
	(cd "$SRC/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
}

use_build() {
	# The dev stack runs async requests too (the tests start their own processors).
	export STREAMER_PROCESSORS=${STREAMER_PROCESSORS:-2}
	export STREAMER_FCGI_BIN=${STREAMER_FCGI_BIN:-$BUILD/streamer-fcgi}
	export STREAMER_CLI_BIN=${STREAMER_CLI_BIN:-$BUILD/streamer}
	node_select 1
}

# ---- the database engine and several nodes (issue 17) -------------------------
# Node 1 is the stack in $DEV_VAR, as with one node; node k (2-9) lives in
# $DEV_VAR/node<k> on node 1's ports + 100*(k-1). A PostgreSQL server of the
# stack's own lives in $DEV_VAR/pg. $DEV_VAR/engine and $DEV_VAR/nodes record
# what `up` started, for status, logs, down and restart.

# Sets DEV_VAR (node 1's var directory, absolute, created), DEV_PG_DIR, node
# 1's ports (DEV_*_PORT), and DEV_ENGINE and DEV_NODES to what the last `up`
# recorded (DEV_REC_*; sqlite and 1 when nothing is). Removes STREAMER_DB_ENGINE and
# STREAMER_NODES from the environment (they are dev.sh's, not the workers').
dev_paths() {
	local v=${STREAMER_VAR_DIR:-$SRC/var} p
	mkdir -p "$v"
	DEV_VAR=$(cd "$v" && pwd)
	DEV_PG_DIR=$DEV_VAR/pg
	DEV_PG_URL=
	DEV_KEYS_FROM=${STREAMER_STACK_KEYS_FROM:-}
	DEV_PUSHPIN_PORT=${STREAMER_PUSHPIN_PORT:-7999}
	DEV_HTTP_PORT=${STREAMER_HTTP_PORT:-8080}
	DEV_PUBLISH_PORT=${STREAMER_PUBLISH_PORT:-5561}
	for p in DEV_PUSHPIN_PORT DEV_HTTP_PORT DEV_PUBLISH_PORT; do
		[[ ${!p} =~ ^[1-9][0-9]{0,4}$ ]] || die "${p/DEV_/STREAMER_} must be a port number, not '${!p}'"
	done
	DEV_REC_ENGINE=$(cat "$DEV_VAR/engine" 2>/dev/null) || true
	[[ $DEV_REC_ENGINE == postgresql ]] || DEV_REC_ENGINE=sqlite
	DEV_REC_NODES=$(cat "$DEV_VAR/nodes" 2>/dev/null) || true
	[[ $DEV_REC_NODES =~ ^[1-9]$ ]] || DEV_REC_NODES=1
	DEV_ENGINE=$DEV_REC_ENGINE
	DEV_NODES=$DEV_REC_NODES
	DEV_WANT_ENGINE=${STREAMER_DB_ENGINE:-}
	DEV_WANT_NODES=${STREAMER_NODES:-}
	unset STREAMER_DB_ENGINE STREAMER_NODES
}

# Reads STREAMER_DB_ENGINE and STREAMER_NODES for `up` into DEV_ENGINE and
# DEV_NODES: unset, they are sqlite and 1, or with $1 = recorded what the
# last `up` recorded (restart). Dies with the reason on a bad value or
# combination. Call after dev_paths.
dev_settings() {
	if [[ ${1:-} != recorded ]]; then
		DEV_ENGINE=sqlite
		DEV_NODES=1
	fi
	DEV_ENGINE=${DEV_WANT_ENGINE:-$DEV_ENGINE}
	DEV_NODES=${DEV_WANT_NODES:-$DEV_NODES}
	case $DEV_ENGINE in
	sqlite | postgresql) ;;
	*) die "STREAMER_DB_ENGINE must be sqlite or postgresql, not '$DEV_ENGINE'" ;;
	esac
	[[ $DEV_NODES =~ ^[1-9]$ ]] || die "STREAMER_NODES must be a number from 1 to 9, not '$DEV_NODES'"
	if ((DEV_NODES > 1)) && [[ $DEV_ENGINE != postgresql ]]; then
		die "STREAMER_NODES=$DEV_NODES needs STREAMER_DB_ENGINE=postgresql: nodes share their database, and a SQLite file cannot be shared between hosts"
	fi
	if [[ $DEV_ENGINE == postgresql && -n ${STREAMER_STACK_DB:-} ]]; then
		die "STREAMER_STACK_DB and STREAMER_DB_ENGINE=postgresql both name the database: set one"
	fi
	local p last=$((100 * (DEV_NODES - 1)))
	for p in DEV_PUSHPIN_PORT DEV_HTTP_PORT DEV_PUBLISH_PORT; do
		((${!p} + last <= 65535)) || die "${p/DEV_/STREAMER_}=${!p} leaves no port for node $DEV_NODES (+$last)"
	done
}

# Prints node $1's var directory.
node_var() {
	if (($1 == 1)); then
		printf '%s\n' "$DEV_VAR"
	else
		printf '%s\n' "$DEV_VAR/node$1"
	fi
}

# Points stack.sh at node $1: its var directory and ports, the PostgreSQL
# database when one runs (DEV_PG_URL), node 1's JWT keys on the others; then
# stack_init reads them into STACK_*.
node_select() {
	local k=$1 off=$((100 * ($1 - 1)))
	export STREAMER_VAR_DIR STREAMER_PUSHPIN_PORT STREAMER_HTTP_PORT STREAMER_PUBLISH_PORT
	STREAMER_VAR_DIR=$(node_var "$k")
	STREAMER_PUSHPIN_PORT=$((DEV_PUSHPIN_PORT + off))
	STREAMER_HTTP_PORT=$((DEV_HTTP_PORT + off))
	STREAMER_PUBLISH_PORT=$((DEV_PUBLISH_PORT + off))
	[[ -z $DEV_PG_URL ]] || export STREAMER_STACK_DB=$DEV_PG_URL
	if ((k > 1)); then
		export STREAMER_STACK_KEYS_FROM=$DEV_VAR/keys
	elif [[ -n $DEV_KEYS_FROM ]]; then
		export STREAMER_STACK_KEYS_FROM=$DEV_KEYS_FROM
	else
		unset STREAMER_STACK_KEYS_FROM
	fi
	stack_init
}

# Prints the numbers of the nodes `down` looks at: those up to the recorded
# count, and any other node directory with a run directory (left over from a
# larger stack).
dev_node_list() {
	local k
	for ((k = 1; k <= 9; k++)); do
		((k <= DEV_NODES)) || [[ -d $DEV_VAR/node$k/run ]] || continue
		printf '%s\n' "$k"
	done
}

# Prints the pid of the PostgreSQL server in $DEV_PG_DIR while it runs; fails otherwise.
pg_pid() {
	local f=$DEV_PG_DIR/data/postmaster.pid pid comm
	[[ -r $f ]] || return 1
	pid=$(head -n 1 "$f")
	[[ $pid =~ ^[0-9]+$ ]] && stack_alive "$pid" || return 1
	comm=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $comm == *postgres* && $comm == *"$DEV_PG_DIR/data"* ]] || return 1
	echo "$pid"
}

# Starts the PostgreSQL server in $DEV_PG_DIR with tests/pg.sh (its socket
# there, no TCP; as the user postgres when run as root) unless it runs, and
# sets DEV_PG_URL to its database "streamer". Fails after saying why.
pg_start() {
	local pid user=${PGUSER_OS:-postgres}
	if pid=$(pg_pid); then
		say "postgresql already running (pid $pid)"
	else
		if [[ $(id -u) == 0 ]]; then
			id -u "$user" >/dev/null 2>&1 || die "no system user $user to run PostgreSQL as (apt-get install postgresql)"
			# The server refuses to run as root: it runs as $user, who must reach var/pg.
			runuser -u "$user" -- test -x "$DEV_VAR" ||
				die "the user $user (PostgreSQL's) cannot reach $DEV_VAR: make its parent directories searchable (chmod o+x) or set STREAMER_VAR_DIR elsewhere"
		fi
		mkdir -p "$DEV_PG_DIR"
		if ! sh "$SRC/tests/pg.sh" start "$DEV_PG_DIR" >"$DEV_PG_DIR/url.tmp" 2>"$DEV_PG_DIR/start.log"; then
			cat "$DEV_PG_DIR/start.log" >&2
			say "dev.sh: PostgreSQL did not start (see $DEV_PG_DIR/server.log)" >&2
			return 1
		fi
		mv "$DEV_PG_DIR/url.tmp" "$DEV_PG_DIR/url"
		say "started postgresql (pid $(pg_pid || echo '?'))"
	fi
	[[ -s $DEV_PG_DIR/url ]] || die "PostgreSQL runs in $DEV_PG_DIR but $DEV_PG_DIR/url is missing: ./dev.sh down, then up"
	DEV_PG_URL=$(<"$DEV_PG_DIR/url")
}

# Stops the PostgreSQL server in $DEV_PG_DIR if it runs (fast shutdown: open sessions are ended).
pg_stop() {
	local pid
	pid=$(pg_pid) || return 0
	sh "$SRC/tests/pg.sh" stop "$DEV_PG_DIR" || {
		say "dev.sh: pg_ctl stop failed for $DEV_PG_DIR/data (see $DEV_PG_DIR/server.log)" >&2
		return 1
	}
	say "stopped postgresql (pid $pid)"
}

# True when any node in dev_node_list or the PostgreSQL server runs.
dev_running() {
	local k
	pg_pid >/dev/null && return 0
	for k in $(dev_node_list); do
		node_select "$k"
		stack_running && return 0
	done
	return 1
}

# Stops every node that runs (dev_node_list), then PostgreSQL.
dev_stop() {
	local k rc=0 list
	list=$(dev_node_list)
	for k in $list; do
		node_select "$k"
		[[ $list == 1 ]] || ! stack_running || say "node $k ($STACK_VAR):"
		stack_stop
	done
	pg_stop || rc=1
	return $rc
}

# Node k's JWT keys must be node 1's (one token for every node): a stopped
# node with other keys (node 1's were made anew) drops its own, and
# STREAMER_STACK_KEYS_FROM copies node 1's in at its start.
node_keys_sync() {
	local k=$1 keys
	((k > 1)) || return 0
	keys=$(node_var "$k")/keys
	[[ -s $keys/jwt-public.pem ]] || return 0
	cmp -s "$keys/jwt-public.pem" "$DEV_VAR/keys/jwt-public.pem" && return 0
	if stack_running; then
		say "dev.sh: node $k runs with other JWT keys than node 1: ./dev.sh restart" >&2
	else
		rm -f "$keys/jwt-private.pem" "$keys/jwt-public.pem"
	fi
}

# ---- the server API key (issue 18) -------------------------------------------
# The key of the server API (/api/v1/ on the web server's port), made once and kept
# in node 1's keys/api.key beside the JWT keys (down, up and restart keep it), and
# passed to every node's workers as STREAMER_API_KEY (var/conf/streamer.env). A
# STREAMER_API_KEY set by the caller is used instead (DEV_API_KEY_FILE stays empty).
# The key is never printed: the curl example reads the file.
DEV_API_KEY_FILE=
api_key_prepare() {
	local f=$DEV_VAR/keys/api.key key
	[[ -z ${STREAMER_API_KEY:-} ]] || return 0
	mkdir -p "$DEV_VAR/keys"
	if ! grep -Eqx '[0-9a-f]{64}' "$f" 2>/dev/null; then
		(umask 077 && openssl rand -hex 32 >"$f.tmp") || die "openssl rand failed: no server API key"
		mv "$f.tmp" "$f"
	fi
	chmod 600 "$f"
	key=$(<"$f")
	export STREAMER_API_KEY=$key
	DEV_API_KEY_FILE=$f
}

# ---- commands ----------------------------------------------------------------
cmd_up() {
	install_packages
	build
	npm_deps || say "dev.sh: npm ci failed; the Node example below needs tests/e2e/node_modules" >&2
	local k callback=
	use_build
	# What runs must be what is asked for: another engine or node count is a restart.
	if [[ $DEV_REC_ENGINE != "$DEV_ENGINE" || $DEV_REC_NODES != "$DEV_NODES" ]] && dev_running; then
		die "a stack with STREAMER_DB_ENGINE=$DEV_REC_ENGINE STREAMER_NODES=$DEV_REC_NODES runs in $DEV_VAR: ./dev.sh down first, or STREAMER_DB_ENGINE=$DEV_ENGINE STREAMER_NODES=$DEV_NODES ./dev.sh restart"
	fi
	printf '%s\n' "$DEV_ENGINE" >"$DEV_VAR/engine"
	printf '%s\n' "$DEV_NODES" >"$DEV_VAR/nodes"
	if [[ $DEV_ENGINE == postgresql ]]; then
		pg_start || exit 1
	fi
	api_key_prepare
	# A client is connected to one node and a push can come from any:
	# every node's workers and processor push to every node's Pushpin.
	if ((DEV_NODES > 1)) && [[ -z ${STREAMER_CALLBACK_URL:-} ]]; then
		for ((k = 0; k < DEV_NODES; k++)); do
			callback+=${callback:+,}http://127.0.0.1:$((DEV_PUBLISH_PORT + 100 * k))/publish/
		done
		export STREAMER_CALLBACK_URL=$callback
	fi
	for ((k = 1; k <= DEV_NODES; k++)); do
		node_select "$k"
		((DEV_NODES == 1)) || say "node $k ($STACK_VAR):"
		node_keys_sync "$k"
		# In a subshell: stack.sh's checks exit, and what started must be stopped.
		if ! (stack_start); then
			say "dev.sh: node $k did not come up; stopping what started" >&2
			dev_stop >&2
			exit 1
		fi
	done
	print_usage
}

print_usage() {
	local token url k var auth tenant=dev
	node_select 1
	token=$(stack_token dev-user "$tenant") || die "streamer token failed"
	if [[ -n $DEV_API_KEY_FILE ]]; then
		auth="\$(cat '$DEV_API_KEY_FILE')"
	else
		auth='$STREAMER_API_KEY'
	fi
	url="ws://127.0.0.1:$STACK_PUSHPIN_PORT/ws?Authorization=$token"
	cat <<-EOF

		streamer is up: Pushpin -> $STACK_WEB -> $STACK_WORKERS streamer-fcgi workers, streamer processor
		(concurrency $STACK_PROCESSORS) for async requests ($STACK_VAR).
	EOF
	if [[ -n $DEV_PG_URL ]]; then
		cat <<-EOF
			Database: PostgreSQL, data in $DEV_PG_DIR/data, its socket in $DEV_PG_DIR (no TCP), log $DEV_PG_DIR/server.log
			  psql '$DEV_PG_URL'
		EOF
	fi
	if ((DEV_NODES > 1)); then
		say "$DEV_NODES nodes on that database, each with all of the above; every node's workers and processor push to every node's Pushpin:"
		for ((k = 1; k <= DEV_NODES; k++)); do
			var=$(node_var "$k")
			say "  node $k: WebSocket :$((DEV_PUSHPIN_PORT + 100 * (k - 1)))  $STACK_WEB :$((DEV_HTTP_PORT + 100 * (k - 1)))  publish :$((DEV_PUBLISH_PORT + 100 * (k - 1)))  $var"
		done
		say ""
		say "WebSocket URLs (user dev-user, tenant dev, valid 24 h; the token works on every node):"
		for ((k = 1; k <= DEV_NODES; k++)); do
			say "  node $k: ws://127.0.0.1:$((DEV_PUSHPIN_PORT + 100 * (k - 1)))/ws?Authorization=$token"
		done
	else
		say ""
		say "WebSocket URL (user dev-user, tenant dev, valid 24 h):"
		say "  $url"
	fi
	cat <<-EOF

		Try it (Node, with the ws package the tests use):
		  node -e 'const W=require("./tests/e2e/node_modules/ws");const w=new W(process.argv[1]);w.on("open",()=>w.send(JSON.stringify({action:"echo",id:"r1",payload:{hello:"world"}})));w.on("message",m=>{console.log(String(m));w.close()})' '$url'

		Console:     http://127.0.0.1:$STACK_PUSHPIN_PORT/#token=$token
		Health:      curl -s http://127.0.0.1:$STACK_PUSHPIN_PORT/healthz   (through Pushpin and $STACK_WEB; also on :$STACK_HTTP_PORT)
		Publish API: curl -s -d '{"items":[{"channel":"CHANNEL","formats":{"ws-message":{"content":"hi"}}}]}' http://127.0.0.1:$STACK_PUBLISH_PORT/publish/
		Connections: $STACK_CLI connections --db '$STACK_DB'
		New token:   $STACK_CLI token --key $STACK_KEYS/jwt-private.pem --sub USER --tenant TENANT [--permissions publish,reports]
		Push:        env \$(cat $STACK_CONF/streamer.env) $STACK_CLI broadcast --tenant dev '{"type":"notice","text":"hi"}'
		Metrics:     curl -s http://127.0.0.1:$STACK_HTTP_PORT/metrics   ($STACK_WEB's own port, loopback only; never through Pushpin; or $STACK_CLI stats --db '$STACK_DB')
		Plain HTTP:  $STACK_WEB's port only: POST http://127.0.0.1:$STACK_HTTP_PORT/api/connect (X-Connection-Id, Bearer token) returns a
		             connection_secret that /api/message and /api/disconnect need in X-Connection-Secret (docs/protocol.md, Ingress dialects)
		Server API:  curl -s -H "Authorization: Bearer $auth" -d '{"tenant":"$tenant","topic":"news","data":{"hello":"world"}}' http://127.0.0.1:$STACK_HTTP_PORT/api/v1/broadcast
		             ($STACK_WEB's port only, never through Pushpin; the key is STREAMER_API_KEY in $STACK_CONF/streamer.env; routes: docs/api.yaml)
		Logs:        $STACK_LOG/   (streamer.log: the workers' JSON lines; ./dev.sh logs [-f])
		Stop:        ./dev.sh down
	EOF
	if ((DEV_NODES > 1)); then
		say "(The ports, the console, the logs and the metrics above are node 1's; node k's are in its line above, and its logs in its log/.)"
	fi
}

cmd_down() {
	use_build
	if ! dev_running; then
		say "nothing running (var directory $DEV_VAR)"
		return 0
	fi
	dev_stop
}

cmd_status() {
	use_build
	say "var directory: $DEV_VAR"
	local rc=0 k pid
	if [[ $DEV_ENGINE == postgresql ]] || pg_pid >/dev/null; then
		if pid=$(pg_pid); then
			say "$(printf '%-9s' postgresql) running (pid $pid, data and socket in $DEV_PG_DIR)"
		else
			say "$(printf '%-9s' postgresql) stopped"
			rc=3
		fi
	fi
	for ((k = 1; k <= DEV_NODES; k++)); do
		node_select "$k"
		((DEV_NODES == 1)) || say "node $k ($STACK_VAR):"
		if stack_status; then
			say "ws://127.0.0.1:$STACK_PUSHPIN_PORT/ws   http://127.0.0.1:$STACK_HTTP_PORT/"
		else
			rc=3
		fi
	done
	return $rc
}

cmd_logs() {
	use_build
	local k
	local -a files=()
	if [[ ${1:-} == -f ]]; then
		for ((k = 1; k <= DEV_NODES; k++)); do
			files+=("$(node_var "$k")"/log/*.log)
		done
		[[ ! -f $DEV_PG_DIR/server.log ]] || files+=("$DEV_PG_DIR/server.log")
		exec tail -n 20 -F "${files[@]}"
	fi
	for ((k = 1; k <= DEV_NODES; k++)); do
		node_select "$k"
		((DEV_NODES == 1)) || say "=== node $k ($STACK_VAR) ==="
		stack_logs 50
	done
	if [[ -f $DEV_PG_DIR/server.log ]]; then
		printf '==> %s <==\n' "$DEV_PG_DIR/server.log"
		tail -n 50 "$DEV_PG_DIR/server.log"
	fi
}

# The summary block of a `make check` transcript: from the separator line
# before "Testsuite summary" to the one after the "# ERROR:" count.
summary_block() {
	awk '/^=+$/ && !inblock { sep = $0; next }
		/Testsuite summary/ { inblock = 1; print sep }
		inblock { print }
		inblock && /^# ERROR:/ { counted = 1; next }
		inblock && counted && /^=+$/ { exit }' "$1"
}

cmd_test() {
	install_packages
	build
	local log=$BUILD/dev-check.log sanitizers=0 valgrind=0 check=0 fuzz=0 pg=0 deb=0

	say "==> make check-sanitizers (ASan + UBSan build, whole suite)"
	make -C "$BUILD" -j2 check-sanitizers AM_COLOR_TESTS=no || sanitizers=$?
	say "==> make check-valgrind"
	make -C "$BUILD" check-valgrind || valgrind=$?
	# ---- fuzzing (issue 14 §3): libFuzzer targets, 12 s each after their seeds ----
	say "==> make check-fuzz (clang + libFuzzer build in $BUILD/build-fuzz)"
	make -C "$BUILD" -j2 check-fuzz || fuzz=$?
	# ---- end fuzzing ----
	# ---- the PostgreSQL engine (issue 17): the suite again on a server of its own ----
	say "==> make check-postgresql (conformance, CGI and e2e tests on a throwaway PostgreSQL server)"
	make -C "$BUILD" -j2 check-postgresql AM_COLOR_TESTS=no || pg=$?
	# ---- end PostgreSQL ----
	# ---- packaging (issue 19): the .deb built, linted, installed, run and purged ----
	say "==> make check-deb (dpkg-buildpackage, lintian, install, the units through Pushpin, purge)"
	if [[ $(id -u) == 0 ]]; then
		make -C "$BUILD" check-deb || deb=$?
	else
		say "dev.sh: check-deb skipped: it installs the package, run as root"
	fi
	# The whole suite runs here, once: `make distcheck` builds the tarball, then
	# configures, builds and runs `make check` from it with the source tree
	# read-only, then installs and uninstalls it.
	say "==> make distcheck (the tarball: build, make check with a read-only source, install, uninstall)"
	if make -C "$BUILD" -j2 distcheck AM_COLOR_TESTS=no 2>&1 | tee "$log"; then
		check=0
	else
		check=1
	fi

	# The tarball's build tree is left only when distcheck failed.
	local suite_log="" f
	for f in "$BUILD"/streamer-*/_build/sub/test-suite.log; do
		if [[ -f $f ]]; then suite_log=$f; break; fi
	done
	if ((check != 0)) && [[ -n $suite_log ]]; then
		say "==> failures (see $suite_log)"
		grep -E '^(FAIL|ERROR):' "$suite_log" | head -40 || true
	fi
	say "==> check-sanitizers: $( ((sanitizers == 0)) && echo ok || echo FAILED)," \
		"check-valgrind: $( ((valgrind == 0)) && echo ok || echo FAILED)," \
		"check-fuzz: $( ((fuzz == 0)) && echo ok || echo FAILED)," \
		"check-postgresql: $( ((pg == 0)) && echo ok || echo FAILED)," \
		"check-deb: $( ((deb == 0)) && echo ok || echo FAILED)," \
		"distcheck (make check): $( ((check == 0)) && echo ok || echo FAILED)"
	# The output ends with automake's summary of the suite's run.
	summary_block "$log"
	((sanitizers == 0 && valgrind == 0 && fuzz == 0 && pg == 0 && deb == 0 && check == 0))
}

usage() {
	sed -n '4,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

case ${1:-} in
up)
	dev_paths
	dev_settings
	cmd_up
	;;
down)
	dev_paths
	cmd_down
	;;
restart)
	# The running stack's engine and node count, unless set anew.
	dev_paths
	dev_settings recorded
	cmd_down
	cmd_up
	;;
status)
	dev_paths
	cmd_status
	;;
logs)
	dev_paths
	cmd_logs "${2:-}"
	;;
test) cmd_test ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac

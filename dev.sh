#!/usr/bin/env bash
# dev.sh - the README's two commands: `./dev.sh up` (the whole stack on loopback) and `./dev.sh test` (every test); also down, restart, status, logs.
#
#   ./dev.sh up        install what is missing, build, start zurl + Pushpin,
#                      lighttpd and the streamer-fcgi workers; print how to use them
#   ./dev.sh down      stop exactly the processes `up` started (recorded pids)
#   ./dev.sh restart   down, then up (after a rebuild, to run the new workers)
#   ./dev.sh status    what is running
#   ./dev.sh logs [-f] the end of every log (-f: follow them)
#   ./dev.sh test      install what is missing, build with -Werror, run the
#                      sanitizer, valgrind, fuzz and PostgreSQL checks, then `make check`
#
# Settings (environment):
#   STREAMER_PUSHPIN_PORT=7999  STREAMER_HTTP_PORT=8080  STREAMER_PUBLISH_PORT=5561
#   STREAMER_WORKERS=2  STREAMER_PROCESSORS=2 (concurrency of `streamer processor`; 0 = none)
#   STREAMER_WEB_SERVER=lighttpd|apache
#   STREAMER_VAR_DIR=./var  (keys, database, configs, sockets, pids, logs)
#   STREAMER_BUILD_DIR=./build
#   any other STREAMER_* variable is passed to the workers (README, Configuration)
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
	stack_init
}

# ---- commands ----------------------------------------------------------------
cmd_up() {
	install_packages
	build
	npm_deps || say "dev.sh: npm ci failed; the Node example below needs tests/e2e/node_modules" >&2
	use_build
	if ! stack_start; then
		say "dev.sh: the stack did not come up; stopping what started" >&2
		stack_stop >&2
		exit 1
	fi
	print_usage
}

print_usage() {
	local token url
	token=$(stack_token dev-user dev) || die "streamer token failed"
	url="ws://127.0.0.1:$STACK_PUSHPIN_PORT/ws?Authorization=$token"
	cat <<-EOF

		streamer is up: Pushpin -> $STACK_WEB -> $STACK_WORKERS streamer-fcgi workers, streamer processor
		(concurrency $STACK_PROCESSORS) for async requests ($STACK_VAR).

		WebSocket URL (user dev-user, tenant dev, valid 24 h):
		  $url

		Try it (Node, with the ws package the tests use):
		  node -e 'const W=require("./tests/e2e/node_modules/ws");const w=new W(process.argv[1]);w.on("open",()=>w.send(JSON.stringify({action:"echo",id:"r1",payload:{hello:"world"}})));w.on("message",m=>{console.log(String(m));w.close()})' '$url'

		Console:     http://127.0.0.1:$STACK_PUSHPIN_PORT/#token=$token
		Health:      curl -s http://127.0.0.1:$STACK_PUSHPIN_PORT/healthz   (through Pushpin and $STACK_WEB; also on :$STACK_HTTP_PORT)
		Publish API: curl -s -d '{"items":[{"channel":"CHANNEL","formats":{"ws-message":{"content":"hi"}}}]}' http://127.0.0.1:$STACK_PUBLISH_PORT/publish/
		Connections: $STACK_CLI connections --db $STACK_DB
		New token:   $STACK_CLI token --key $STACK_KEYS/jwt-private.pem --sub USER --tenant TENANT [--permissions publish,reports]
		Push:        env \$(cat $STACK_CONF/streamer.env) $STACK_CLI broadcast --tenant dev '{"type":"notice","text":"hi"}'
		Metrics:     curl -s http://127.0.0.1:$STACK_HTTP_PORT/metrics   ($STACK_WEB's own port, loopback only; never through Pushpin; or $STACK_CLI stats --db $STACK_DB)
		Plain HTTP:  $STACK_WEB's port only: POST http://127.0.0.1:$STACK_HTTP_PORT/api/connect (X-Connection-Id, Bearer token) returns a
		             connection_secret that /api/message and /api/disconnect need in X-Connection-Secret (README, Ingress dialects)
		Logs:        $STACK_LOG/   (streamer.log: the workers' JSON lines; ./dev.sh logs [-f])
		Stop:        ./dev.sh down
	EOF
}

cmd_down() {
	use_build
	if ! stack_running; then
		say "nothing running (var directory $STACK_VAR)"
		return 0
	fi
	stack_stop
}

cmd_status() {
	use_build
	say "var directory: $STACK_VAR"
	local rc=0
	stack_status || rc=$?
	((rc != 0)) || say "ws://127.0.0.1:$STACK_PUSHPIN_PORT/ws   http://127.0.0.1:$STACK_HTTP_PORT/"
	return $rc
}

cmd_logs() {
	use_build
	if [[ ${1:-} == -f ]]; then
		exec tail -n 20 -F "$STACK_LOG"/*.log
	fi
	stack_logs 50
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
	local log=$BUILD/dev-check.log sanitizers=0 valgrind=0 check=0 fuzz=0 pg=0

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
	say "==> make check"
	if make -C "$BUILD" -j2 check AM_COLOR_TESTS=no 2>&1 | tee "$log"; then
		check=0
	else
		check=1
	fi

	if ((check != 0)) && [[ -f $BUILD/test-suite.log ]]; then
		say "==> failures (see $BUILD/test-suite.log)"
		grep -E '^(FAIL|ERROR):' "$BUILD/test-suite.log" | head -40 || true
	fi
	say "==> check-sanitizers: $( ((sanitizers == 0)) && echo ok || echo FAILED)," \
		"check-valgrind: $( ((valgrind == 0)) && echo ok || echo FAILED)," \
		"check-fuzz: $( ((fuzz == 0)) && echo ok || echo FAILED)," \
		"check-postgresql: $( ((pg == 0)) && echo ok || echo FAILED)," \
		"check: $( ((check == 0)) && echo ok || echo FAILED)"
	# The output ends with automake's summary of the plain run.
	summary_block "$log"
	((sanitizers == 0 && valgrind == 0 && fuzz == 0 && pg == 0 && check == 0))
}

usage() {
	sed -n '4,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
restart)
	cmd_down
	cmd_up
	;;
status) cmd_status ;;
logs) cmd_logs "${2:-}" ;;
test) cmd_test ;;
-h | --help | help) usage ;;
*)
	usage >&2
	exit 2
	;;
esac

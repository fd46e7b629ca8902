#!/usr/bin/env bash
# lib.sh - what the stack benchmarks share: free ports, a private stack (tests/e2e/stack.sh) in its own directory, cleanup on exit.
#
# Source it after setting BENCH_NAME (for messages) and, if wanted,
# BENCH_PORT_BASE (default 19000: ports are picked in BASE..BASE+999). Then
#   bench_start_stack   starts the stack with the caller's STREAMER_* settings
#                       and exports the STACK_* variables of `stack.sh env`
#   bench_stop_stack    stops it and removes its directory (unless BENCH_KEEP),
#                       so that bench_start_stack can start another
#   bench_run CMD...    runs CMD so that Ctrl-C or SIGTERM stops it at once
#   bench_warn_if_busy NAME   warns when other programs keep the CPUs busy
# Cleanup (the command of bench_run, stack stop, removal of the directory
# unless BENCH_KEEP is set) runs on exit. Needs SRC and BUILD set by the
# caller. The instance directory goes under $TMPDIR (default /tmp); the
# workers are BENCH_FCGI_BIN (default $BUILD/streamer-fcgi).
# BENCH_DB_ENGINE=postgresql runs the stack on a PostgreSQL server of its own
# (tests/pg.sh, data under the instance directory, unix socket only) with the
# durability of the SQLite default: fsync and full-page writes on, commits
# not waiting for the WAL flush (synchronous_commit off: like SQLite's
# synchronous=NORMAL in WAL mode, a crash of the machine may lose the last
# commits, never the database). BENCH_DB_ENGINE=sqlite (default): a file.

bench_die() {
	printf '%s: %s\n' "$BENCH_NAME" "$*" >&2
	exit 1
}

bench_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

declare -A BENCH_TAKEN=()
# Sets PORT to a free port not handed out before.
bench_pick_port() {
	local p i base=${BENCH_PORT_BASE:-19000}
	for ((i = 0; i < 500; i++)); do
		p=$((base + RANDOM % 1000))
		[[ -z ${BENCH_TAKEN[$p]:-} ]] && bench_port_free "$p" && { BENCH_TAKEN[$p]=1; PORT=$p; return 0; }
	done
	bench_die "no free port in $base-$((base + 999))"
}

# Runs "$@" in the background and waits for it: bash runs a signal's trap
# only once the foreground command is done, but interrupts a wait at once,
# and bench_stop_child (called by the cleanup) stops the command.
BENCH_CHILD=
bench_run() {
	local rc=0
	"$@" &
	BENCH_CHILD=$!
	wait "$BENCH_CHILD" || rc=$?
	BENCH_CHILD=
	return "$rc"
}

bench_stop_child() {
	[[ -n $BENCH_CHILD ]] || return 0
	kill "$BENCH_CHILD" 2>/dev/null || true
	wait "$BENCH_CHILD" 2>/dev/null || true
	BENCH_CHILD=
}

bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	bench_stop_child
	bench_stop_stack || true
	exit "$rc"
}

# Starts PostgreSQL under $BENCH_VAR/pg and points the stack at it.
bench_start_pg() {
	local url bin=${PGBIN:-/usr/lib/postgresql/15/bin}
	# fsync and full page writes on (PG_DURABLE), synchronous_commit off (pg.sh's):
	# durable against a crash of the database host, the last commits aside.
	url=$(PG_DURABLE=1 sh "$SRC/tests/pg.sh" start "$BENCH_VAR/pg" 2>"$BENCH_VAR/pg-start.txt") || {
		cat "$BENCH_VAR/pg-start.txt" >&2
		bench_die "tests/pg.sh start failed"
	}
	BENCH_PG_DIR=$BENCH_VAR/pg
	[[ $(runuser -u postgres -- "$bin/psql" -h "$BENCH_PG_DIR" -U postgres -d postgres -qAt \
		-c "SHOW fsync") == on ]] || bench_die "the PostgreSQL server runs with fsync off"
	export STREAMER_STACK_DB=$url
}

# bench_procs WORKER_ROLE RUN...: "role pid" lines of the processes of the stacks whose
# run directories are given (web server, zurl, workers as WORKER_ROLE, Pushpin and its
# children) and of the benchmark's PostgreSQL server with its sessions, for e2e.mjs's
# BENCH_CPU_PIDS.
bench_procs() {
	local role=$1 run f p
	shift
	for run in "$@"; do
		for f in lighttpd apache zurl; do
			[[ -r $run/$f.pid ]] && echo "$f $(<"$run/$f.pid")"
		done
		if [[ -r $run/workers.pid ]]; then
			for p in $(pgrep -P "$(<"$run/workers.pid")"); do echo "$role $p"; done
		fi
		# `streamer processor` and its slots (STREAMER_PROCESSORS > 0).
		if [[ -r $run/processors.pid ]]; then
			echo "processor $(<"$run/processors.pid")"
			for p in $(pgrep -P "$(<"$run/processors.pid")"); do echo "processor $p"; done
		fi
		if [[ -r $run/pushpin.pid ]]; then
			echo "pushpin $(<"$run/pushpin.pid")"
			# The runner's children (condure, pushpin-proxy, pushpin-handler).
			for p in $(pgrep -P "$(<"$run/pushpin.pid")"); do echo "pushpin $p"; done
		fi
	done
	if [[ -n ${BENCH_PG_DIR:-} && -r $BENCH_PG_DIR/data/postmaster.pid ]]; then
		p=$(head -1 "$BENCH_PG_DIR/data/postmaster.pid")
		echo "postgres $p"
		for p in $(pgrep -P "$p"); do echo "postgres $p"; done
	fi
}

# bench_sql SQL: runs SQL on the stack's database, one row per line, columns by '|'.
bench_sql() {
	if [[ $STACK_DB == *://* ]]; then
		psql -qAt -d "$STACK_DB" -c "$1"
	else
		sqlite3 "$STACK_DB" "$1"
	fi
}

bench_start_stack() {
	local p line
	for p in node pushpin zurl spawn-fcgi multiwatch curl openssl; do
		command -v "$p" >/dev/null || bench_die "$p is not installed"
	done
	[[ -x $BUILD/streamer-fcgi && -x $BUILD/streamer ]] || bench_die "no $BUILD/streamer-fcgi or $BUILD/streamer (make -C build)"
	[[ -d $SRC/tests/e2e/node_modules/ws ]] || bench_die "no tests/e2e/node_modules/ws (cd tests/e2e && npm ci)"
	BENCH_VAR=$(mktemp -d "${TMPDIR:-/tmp}/streamer-${BENCH_NAME##*/}.XXXXXX")
	chmod 755 "$BENCH_VAR"
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	bench_pick_port
	export STREAMER_PUSHPIN_PORT=$PORT
	bench_pick_port
	export STREAMER_HTTP_PORT=$PORT
	bench_pick_port
	export STREAMER_PUBLISH_PORT=$PORT
	export STREAMER_VAR_DIR=$BENCH_VAR
	export STREAMER_FCGI_BIN=${BENCH_FCGI_BIN:-$BUILD/streamer-fcgi} STREAMER_CLI_BIN=$BUILD/streamer
	case ${BENCH_DB_ENGINE:-sqlite} in
	sqlite) unset STREAMER_STACK_DB ;;
	postgresql) bench_start_pg ;;
	*) bench_die "BENCH_DB_ENGINE must be sqlite or postgresql, not '$BENCH_DB_ENGINE'" ;;
	esac
	if ! bash "$SRC/tests/e2e/stack.sh" start >"$BENCH_VAR/start.txt" 2>&1; then
		cat "$BENCH_VAR/start.txt" >&2
		bench_die "tests/e2e/stack.sh start failed"
	fi
	while IFS= read -r line; do
		[[ $line == STACK_*=* ]] && export "${line?}"
	done < <(bash "$SRC/tests/e2e/stack.sh" env)
	echo "$BENCH_NAME: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), store ${BENCH_DB_ENGINE:-sqlite}"
}

# Returns 1 (after saying so) when stack.sh could not stop the stack.
bench_stop_stack() {
	local rc=0
	[[ -n ${BENCH_VAR:-} ]] || return 0
	bash "$SRC/tests/e2e/stack.sh" stop >/dev/null 2>&1 || {
		echo "$BENCH_NAME: stack.sh stop failed; see $BENCH_VAR" >&2
		rc=1
	}
	if [[ -n ${BENCH_PG_DIR:-} ]]; then
		sh "$SRC/tests/pg.sh" stop "$BENCH_PG_DIR" >/dev/null 2>&1 || rc=1
		BENCH_PG_DIR=
	fi
	if [[ -n ${BENCH_KEEP:-} ]]; then
		echo "$BENCH_NAME: kept $BENCH_VAR" >&2
	else
		rm -rf "$BENCH_VAR"
	fi
	BENCH_VAR=
	return "$rc"
}

# Warns (on stderr, prefixed with $1) when the CPUs were more than 15 % busy
# over the last second: other programs' load skews the numbers.
bench_warn_if_busy() {
	local a b
	a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6; exit }' /proc/stat)
	awk -v a="$a" -v b="$b" -v prog="$1" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		busy = y[1] - x[1]; idle = y[2] - x[2]
		if (busy + idle > 0 && busy / (busy + idle) > 0.15)
			printf "%s: WARNING: the CPUs were %.0f%% busy before the run: other load skews the numbers\n", prog, 100 * busy / (busy + idle)
	}' >&2
}

#!/usr/bin/env bash
# stack.sh - starts and stops one streamer stack on loopback: zurl + Pushpin -> lighttpd or Apache -> spawn-fcgi/multiwatch workers.
#
# The one implementation behind `./dev.sh up|down|status|logs`, the
# end-to-end tests and the benchmarks. Everything an instance owns lives under
# its var directory (configs, keys, database, sockets, pids, logs), and every
# port is a variable, so several instances run side by side.
#
# Usage: tests/e2e/stack.sh start|stop|status|logs|env|token [SUB [TENANT]]|restart SERVICE
#   or source it and call the stack_* functions (dev.sh does).
#
# Settings (environment, with defaults):
#   STREAMER_VAR_DIR       <source>/var      instance directory
#   STREAMER_PUSHPIN_PORT  7999              WebSocket clients connect here
#   STREAMER_HTTP_PORT     8080              the web server (Pushpin's backend)
#   STREAMER_PUBLISH_PORT  5561              Pushpin's publish API (push_in_http_port)
#   STREAMER_WORKERS       2                 streamer-fcgi processes (multiwatch -f)
#   STREAMER_PROCESSORS    0                 `streamer processor --concurrency N` (0 = none;
#                                            ./dev.sh up starts 2)
#   STREAMER_WEB_SERVER    lighttpd          lighttpd or apache
#   STREAMER_PUSHPIN_MESSAGE_RATE  (template's: 0)  Pushpin's message_rate (bench/publish)
#   STREAMER_PUSHPIN_CLIENT_BUFFER_SIZE  (template's)  Pushpin's client_buffer_size (bench/answers)
#   STREAMER_FCGI_BIN      $STREAMER_FCGI, else <source>/build/streamer-fcgi
#   STREAMER_CLI_BIN       $STREAMER_CLI, else <source>/build/streamer
#   STREAMER_STACK_DB      var/streamer.db   the database (a path or a postgresql:// URL;
#                                            with a URL, STREAMER_HOST_DIR defaults to the var directory)
#   STREAMER_STACK_KEYS_FROM  (none)         a directory with another node's jwt-private.pem and
#                                            jwt-public.pem, copied in on the first start (one
#                                            token for every node)
# Any other STREAMER_* variable (STREAMER_ALLOWED_TENANTS, STREAMER_LOG_LEVEL,
# ...) is passed on to the workers; the stack sets STREAMER_DB,
# STREAMER_JWT_KEY_FILE, STREAMER_GRIP_KEY and STREAMER_LOG_FILE itself.

STACK_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Reads the settings; call again after changing them.
stack_init() {
	STACK_VAR=${STREAMER_VAR_DIR:-$STACK_SRC/var}
	mkdir -p "$STACK_VAR"
	STACK_VAR=$(cd "$STACK_VAR" && pwd)
	STACK_PUSHPIN_PORT=${STREAMER_PUSHPIN_PORT:-7999}
	STACK_HTTP_PORT=${STREAMER_HTTP_PORT:-8080}
	STACK_PUBLISH_PORT=${STREAMER_PUBLISH_PORT:-5561}
	STACK_WORKERS=${STREAMER_WORKERS:-2}
	STACK_PROCESSORS=${STREAMER_PROCESSORS:-0}
	STACK_WEB=${STREAMER_WEB_SERVER:-lighttpd}
	STACK_MESSAGE_RATE=${STREAMER_PUSHPIN_MESSAGE_RATE:-}
	STACK_CLIENT_BUFFER=${STREAMER_PUSHPIN_CLIENT_BUFFER_SIZE:-}
	STACK_FCGI=${STREAMER_FCGI_BIN:-${STREAMER_FCGI:-$STACK_SRC/build/streamer-fcgi}}
	STACK_CLI=${STREAMER_CLI_BIN:-${STREAMER_CLI:-$STACK_SRC/build/streamer}}
	STACK_RUN=$STACK_VAR/run
	STACK_LOG=$STACK_VAR/log
	STACK_CONF=$STACK_VAR/conf
	STACK_KEYS=$STACK_VAR/keys
	STACK_SOCK=$STACK_RUN/streamer.sock
	# STREAMER_STACK_DB: a database URL the stack uses instead of its own
	# var/streamer.db (e.g. a postgresql:// database on a shared server).
	STACK_DB=${STREAMER_STACK_DB:-$STACK_VAR/streamer.db}
	STACK_WORKER_LOG=$STACK_LOG/streamer.log
	case $STACK_WEB in
	lighttpd | apache) ;;
	*) stack_die "STREAMER_WEB_SERVER must be lighttpd or apache, not '$STACK_WEB'" ;;
	esac
	local p
	for p in STACK_PUSHPIN_PORT STACK_HTTP_PORT STACK_PUBLISH_PORT STACK_WORKERS; do
		[[ ${!p} =~ ^[1-9][0-9]{0,4}$ ]] || stack_die "${p/STACK_/STREAMER_} must be a positive number, not '${!p}'"
	done
	[[ -z $STACK_CLIENT_BUFFER || $STACK_CLIENT_BUFFER =~ ^[1-9][0-9]{2,7}$ ]] ||
		stack_die "STREAMER_PUSHPIN_CLIENT_BUFFER_SIZE must be a number of bytes, not '$STACK_CLIENT_BUFFER'"
	[[ $STACK_PROCESSORS =~ ^[0-9]{1,3}$ ]] || stack_die "STREAMER_PROCESSORS must be a number (0 = none), not '$STACK_PROCESSORS'"
}

stack_say() { printf '%s\n' "$*"; }
stack_die() {
	printf 'stack: %s\n' "$*" >&2
	exit 1
}

# The services in start order; stop goes the other way.
stack_services() {
	printf '%s\n' workers
	((STACK_PROCESSORS == 0)) || printf '%s\n' processors
	printf '%s\n' "$STACK_WEB" zurl pushpin
}

# The program name a service's recorded pid must be running.
stack_expected_comm() {
	case $1 in
	workers) echo multiwatch ;;
	processors) echo "streamer processor" ;;
	lighttpd) echo lighttpd ;;
	apache) echo apache2 ;;
	zurl) echo zurl ;;
	pushpin) echo pushpin ;;
	esac
}

# Prints the recorded pid of service $1 when that process is alive and is
# what we started (not a recycled pid); fails otherwise.
stack_pid() {
	local file=$STACK_RUN/$1.pid pid comm
	[[ -r $file ]] || return 1
	pid=$(<"$file")
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	stack_alive "$pid" || return 1
	comm=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $comm == *"$(stack_expected_comm "$1")"* ]] || return 1
	echo "$pid"
}

# True when any service of this instance is running.
stack_running() {
	local s
	for s in $(stack_services); do
		stack_pid "$s" >/dev/null && return 0
	done
	return 1
}

# Starts "$@" in its own session (so its process group is its pid) with
# output to log file $2, records the pid as service $1.
stack_spawn() {
	local name=$1 log=$2
	shift 2
	setsid "$@" </dev/null >>"$log" 2>&1 &
	echo $! >"$STACK_RUN/$name.pid"
}

stack_wait_tcp() { # port seconds what
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	stack_say "stack: $3 did not open 127.0.0.1:$1 within $2 s" >&2
	return 1
}

# Waits until GET url gets an answer from behind the proxy: any HTTP status but
# 502/504 (the proxy's own, while it cannot reach the backend yet); a bound port
# alone is not enough, since Pushpin's condure listens before its proxy is ready.
stack_wait_http() { # url seconds what
	local i code
	for ((i = 0; i < $2 * 10; i++)); do
		code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1" 2>/dev/null) || code=000
		[[ $code == 000 || $code == 502 || $code == 504 ]] || return 0
		sleep 0.1
	done
	stack_say "stack: $3 did not answer $1 within $2 s (last: HTTP $code)" >&2
	return 1
}

stack_wait_socket() { # path seconds
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[[ -S $1 ]] && return 0
		sleep 0.1
	done
	stack_say "stack: no FastCGI socket $1 within $2 s" >&2
	return 1
}

# True while pid is running (a zombie waiting for init to reap it is not).
stack_alive() {
	local state
	kill -0 "$1" 2>/dev/null || return 1
	state=$(sed -e 's/^.*) //' -e 's/ .*//' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ $state != Z ]]
}

stack_port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Fills template $1 into $2, replacing @NAME@ placeholders.
stack_fill() {
	local extra=()
	[[ -z ${STACK_MESSAGE_RATE:-} ]] || extra+=(-e "s|^message_rate=.*|message_rate=$STACK_MESSAGE_RATE|")
	[[ -z ${STACK_CLIENT_BUFFER:-} ]] || extra+=(-e "s|^client_buffer_size=.*|client_buffer_size=$STACK_CLIENT_BUFFER|")
	sed -e "s|@RUNDIR@|$STACK_RUN/pushpin|g" \
		-e "s|@LOGDIR@|$STACK_LOG|g" \
		-e "s|@PUSHPIN_PORT@|$STACK_PUSHPIN_PORT|g" \
		-e "s|@PUBLISH_PORT@|$STACK_PUBLISH_PORT|g" \
		-e "s|@HTTP_PORT@|$STACK_HTTP_PORT|g" \
		-e "s|@GRIP_KEY@|$STACK_GRIP_KEY|g" \
		-e "s|@ROUTESFILE@|$STACK_CONF/routes|g" \
		"${extra[@]}" "$1" >"$2.tmp"
	mv "$2.tmp" "$2"
}

# The contrib web server snippets carry real default paths (so users can copy
# them as they are); the stack swaps in its own.
stack_fill_snippet() {
	sed -e "s|/run/streamer/streamer.sock|$STACK_SOCK|g" \
		-e "s|/var/lib/streamer/reports|$STACK_VAR/reports|g" \
		-e "s|/var/www/streamer|$STACK_SRC/www|g" "$1" >"$2.tmp"
	mv "$2.tmp" "$2"
}

# Creates what persists across restarts: keys and the database.
stack_prepare() {
	mkdir -p "$STACK_RUN/pushpin" "$STACK_LOG" "$STACK_CONF" "$STACK_KEYS" "$STACK_VAR/reports"
	# Apache's children run as www-data and must reach the socket.
	chmod 755 "$STACK_VAR" "$STACK_RUN"
	# Another node's JWT keys, so that one token works on every node.
	if [[ -n ${STREAMER_STACK_KEYS_FROM:-} && ! -s $STACK_KEYS/jwt-private.pem ]]; then
		[[ -s $STREAMER_STACK_KEYS_FROM/jwt-private.pem && -s $STREAMER_STACK_KEYS_FROM/jwt-public.pem ]] ||
			stack_die "STREAMER_STACK_KEYS_FROM: no jwt-private.pem and jwt-public.pem in $STREAMER_STACK_KEYS_FROM"
		cp -p "$STREAMER_STACK_KEYS_FROM/jwt-private.pem" "$STREAMER_STACK_KEYS_FROM/jwt-public.pem" "$STACK_KEYS/"
	fi
	if [[ ! -s $STACK_KEYS/jwt-private.pem ]]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
			-out "$STACK_KEYS/jwt-private.pem.tmp" 2>/dev/null
		mv "$STACK_KEYS/jwt-private.pem.tmp" "$STACK_KEYS/jwt-private.pem"
		rm -f "$STACK_KEYS/jwt-public.pem"
	fi
	if [[ ! -s $STACK_KEYS/jwt-public.pem ]]; then
		openssl pkey -in "$STACK_KEYS/jwt-private.pem" -pubout -out "$STACK_KEYS/jwt-public.pem"
	fi
	if [[ ! -s $STACK_KEYS/grip.key ]]; then
		(umask 077 && openssl rand -hex 32 >"$STACK_KEYS/grip.key")
	fi
	chmod 600 "$STACK_KEYS/jwt-private.pem" "$STACK_KEYS/grip.key"
	STACK_GRIP_KEY=$(<"$STACK_KEYS/grip.key")
	if [[ -x $STACK_CLI ]]; then
		STREAMER_DB=$STACK_DB "$STACK_CLI" init-db --db "$STACK_DB" >/dev/null ||
			stack_die "streamer init-db --db $STACK_DB failed"
	fi
}

# The workers' environment, one KEY=VALUE a line (also written to
# var/conf/streamer.env for reference): the caller's STREAMER_* settings, then
# the stack's own, which win.
stack_worker_env() {
	local name
	while IFS= read -r name; do
		case $name in
		STREAMER_VAR_DIR | STREAMER_STACK_* | STREAMER_TEST_* | STREAMER_*_PORT | STREAMER_WORKERS | STREAMER_WEB_SERVER | STREAMER_PUSHPIN_* | \
			STREAMER_FCGI | STREAMER_FCGI_BIN | STREAMER_CLI | STREAMER_CLI_BIN | STREAMER_E2E_* | \
			STREAMER_DB | STREAMER_JWT_KEY_FILE | STREAMER_GRIP_KEY | STREAMER_LOG_FILE | STREAMER_CONFIG) ;;
		*) printf '%s=%s\n' "$name" "${!name}" ;;
		esac
	done < <(compgen -e | grep '^STREAMER_' || true)
	# Defaults the caller may override: pushes go to this stack's Pushpin,
	# reports into var/reports (served as /reports/).
	[[ -n ${STREAMER_CALLBACK_URL:-} ]] ||
		printf 'STREAMER_CALLBACK_URL=http://127.0.0.1:%s/publish/\n' "$STACK_PUBLISH_PORT"
	[[ -n ${STREAMER_OUTPUT_DIR:-} ]] || printf 'STREAMER_OUTPUT_DIR=%s\n' "$STACK_VAR/reports"
	printf 'STREAMER_DB=%s\n' "$STACK_DB"
	# A database that is not a file has no directory for the host's shared
	# files (metrics, rate limiter, activity): they go under the var directory.
	[[ $STACK_DB != *://* || -n ${STREAMER_HOST_DIR:-} ]] || printf 'STREAMER_HOST_DIR=%s\n' "$STACK_VAR"
	printf 'STREAMER_JWT_KEY_FILE=%s\n' "$STACK_KEYS/jwt-public.pem"
	printf 'STREAMER_GRIP_KEY=%s\n' "$STACK_GRIP_KEY"
	printf 'STREAMER_LOG_FILE=%s\n' "$STACK_WORKER_LOG"
}

stack_write_configs() {
	local c=$STACK_SRC/contrib
	stack_fill "$c/pushpin/pushpin.conf.in" "$STACK_CONF/pushpin.conf"
	stack_fill "$c/pushpin/zurl.conf.in" "$STACK_CONF/zurl.conf"
	stack_fill "$c/pushpin/routes.in" "$STACK_CONF/routes"
	stack_worker_env >"$STACK_CONF/streamer.env"
	chmod 600 "$STACK_CONF/streamer.env" "$STACK_CONF/pushpin.conf"
	if [[ $STACK_WEB == lighttpd ]]; then
		stack_fill_snippet "$c/lighttpd/streamer.conf" "$STACK_CONF/lighttpd-streamer.conf"
		cat >"$STACK_CONF/lighttpd.conf" <<-EOF
			# Generated by tests/e2e/stack.sh; the streamer part is contrib/lighttpd/streamer.conf.
			server.bind = "127.0.0.1"
			server.port = $STACK_HTTP_PORT
			server.document-root = "$STACK_SRC/www"
			server.errorlog = "$STACK_LOG/lighttpd.log"
			server.max-fds = 16384
			server.max-connections = 4096
			mimetype.assign = (
				".html" => "text/html; charset=utf-8",
				".js"   => "text/javascript; charset=utf-8",
				".mjs"  => "text/javascript; charset=utf-8",
				".css"  => "text/css; charset=utf-8",
				".json" => "application/json",
				".svg"  => "image/svg+xml",
				".png"  => "image/png",
				".ico"  => "image/x-icon",
			)
			include "$STACK_CONF/lighttpd-streamer.conf"
		EOF
	else
		stack_fill_snippet "$c/apache/streamer.conf" "$STACK_CONF/apache-streamer.conf"
		mkdir -p "$STACK_RUN/apache"
		local m=/usr/lib/apache2/modules
		cat >"$STACK_CONF/apache.conf" <<-EOF
			# Generated by tests/e2e/stack.sh; the streamer part is contrib/apache/streamer.conf.
			ServerRoot "/etc/apache2"
			ServerName 127.0.0.1
			Listen 127.0.0.1:$STACK_HTTP_PORT
			PidFile "$STACK_RUN/apache/apache2.pid"
			DefaultRuntimeDir "$STACK_RUN/apache"
			Mutex file:$STACK_RUN/apache default
			ErrorLog "$STACK_LOG/apache.log"
			LogLevel warn
			User www-data
			Group www-data
			LoadModule mpm_event_module $m/mod_mpm_event.so
			LoadModule authz_core_module $m/mod_authz_core.so
			LoadModule mime_module $m/mod_mime.so
			LoadModule dir_module $m/mod_dir.so
			LoadModule alias_module $m/mod_alias.so
			LoadModule proxy_module $m/mod_proxy.so
			LoadModule proxy_fcgi_module $m/mod_proxy_fcgi.so
			TypesConfig /etc/mime.types
			DocumentRoot "$STACK_SRC/www"
			DirectoryIndex index.html
			<Directory />
				Require all denied
			</Directory>
			<Directory "$STACK_SRC/www">
				Require all granted
			</Directory>
			Include "$STACK_CONF/apache-streamer.conf"
		EOF
	fi
}

stack_start_service() {
	local s=$1 log=$STACK_LOG/$1.log
	case $s in
	workers)
		[[ -x $STACK_FCGI ]] || {
			stack_say "stack: no worker binary $STACK_FCGI (build first, or set STREAMER_FCGI_BIN)" >&2
			return 1
		}
		local -a envv
		mapfile -t envv <"$STACK_CONF/streamer.env"
		rm -f "$STACK_SOCK"
		# -M 0666: the dev stack's Apache children (www-data) connect too.
		stack_spawn workers "$log" env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 "${envv[@]}" \
			spawn-fcgi -n -s "$STACK_SOCK" -M 0666 -- \
			"$(command -v multiwatch)" -f "$STACK_WORKERS" -r 100 -- "$STACK_FCGI"
		stack_wait_socket "$STACK_SOCK" 10
		;;
	processors)
		local -a penv
		mapfile -t penv <"$STACK_CONF/streamer.env"
		stack_spawn processors "$log" env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 "${penv[@]}" \
			"$STACK_CLI" processor --concurrency "$STACK_PROCESSORS"
		sleep 0.2
		stack_alive "$(<"$STACK_RUN/processors.pid")"
		;;
	lighttpd)
		lighttpd -tt -f "$STACK_CONF/lighttpd.conf" >>"$log" 2>&1 || {
			stack_say "stack: lighttpd rejects $STACK_CONF/lighttpd.conf (see $log)" >&2
			return 1
		}
		stack_spawn lighttpd "$log" lighttpd -D -f "$STACK_CONF/lighttpd.conf"
		stack_wait_tcp "$STACK_HTTP_PORT" 10 lighttpd
		;;
	apache)
		apache2 -t -f "$STACK_CONF/apache.conf" >>"$log" 2>&1 || {
			stack_say "stack: apache2 rejects $STACK_CONF/apache.conf (see $log)" >&2
			return 1
		}
		stack_spawn apache "$log" apache2 -f "$STACK_CONF/apache.conf" -DFOREGROUND
		stack_wait_tcp "$STACK_HTTP_PORT" 10 apache2
		;;
	zurl)
		# --loglevel=1: at info zurl logs each request URL, tokens included.
		stack_spawn zurl "$log" zurl --config="$STACK_CONF/zurl.conf" --loglevel=1
		local i
		for ((i = 0; i < 100; i++)); do
			[[ -S $STACK_RUN/pushpin/zurl-in ]] && return 0
			sleep 0.1
		done
		stack_say "stack: zurl did not start (see $log)" >&2
		return 1
		;;
	pushpin)
		stack_spawn pushpin "$log" pushpin --config "$STACK_CONF/pushpin.conf" \
			--port "127.0.0.1:$STACK_PUSHPIN_PORT" -m
		stack_wait_tcp "$STACK_PUSHPIN_PORT" 20 pushpin &&
			stack_wait_tcp "$STACK_PUBLISH_PORT" 10 "pushpin's publish API" &&
			stack_wait_http "http://127.0.0.1:$STACK_PUSHPIN_PORT/healthz" 20 pushpin
		;;
	esac
}

# Stops one service: TERM, then KILL to its process group. Pushpin's
# runner puts condure/pushpin-proxy/pushpin-handler in their own groups and
# stops them itself; their pid files in the rundir are checked afterwards.
stack_stop_service() {
	local s=$1 pid i
	if pid=$(stack_pid "$s"); then
		# TERM to the leader only: multiwatch forwards it to the workers
		# (which finish the request in hand), apache2 and pushpin stop their
		# children themselves. Whatever of its group is left after 5 s is
		# killed.
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			stack_alive "$pid" || break
			sleep 0.1
		done
		kill -KILL -- "-$pid" 2>/dev/null || true
		stack_say "stopped $s (pid $pid)"
	fi
	if [[ $s == pushpin ]]; then
		local f p comm
		for f in "$STACK_RUN"/pushpin/*.pid; do
			[[ -r $f ]] || continue
			p=$(<"$f")
			if [[ $p =~ ^[0-9]+$ ]] && comm=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) &&
				[[ $comm == *condure* || $comm == *pushpin-* ]] && [[ $comm == *"$STACK_RUN/pushpin"* || $comm == *"$STACK_CONF"* ]]; then
				kill -KILL "$p" 2>/dev/null || true
			fi
			rm -f "$f"
		done
	fi
	rm -f "$STACK_RUN/$s.pid"
}

stack_stop() {
	local s
	for s in pushpin zurl apache lighttpd processors workers; do
		stack_stop_service "$s"
	done
	rm -f "$STACK_SOCK"
}

# Starts whatever of this instance is not running yet. Fails (after printing
# the end of the failing service's log) when a service does not come up.
stack_start() {
	local s started=0 pid
	command -v curl >/dev/null || stack_die "curl is needed (apt-get install curl)"
	stack_prepare
	stack_write_configs
	for s in $(stack_services); do
		if pid=$(stack_pid "$s"); then
			stack_say "$s already running (pid $pid)"
			continue
		fi
		case $s in
		"$STACK_WEB") stack_port_free "$STACK_HTTP_PORT" || stack_die "port $STACK_HTTP_PORT (STREAMER_HTTP_PORT) is taken by another program" ;;
		pushpin)
			stack_port_free "$STACK_PUSHPIN_PORT" || stack_die "port $STACK_PUSHPIN_PORT (STREAMER_PUSHPIN_PORT) is taken by another program"
			stack_port_free "$STACK_PUBLISH_PORT" || stack_die "port $STACK_PUBLISH_PORT (STREAMER_PUBLISH_PORT) is taken by another program"
			;;
		esac
		if ! stack_start_service "$s"; then
			stack_say "--- last lines of $STACK_LOG/$s.log:" >&2
			tail -n 30 "$STACK_LOG/$s.log" >&2 2>/dev/null || true
			[[ $s == workers && -f $STACK_WORKER_LOG ]] && tail -n 10 "$STACK_WORKER_LOG" >&2
			return 1
		fi
		started=$((started + 1))
		stack_say "started $s (pid $(<"$STACK_RUN/$s.pid"))"
	done
	stack_wait_ready 20
}

# Waits until requests go all the way through: GET /healthz via Pushpin, the
# web server and a worker, then a WebSocket handshake without a token, which a
# worker refuses with 401 (the floor accepts it: 101). Pushpin accepts
# connections a moment before its internal sockets are connected and drops
# what comes in meanwhile, and its plain-HTTP and WebSocket paths connect
# separately: under load the first can work while a handshake still hangs.
# The probe leaves one connect_rejected line (reason missing_token) in the
# worker log.
stack_wait_ready() {
	local i code url=http://127.0.0.1:$STACK_PUSHPIN_PORT
	for ((i = 0; i < $1 * 10; i++)); do
		curl -fsS -o /dev/null --max-time 2 "$url/healthz" 2>/dev/null && break
		sleep 0.1
	done
	if ((i == $1 * 10)); then
		stack_say "stack: GET $url/healthz did not answer 200 within $1 s:" >&2
		curl -sS -i --max-time 2 "$url/healthz" >&2 || true
		return 1
	fi
	for (( ; i < $1 * 10; i++)); do
		code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 1 --http1.1 \
			-H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
			-H 'Sec-WebSocket-Key: c3RyZWFtZXItcmVhZHkhIQ==' "$url/ws" 2>/dev/null) || true
		[[ $code == 401 || $code == 101 ]] && return 0
		sleep 0.1
	done
	stack_say "stack: a WebSocket handshake through $url did not get an answer within $1 s (last: ${code:-none})" >&2
	return 1
}

stack_status() {
	local s pid rc=0
	for s in $(stack_services); do
		if pid=$(stack_pid "$s"); then
			case $s in
			workers) stack_say "$(printf '%-9s' "$s") running (multiwatch pid $pid, workers: $(pgrep -P "$pid" | tr '\n' ' '))" ;;
			*) stack_say "$(printf '%-9s' "$s") running (pid $pid)" ;;
			esac
		else
			stack_say "$(printf '%-9s' "$s") stopped"
			rc=3
		fi
	done
	return $rc
}

# The pids of the live streamer-fcgi processes (children of multiwatch).
stack_worker_pids() {
	local pid
	pid=$(stack_pid workers) || return 1
	pgrep -P "$pid"
}

# Prints a development token for user $1 in tenant $2, valid $3 seconds, with
# the publish permission (so the console can publish to topics).
stack_token() {
	"$STACK_CLI" token --key "$STACK_KEYS/jwt-private.pem" --sub "${1:-dev-user}" \
		--tenant "${2:-dev}" --ttl "${3:-86400}" --permissions publish,reports
}

stack_logs() {
	local f
	for f in "$STACK_LOG"/*.log; do
		[[ -f $f ]] || continue
		printf '==> %s <==\n' "$f"
		tail -n "${1:-20}" "$f"
	done
}

# KEY=VALUE lines describing the instance, for test harnesses.
stack_env() {
	cat <<-EOF
		STACK_VAR=$STACK_VAR
		STACK_WS_URL=ws://127.0.0.1:$STACK_PUSHPIN_PORT/ws
		STACK_HTTP_URL=http://127.0.0.1:$STACK_HTTP_PORT
		STACK_PUBLISH_URL=http://127.0.0.1:$STACK_PUBLISH_PORT
		STACK_DB=$STACK_DB
		STACK_PRIVATE_KEY=$STACK_KEYS/jwt-private.pem
		STACK_PUBLIC_KEY=$STACK_KEYS/jwt-public.pem
		STACK_GRIP_KEY_FILE=$STACK_KEYS/grip.key
		STACK_WORKER_LOG=$STACK_WORKER_LOG
		STACK_LOG_DIR=$STACK_LOG
		STACK_FCGI=$STACK_FCGI
		STACK_CLI=$STACK_CLI
	EOF
}

stack_main() {
	set -euo pipefail
	stack_init
	case ${1:-} in
	start) stack_start ;;
	stop) stack_stop ;;
	restart) # restart SERVICE: stop one service and start it again (a proxy restart in a test)
		[[ -n ${2:-} && -n $(stack_expected_comm "$2") ]] || stack_die "restart: name a service ($(stack_services | tr '\n' ' '))"
		stack_stop_service "$2"
		stack_start_service "$2" ;;
	status) stack_status ;;
	logs) stack_logs "${2:-20}" ;;
	env) stack_env ;;
	token) stack_token "${2:-}" "${3:-}" ;;
	*)
		echo "usage: $0 start|stop|status|logs [N]|env|token [SUB [TENANT]]" >&2
		exit 2
		;;
	esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	stack_main "$@"
fi

#!/bin/sh
# pg.sh - a throwaway PostgreSQL server for tests: data and unix socket under DIR, no TCP, run as the unprivileged user postgres.
# Usage: pg.sh start DIR   prints the libpq URL of its database "streamer"
#        pg.sh stop DIR    stops it (the data stays in DIR: remove DIR to drop it)
# PGBIN overrides /usr/lib/postgresql/15/bin; PGUSER_OS the system user (default postgres).
# PG_DURABLE=1 keeps fsync and full page writes on (benchmarks); by default they are off (tests).
set -eu
cmd=${1:-}
dir=${2:-}
bin=${PGBIN:-/usr/lib/postgresql/15/bin}
user=${PGUSER_OS:-postgres}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
[ -x "$bin/pg_ctl" ] || { echo "pg.sh: $bin/pg_ctl not found: install the Debian package postgresql" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

# as_user CMD...: runs CMD as the server's user (PostgreSQL refuses to run as root).
as_user() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$user" -- "$@"
	else
		"$@"
	fi
}

case $cmd in
start)
	[ "$(id -u)" = 0 ] && chown "$user" "$dir"
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_user "$bin/initdb" -D "$dir/data" -A trust -U "$user" -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	# Only the socket in DIR (no TCP); fast and unsafe unless PG_DURABLE=1: fsync off, for tests only.
	durability="-c fsync=off -c full_page_writes=off"
	[ "${PG_DURABLE:-}" = 1 ] && durability="-c fsync=on -c full_page_writes=on"
	as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -s \
		-o "-c listen_addresses='' -c unix_socket_directories='$dir' $durability \
-c synchronous_commit=off -c max_connections=200" start >&2 ||
		{ cat "$dir/server.log" >&2; exit 1; }
	if ! as_user "$bin/psql" -h "$dir" -U "$user" -d postgres -Atqc \
		"SELECT 1 FROM pg_database WHERE datname = 'streamer'" | grep -q 1; then
		as_user "$bin/createdb" -h "$dir" -U "$user" streamer
	fi
	echo "postgresql:///streamer?host=$dir&user=$user"
	;;
stop)
	[ -f "$dir/data/postmaster.pid" ] || exit 0
	as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w -s stop >&2
	;;
*)
	echo "usage: $0 start|stop DIR" >&2
	exit 2
	;;
esac

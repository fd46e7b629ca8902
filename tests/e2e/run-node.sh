#!/bin/sh
# run-node.sh - runs one end-to-end test file (.mjs) with node's TAP reporter, after making sure tests/e2e/node_modules has ws.
# Usage: sh tests/e2e/run-node.sh FILE.mjs   (automake's MJS_LOG_COMPILER)
# node_modules is installed with `npm ci` from the committed package-lock.json,
# once, under a lock so that parallel `make -j check` jobs do not race.
set -eu

test_file=$1
e2e_dir=$(cd "$(dirname "$0")" && pwd)

if ! command -v node >/dev/null 2>&1; then
	echo "1..0 # SKIP node is not installed (./dev.sh test installs nodejs)"
	exit 0
fi

need_install() {
	[ ! -f "$e2e_dir/node_modules/ws/package.json" ] ||
		[ ! -f "$e2e_dir/node_modules/.package-lock.json" ] ||
		[ -n "$(find "$e2e_dir/package-lock.json" -newer "$e2e_dir/node_modules/.package-lock.json")" ]
}

if need_install; then
	lock=${TMPDIR:-/tmp}/streamer-e2e-npm.lock
	(
		flock 9
		if need_install; then
			echo "# npm ci in $e2e_dir" >&2
			cd "$e2e_dir" && npm ci --no-audit --no-fund --loglevel=error >&2
		fi
	) 9>"$lock" || {
		echo "Bail out! npm ci failed in $e2e_dir (the npm registry must be reachable once)"
		exit 1
	}
fi

# One file's tests share one stack; each test has its own timeout.
exec node --test --test-reporter=tap --test-timeout=120000 "$test_file"

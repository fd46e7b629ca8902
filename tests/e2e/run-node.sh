#!/bin/sh
# run-node.sh - runs one end-to-end test file (.mjs) with node's TAP reporter, after making sure node_modules (ws, playwright-core) is installed.
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

# Where node_modules lives: tests/e2e/node_modules in the source tree (where dev.sh and
# bench/ find it too), unless the source tree is read-only (make distcheck): then
# tests/e2e/node_modules in the build tree. lib.mjs and browser.mjs load ws and
# playwright-core from $STREAMER_E2E_NODE_MODULES.
. "$e2e_dir/../npm_ci.sh"
npm_dir=$e2e_dir
# (The mode bits, not test -w: root may write anywhere, yet distcheck means "read-only".)
if npm_need_install "$npm_dir" "$e2e_dir/package-lock.json" ws && { ! [ -w "$e2e_dir" ] || [ -z "$(find "$e2e_dir" -maxdepth 0 -perm -u+w)" ]; }; then
	npm_dir=${top_builddir:-.}/tests/e2e
	mkdir -p "$npm_dir"
	npm_dir=$(cd "$npm_dir" && pwd)
fi

npm_ci "$e2e_dir" "$npm_dir" ws || exit 1
STREAMER_E2E_NODE_MODULES=$npm_dir/node_modules
export STREAMER_E2E_NODE_MODULES

# One file's tests share one stack; each test has its own timeout.
exec node --test --test-reporter=tap --test-timeout=120000 "$test_file"

# npm_ci.sh - sourced (sh or bash) by the tests that need node packages: installs a directory's node_modules with `npm ci` from a committed package-lock.json, once, under a lock.

# npm_need_install DIR LOCK PACKAGE: true when DIR/node_modules lacks PACKAGE or
# is older than LOCK (the committed package-lock.json it was installed from).
npm_need_install() {
	[ ! -f "$1/node_modules/$3/package.json" ] ||
		[ ! -f "$1/node_modules/.package-lock.json" ] ||
		[ -n "$(find "$2" -newer "$1/node_modules/.package-lock.json")" ]
}

# npm_ci SRC DIR PACKAGE: makes DIR/node_modules, PACKAGE in it, with `npm ci`
# from SRC's package.json and package-lock.json; they are copied into DIR first
# when DIR is not SRC (a build tree beside a read-only source, as under
# distcheck). Does nothing when it is already up to date. Parallel callers
# (make -j check) install once: they take ${TMPDIR:-/tmp}/streamer-<name of
# SRC>-npm.lock and test again. On failure prints a TAP "Bail out!" line and
# returns 1.
npm_ci() {
	npm_need_install "$2" "$1/package-lock.json" "$3" || return 0
	(
		flock 9
		if npm_need_install "$2" "$1/package-lock.json" "$3"; then
			echo "# npm ci in $2" >&2
			if ! [ "$2" -ef "$1" ]; then
				cp "$1/package.json" "$1/package-lock.json" "$2/" &&
					chmod u+w "$2/package.json" "$2/package-lock.json"
			fi
			cd "$2" && npm ci --no-audit --no-fund --loglevel=error >&2
		fi
	) 9>"${TMPDIR:-/tmp}/streamer-$(basename "$1")-npm.lock" || {
		echo "Bail out! npm ci failed in $2 (the npm registry must be reachable once)"
		return 1
	}
}

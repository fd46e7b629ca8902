#!/bin/bash
# sdk_types.sh - the SDK as a package: www/package.json matches the server's version, `npm pack` gives an installable streamer-client, the TypeScript example compiles against it with tsc --strict, misuse does not, and streamer.d.ts declares all that streamer.js offers.
# TAP; run by `make check`. TypeScript comes from the npm registry (tests/types/package-lock.json),
# installed with `npm ci` once in the build tree (never the source tree), under a lock.
set -u
. "$top_srcdir/tests/lib.sh"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "1..0 # SKIP node and npm are not installed (./dev.sh test installs them)"
	exit 0
fi
www=$top_srcdir/www
pkg=$www/package.json
json() { node -e 'const p = require(process.argv[1]); console.log(eval(process.argv[2]))' "$1" "$2"; }

# ---- the manifest
version=$("$STREAMER_CLI" --version | awk '{ print $2 }')
check_eq "www/package.json's version is the server's ($version)" "$(json "$pkg" p.version)" "$version"
check_eq "the package is streamer-client" "$(json "$pkg" p.name)" streamer-client
check_eq "its licence is the project's (MIT, as LICENSE)" "$(json "$pkg" p.license)" MIT
check "LICENSE is the MIT licence" grep -q '^MIT License' "$top_srcdir/LICENSE"
check_eq "it is an ES module with exports for types and code" \
	"$(json "$pkg" '[p.type, p.exports["."].types, p.exports["."].default].join(" ")')" "module ./streamer.d.ts ./streamer.js"
check_eq "types come first in the exports condition (TypeScript reads them in order)" \
	"$(json "$pkg" 'Object.keys(p.exports["."])[0]')" types

# ---- TypeScript, in the build tree
types=$top_builddir/tests/types
mkdir -p "$types"
types=$(cd "$types" && pwd)
. "$top_srcdir/tests/npm_ci.sh"
npm_ci "$top_srcdir/tests/types" "$types" typescript || exit 1
tsc=$types/node_modules/typescript/bin/tsc
check "tsc $(node "$tsc" --version 2>&1 | awk '{ print $2 }') is installed in the build tree" test -f "$tsc"

# ---- npm pack: from a copy, so that the source tree (read-only under distcheck) stays as it is
cp -R "$www" "$TMP/www" && chmod -R u+w "$TMP/www"
tarball=$(cd "$TMP/www" && npm pack --silent --pack-destination "$TMP" 2>"$TMP/pack.err" | tail -1)
check_eq "npm pack makes streamer-client-$version.tgz" "$tarball" "streamer-client-$version.tgz"
check_eq "the package holds the manifest, the module and its declarations, nothing else" \
	"$(tar -tzf "$TMP/$tarball" 2>&1 | sort | tr '\n' ' ')" "package/package.json package/streamer.d.ts package/streamer.js "

# ---- a frontend project installs it from the file
app=$TMP/app
mkdir -p "$app"
printf '{ "name": "app", "private": true, "type": "module" }\n' >"$app/package.json"
(cd "$app" && npm install --no-audit --no-fund --loglevel=error "$TMP/$tarball" >"$TMP/install.log" 2>&1)
check "npm install ./streamer-client-$version.tgz in a fresh project" test -f "$app/node_modules/streamer-client/streamer.d.ts"
check_eq "its dependency is recorded as the file" "$(json "$app/package.json" 'p.dependencies["streamer-client"]')" "file:../$tarball"
check_eq "node imports it by name (the exports' default)" \
	"$(cd "$app" && node --input-type=module -e "import S, { StreamerClient, topicCovers } from 'streamer-client'; console.log(S === StreamerClient, topicCovers('a.*', 'a.b'))" 2>&1)" "true true"

# ---- the example compiles with --strict, against the installed package
cp "$top_srcdir/examples/typescript/client.ts" "$top_srcdir/examples/typescript/tsconfig.json" "$app/"
out=$(cd "$app" && node "$tsc" -p tsconfig.json 2>&1) && rc=0 || rc=$?
check_eq "examples/typescript/client.ts compiles: tsc --noEmit --strict" "$rc $out" "0 "
check_contains "the example's tsconfig is strict and resolves as Node does (exports)" \
	"$(tr -d ' \n' <"$app/tsconfig.json")" '"moduleResolution":"NodeNext","strict":true'

# ---- misuse does not compile: each line of bad.ts must be an error of its own
cat >"$app/bad.ts" <<'TS'
import { StreamerClient } from 'streamer-client';
const c = new StreamerClient('ws://127.0.0.1:7999/ws', { heartbeat: 'often' });
c.on('no-such-event', () => {});
c.on('close', ({ kode }) => kode);
void c.subscribe(42);
void c.request('echo', {}, { timeout: 'soon' });
void c.presence('room').then((p) => p.users[0].name);
new StreamerClient(7999);
TS
sed 's/"client.ts"/"bad.ts"/' "$app/tsconfig.json" >"$app/tsconfig.bad.json"
bad=$(cd "$app" && node "$tsc" -p tsconfig.bad.json 2>&1)
for line in 2 3 4 5 6 7 8; do
	check "misuse on line $line of bad.ts does not compile ($(sed -n "${line}p" "$app/bad.ts" | cut -c1-50))" \
		grep -q "^bad.ts($line," <<<"$bad"
done

# ---- everything streamer.js offers is declared
# (run from the build tree's copy: an ES module resolves typescript beside itself)
[ "$top_srcdir/tests/types/coverage.mjs" -ef "$types/coverage.mjs" ] || cp "$top_srcdir/tests/types/coverage.mjs" "$types/"
cov=$(node "$types/coverage.mjs" "$www/streamer.d.ts" "$www/streamer.js" 2>&1) && rc=0 || rc=$?
check_eq "streamer.d.ts declares every export, method, property, option and event of streamer.js" "$rc" 0
diag "$cov"
# proof: a declaration file without presenceCount, the 'recovery' event and the positionInterval option is caught
sed -e '/presenceCount(topic/d' -e '/^  recovery: /d' -e '/^  positionInterval?: /d' "$www/streamer.d.ts" >"$TMP/short.d.ts"
cov=$(node "$types/coverage.mjs" "$TMP/short.d.ts" "$www/streamer.js" 2>&1)
check_eq "proof: what a declaration file leaves out is listed" "$(grep '^missing' <<<"$cov" | tr '\n' ' ')" \
	"missing: StreamerClient.presenceCount missing: option positionInterval missing: event recovery "

done_testing

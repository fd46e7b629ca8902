#!/usr/bin/env bash
# tests/deb.sh - the Debian package from a source tarball: dpkg-buildpackage, lintian, install on this machine, the packaged units and settings serving a WebSocket through Pushpin, purge.
#
# Usage: tests/deb.sh TARBALL        (`make check-deb` passes this tree's tarball)
# Needs root on Debian 12 with dpkg-dev, debhelper and lintian (./dev.sh test
# installs them) and the runtime packages (spawn-fcgi, multiwatch, lighttpd,
# pushpin, zurl, node). It installs the package for real, so it refuses to run
# where a streamer package not built by it is installed; it purges the package
# at the end, whatever happened.
#
# There is no systemd here (tests run in containers without it as PID 1), so
# the installed units are checked with `systemd-analyze verify` and then run the
# way systemd would: run_unit reads Environment=, User=, Group=,
# RuntimeDirectory=, StateDirectory=, ExecStartPre= and ExecStart= from the
# installed unit file and runs its commands with those.
#
# Settings: STREAMER_DEB_KEEP=1 keeps the build directory (its path is printed).
set -euo pipefail
export LC_ALL=C

tarball=${1:?usage: tests/deb.sh TARBALL}
tarball=$(cd "$(dirname "$tarball")" && pwd)/$(basename "$tarball")
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$here/.." && pwd)

# The TAP helpers of the CGI tests; they want the binaries under test named.
export STREAMER_FCGI=/usr/bin/streamer-fcgi STREAMER_CLI=/usr/bin/streamer
export top_srcdir=${top_srcdir:-$SRC} top_builddir=${top_builddir:-$PWD}
# shellcheck source=tests/lib.sh
source "$here/lib.sh"
trap 'cleanup' EXIT

if [[ $(id -u) != 0 ]]; then
	echo "1..0 # SKIP needs root: it installs the package on this machine"
	exit 0
fi
for tool in dpkg-buildpackage dh lintian systemd-analyze spawn-fcgi multiwatch lighttpd pushpin zurl node; do
	command -v "$tool" >/dev/null || {
		echo "Bail out! $tool is missing (./dev.sh test installs it)"
		exit 1
	}
done
if dpkg-query -W -f='${Status}' streamer 2>/dev/null | grep -q 'ok installed' &&
	! dpkg-query -W -f='${Version}' streamer | grep -q '^1:'; then
	echo "Bail out! another package named streamer is installed (xawtv's?): not touching it"
	exit 1
fi

WORK=$(mktemp -d /tmp/streamer-deb.XXXXXX)
chmod 755 "$WORK"
PIDS=()

cleanup() {
	local rc=$?
	local p
	for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
	sleep 0.5
	for p in "${PIDS[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
	if dpkg-query -W -f='${Status}' streamer 2>/dev/null | grep -q 'installed'; then
		dpkg --purge streamer >/dev/null 2>&1 || true
	fi
	rm -f /run/streamer/streamer.sock
	if [[ -n ${STREAMER_DEB_KEEP:-} ]]; then
		echo "# kept $WORK" >&2
	else
		rm -rf "$WORK"
	fi
	rm -rf "$TMP"
	exit $rc
}

# A free TCP port on loopback, from 20000 up (not the dev stack's).
free_port() {
	local p
	for ((p = $1; p < $1 + 500; p++)); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

wait_for() { # SECONDS COMMAND...: until COMMAND succeeds
	local n=$(($1 * 10))
	shift
	while ((n-- > 0)); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# ---- 1. build -------------------------------------------------------------------
diag "building the package from $(basename "$tarball") in $WORK"
tar xzf "$tarball" -C "$WORK"
srcdir=$(echo "$WORK"/streamer-*/)
srcdir=${srcdir%/}
version=${srcdir##*/streamer-}
cp "$tarball" "$WORK/streamer_$version.orig.tar.gz"
if (cd "$srcdir" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) >"$WORK/build.log" 2>&1; then
	ok "dpkg-buildpackage -b -us -uc builds the package"
else
	not_ok "dpkg-buildpackage -b -us -uc builds the package"
	tail -30 "$WORK/build.log" | sed 's/^/# /'
	done_testing
fi
arch=$(dpkg --print-architecture)
deb=$WORK/streamer_${version}-1_$arch.deb
check "it is named streamer_${version}-1_$arch.deb" test -f "$deb"
check_eq "the package's version is the tarball's (epoch 1, see debian/changelog)" \
	"$(dpkg-deb -f "$deb" Version)" "1:$version-1"

# ---- 2. lintian -------------------------------------------------------------------
lintian --fail-on error --no-tag-display-limit "$WORK"/streamer_*.changes >"$WORK/lintian.log" 2>&1 && lint=0 || lint=$?
check_eq "lintian finds no error" "$lint" 0
check_eq "lintian finds a manual page for every program" "$(grep -o 'no-manual-page.*' "$WORK/lintian.log")" ""
diag "lintian warnings: $(grep -c '^W:' "$WORK/lintian.log" || true)"
grep -E '^(E|W):' "$WORK/lintian.log" | sed 's/^/# /' || true

# ---- 3. install and the files -------------------------------------------------------
if apt-get install -y -q --no-install-recommends "$deb" >"$WORK/install.log" 2>&1; then
	ok "apt-get install ./streamer_*.deb"
else
	not_ok "apt-get install ./streamer_*.deb"
	tail -20 "$WORK/install.log" | sed 's/^/# /'
	done_testing
fi

mode_of() { stat -c '%a %U:%G' "$1"; }
check "the streamer binaries are in /usr/bin" test -x /usr/bin/streamer -a -x /usr/bin/streamer-fcgi
check_eq "streamer-fcgi --version says $version" "$(/usr/bin/streamer-fcgi --version | grep -o "$version" | head -1)" "$version"
check "a system user streamer with no login shell" \
	bash -c '[[ $(getent passwd streamer | cut -d: -f7) == /usr/sbin/nologin && $(id -u streamer) -lt 1000 ]]'
check_eq "/etc/streamer/streamer.env is 0640 root:streamer" "$(mode_of /etc/streamer/streamer.env)" "640 root:streamer"
check_contains "/etc/streamer/streamer.env is a conffile" "$(dpkg-query -W -f='${Conffiles}' streamer)" /etc/streamer/streamer.env
check_eq "/var/lib/streamer is 0750 streamer:streamer" "$(mode_of /var/lib/streamer)" "750 streamer:streamer"
check_eq "the workers' settings file names the packaged database" \
	"$(grep '^STREAMER_DB=' /etc/streamer/streamer.env)" "STREAMER_DB=/var/lib/streamer/streamer.db"
check_eq "the client SDK (streamer-client) and the console are in /usr/share/streamer/www" \
	"$(cd /usr/share/streamer/www 2>&1 && ls | tr '\n' ' ')" "console.css console.js index.html package.json streamer.d.ts streamer.js "
check_contains "the packaged SDK is the server's version" "$(cat /usr/share/streamer/www/package.json)" "\"version\": \"${version%%-*}\""
check_contains "the package holds streamer(1) and streamer-fcgi(8)" "$(dpkg -c "$deb")" \
	"./usr/share/man/man8/streamer-fcgi.8.gz"
if grep -qs '^path-exclude=/usr/share/man' /etc/dpkg/dpkg.cfg.d/*; then
	diag "dpkg excludes /usr/share/man on this machine: the installed man pages are not checked"
else
	check "the man pages are installed" \
		test -f /usr/share/man/man1/streamer.1.gz -a -f /usr/share/man/man8/streamer-fcgi.8.gz
	check_eq "man -w streamer finds the packaged page" "$(man -w streamer 2>&1)" /usr/share/man/man1/streamer.1.gz
	check_contains "streamer-fcgi(8) gives the packaged database as STREAMER_DB's default" \
		"$(zcat /usr/share/man/man8/streamer-fcgi.8.gz)" 'Default: \fB/var/lib/streamer/streamer.db\fR.'
fi
for u in streamer-fcgi.service streamer-processor.service streamer-gc.service streamer-gc.timer; do
	check "unit $u is installed" test -f "/lib/systemd/system/$u"
done
# systemd-analyze verify wants the binaries the units name; it needs no running systemd.
if out=$(cd /lib/systemd/system && systemd-analyze verify --man=no streamer-fcgi.service streamer-processor.service \
	streamer-gc.service streamer-gc.timer 2>&1); then
	ok "systemd-analyze verify accepts the units"
else
	not_ok "systemd-analyze verify accepts the units"
	diag "$out"
fi
check "the units are not enabled before the key and settings are in place" \
	bash -c '! ls /etc/systemd/system/multi-user.target.wants/streamer-* /etc/systemd/system/timers.target.wants/streamer-* 2>/dev/null | grep -q .'
check "<streamer/handler.h> is installed" test -f /usr/include/streamer/handler.h
check_eq "pkg-config knows streamer $version" "$(pkg-config --modversion streamer 2>&1)" "$version"
check "a plugin builds against the installed header with pkg-config" \
	bash -c "cc -std=gnu11 -shared -fPIC -Wall -Werror \$(pkg-config --cflags streamer) -o '$WORK/wordcount.so' \
		/usr/share/doc/streamer/examples/plugin/wordcount.c \$(pkg-config --libs jansson)"
for e in lighttpd/streamer.conf apache/streamer.conf pushpin/pushpin.conf.in pushpin/routes.in prometheus/streamer-alerts.yml \
	systemd/streamer.env.example multinode/haproxy.cfg; do
	check "example $e is in /usr/share/doc/streamer/examples" test -f "/usr/share/doc/streamer/examples/$e"
done
# (dh_compress gzips documents over 4 KB, as Debian does.)
check "the docs are in /usr/share/doc/streamer" bash -c 'ls /usr/share/doc/streamer/README.md* && ls /usr/share/doc/streamer/docs/deployment.md*'

# ---- 4. the units with the packaged settings ---------------------------------------
# The admin's part (docs/deployment.md): the JWT public key, the Grip key shared
# with Pushpin, the publish URL.
http_port=$(free_port 20080)
pushpin_port=$(free_port $((http_port + 1)))
publish_port=$(free_port $((pushpin_port + 1)))
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$WORK/jwt-private.pem" 2>/dev/null
openssl pkey -in "$WORK/jwt-private.pem" -pubout -out /etc/streamer/jwt-public.pem
grip_key=$(openssl rand -hex 32)
sed -i -e "s|^#STREAMER_GRIP_KEY=.*|STREAMER_GRIP_KEY=$grip_key|" \
	-e "s|^STREAMER_CALLBACK_URL=.*|STREAMER_CALLBACK_URL=http://127.0.0.1:$publish_port/publish/|" /etc/streamer/streamer.env
check_eq "the settings file still 0640 root:streamer after the admin's edit" "$(mode_of /etc/streamer/streamer.env)" "640 root:streamer"

# unit_get UNIT KEY: the values of KEY= in the installed unit, one a line.
unit_get() { sed -n "s/^$2=//p" "/lib/systemd/system/$1"; }

# run_unit UNIT: runs UNIT's ExecStartPre= commands to the end, then its
# ExecStart= command in the background (its pid in PIDS), as systemd would:
# Environment=, User=/Group=, RuntimeDirectory= (in /run), StateDirectory= (in
# /var/lib, owned by User=). Logs to $WORK/UNIT.log.
run_unit() {
	local unit=$1 user group d mode cmd
	local -a envs=() as=()
	user=$(unit_get "$unit" User)
	group=$(unit_get "$unit" Group)
	mapfile -t envs < <(unit_get "$unit" Environment)
	mode=$(unit_get "$unit" RuntimeDirectoryMode)
	for d in $(unit_get "$unit" RuntimeDirectory); do install -d -m "${mode:-0755}" ${user:+-o "$user"} "/run/$d"; done
	mode=$(unit_get "$unit" StateDirectoryMode)
	for d in $(unit_get "$unit" StateDirectory); do install -d -m "${mode:-0755}" ${user:+-o "$user" -g "$group"} "/var/lib/$d"; done
	[[ -z $user ]] || as=(setpriv --reuid="$user" --regid="${group:-$user}" --init-groups)
	while IFS= read -r cmd; do
		# shellcheck disable=SC2086 # systemd splits the command line on spaces too
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "${envs[@]}" "${as[@]}" $cmd >>"$WORK/$unit.log" 2>&1 ||
			return 1
	done < <(unit_get "$unit" ExecStartPre)
	cmd=$(unit_get "$unit" ExecStart)
	# shellcheck disable=SC2086
	setsid env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "${envs[@]}" "${as[@]}" $cmd >>"$WORK/$unit.log" 2>&1 &
	PIDS+=($!)
}

if run_unit streamer-fcgi.service && wait_for 10 test -S /run/streamer/streamer.sock; then
	ok "streamer-fcgi.service starts: init-db, then spawn-fcgi + multiwatch on /run/streamer/streamer.sock"
else
	not_ok "streamer-fcgi.service starts"
	sed 's/^/# /' "$WORK/streamer-fcgi.service.log" || true
fi
check_eq "init-db made the database as the streamer user" "$(stat -c %U /var/lib/streamer/streamer.db 2>&1)" streamer
check_eq "the socket is 0660 for the web server's user" "$(stat -c '%a %U' /run/streamer/streamer.sock 2>&1)" "660 www-data"
check "the workers run as streamer" bash -c '[[ $(ps -o user= -C streamer-fcgi | sort -u) == streamer ]]'
if run_unit streamer-processor.service && sleep 0.5 && kill -0 "${PIDS[-1]}"; then
	ok "streamer-processor.service runs"
else
	not_ok "streamer-processor.service runs"
	sed 's/^/# /' "$WORK/streamer-processor.service.log" || true
fi

# lighttpd with the packaged example, as /etc/lighttpd/conf-enabled would include it.
mkdir -p "$WORK/www" "$WORK/pushpin/run" "$WORK/log"
cat >"$WORK/lighttpd.conf" <<EOF
server.bind = "127.0.0.1"
server.port = $http_port
server.document-root = "$WORK/www"
server.errorlog = "$WORK/log/lighttpd.log"
include "/usr/share/doc/streamer/examples/lighttpd/streamer.conf"
EOF
setsid lighttpd -D -f "$WORK/lighttpd.conf" >>"$WORK/log/lighttpd.out" 2>&1 &
PIDS+=($!)
wait_for 10 curl -s "http://127.0.0.1:$http_port/healthz" -o /dev/null || diag "lighttpd does not answer"

# Pushpin and zurl with the packaged example templates filled in.
fill() {
	sed -e "s|@RUNDIR@|$WORK/pushpin/run|g" -e "s|@LOGDIR@|$WORK/log|g" \
		-e "s|@PUSHPIN_PORT@|$pushpin_port|g" -e "s|@PUBLISH_PORT@|$publish_port|g" \
		-e "s|@HTTP_PORT@|$http_port|g" -e "s|@GRIP_KEY@|$grip_key|g" \
		-e "s|@ROUTESFILE@|$WORK/pushpin/routes|g" "/usr/share/doc/streamer/examples/pushpin/$1.in" >"$WORK/pushpin/$1"
}
fill pushpin.conf
fill routes
fill zurl.conf
setsid zurl --config="$WORK/pushpin/zurl.conf" --loglevel=1 >>"$WORK/log/zurl.out" 2>&1 &
PIDS+=($!)
wait_for 10 test -S "$WORK/pushpin/run/zurl-in" || diag "zurl did not start"
setsid pushpin --config "$WORK/pushpin/pushpin.conf" --port "127.0.0.1:$pushpin_port" -m >>"$WORK/log/pushpin.out" 2>&1 &
PIDS+=($!)
check "Pushpin forwards /healthz to the workers" \
	wait_for 30 curl -sf "http://127.0.0.1:$pushpin_port/healthz" -o /dev/null
check "lighttpd serves /healthz from the workers with the packaged example (200: database and Pushpin ok)" \
	wait_for 10 curl -sf "http://127.0.0.1:$http_port/healthz" -o /dev/null

# A WebSocket through Pushpin: echo, then a broadcast from the CLI (as the admin
# runs it: the streamer user, the packaged settings file) pushed back through
# Pushpin's publish API, then an async request that the processor unit runs.
token=$(/usr/bin/streamer token --key "$WORK/jwt-private.pem" --sub alice --tenant acme --permissions reports)
# ws: from the e2e tests' node_modules (source or build tree), else npm ci here.
nm=
for d in "${STREAMER_E2E_NODE_MODULES:-}" "$SRC/tests/e2e/node_modules" "$top_builddir/tests/e2e/node_modules"; do
	[[ -n $d && -f $d/ws/package.json ]] && nm=$d && break
done
if [[ -z $nm ]]; then
	mkdir -p "$WORK/npm" && cp "$SRC/tests/e2e/package.json" "$SRC/tests/e2e/package-lock.json" "$WORK/npm/"
	(cd "$WORK/npm" && npm ci --no-audit --no-fund --loglevel=error) >&2 || diag "npm ci failed"
	nm=$WORK/npm/node_modules
fi
cat >"$WORK/client.cjs" <<'EOF'
// A WebSocket client through Pushpin: prints every frame as one JSON line.
const WebSocket = require(process.env.NM + '/ws');
const ws = new WebSocket(process.env.URL, { headers: { Authorization: 'Bearer ' + process.env.TOKEN } });
const out = (m) => process.stdout.write(m + '\n');
ws.on('open', () => {
  out('{"open":true}');
  ws.send(JSON.stringify({ action: 'echo', id: 'r1', payload: 'hi' }));
});
ws.on('message', (m) => {
  const s = String(m);
  out(s);
  const j = JSON.parse(s);
  const today = new Date().toISOString().slice(0, 10);
  if (j.request_id === 'r1') ws.send(JSON.stringify({ action: 'generate_report', id: 'r2', payload: { start_date: today, end_date: today, format: 'csv' } }));
});
ws.on('error', (e) => { out(JSON.stringify({ error: String(e) })); process.exit(1); });
setTimeout(() => process.exit(0), Number(process.env.SECONDS_ALIVE) * 1000);
EOF
NM=$nm URL="ws://127.0.0.1:$pushpin_port/ws" TOKEN=$token SECONDS_ALIVE=12 node "$WORK/client.cjs" >"$WORK/client.out" 2>&1 &
client=$!
check "the client connects through Pushpin" wait_for 10 grep -q '"open":true' "$WORK/client.out"
check "the echo comes back" wait_for 10 grep -q '"request_id":"r1"' "$WORK/client.out"
sleep 0.5
bc_out=$(setpriv --reuid=streamer --regid=streamer --init-groups env STREAMER_CONFIG=/etc/streamer/streamer.env \
	/usr/bin/streamer broadcast --tenant acme '{"hello":"from the package"}' 2>&1) || diag "broadcast: $bc_out"
check "a broadcast from the CLI reaches the client through the publish API" \
	wait_for 10 grep -q 'from the package' "$WORK/client.out"
check "the processor unit runs the async request to its complete push" \
	wait_for 20 grep -q '"type":"complete"' "$WORK/client.out"
kill "$client" 2>/dev/null || true
wait "$client" 2>/dev/null || true
grep -q '"type":"complete"' "$WORK/client.out" || sed 's/^/# client: /' "$WORK/client.out"

# The gc unit, once, as its timer would start it.
if run_unit streamer-gc.service && wait "${PIDS[-1]}"; then
	ok "streamer-gc.service runs streamer gc to the end"
else
	not_ok "streamer-gc.service runs streamer gc to the end"
	sed 's/^/# /' "$WORK/streamer-gc.service.log" || true
fi
check "the worker log names no secret" bash -c "! grep -q -e '$grip_key' -e '$token' '$WORK'/*.log"

# ---- 5. purge -----------------------------------------------------------------------
for p in "${PIDS[@]}"; do kill -TERM -- "-$p" 2>/dev/null || true; done
wait_for 10 bash -c '! pgrep -x streamer-fcgi >/dev/null' || diag "workers still running"
PIDS=()
check "dpkg --purge streamer" bash -c 'dpkg --purge streamer >/dev/null 2>&1'
check "purge removed /etc/streamer and /var/lib/streamer" test ! -e /etc/streamer -a ! -e /var/lib/streamer
check "purge removed the binaries and units" \
	test ! -e /usr/bin/streamer-fcgi -a ! -e /lib/systemd/system/streamer-fcgi.service
check "the streamer user stays (Debian does not remove system users)" getent passwd streamer
done_testing

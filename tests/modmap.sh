#!/bin/sh
# modmap.sh - the module map of src/ (layers, who includes whom): prints it, or checks HACKING.md's copy (TAP).
#
#   tests/modmap.sh --print [TOP]   print the map from the #include lines of TOP/src
#   tests/modmap.sh [TOP]           (what `make check` runs) fail when the map between
#                                   HACKING.md's modmap:begin/end markers differs from
#                                   the tree, or a file of src/ belongs to no layer
# TOP defaults to $top_srcdir, else the directory above this script.
#
# A module is a file name without .c/.h (app.c and app.h are module app);
# engine files keep their folder (store/sqlite/queue). Layers run from the
# bottom up; an include that goes up a layer is listed under "Upward".
set -eu

print=
if [ "${1:-}" = "--print" ]; then
	print=1
	shift
fi
top=${1:-${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}}
src=$top/src

# layer_of MODULE: prints the layer, or nothing when no layer claims it.
layer_of() {
	case $1 in
	util | log | secret | wse | http | protocol | json_write | auth | proc) echo "1 base" ;;
	store | store_* | store/* | queue | subs | history) echo "2 store" ;;
	config | config_vars | metrics | ratelimit | shm | activity | stats) echo "3 host" ;;
	push | fanout | streams | serverops) echo "4 delivery" ;;
	actions | call | router | handlers* | request_run | exec_handler | plugin) echo "5 actions" ;;
	app | api | conn | dialect*) echo "6 connection" ;;
	fcgi_main | cli* | processor*) echo "7 programs" ;;
	esac
}

map() {
	tmp=$(mktemp)
	trap 'rm -f "$tmp"' EXIT
	(cd "$src" && find . -name '*.[ch]' ! -name 'sql_embedded.c' | sed 's|^\./||' | sort) |
		while read -r f; do
			m=${f%.*}
			l=$(layer_of "$m")
			if [ -z "$l" ]; then
				echo "modmap: src/$f belongs to no layer: add it to layer_of in tests/modmap.sh" >&2
				echo "ERROR" >>"$tmp"
				continue
			fi
			dir=$(dirname "$f")
			sed -n 's/^#include "\([a-z_/]*\)\.h".*/\1/p' "$src/$f" | while read -r d; do
				# an engine file's include of a sibling keeps the folder
				[ "$dir" != . ] && [ -f "$src/$dir/$d.h" ] && d=$dir/$d
				[ "$d" = "$m" ] || [ "$d" = autoconfig ] || echo "$l|$m|$d|$(layer_of "$d")"
			done >>"$tmp"
			echo "$l|$m||" >>"$tmp"
		done
	if grep -q '^ERROR$' "$tmp"; then
		return 1
	fi
	echo '```'
	echo "layer (bottom up)  module: the modules it includes"
	sort -t'|' -k1,1 -k2,2 -k3,3 -u "$tmp" | awk -F'|' '
		{ key = $1 SUBSEP $2; if (!(key in seen)) { seen[key] = 1; order[++n] = key; lay[key] = $1; mod[key] = $2 }
		  if ($3 != "") deps[key] = deps[key] " " $3
		  if ($3 != "" && $4 != "" && $4 > $1) up[++u] = $2 " -> " $3 " (" substr($4, 3) ")" }
		END {
			for (i = 1; i <= n; i++) {
				k = order[i]; l = substr(lay[k], 3)
				printf "%-18s %s:%s\n", (l != last ? l : ""), mod[k], deps[k]; last = l
			}
			printf "\nUpward (a lower layer including a higher one):\n"
			if (u == 0) print "  none"
			for (i = 1; i <= u; i++) print "  " up[i]
		}'
	echo '```'
}

if [ -n "$print" ]; then
	map
	exit
fi
echo "1..1"
want=$(map) || { echo "not ok 1 - every file of src/ is in a layer of tests/modmap.sh"; exit 1; }
have=$(sed -n '/<!-- modmap:begin -->/,/<!-- modmap:end -->/p' "$top/HACKING.md" | sed '1d;$d')
if [ "$want" != "$have" ]; then
	echo "# HACKING.md's module map is out of date: run tests/modmap.sh --print and paste its output"
	echo "# between the modmap markers. The difference (- HACKING.md, + the tree):"
	printf '%s\n' "$want" >"${TMPDIR:-/tmp}/modmap.$$"
	printf '%s\n' "$have" | diff -u - "${TMPDIR:-/tmp}/modmap.$$" | sed 's/^/# /'
	rm -f "${TMPDIR:-/tmp}/modmap.$$"
	echo "not ok 1 - HACKING.md's module map matches src/"
	exit 1
fi
echo "ok 1 - HACKING.md's module map matches src/"

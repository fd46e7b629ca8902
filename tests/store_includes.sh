#!/bin/sh
# store_includes.sh - the store seam: only the files of an engine's folder (src/store/sqlite/, src/store/postgresql/) include its library's headers or that folder's headers (TAP).
# Usage: store_includes.sh [SRCDIR]  (default: $top_srcdir, else the directory above this script)
set -u
top=${1:-${top_srcdir:-$(dirname "$0")/..}}
n=0
failed=0

# offenders DIR [ENGINE LIBHEADERS]: prints every file under DIR/src and
# DIR/tests/unit/store_conformance, outside DIR/src/store/ENGINE (default sqlite), whose
# #include names one of LIBHEADERS (an ERE of header names, default the SQLite ones), a
# path into store/ENGINE/, or a header of that folder by its bare name.
offenders() {
	engine=$1/src/store/${2:-sqlite}
	libs=${3:-'sqlite3\.h|sqlite3ext\.h'}
	names=$(cd "$engine" 2>/dev/null && ls -- *.h 2>/dev/null | sed 's/\./\\./g' | paste -sd'|' -)
	pat='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]*/)?('"$libs"')[">]'
	pat="$pat|^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"][^\">]*store/${2:-sqlite}/"
	[ -n "$names" ] && pat="$pat|^[[:space:]]*#[[:space:]]*include[[:space:]]*\"($names)\""
	find "$1/src" "$1/tests/unit/store_conformance" -type f \( -name '*.c' -o -name '*.h' \) \
		! -path "$engine/*" 2>/dev/null | sort | while read -r f; do
		grep -Eq "$pat" "$f" && echo "$f"
	done
}

check() { # check NAME CONDITION...
	name=$1
	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $name"
	else
		echo "not ok $n - $name"
		failed=1
	fi
}

# The check itself must see a violation: a copy of the tree's shape with one planted.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/store_includes.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/store/sqlite" "$tmp/tests/unit/store_conformance"
printf '#include <sqlite3.h>\n#include "sqlite_int.h"\n' >"$tmp/src/store/sqlite/ok.c"
: >"$tmp/src/store/sqlite/sqlite_int.h"
printf '#include "store.h"\n' >"$tmp/src/clean.c"
printf '#include <sqlite3.h>\n' >"$tmp/src/a.c"
printf '  #  include "store/sqlite/sql.h"\n' >"$tmp/src/b.h"
printf '#include "sqlite_int.h"\n' >"$tmp/tests/unit/store_conformance/c.c"
check "a planted include of each kind is caught, the engine's own are not" \
	test "$(offenders "$tmp" | sed "s|^$tmp/||" | paste -sd' ' -)" = \
	"src/a.c src/b.h tests/unit/store_conformance/c.c"

bad=$(offenders "$top")
[ -z "$bad" ] || printf '# includes an engine header outside src/store/sqlite/: %s\n' $bad
check "no file outside src/store/sqlite/ includes <sqlite3.h> or the engine's headers" test -z "$bad"
check "the engine's folder is there" test -f "$top/src/store/sqlite/sqlite_int.h"
bad=$(offenders "$top" postgresql 'libpq-fe\.h|libpq-events\.h|libpq/[a-z-]*\.h')
[ -z "$bad" ] || printf '# includes a PostgreSQL engine header outside src/store/postgresql/: %s\n' $bad
check "no file outside src/store/postgresql/ includes <libpq-fe.h> or the engine's headers" test -z "$bad"
echo "1..$n"
exit $failed

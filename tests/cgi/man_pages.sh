#!/bin/bash
# man_pages.sh - streamer(1) and streamer-fcgi(8) render without a warning and hold every command, option and setting that --help lists, with the defaults.
. "$top_srcdir/tests/lib.sh"

man1=$top_builddir/man/streamer.1
man8=$top_builddir/man/streamer-fcgi.8

# render FILE: the page as plain text, on one long line per paragraph (no
# wrapping, no hyphenation), so that a name or a path is never split.
render() { groff -man -Tascii -rLL=400n -rHY=0 -P-cbou "$1" 2>/dev/null; }

# warnings FILE: what groff says of the page with every warning on but
# "break": the FILES paths come from the configured prefix, and a long one (a
# distcheck's _inst tree) is a word groff cannot fit on a line, not a fault
# of the page.
warnings() { groff -man -ww -Wbreak -z "$1" 2>&1 >/dev/null; }

# section TEXT HEAD: the lines of TEXT under the heading HEAD, up to the next
# heading of its level that is not HEAD again (streamer(1) has two "send"
# synopses). An upper-case HEAD is a .SH (column 0) and ends at the next .SH;
# another is a .SS (column 3) and ends at the next .SS or .SH.
section() {
	local sub=1
	[[ $2 =~ [a-z] ]] || sub=0
	awk -v head="$2" -v ss="$sub" '
		function heading(l) { return l ~ /^[^ ]/ || (ss && l ~ /^   [^ ]/) }
		function is_head(l) { sub(/^ +/, "", l); return l == head || index(l, head " ") == 1 }
		heading($0) { inside = is_head($0); next }
		inside' <<<"$1"
}

# options_of HELP: the options a --help text names (--long, and -x of "-x, --long").
options_of() { grep -oE '(^|[ [(,])--?[a-zA-Z][a-zA-Z-]*' <<<"$1" | sed 's/^[ [(,]//' | sort -u; }

# missing_options HELP TEXT: the options of HELP that TEXT does not name.
missing_options() {
	local o miss=
	for o in $(options_of "$1"); do
		grep -qE -- "(^|[^a-zA-Z-])$o([^a-zA-Z-]|\$)" <<<"$2" || miss="$miss $o"
	done
	echo "$miss"
}

# missing_commands TEXT: the commands of `streamer --help` without their section.
missing_commands() {
	local c miss=
	for c in $cmds; do
		[ -n "$(section "$(section "$1" COMMANDS)" "$c")" ] || miss="$miss $c"
	done
	echo "$miss"
}

# missing_settings TEXT: the settings of `streamer-fcgi --help` that TEXT's
# ENVIRONMENT does not list, or lists without their default.
missing_settings() {
	local env entry name def miss=
	env=$(section "$1" ENVIRONMENT)
	while read -r name def; do
		grep -qx "       $name" <<<"$env" || { miss="$miss $name"; continue; }
		# the entry: the paragraph under the name, up to the next name
		entry=$(awk -v n="       $name" '$0 == n { on = 1; next } /^       [^ ]/ { on = 0 } on' <<<"$env")
		[ -z "$def" ] || grep -qF "Default: $def." <<<"$entry" || miss="$miss $name=$def"
	done <<<"$settings"
	echo "$miss"
}

for page in "$man1" "$man8"; do
	check "$(basename "$page") was built" test -s "$page"
	check_eq "$(basename "$page") renders without a groff warning" "$(warnings "$page")" ""
	check_eq "$(basename "$page") has no unexpanded @VARIABLE@" "$(grep -o '@[A-Za-z_]*@' "$page")" ""
	check_contains "lexgrog finds the NAME line of $(basename "$page")" "$(lexgrog "$page" 2>&1)" \
		"\"$(basename "${page%.*}") - "
done

# ---- streamer(1): every command of `streamer --help`, each with every option of its --help
cmds=$("$STREAMER_CLI" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
check "streamer --help lists the commands" test "$(wc -w <<<"$cmds")" -ge 9
text1=$(render "$man1")
for s in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT FILES "EXIT STATUS" EXAMPLES "SEE ALSO"; do
	check "streamer(1) has the section $s" grep -qx "$s" <<<"$text1"
done
check_eq "streamer(1) has a section for every command" "$(missing_commands "$text1")" ""
for c in $cmds; do
	help=$("$STREAMER_CLI" "$c" --help)
	opts=$(options_of "$help" | grep -vxE -- '-h|--help')
	check "streamer $c --help names options (or takes none)" test -n "$opts" -o "$c" = gc -o "$c" = init-db
	check_eq "streamer(1)'s $c section names every option of streamer $c --help" \
		"$(missing_options "$opts" "$(section "$(section "$text1" COMMANDS)" "$c")")" ""
done
check_eq "streamer(1) names the top-level options" "$(missing_options "-h --help -V --version" "$text1")" ""

# ---- streamer-fcgi(8): its options and every setting, with its default
help8=$("$STREAMER_FCGI" --help)
text8=$(render "$man8")
for s in NAME SYNOPSIS DESCRIPTION OPTIONS ENVIRONMENT SIGNALS FILES "EXIT STATUS" "SEE ALSO"; do
	check "streamer-fcgi(8) has the section $s" grep -qx "$s" <<<"$text8"
done
check_eq "streamer-fcgi(8)'s OPTIONS name every option of streamer-fcgi --help" \
	"$(missing_options "$(sed '/^Configuration comes/,$d' <<<"$help8")" "$(section "$text8" OPTIONS)")" ""
# "  NAME  help ... [default]" -> "NAME default" (the default is the last [...] of the line)
settings=$(sed -nE 's/^  (STREAMER_[A-Z0-9_]*) .*\[([^]]*)\]$/\1 \2/p; t; s/^  (STREAMER_[A-Z0-9_]*) .*/\1/p' <<<"$help8")
check "streamer-fcgi --help lists the settings" test "$(wc -l <<<"$settings")" -ge 50
check_eq "streamer-fcgi(8) lists every setting with its default" "$(missing_settings "$text8")" ""
check_contains "the database's default in streamer-fcgi(8) is the configured one" \
	"$(section "$text8" ENVIRONMENT)" "Default: $(sed -n 's/^STREAMER_DB //p' <<<"$settings")."
check "streamer-fcgi(8) names SIGTERM and the settings file" \
	grep -q "SIGTERM.*SIGHUP" <<<"$(section "$text8" SIGNALS)"

# ---- the checks above catch what they are for: planted breakage
broken=$TMP/broken.1
sed '/^\.B \\-\\-once$/d' "$man1" >"$broken"
check_eq "proof: a page without --once is caught" \
	"$(missing_options "--once" "$(section "$(section "$(render "$broken")" COMMANDS)" processor)")" " --once"
sed 's/^\.SS "gc \[/.SS "gcx [/' "$man1" >"$broken"
check_eq "proof: a page without the gc section is caught" "$(missing_commands "$(render "$broken")")" " gc"
printf '.TH X 1\n.SH NAME\nx \\- y\n.BOGUS\n\\fQ\n' >"$broken"
check "proof: an unknown macro and escape are warned of" test -n "$(warnings "$broken")"
broken8=$TMP/broken.8
sed '/^\.B STREAMER_RATE_BURST$/,/^\.TP$/s/^Default: .*/Default: \\fB7\\fR./' "$man8" >"$broken8"
check_eq "proof: a wrong default is caught" "$(missing_settings "$(render "$broken8")")" " STREAMER_RATE_BURST=100"

done_testing

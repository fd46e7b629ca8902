#!/bin/bash
# help_settings.sh - every STREAMER_* setting a --help text names is in the configuration table (which streamer-fcgi --help lists).
. "$top_srcdir/tests/lib.sh"

table=$("$STREAMER_FCGI" --help | grep -o '^  STREAMER_[A-Z_]*' | tr -d ' ')
check "streamer-fcgi --help lists the configuration table" test "$(wc -l <<<"$table")" -ge 40

# The commands as 'streamer --help' lists them: "  name  what it does".
cmds=$("$STREAMER_CLI" --help | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
check "streamer --help lists the commands" test "$(wc -w <<<"$cmds")" -ge 8
for cmd in "" $cmds; do
	unknown=
	for v in $("$STREAMER_CLI" $cmd --help | grep -o 'STREAMER_[A-Z][A-Z_]*' | sort -u); do
		grep -qx "$v" <<<"$table" || unknown="$unknown $v"
	done
	check_eq "streamer ${cmd:+$cmd }--help names only settings of the table" "$unknown" ""
done

# The processor's settings come from the table (the entries flagged CONFIG_PROCESSOR).
check_contains "streamer processor --help lists its settings" \
	"$("$STREAMER_CLI" processor --help | tr '\n' ' ')" \
	"Settings: STREAMER_JOB_LEASE, STREAMER_JOB_MAX_ATTEMPTS, STREAMER_JOB_TIMEOUT, STREAMER_RESULT_TTL and the rest"

done_testing

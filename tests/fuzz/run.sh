#!/bin/sh
# run.sh - runs libFuzzer targets over their seeds, then for a fixed time each; fails on any crash, leak, timeout or out-of-memory.
#
# Usage: run.sh [-t SECONDS] -s CASES_DIR TARGET...
#   TARGET is a built fuzz binary tests/fuzz/fuzz_NAME; its seeds are
#   CASES_DIR/NAME/*/input. Each runs in the current directory's
#   fuzz-corpus/NAME (fresh each time: the seeds, then what the run found);
#   a failing input is kept as fuzz-artifacts/NAME-crash-… (or leak-, timeout-,
#   oom-; until the next run of NAME), and the end of the target's log is printed.
#   Rerun one input: TARGET fuzz-artifacts/NAME-crash-…
set -eu

seconds=12
cases=
while getopts t:s: opt; do
	case $opt in
	t) seconds=$OPTARG ;;
	s) cases=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
if [ -z "$cases" ] || [ $# -eq 0 ]; then
	sed -n '4,10s/^# \{0,1\}//p' "$0" >&2
	exit 2
fi

mkdir -p fuzz-artifacts
failed=0
for target in "$@"; do
	name=${target##*/fuzz_}
	corpus=fuzz-corpus/$name
	log=fuzz-corpus/$name.log
	rm -rf "$corpus" fuzz-artifacts/"$name"-*
	mkdir -p "$corpus"
	nseeds=0
	for input in "$cases/$name"/*/input; do
		[ -f "$input" ] || continue
		seed=${input%/input}
		cp "$input" "$corpus/${seed##*/}"
		nseeds=$((nseeds + 1))
	done
	if [ "$nseeds" -eq 0 ]; then
		echo "check-fuzz: $name: no seeds in $cases/$name" >&2
		failed=1
		continue
	fi
	# -timeout: one input taking a second is a defect already (they take
	# microseconds); the limit is loose so a loaded machine does not fail.
	start=$(date +%s)
	if "$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="fuzz-artifacts/$name-" -print_final_stats=1 \
		"$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "check-fuzz: $name: ok, ${runs:-?} inputs in $(($(date +%s) - start)) s from $nseeds seeds"
	else
		echo "check-fuzz: $name: FAILED (log $PWD/$log)" >&2
		tail -n 60 "$log" >&2
		for f in fuzz-artifacts/"$name"-*; do
			[ -e "$f" ] && echo "check-fuzz: failing input: $PWD/$f (replay: $target $PWD/$f)" >&2
		done
		failed=1
	fi
done
exit $failed

#!/usr/bin/env bash
# flake.sh - the flake check: the end-to-end suite N times in a row, then M more times beside K CPU-burning loops; stops at the first failure.
set -u

usage() {
	cat <<'EOF'
Usage: tests/flake.sh [-n RUNS] [-m LOADED_RUNS] [-k BURNERS] [-C BUILDDIR] [TEST...]
Runs the end-to-end tests (default: every tests/e2e/*.mjs of `make check`)
RUNS times in a row (default 10), then LOADED_RUNS more times (default 5)
with BURNERS busy loops (default 2) burning CPU beside them. Stops at the
first failing run and shows which test failed and where its log is; prints a
summary at the end. The loops are killed on exit, Ctrl-C included.

  -n RUNS         idle runs (FLAKE_RUNS)
  -m LOADED_RUNS  runs under load (FLAKE_LOADED_RUNS)
  -k BURNERS      busy loops during the loaded runs (FLAKE_BURNERS)
  -C BUILDDIR     the configured build directory (FLAKE_BUILDDIR, default ./build
                  or the current directory when it has a Makefile with check-flaky)
  TEST...         test scripts relative to the build directory, e.g.
                  tests/e2e/async.mjs (FLAKE_TESTS)
EOF
}

runs=${FLAKE_RUNS:-10}
loaded=${FLAKE_LOADED_RUNS:-5}
burners=${FLAKE_BURNERS:-2}
builddir=${FLAKE_BUILDDIR:-}
while getopts "n:m:k:C:h" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	m) loaded=$OPTARG ;;
	k) burners=$OPTARG ;;
	C) builddir=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
for v in "$runs" "$loaded" "$burners"; do
	[[ $v =~ ^[0-9]{1,4}$ ]] || { echo "flake.sh: '$v' is not a count" >&2; exit 2; }
done
if [[ -z $builddir ]]; then
	if [[ -f Makefile ]] && grep -q '^check-flaky:' Makefile; then builddir=.; else builddir=build; fi
fi
[[ -f $builddir/Makefile ]] || { echo "flake.sh: no Makefile in $builddir (configure first)" >&2; exit 2; }

tests=("$@")
if ((${#tests[@]} == 0)) && [[ -n ${FLAKE_TESTS:-} ]]; then
	read -r -a tests <<<"$FLAKE_TESTS"
fi
if ((${#tests[@]} == 0)); then
	# The e2e list of `make check`, in its order.
	read -r -a tests <<<"$(make -s -C "$builddir" --no-print-directory print-e2e-tests 2>/dev/null)"
fi
((${#tests[@]})) || { echo "flake.sh: no tests to run" >&2; exit 2; }

burner_pids=()
stop_burners() {
	local p
	for p in "${burner_pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${burner_pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	burner_pids=()
}
interrupted=0
run_pid=
# The run in progress is a process group of its own (setsid): an interrupt
# stops all of it (make, node, the test's stack), then the busy loops.
stop_run() {
	[[ -n $run_pid ]] || return 0
	kill -TERM -- "-$run_pid" 2>/dev/null || kill -TERM "$run_pid" 2>/dev/null
	wait "$run_pid" 2>/dev/null
	run_pid=
}
trap 'stop_run; stop_burners' EXIT
trap 'interrupted=1' INT TERM HUP
# After an interrupt, at the end of the command it interrupted: no verdict on that run.
check_interrupted() {
	((interrupted)) || return 0
	stop_run
	stop_burners
	echo "flake.sh: interrupted in run $i; $done_runs of $total runs had passed" >&2
	exit 130
}

start_burners() {
	local i
	for ((i = 0; i < burners; i++)); do
		(trap - INT TERM HUP EXIT; exec sh -c 'while :; do :; done') &
		burner_pids+=("$!")
	done
}

# The failures of one run: "file: not ok N - name" lines from the test logs.
show_failure() {
	local t log
	for t in "${tests[@]}"; do
		log=$builddir/${t%.*}.log
		[[ -f $log ]] || continue
		if grep -q '^not ok\|^FAIL\|^ERROR' "$log"; then
			grep -h '^not ok' "$log" | sed "s|^|  $t: |"
			grep -q '^not ok' "$log" || grep -h '^FAIL\|^ERROR' "$log" | sed "s|^|  $t: |"
			echo "  log: $log"
		fi
	done
}

total=$((runs + loaded))
done_runs=0
start=$SECONDS
echo "flake.sh: ${#tests[@]} test files (${tests[*]}), $runs runs, then $loaded with $burners busy loops"
for ((i = 1; i <= total; i++)); do
	label=idle
	if ((i == runs + 1 && burners > 0)); then
		start_burners
		echo "flake.sh: started $burners busy loops (pids ${burner_pids[*]})"
	fi
	((i > runs)) && label="loaded x$burners"
	t0=$SECONDS
	setsid make -s -C "$builddir" --no-print-directory check TESTS="${tests[*]}" \
		>"$builddir/flake-run.log" 2>&1 </dev/null &
	run_pid=$!
	# wait returns early (> 128) when a trapped signal arrives; then stop the run
	while :; do
		wait "$run_pid"
		rc=$?
		((interrupted)) && break
		((rc > 128)) && kill -0 "$run_pid" 2>/dev/null && continue
		break
	done
	check_interrupted
	run_pid=
	if ((rc == 0)); then
		done_runs=$i
		echo "flake.sh: run $i/$total ($label) passed in $((SECONDS - t0)) s"
		continue
	fi
	echo "flake.sh: run $i/$total ($label) FAILED after $((SECONDS - t0)) s:"
	show_failure
	echo "  make output: $builddir/flake-run.log"
	stop_burners
	echo "flake.sh: summary: $done_runs of $total runs passed, run $i failed ($((SECONDS - start)) s)"
	exit 1
done
stop_burners
echo "flake.sh: summary: all $total runs passed ($runs idle, $loaded with $burners busy loops) in $((SECONDS - start)) s"

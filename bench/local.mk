# bench/local.mk - benchmark programs.

# The benchmark floor: a minimal FastCGI responder (Pushpin websocket-events
# echo). Built by `make check` too: the end-to-end tests can run against it.
check_PROGRAMS += bench/floor
bench_floor_SOURCES = bench/floor.c
bench_floor_LDADD = $(FCGI_LIBS)

# The benchmark scripts travel in the tarball (make dist), with BENCHMARKS.md.
EXTRA_DIST += bench/answers bench/answers.mjs bench/api bench/api.mjs bench/delivery bench/delivery.mjs \
	bench/e2e bench/e2e.mjs bench/echo bench/echo.lua bench/fanout bench/fanout.mjs bench/jobs bench/jobs.mjs \
	bench/nodes bench/pgcost bench/pgcost.mjs bench/publish bench/publish.mjs bench/lib.sh bench/util.mjs \
	bench/worker-cpu.sh

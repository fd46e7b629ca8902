# bench/local.mk - benchmark programs.

# The benchmark floor: a minimal FastCGI responder (Pushpin websocket-events
# echo). Built by `make check` too: the end-to-end tests can run against it.
check_PROGRAMS += bench/floor
bench_floor_SOURCES = bench/floor.c
bench_floor_LDADD = $(FCGI_LIBS)

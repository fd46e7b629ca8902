# bench/local.mk - benchmark programs.

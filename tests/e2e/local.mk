# tests/e2e/local.mk - end-to-end tests through the real stack (filled by the stack issue).

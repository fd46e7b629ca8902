# tests/e2e/local.mk - end-to-end tests through the real stack: zurl + Pushpin -> lighttpd/Apache -> spawn-fcgi/multiwatch workers, Node ws clients.
# Each .mjs file starts its own stack on free ports (tests/e2e/stack.sh) and
# stops it at the end; run-node.sh installs the ws package with npm ci (tests/npm_ci.sh).
TESTS += tests/e2e/ws_basic.mjs tests/e2e/ws_load.mjs tests/e2e/ws_flood.mjs tests/e2e/apache.mjs tests/e2e/async.mjs tests/e2e/push.mjs \
	tests/e2e/sdk.mjs tests/e2e/browser.mjs tests/e2e/security.mjs tests/e2e/quotas.mjs \
	tests/e2e/streams.mjs tests/e2e/delivery.mjs tests/e2e/sdk_flow.mjs tests/e2e/sdk_streams.mjs tests/e2e/nodes.mjs tests/e2e/pg_outage.mjs tests/e2e/api.mjs tests/e2e/sdk_presence.mjs
EXTRA_DIST += tests/e2e/run-node.sh tests/npm_ci.sh tests/e2e/stack.sh tests/e2e/lib.mjs \
	tests/e2e/package.json tests/e2e/package-lock.json \
	tests/e2e/ws_basic.mjs tests/e2e/ws_load.mjs tests/e2e/ws_flood.mjs tests/e2e/apache.mjs tests/e2e/async.mjs tests/e2e/push.mjs tests/e2e/doubles.mjs \
	tests/e2e/sdk.mjs tests/e2e/browser.mjs tests/e2e/security.mjs tests/e2e/quotas.mjs \
	tests/e2e/streams.mjs tests/e2e/delivery.mjs tests/e2e/sdk_flow.mjs tests/e2e/sdk_streams.mjs tests/e2e/nodes.mjs tests/e2e/pg_outage.mjs tests/e2e/api.mjs tests/e2e/sdk_presence.mjs \
	.ci/run

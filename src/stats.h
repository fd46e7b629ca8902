/* stats.h - the numbers behind GET /metrics and `streamer stats`: shared counters plus gauges read from the store. */
#ifndef STREAMER_STATS_H
#define STREAMER_STATS_H

#include <stdint.h>

#include "util.h"

struct store;
struct config;

/* What the store says now. */
struct gauges {
	int64_t connections_active; /* rows not yet expired */
	int64_t jobs_pending;
	int64_t jobs_running;
};

/* Reads the gauges. Returns STORE_OK or STORE_ERROR (store_errmsg says why). */
int stats_gauges(struct store *s, int64_t now_ms, struct gauges *g)
	__attribute__((warn_unused_result));

/* Appends the Prometheus exposition: every shared counter and histogram, then the gauges. */
void stats_render(struct buf *out, const struct gauges *g);

/*
 * Appends the gauge family streamer_limit{limit="…"}: the configured quotas
 * and rate limits (message_rate, message_burst, requests_per_connection,
 * pending_per_tenant, connections_per_user; 0 = off), so a dashboard can
 * set streamer_rate_limited_total against them.
 */
void stats_render_limits(struct buf *out, const struct config *cfg);

#endif

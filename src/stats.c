/* stats.c - gauges from the store and the full Prometheus exposition (see stats.h). */
#include <string.h>

#include "config.h"
#include "metrics.h"
#include "stats.h"
#include "store.h"

int stats_gauges(struct store *s, int64_t now_ms, struct gauges *g)
{
	return store_gauges(s, now_ms, &g->connections_active, &g->jobs_pending, &g->jobs_running);
}

static void gauge(struct buf *out, const char *name, const char *help, int64_t v)
{
	buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n%s %lld\n", name, help, name, name,
		   (long long)v);
}

void stats_render(struct buf *out, const struct gauges *g)
{
	metrics_render(out);
	gauge(out, "streamer_connections_active", "Connections in the store that have not expired.",
	      g->connections_active);
	gauge(out, "streamer_jobs_pending", "Async requests waiting for a processor.", g->jobs_pending);
	gauge(out, "streamer_jobs_running", "Async requests a processor is running.", g->jobs_running);
}

void stats_render_limits(struct buf *out, const struct config *cfg)
{
	const struct {
		const char *name;
		int64_t value;
	} limits[] = {
		{ "message_rate", cfg->ratelimit_file && strcmp(cfg->ratelimit_file, "off") == 0
					  ? 0 : cfg->rate_limit },
		{ "message_burst", cfg->rate_burst },
		{ "requests_per_connection", cfg->max_requests_per_connection },
		{ "pending_per_tenant", cfg->max_pending_per_tenant },
		{ "connections_per_user", cfg->max_connections_per_user },
	};

	buf_printf(out, "# HELP streamer_limit Configured quotas and rate limits (0 = off).\n"
		   "# TYPE streamer_limit gauge\n");
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		buf_printf(out, "streamer_limit{limit=\"%s\"} %lld\n", limits[i].name,
			   (long long)limits[i].value);
}

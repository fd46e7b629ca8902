/* request_run.c - how a handler-ABI action (built-in async, plugin, exec) is validated and run in the host. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "request_run.h"
#include "handlers_async.h"
#include "log.h"
#include "protocol.h"
#include "store.h"
#include "util.h"

/* Copies a handler's error into code/msg, mapping codes the protocol does not know to fallback. */
static void take_error(const struct streamer_error *e, enum err_code fallback, char code[32],
		       char *msg, size_t msglen)
{
	snprintf(code, 32, "%s", err_code_name(err_code_of_handler(e->code, fallback)));
	snprintf(msg, msglen, "%s", e->message[0] ? e->message : "The handler failed");
}

int request_validate(const struct request_input *in, char *msg, size_t msglen)
{
	const struct streamer_handler *h = in->handler;
	struct streamer_error e;
	char code[32];

	if (!h) {
		snprintf(msg, msglen, "Unknown action: %s", in->action);
		return -1;
	}
	if (!h->validate)
		return 0;
	memset(&e, 0, sizeof e);
	if (h->validate(in->payload, &e) == 0)
		return 0;
	take_error(&e, ERR_VALIDATION, code, msg, msglen);
	return -1;
}

/* ---- generate_report's activity source: the store, opened by the request process -------- */

static int report_activity(void *src, const char *tenant, int64_t from_ms, int64_t until_ms,
			   activity_row_fn emit, void *emit_arg, char *err, size_t errlen)
{
	const struct config *cfg = src;
	struct store_options opt = { .busy_timeout_ms = cfg->busy_timeout_ms };
	struct store *s = NULL;
	int ret = -1;

	if (store_open(&s, cfg->db_path, &opt, 0, err, errlen) < 0)
		goto out;
	if (store_activity(s, tenant, from_ms, until_ms, emit, emit_arg) != STORE_OK) {
		snprintf(err, errlen, "%s", store_errmsg(s));
		goto out;
	}
	ret = 0;
out:
	store_close(s);
	if (ret < 0) {
		/* The reason names the database file: for the log, not for the client's error. */
		log_event(LOG_ERROR, "report_activity_failed", json_pack("{s:s,s:s}", "tenant", tenant,
									"error", err));
		snprintf(err, errlen, "the database is unavailable");
	}
	return ret;
}

/* ---- running ---------------------------------------------------------------------- */

struct host_ctx {
	struct streamer_ctx ctx; /* first: the ABI hands this pointer back */
	struct async_host host;
	const struct request_sink *sink;
	int stopped;
};

static int ctx_progress(struct streamer_ctx *ctx, int pct, const char *message, json_t *metadata)
{
	struct host_ctx *h = (struct host_ctx *)ctx;

	if (h->stopped)
		return 0;
	if (!h->sink || !h->sink->progress)
		return 1;
	if (!h->sink->progress(h->sink->arg, pct < 0 ? 0 : pct > 100 ? 100 : pct, message,
			       json_is_object(metadata) ? metadata : NULL))
		h->stopped = 1;
	return !h->stopped;
}

static int ctx_is_cancelled(struct streamer_ctx *ctx)
{
	return ((struct host_ctx *)ctx)->stopped;
}

int request_run(const struct config *cfg, const struct request_input *in, const struct request_sink *sink,
	    json_t **result, char code[32], char *msg, size_t msglen)
{
	const struct streamer_handler *h = in->handler;
	struct host_ctx hc;
	struct streamer_error e;

	*result = NULL;
	if (!h) {
		snprintf(code, 32, "%s", STREAMER_E_FAILED);
		snprintf(msg, msglen, "No handler for action %s in this process (check STREAMER_PLUGINS "
			 "and STREAMER_EXEC_ACTIONS match the workers')", in->action);
		return -1;
	}
	memset(&hc, 0, sizeof hc);
	memset(&e, 0, sizeof e);
	hc.sink = sink;
	hc.host.activity = report_activity;
	hc.host.activity_src = (void *)cfg;
	hc.host.url_prefix = NULL; /* "/reports/": the web server serves STREAMER_OUTPUT_DIR there */
	hc.host.report_quota_bytes = cfg->report_quota_bytes;
	hc.ctx.abi_version = STREAMER_HANDLER_ABI_VERSION;
	hc.ctx.handler = h;
	hc.ctx.job_id = in->id ? in->id : "";
	hc.ctx.request_id = in->request_id;
	hc.ctx.action = in->action;
	hc.ctx.user_id = in->user_id;
	hc.ctx.tenant_id = in->tenant_id;
	hc.ctx.attempt = in->attempt;
	hc.ctx.deadline_ms = in->deadline_ms;
	hc.ctx.output_dir = cfg->output_dir;
	hc.ctx.progress = ctx_progress;
	hc.ctx.is_cancelled = ctx_is_cancelled;
	hc.ctx.host = &hc.host;
	if (h->run(&hc.ctx, in->payload, result, &e) == 0) {
		if (!*result)
			*result = json_null();
		return 0;
	}
	*result = NULL;
	if (hc.stopped)
		snprintf(e.code, sizeof e.code, "%s", STREAMER_E_CANCELLED);
	take_error(&e, ERR_PROCESSING_FAILED, code, msg, msglen);
	return -1;
}

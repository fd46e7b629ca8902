/* app.c - process state of a worker and the entry point that turns one HTTP request into one response. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "actions.h"
#include "activity.h"
#include "api.h"
#include "app.h"
#include "conn.h"
#include "dialect.h"
#include "fanout.h"
#include "log.h"
#include "queue.h"
#include "ratelimit.h"
#include "util.h"

/* Largest key file accepted; real PEM keys are a few KiB. */
#define KEY_FILE_MAX (64 * 1024)

int app_init(struct app *app, char *err, size_t errlen)
{
	char *key = NULL;
	size_t keylen = 0;

	memset(app, 0, sizeof(*app));
	if (config_load(&app->cfg, CONFIG_NEED_KEY, err, errlen) < 0)
		return -1;
	if (log_init(app->cfg.log_level, app->cfg.log_file) < 0) {
		snprintf(err, errlen, "STREAMER_LOG_FILE: cannot open %s: %s",
			 app->cfg.log_file, strerror(errno));
		goto fail;
	}
	{
		char why[300];

		/* Uncounted is better than not serving: a metrics file problem is only logged. */
		if (config_metrics_open(&app->cfg, why, sizeof(why)) < 0)
			log_msg(LOG_WARN, "metrics_unavailable", "%s", why);
		app->ratelimit = config_ratelimit_open(&app->cfg, why, sizeof(why));
		if (why[0])
			log_msg(LOG_WARN, "ratelimit_per_process",
				"%s; each worker limits messages on its own", why);
		if (app->cfg.touch_interval_ms > 0) {
			char *path = activity_default_path(app->cfg.db_path, app->cfg.host_dir);

			/* Slower, never wrong: without the table every message writes its counts. */
			app->activity = activity_open(path, why, sizeof(why));
			if (!app->activity)
				log_msg(LOG_WARN, "activity_unavailable",
					"%s; every message writes its connection's row", why);
			free(path);
		}
	}
	key = file_read(app->cfg.jwt_key_file, KEY_FILE_MAX, &keylen);
	if (!key) {
		snprintf(err, errlen, "STREAMER_JWT_KEY_FILE: cannot read %s: %s",
			 app->cfg.jwt_key_file, strerror(errno));
		goto fail;
	}
	{
		char why[200];
		if (auth_key_load(&app->key, app->cfg.jwt_alg, key, keylen, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "STREAMER_JWT_KEY_FILE: %s: %s", app->cfg.jwt_key_file, why);
			goto fail;
		}
	}
	free(key);
	key = NULL;
	{
		char why[300];
		struct store_options opt = { .busy_timeout_ms = app->cfg.busy_timeout_ms };

		if (store_open(&app->store, app->cfg.db_path, &opt, 0, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "STREAMER_DB: %s", why);
			goto fail;
		}
	}
	app->queue = queue_open(app->store);
	if (fanout_open(&app->fanout, &app->cfg, app->store, err, errlen) < 0)
		goto fail;
	if (actions_load(&app->cfg, err, errlen) < 0)
		goto fail;
	return 0;
fail:
	free(key);
	app_free(app);
	return -1;
}

/* Frees the held ids (after they were released, or at exit). */
static void held_clear(struct app *app)
{
	for (size_t i = 0; i < app->nheld; i++)
		free(app->held[i]);
	app->nheld = 0;
}

void app_free(struct app *app)
{
	held_clear(app);
	free(app->held);
	actions_free();
	ratelimit_close(app->ratelimit);
	activity_close(app->activity);
	buf_free(&app->conn_arena);
	conn_cache_free();
	fanout_close(app->fanout);
	queue_close(app->queue);
	if (app->store)
		store_close(app->store);
	auth_key_free(app->key);
	config_free(&app->cfg);
	memset(app, 0, sizeof(*app));
}

static int is_websocket_events(const struct request *req)
{
	size_t n = strlen(WSE_CONTENT_TYPE);

	return req->content_type && strncasecmp(req->content_type, WSE_CONTENT_TYPE, n) == 0 &&
	       (req->content_type[n] == '\0' || req->content_type[n] == ';');
}

void app_handle(struct app *app, struct request *req, struct response *resp)
{
	int wse = is_websocket_events(req);

	/*
	 * Events (the WebSocket dialect) must come from Pushpin. The plain
	 * dialect and the operational endpoints are served on the web server's
	 * own listener instead: their requests must not carry a Grip-Sig at all
	 * (dialect_http refuses those), and the plain dialect proves each
	 * connection with its secret.
	 */
	if (wse && app->cfg.grip_key &&
	    !(req->grip_sig && auth_grip_verify(app->cfg.grip_key, req->grip_sig, (int64_t)time(NULL)))) {
		log_event(LOG_WARN, "grip_rejected",
			  json_pack("{s:s,s:s,s:s?,s:s}", "method", req->method, "path", req->path,
				    "source", req->remote_addr,
				    "reason", req->grip_sig ? "invalid" : "missing"));
		response_error(resp, ERR_UNAUTHORIZED, "Missing or invalid Grip-Sig");
		return;
	}
	/* The server API answers in its own shape, a body too large included; through Pushpin it is 404 (dialect_http). */
	if (!wse && !req->grip_sig && api_route_of(req->path)) {
		api_handle(app, req, resp);
		return;
	}
	if (req->body_too_large) {
		response_error(resp, ERR_PAYLOAD_TOO_LARGE, "Request body too large");
		return;
	}
	if (wse)
		dialect_ws(app, req, resp);
	else
		dialect_http(app, req, resp);
}

void app_hold_request(struct app *app, char *id)
{
	if (app->nheld == app->held_cap) {
		app->held_cap = app->held_cap ? app->held_cap * 2 : 8;
		app->held = xrealloc(app->held, app->held_cap * sizeof *app->held);
	}
	app->held[app->nheld++] = id;
}

void app_after_response(struct app *app)
{
	if (app->nheld) {
		if (queue_unhold(app->queue, (const char *const *)app->held, app->nheld,
				 time_now_ms()) == STORE_ERROR)
			log_msg(LOG_WARN, "job_unhold_failed", "%s; they start within %d s",
				store_errmsg(app->store), APP_HOLD_MS / 1000);
		held_clear(app);
	}
	if (!app->wake_pending)
		return;
	app->wake_pending = 0;
	store_wake_notify(app->store);
}

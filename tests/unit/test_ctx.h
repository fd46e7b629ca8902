/* test_ctx.h - for unit tests of handlers: a struct streamer_ctx that records progress calls and stops on demand, and a check of their JSON results. */
#ifndef STREAMER_TEST_CTX_H
#define STREAMER_TEST_CTX_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <streamer/handler.h>

#include "tap.h"

#define TCTX_MAX_CALLS 256

/*
 * A run context whose progress callback records each call (the first
 * TCTX_MAX_CALLS of them; calls counts all) and answers "stop" from the
 * stop_at-th call on (0 = never). is_cancelled is true once a progress call
 * said stop, when stopped is set, or once the wall clock reaches
 * cancel_at_ms (0 = never).
 */
struct tctx {
	struct streamer_ctx ctx;
	int calls;
	int stop_at;
	int stopped;
	int64_t cancel_at_ms;
	int pct[TCTX_MAX_CALLS];
	char msg[TCTX_MAX_CALLS][128];
	int meta[TCTX_MAX_CALLS]; /* 1 when that call had metadata */
};

static int tctx_progress(struct streamer_ctx *ctx, int pct, const char *message, json_t *meta)
{
	struct tctx *t = (struct tctx *)ctx;
	int i = t->calls++;

	if (i < TCTX_MAX_CALLS) {
		t->pct[i] = pct;
		snprintf(t->msg[i], sizeof t->msg[i], "%s", message ? message : "");
		t->meta[i] = meta != NULL;
	}
	if (t->stop_at > 0 && t->calls >= t->stop_at)
		t->stopped = 1;
	return !t->stopped;
}

static int tctx_is_cancelled(struct streamer_ctx *ctx)
{
	struct tctx *t = (struct tctx *)ctx;

	if (t->cancel_at_ms > 0 && streamer_now_ms() >= t->cancel_at_ms)
		t->stopped = 1;
	return t->stopped;
}

/* Resets t to a fresh context for action, as request "r1" of user alice in tenant acme, attempt 1. */
static inline void tctx_init(struct tctx *t, const char *action)
{
	memset(t, 0, sizeof *t);
	t->ctx.abi_version = STREAMER_HANDLER_ABI_VERSION;
	t->ctx.job_id = "job-1";
	t->ctx.request_id = "r1";
	t->ctx.action = action;
	t->ctx.user_id = "alice";
	t->ctx.tenant_id = "acme";
	t->ctx.attempt = 1;
	t->ctx.progress = tctx_progress;
	t->ctx.is_cancelled = tctx_is_cancelled;
}

/* Fails the test unless got (borrowed; may be NULL) equals the JSON text expected, printing both. */
static inline void check_json(json_t *got, const char *expected)
{
	json_error_t jerr;
	json_t *e = json_loads(expected, JSON_DECODE_ANY, &jerr);

	if (!e)
		printf("# bad test JSON: %s: %s\n", expected, jerr.text);
	CHECK(e != NULL);
	if (!json_equal(got, e)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		printf("# got      %.300s\n# expected %s\n", g ? g : "(null)", expected);
		free(g);
		CHECK(0);
	}
	json_decref(e);
}

#endif

/* queue.c - the request queue section of the store interface: dispatches through the store's engine (see queue.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "queue.h"
#include "store.h"
#include "store_engine.h"
#include "util.h"

/* A view of the store: every call goes to the engine of the store it was opened on. */
struct queue {
	struct store *store;
};

void request_record_free(struct request_record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->request_id);
	free(r->connection_id);
	free(r->user_id);
	free(r->tenant_id);
	free(r->action);
	free(r->payload);
	free(r->status);
	free(r->progress_message);
	free(r->progress_metadata);
	free(r->result);
	free(r->error_code);
	free(r->error_message);
	memset(r, 0, sizeof *r);
}

struct queue *queue_open(struct store *s)
{
	struct queue *q = xcalloc(1, sizeof *q);

	q->store = s;
	return q;
}

void queue_close(struct queue *q)
{
	free(q);
}

int queue_enqueue(struct queue *q, struct request_record *r, int64_t now)
{
	/* The server id is every engine's: made here, once. */
	if (!r->id) {
		char hex[25];

		random_hex(hex, 12);
		r->id = xmalloc(4 + 24 + 1);
		snprintf(r->id, 4 + 24 + 1, "job_%s", hex);
	}
	return q->store->ops->queue_enqueue(q->store, r, now);
}

int queue_count_live(struct queue *q, const char *connection_id, int64_t limit, int64_t *n)
{
	return q->store->ops->queue_count_live(q->store, connection_id, limit, n);
}

int queue_count_tenant_pending(struct queue *q, const char *tenant, int64_t limit, int64_t *n)
{
	return q->store->ops->queue_count_tenant_pending(q->store, tenant, limit, n);
}

int queue_unhold(struct queue *q, const char *const *ids, size_t n, int64_t now)
{
	json_t *arr = json_array();
	char *text;
	int ret;

	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, json_string(ids[i]));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	if (!text)
		return STORE_ERROR;
	ret = q->store->ops->queue_unhold(q->store, text, now);
	free(text);
	return ret;
}

int queue_claim(struct queue *q, const char *owner, int64_t now, int64_t lease_ms,
		struct request_record *out)
{
	return q->store->ops->queue_claim(q->store, owner, now, lease_ms, out);
}

int queue_renew(struct queue *q, const char *id, const char *owner, int64_t now,
		int64_t lease_ms, int *cancel)
{
	return q->store->ops->queue_renew(q->store, id, owner, now, lease_ms, cancel);
}

int queue_progress(struct queue *q, const char *id, const char *owner, int64_t now,
		   int64_t lease_ms, int pct, const char *message, const char *metadata,
		   int *cancel)
{
	return q->store->ops->queue_progress(q->store, id, owner, now, lease_ms, pct, message,
					     metadata, cancel);
}

int queue_finish(struct queue *q, const char *id, const char *owner, int64_t now,
		 const char *status, const char *result, const char *code, const char *message,
		 int64_t keep_ms)
{
	return q->store->ops->queue_finish(q->store, id, owner, now, status, result, code, message,
					   keep_ms);
}

int queue_release(struct queue *q, const char *id, const char *owner, int64_t now,
		  int64_t run_after)
{
	return q->store->ops->queue_release(q->store, id, owner, now, run_after);
}

int queue_get_own(struct queue *q, const char *tenant, const char *user,
		  const char *request_id, struct request_record *out)
{
	return q->store->ops->queue_get_own(q->store, tenant, user, request_id, out);
}

int queue_cancel(struct queue *q, const char *id, int64_t now, int64_t keep_ms,
		 int *was_running, struct request_record *out)
{
	return q->store->ops->queue_cancel(q->store, id, now, keep_ms, was_running, out);
}

int queue_cancel_connection(struct queue *q, const char *connection_id, int64_t now,
			    int64_t keep_ms, int *n)
{
	return q->store->ops->queue_cancel_connection(q->store, connection_id, now, keep_ms, n);
}

int queue_gc(struct queue *q, int64_t now, int *n)
{
	return q->store->ops->queue_gc(q->store, now, n);
}

/* queue.c - the SQLite engine's request queue (sql/003_requests.sql): the queue_* ops. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "sqlite_int.h"

#define done(st) sqlite_done(st)
#define bind(q, st, ...) sqlite_bind(q, st, __VA_ARGS__)
#define col_text(st, i) sqlite_col_text(st, i)

/* Fills r from the current row of st, whose columns are JOB_COLUMNS. */
static void read_job(sqlite3_stmt *st, struct request_record *r)
{
	r->id = col_text(st, 0);
	r->request_id = col_text(st, 1);
	r->connection_id = col_text(st, 2);
	r->user_id = col_text(st, 3);
	r->tenant_id = col_text(st, 4);
	r->action = col_text(st, 5);
	r->payload = col_text(st, 6);
	r->status = col_text(st, 7);
	r->attempts = sqlite3_column_int64(st, 8);
	r->progress = sqlite3_column_int64(st, 9);
	r->progress_message = col_text(st, 10);
	r->progress_metadata = col_text(st, 11);
	r->result = col_text(st, 12);
	r->error_code = col_text(st, 13);
	r->error_message = col_text(st, 14);
	r->cancel_requested = sqlite3_column_int64(st, 15);
	r->created_at = sqlite3_column_int64(st, 16);
	r->updated_at = sqlite3_column_int64(st, 17);
	r->run_after = sqlite3_column_int64(st, 18);
	r->started_at = sqlite3_column_int64(st, 19);
	r->finished_at = sqlite3_column_int64(st, 20);
	r->lease_until = sqlite3_column_int64(st, 21);
}

/*
 * Steps bound st to completion. When it gives a row: fills *out (when
 * non-NULL) from it if it has JOB_COLUMNS (rowjob), else *first with its first
 * column as an integer. STORE_OK when there was a row, or, for statements
 * without rows, when a row changed; STORE_NOTFOUND otherwise.
 */
static int run(struct sqlite_store *q, enum sqlite_stmt id, const char *what, int rowjob,
	       struct request_record *out, int64_t *first)
{
	sqlite3_stmt *st = q->stmt[id];
	struct request_record r = { 0 };
	int found = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (found++)
			continue;
		if (rowjob && out)
			read_job(st, &r);
		else if (!rowjob && first)
			*first = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		request_record_free(&r);
		done(st);
		return sqlite_fail(q, what);
	}
	if (!found && sqlite3_column_count(st) == 0 && sqlite3_changes(q->db) > 0)
		found = 1;
	done(st);
	if (found && out && rowjob) {
		request_record_free(out);
		*out = r;
	}
	return found ? STORE_OK : STORE_NOTFOUND;
}

int sqlite_queue_enqueue(struct store *h, struct request_record *r, int64_t now)
{
	struct sqlite_store *q = sq(h);
	sqlite3_stmt *st = q->stmt[Q_ENQUEUE];

	if (bind(q, st, "tttttttii", r->id, r->request_id, r->connection_id, r->user_id,
		 r->tenant_id, r->action, r->payload ? r->payload : "null", now,
		 r->run_after) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_ENQUEUE, "enqueue a request", 0, NULL, NULL);
}

int sqlite_queue_unhold(struct store *h, const char *ids_json, int64_t now)
{
	struct sqlite_store *q = sq(h);

	/* bound SQLITE_STATIC: ids_json lives until the statement has run */
	if (bind(q, q->stmt[Q_UNHOLD], "ti", ids_json, now) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_UNHOLD, "release held requests", 0, NULL, NULL);
}

int sqlite_queue_claim(struct store *h, const char *owner, int64_t now, int64_t lease_ms,
		struct request_record *out)
{
	struct sqlite_store *q = sq(h);
	if (bind(q, q->stmt[Q_CLAIM], "tii", owner, now, int64_add_sat(now, lease_ms)) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_CLAIM, "claim a request", 1, out, NULL);
}

int sqlite_queue_renew(struct store *h, const char *id, const char *owner, int64_t now,
		int64_t lease_ms, int *cancel)
{
	struct sqlite_store *q = sq(h);
	int64_t c = 0;
	int ret;

	if (bind(q, q->stmt[Q_RENEW], "ttii", id, owner, now, int64_add_sat(now, lease_ms)) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_RENEW, "renew a lease", 0, NULL, &c);
	if (cancel)
		*cancel = ret == STORE_OK && c != 0;
	return ret;
}

int sqlite_queue_progress(struct store *h, const char *id, const char *owner, int64_t now,
		   int64_t lease_ms, int pct, const char *message, const char *metadata,
		   int *cancel)
{
	struct sqlite_store *q = sq(h);
	int64_t c = 0;
	int ret;

	if (bind(q, q->stmt[Q_PROGRESS], "ttiiitt", id, owner, now, int64_add_sat(now, lease_ms),
		 (int64_t)pct, message, metadata) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_PROGRESS, "store progress", 0, NULL, &c);
	if (cancel)
		*cancel = ret == STORE_OK && c != 0;
	return ret;
}

int sqlite_queue_finish(struct store *h, const char *id, const char *owner, int64_t now,
		 const char *status, const char *result, const char *code,
		 const char *message, int64_t keep_ms)
{
	struct sqlite_store *q = sq(h);
	if (bind(q, q->stmt[Q_FINISH], "ttitttti", id, owner, now, status, result, code,
		 message, int64_add_sat(now, keep_ms)) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_FINISH, "finish a request", 0, NULL, NULL);
}

int sqlite_queue_release(struct store *h, const char *id, const char *owner, int64_t now,
		  int64_t run_after)
{
	struct sqlite_store *q = sq(h);
	if (bind(q, q->stmt[Q_RELEASE], "ttii", id, owner, now, run_after) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_RELEASE, "release a request", 0, NULL, NULL);
}

int sqlite_queue_get_own(struct store *h, const char *tenant, const char *user,
		  const char *request_id, struct request_record *out)
{
	struct sqlite_store *q = sq(h);
	if (bind(q, q->stmt[Q_GET_OWN], "ttt", tenant, user, request_id) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_GET_OWN, "read a request", 1, out, NULL);
}

int sqlite_queue_cancel(struct store *h, const char *id, int64_t now, int64_t keep_ms,
		 int *was_running, struct request_record *out)
{
	struct sqlite_store *q = sq(h);
	struct request_record tmp = { 0 };
	int ret;

	*was_running = 0;
	if (bind(q, q->stmt[Q_CANCEL_PENDING], "tii", id, now, int64_add_sat(now, keep_ms)) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_CANCEL_PENDING, "cancel a request", 1, out ? out : &tmp, NULL);
	if (ret == STORE_NOTFOUND) {
		if (bind(q, q->stmt[Q_CANCEL_RUNNING], "ti", id, now) != STORE_OK)
			return STORE_ERROR;
		ret = run(q, Q_CANCEL_RUNNING, "cancel a request", 1, out ? out : &tmp, NULL);
		*was_running = ret == STORE_OK;
	}
	request_record_free(&tmp);
	return ret;
}

int sqlite_queue_cancel_connection(struct store *h, const char *connection_id, int64_t now,
			    int64_t keep_ms, int *n)
{
	struct sqlite_store *q = sq(h);
	int ret;

	*n = 0;
	if (bind(q, q->stmt[Q_CANCEL_CONNECTION], "tii", connection_id, now,
		 int64_add_sat(now, keep_ms)) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_CANCEL_CONNECTION, "cancel a connection's requests", 0, NULL, NULL);
	if (ret == STORE_OK)
		*n = sqlite3_changes(q->db);
	return ret == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

int sqlite_queue_gc(struct store *h, int64_t now, int *n)
{
	struct sqlite_store *q = sq(h);
	int ret;

	*n = 0;
	if (bind(q, q->stmt[Q_GC], "i", now) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_GC, "delete expired requests", 0, NULL, NULL);
	if (ret == STORE_OK)
		*n = sqlite3_changes(q->db);
	return ret == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

int sqlite_queue_count_live(struct store *h, const char *connection_id, int64_t limit,
			    int64_t *n)
{
	struct sqlite_store *q = sq(h);
	*n = 0;
	if (bind(q, q->stmt[Q_COUNT_LIVE], "ti", connection_id, limit) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_COUNT_LIVE, "count a connection's requests", 0, NULL, n) == STORE_ERROR
		       ? STORE_ERROR : STORE_OK;
}

int sqlite_queue_count_tenant_pending(struct store *h, const char *tenant, int64_t limit,
				      int64_t *n)
{
	struct sqlite_store *q = sq(h);
	*n = 0;
	if (bind(q, q->stmt[Q_COUNT_TENANT_PENDING], "ti", tenant, limit) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_COUNT_TENANT_PENDING, "count a tenant's pending requests", 0, NULL, n) ==
			       STORE_ERROR
		       ? STORE_ERROR : STORE_OK;
}

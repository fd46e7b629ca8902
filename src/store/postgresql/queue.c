/* queue.c - the PostgreSQL engine's request queue (sql/postgresql/003_requests.sql): the queue_* ops. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "pg_int.h"

/* Fills r from row 0 of res, whose columns are PG_JOB_COLUMNS. */
static void read_job(const PGresult *res, struct request_record *r)
{
	r->id = pg_text(res, 0, 0);
	r->request_id = pg_text(res, 0, 1);
	r->connection_id = pg_text(res, 0, 2);
	r->user_id = pg_text(res, 0, 3);
	r->tenant_id = pg_text(res, 0, 4);
	r->action = pg_text(res, 0, 5);
	r->payload = pg_text(res, 0, 6);
	r->status = pg_text(res, 0, 7);
	r->attempts = pg_int(res, 0, 8);
	r->progress = pg_int(res, 0, 9);
	r->progress_message = pg_text(res, 0, 10);
	r->progress_metadata = pg_text(res, 0, 11);
	r->result = pg_text(res, 0, 12);
	r->error_code = pg_text(res, 0, 13);
	r->error_message = pg_text(res, 0, 14);
	r->cancel_requested = pg_int(res, 0, 15);
	r->created_at = pg_int(res, 0, 16);
	r->updated_at = pg_int(res, 0, 17);
	r->run_after = pg_int(res, 0, 18);
	r->started_at = pg_int(res, 0, 19);
	r->finished_at = pg_int(res, 0, 20);
	r->lease_until = pg_int(res, 0, 21);
}

/*
 * Ends a statement (res NULL: it failed). With a row: fills *out (when
 * non-NULL) from it if it has PG_JOB_COLUMNS (rowjob), else *first with its
 * first column. STORE_OK when there was a row or, for a statement without
 * rows, when a row changed; STORE_NOTFOUND otherwise.
 */
static int done(PGresult *res, int rowjob, struct request_record *out, int64_t *first)
{
	int found;

	if (!res)
		return STORE_ERROR;
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		found = PQntuples(res) > 0;
	else
		found = strtoll(PQcmdTuples(res), NULL, 10) > 0;
	if (found && PQresultStatus(res) == PGRES_TUPLES_OK) {
		if (rowjob && out) {
			request_record_free(out);
			read_job(res, out);
		} else if (!rowjob && first) {
			*first = pg_int(res, 0, 0);
		}
	}
	PQclear(res);
	return found ? STORE_OK : STORE_NOTFOUND;
}

int pg_queue_enqueue(struct store *h, struct request_record *r, int64_t now)
{
	struct pg_store *q = pgs(h);

	return done(pg_run(q, Q_ENQUEUE, "enqueue a request", "tttttttii", r->id, r->request_id,
			   r->connection_id, r->user_id, r->tenant_id, r->action,
			   r->payload ? r->payload : "null", now, r->run_after), 0, NULL, NULL);
}

int pg_queue_unhold(struct store *h, const char *ids_json, int64_t now)
{
	return done(pg_run(pgs(h), Q_UNHOLD, "release held requests", "ti", ids_json, now), 0, NULL,
		    NULL);
}

int pg_queue_claim(struct store *h, const char *owner, int64_t now, int64_t lease_ms,
		   struct request_record *out)
{
	struct pg_store *q = pgs(h);

	return done(pg_run(q, Q_CLAIM, "claim a request", "tii", owner, now, int64_add_sat(now, lease_ms)),
		    1, out, NULL);
}

int pg_queue_renew(struct store *h, const char *id, const char *owner, int64_t now,
		   int64_t lease_ms, int *cancel)
{
	struct pg_store *q = pgs(h);
	int64_t c = 0;
	int ret = done(pg_run(q, Q_RENEW, "renew a lease", "ttii", id, owner, now,
			      int64_add_sat(now, lease_ms)), 0, NULL, &c);

	if (cancel)
		*cancel = ret == STORE_OK && c != 0;
	return ret;
}

int pg_queue_progress(struct store *h, const char *id, const char *owner, int64_t now,
		      int64_t lease_ms, int pct, const char *message, const char *metadata,
		      int *cancel)
{
	struct pg_store *q = pgs(h);
	int64_t c = 0;
	int ret = done(pg_run(q, Q_PROGRESS, "store progress", "ttiiitt", id, owner, now,
			      int64_add_sat(now, lease_ms), (int64_t)pct, message, metadata), 0, NULL, &c);

	if (cancel)
		*cancel = ret == STORE_OK && c != 0;
	return ret;
}

int pg_queue_finish(struct store *h, const char *id, const char *owner, int64_t now,
		    const char *status, const char *result, const char *code,
		    const char *message, int64_t keep_ms)
{
	struct pg_store *q = pgs(h);

	return done(pg_run(q, Q_FINISH, "finish a request", "ttitttti", id, owner, now, status,
			   result, code, message, int64_add_sat(now, keep_ms)), 0, NULL, NULL);
}

int pg_queue_release(struct store *h, const char *id, const char *owner, int64_t now,
		     int64_t run_after)
{
	struct pg_store *q = pgs(h);

	return done(pg_run(q, Q_RELEASE, "release a request", "ttii", id, owner, now, run_after),
		    0, NULL, NULL);
}

int pg_queue_get_own(struct store *h, const char *tenant, const char *user,
		     const char *request_id, struct request_record *out)
{
	struct pg_store *q = pgs(h);

	return done(pg_run(q, Q_GET_OWN, "read a request", "ttt", tenant, user, request_id), 1,
		    out, NULL);
}

int pg_queue_cancel(struct store *h, const char *id, int64_t now, int64_t keep_ms,
		    int *was_running, struct request_record *out)
{
	struct pg_store *q = pgs(h);
	struct request_record tmp = { 0 };
	int ret;

	*was_running = 0;
	ret = done(pg_run(q, Q_CANCEL_PENDING, "cancel a request", "tii", id, now,
			  int64_add_sat(now, keep_ms)), 1, out ? out : &tmp, NULL);
	if (ret == STORE_NOTFOUND) {
		ret = done(pg_run(q, Q_CANCEL_RUNNING, "cancel a request", "ti", id, now), 1,
			   out ? out : &tmp, NULL);
		*was_running = ret == STORE_OK;
	}
	request_record_free(&tmp);
	return ret;
}

int pg_queue_cancel_connection(struct store *h, const char *connection_id, int64_t now,
			       int64_t keep_ms, int *n)
{
	struct pg_store *q = pgs(h);
	int64_t changed = 0;
	int ret = pg_cmd(q, Q_CANCEL_CONNECTION, "cancel a connection's requests", &changed,
			 "tii", connection_id, now, int64_add_sat(now, keep_ms));

	*n = ret == STORE_OK ? (int)changed : 0;
	return ret;
}

int pg_queue_gc(struct store *h, int64_t now, int *n)
{
	struct pg_store *q = pgs(h);
	int64_t changed = 0;
	int ret = pg_cmd(q, Q_GC, "delete expired requests", &changed, "i", now);

	*n = ret == STORE_OK ? (int)changed : 0;
	return ret;
}

int pg_queue_count_live(struct store *h, const char *connection_id, int64_t limit, int64_t *n)
{
	struct pg_store *q = pgs(h);

	*n = 0;
	return done(pg_run(q, Q_COUNT_LIVE, "count a connection's requests", "ti", connection_id,
			   limit), 0, NULL, n) == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

int pg_queue_count_tenant_pending(struct store *h, const char *tenant, int64_t limit,
				  int64_t *n)
{
	struct pg_store *q = pgs(h);

	*n = 0;
	if (pg_lock_key(q, 't', tenant, NULL) != STORE_OK)
		return STORE_ERROR;
	return done(pg_run(q, Q_COUNT_TENANT_PENDING, "count a tenant's pending requests", "ti",
			   tenant, limit), 0, NULL, n) == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

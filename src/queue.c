/* queue.c - the durable queue of async requests on the SQLite store (sql/003_requests.sql). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "queue.h"
#include "store.h"
#include "store_sqlite_int.h"
#include "util.h"

/* The columns of a request row, in the order request_record is read from (read_job). */
#define JOB_COLUMNS \
	"id, request_id, connection_id, user_id, tenant_id, action, payload, status, " \
	"attempts, progress, progress_message, progress_metadata, result, error_code, " \
	"error_message, cancel_requested, created_at, updated_at, run_after, started_at, " \
	"finished_at, lease_until"

/*
 * X(name, sql): every statement of the queue, prepared once by queue_open.
 * The comment before each says what binds to its parameters.
 */
#define QUEUE_STATEMENTS(X) \
	/* ?1 id ?2 request_id ?3 connection_id ?4 user ?5 tenant ?6 action ?7 payload ?8 now \
	 * ?9 run_after (held until then when later than now) */ \
	X(Q_ENQUEUE, \
	  "INSERT INTO requests (id, request_id, connection_id, user_id, tenant_id, action, " \
	  "payload, status, created_at, updated_at, run_after) " \
	  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'PENDING', ?8, ?8, max(?8, ?9)) " \
	  "ON CONFLICT DO NOTHING") \
	/* ?1 JSON array of ids ?2 now */ \
	X(Q_UNHOLD, \
	  "UPDATE requests SET run_after = ?2 WHERE id IN (SELECT value FROM json_each(?1)) " \
	  "AND status = 'PENDING' AND run_after > ?2") \
	/* ?1 owner ?2 now ?3 lease_until. Fair across tenants: of the tenants with a \
	 * due request, the one with fewest running, then the one served longest \
	 * ago (never first), then the oldest due request; that tenant's oldest due \
	 * request, or an older one whose lease ran out. The tenants are walked by \
	 * an index skip (MIN(tenant_id) > x) and each is a few index probes \
	 * (sql/007_quotas.sql), so a claim costs O(tenants), not O(pending): \
	 * sorting every pending row took 4 ms at 2,000 pending, with the write \
	 * lock held. */ \
	X(Q_CLAIM, \
	  "WITH RECURSIVE tenants(t) AS (" \
	  "SELECT (SELECT min(tenant_id) FROM requests WHERE status = 'PENDING') " \
	  "UNION ALL " \
	  "SELECT (SELECT min(tenant_id) FROM requests WHERE status = 'PENDING' AND tenant_id > t) " \
	  "FROM tenants WHERE t IS NOT NULL), " \
	  "ready(t, first, running, served) AS (" \
	  "SELECT t, " \
	  "(SELECT min(run_after) FROM requests WHERE status = 'PENDING' AND tenant_id = t), " \
	  "(SELECT count(*) FROM requests WHERE status = 'PROCESSING' AND tenant_id = t), " \
	  "(SELECT max(started_at) FROM requests WHERE started_at IS NOT NULL AND tenant_id = t) " \
	  "FROM tenants WHERE t IS NOT NULL) " \
	  "UPDATE requests SET status = 'PROCESSING', attempts = attempts + 1, lease_owner = ?1, " \
	  "lease_until = ?3, started_at = ?2, updated_at = ?2 WHERE id = (" \
	  "SELECT id FROM (" \
	  "SELECT * FROM (SELECT id, run_after AS t FROM requests " \
	  "WHERE status = 'PENDING' AND tenant_id = (" \
	  "SELECT t FROM ready WHERE first <= ?2 ORDER BY running, served, first LIMIT 1) " \
	  "AND run_after <= ?2 ORDER BY run_after LIMIT 1) " \
	  "UNION ALL " \
	  "SELECT * FROM (SELECT id, lease_until AS t FROM requests " \
	  "WHERE status = 'PROCESSING' AND lease_until < ?2 ORDER BY lease_until LIMIT 1)" \
	  ") ORDER BY t LIMIT 1) RETURNING " JOB_COLUMNS) \
	/* ?1 id ?2 owner ?3 now ?4 lease_until */ \
	X(Q_RENEW, \
	  "UPDATE requests SET lease_until = ?4, updated_at = ?3 " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING' RETURNING cancel_requested") \
	/* ?1 id ?2 owner ?3 now ?4 lease_until ?5 pct ?6 message ?7 metadata */ \
	X(Q_PROGRESS, \
	  "UPDATE requests SET lease_until = ?4, updated_at = ?3, progress = ?5, " \
	  "progress_message = ?6, progress_metadata = ?7 " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING' RETURNING cancel_requested") \
	/* ?1 id ?2 owner ?3 now ?4 status ?5 result ?6 code ?7 message ?8 expires_at */ \
	X(Q_FINISH, \
	  "UPDATE requests SET status = ?4, result = ?5, error_code = ?6, error_message = ?7, " \
	  "progress = CASE WHEN ?4 = 'COMPLETED' THEN 100 ELSE progress END, " \
	  "finished_at = ?3, updated_at = ?3, expires_at = ?8, lease_owner = NULL, lease_until = NULL " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING'") \
	/* ?1 id ?2 owner ?3 now ?4 run_after */ \
	X(Q_RELEASE, \
	  "UPDATE requests SET status = 'PENDING', run_after = ?4, updated_at = ?3, " \
	  "lease_owner = NULL, lease_until = NULL " \
	  "WHERE id = ?1 AND lease_owner = ?2 AND status = 'PROCESSING'") \
	/* ?1 tenant ?2 user ?3 request_id */ \
	X(Q_GET_OWN, \
	  "SELECT " JOB_COLUMNS " FROM requests WHERE tenant_id = ?1 AND user_id = ?2 " \
	  "AND request_id = ?3 ORDER BY created_at DESC LIMIT 1") \
	/* ?1 id */ \
	X(Q_GET, "SELECT " JOB_COLUMNS " FROM requests WHERE id = ?1") \
	/* ?1 id ?2 now ?3 expires_at */ \
	X(Q_CANCEL_PENDING, \
	  "UPDATE requests SET status = 'CANCELLED', error_code = 'CANCELLED', " \
	  "error_message = 'Cancelled by the client', finished_at = ?2, updated_at = ?2, " \
	  "expires_at = ?3 WHERE id = ?1 AND status = 'PENDING' RETURNING " JOB_COLUMNS) \
	/* ?1 id ?2 now */ \
	X(Q_CANCEL_RUNNING, \
	  "UPDATE requests SET cancel_requested = 1, updated_at = ?2 " \
	  "WHERE id = ?1 AND status = 'PROCESSING' RETURNING " JOB_COLUMNS) \
	/* ?1 connection_id ?2 now ?3 expires_at. The IN term lets the planner use \
	 * requests_live_id (a bare status = 'PENDING' scanned the table). */ \
	X(Q_CANCEL_CONNECTION, \
	  "UPDATE requests SET status = 'CANCELLED', error_code = 'CANCELLED', " \
	  "error_message = 'The connection closed before the request started', " \
	  "finished_at = ?2, updated_at = ?2, expires_at = ?3 " \
	  "WHERE connection_id = ?1 AND status IN ('PENDING', 'PROCESSING') AND status = 'PENDING'") \
	/* ?1 now */ \
	X(Q_GC, "DELETE FROM requests WHERE expires_at IS NOT NULL AND expires_at <= ?1") \
	/* ?1 connection_id ?2 limit: counting stops at the limit */ \
	X(Q_COUNT_LIVE, \
	  "SELECT count(*) FROM (SELECT 1 FROM requests WHERE connection_id = ?1 " \
	  "AND status IN ('PENDING', 'PROCESSING') LIMIT ?2)") \
	/* ?1 tenant_id ?2 limit: counting stops at the limit */ \
	X(Q_COUNT_TENANT_PENDING, \
	  "SELECT count(*) FROM (SELECT 1 FROM requests WHERE tenant_id = ?1 " \
	  "AND status = 'PENDING' LIMIT ?2)") \
	X(Q_COUNTS, \
	  "SELECT (SELECT count(*) FROM requests WHERE status = 'PENDING'), " \
	  "(SELECT count(*) FROM requests WHERE status = 'PROCESSING')")

enum queue_stmt {
#define X(name, sql) name,
	QUEUE_STATEMENTS(X)
#undef X
	Q_COUNT
};

static const char *const queue_sql[Q_COUNT] = {
#define X(name, sql) [name] = sql,
	QUEUE_STATEMENTS(X)
#undef X
};

const char *queue_statement_text(size_t i)
{
	return i < Q_COUNT ? queue_sql[i] : NULL;
}

struct queue {
	struct store *store;
	sqlite3 *db;
	sqlite3_stmt *stmt[Q_COUNT];
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
	q->db = store_sqlite_db(s);
	for (int i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(q->db, queue_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &q->stmt[i], NULL) != SQLITE_OK) {
			store_sqlite_fail(s, "preparing the queue's statements");
			queue_close(q);
			return NULL;
		}
	}
	return q;
}

void queue_close(struct queue *q)
{
	if (!q)
		return;
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(q->stmt[i]);
	free(q);
}

#define done(st) store_sqlite_done(st)
#define bind(q, st, ...) store_sqlite_bind((q)->store, st, __VA_ARGS__)
#define col_text(st, i) store_sqlite_col_text(st, i)

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
static int run(struct queue *q, enum queue_stmt id, const char *what, int rowjob,
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
		return store_sqlite_fail(q->store, what);
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

static int64_t add_ms(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

int queue_enqueue(struct queue *q, struct request_record *r, int64_t now)
{
	sqlite3_stmt *st = q->stmt[Q_ENQUEUE];

	if (!r->id) {
		char hex[25];

		random_hex(hex, 12);
		r->id = xmalloc(4 + 24 + 1);
		snprintf(r->id, 4 + 24 + 1, "job_%s", hex);
	}
	if (bind(q, st, "tttttttii", r->id, r->request_id, r->connection_id, r->user_id,
		 r->tenant_id, r->action, r->payload ? r->payload : "null", now,
		 r->run_after) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_ENQUEUE, "enqueue a request", 0, NULL, NULL);
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
	/* bound SQLITE_STATIC: text lives until the statement has run */
	ret = bind(q, q->stmt[Q_UNHOLD], "ti", text, now);
	if (ret == STORE_OK)
		ret = run(q, Q_UNHOLD, "release held requests", 0, NULL, NULL);
	free(text);
	return ret;
}

int queue_claim(struct queue *q, const char *owner, int64_t now, int64_t lease_ms,
		struct request_record *out)
{
	if (bind(q, q->stmt[Q_CLAIM], "tii", owner, now, add_ms(now, lease_ms)) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_CLAIM, "claim a request", 1, out, NULL);
}

int queue_renew(struct queue *q, const char *id, const char *owner, int64_t now,
		int64_t lease_ms, int *cancel)
{
	int64_t c = 0;
	int ret;

	if (bind(q, q->stmt[Q_RENEW], "ttii", id, owner, now, add_ms(now, lease_ms)) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_RENEW, "renew a lease", 0, NULL, &c);
	if (cancel)
		*cancel = ret == STORE_OK && c != 0;
	return ret;
}

int queue_progress(struct queue *q, const char *id, const char *owner, int64_t now,
		   int64_t lease_ms, int pct, const char *message, const char *metadata,
		   int *cancel)
{
	int64_t c = 0;
	int ret;

	if (bind(q, q->stmt[Q_PROGRESS], "ttiiitt", id, owner, now, add_ms(now, lease_ms),
		 (int64_t)pct, message, metadata) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_PROGRESS, "store progress", 0, NULL, &c);
	if (cancel)
		*cancel = ret == STORE_OK && c != 0;
	return ret;
}

int queue_finish(struct queue *q, const char *id, const char *owner, int64_t now,
		 const char *status, const char *result, const char *code,
		 const char *message, int64_t keep_ms)
{
	if (bind(q, q->stmt[Q_FINISH], "ttitttti", id, owner, now, status, result, code,
		 message, add_ms(now, keep_ms)) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_FINISH, "finish a request", 0, NULL, NULL);
}

int queue_release(struct queue *q, const char *id, const char *owner, int64_t now,
		  int64_t run_after)
{
	if (bind(q, q->stmt[Q_RELEASE], "ttii", id, owner, now, run_after) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_RELEASE, "release a request", 0, NULL, NULL);
}

int queue_get_own(struct queue *q, const char *tenant, const char *user,
		  const char *request_id, struct request_record *out)
{
	if (bind(q, q->stmt[Q_GET_OWN], "ttt", tenant, user, request_id) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_GET_OWN, "read a request", 1, out, NULL);
}

int queue_get(struct queue *q, const char *id, struct request_record *out)
{
	if (bind(q, q->stmt[Q_GET], "t", id) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_GET, "read a request", 1, out, NULL);
}

int queue_cancel(struct queue *q, const char *id, int64_t now, int64_t keep_ms,
		 int *was_running, struct request_record *out)
{
	struct request_record tmp = { 0 };
	int ret;

	*was_running = 0;
	if (bind(q, q->stmt[Q_CANCEL_PENDING], "tii", id, now, add_ms(now, keep_ms)) != STORE_OK)
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

int queue_cancel_connection(struct queue *q, const char *connection_id, int64_t now,
			    int64_t keep_ms, int *n)
{
	int ret;

	*n = 0;
	if (bind(q, q->stmt[Q_CANCEL_CONNECTION], "tii", connection_id, now,
		 add_ms(now, keep_ms)) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_CANCEL_CONNECTION, "cancel a connection's requests", 0, NULL, NULL);
	if (ret == STORE_OK)
		*n = sqlite3_changes(q->db);
	return ret == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

int queue_gc(struct queue *q, int64_t now, int *n)
{
	int ret;

	*n = 0;
	if (bind(q, q->stmt[Q_GC], "i", now) != STORE_OK)
		return STORE_ERROR;
	ret = run(q, Q_GC, "delete expired requests", 0, NULL, NULL);
	if (ret == STORE_OK)
		*n = sqlite3_changes(q->db);
	return ret == STORE_ERROR ? STORE_ERROR : STORE_OK;
}

int queue_count_live(struct queue *q, const char *connection_id, int64_t limit, int64_t *n)
{
	*n = 0;
	if (bind(q, q->stmt[Q_COUNT_LIVE], "ti", connection_id, limit) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_COUNT_LIVE, "count a connection's requests", 0, NULL, n) == STORE_ERROR
		       ? STORE_ERROR : STORE_OK;
}

int queue_count_tenant_pending(struct queue *q, const char *tenant, int64_t limit, int64_t *n)
{
	*n = 0;
	if (bind(q, q->stmt[Q_COUNT_TENANT_PENDING], "ti", tenant, limit) != STORE_OK)
		return STORE_ERROR;
	return run(q, Q_COUNT_TENANT_PENDING, "count a tenant's pending requests", 0, NULL, n) ==
			       STORE_ERROR
		       ? STORE_ERROR : STORE_OK;
}

int queue_counts(struct queue *q, int64_t *pending, int64_t *processing)
{
	sqlite3_stmt *st = q->stmt[Q_COUNTS];
	int ret = STORE_OK;

	*pending = *processing = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*pending = sqlite3_column_int64(st, 0);
		*processing = sqlite3_column_int64(st, 1);
	} else {
		ret = store_sqlite_fail(q->store, "count requests");
	}
	done(st);
	return ret;
}

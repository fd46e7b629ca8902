/* queue.h - the store interface's request queue section: enqueue, atomic claim with a lease, progress, results, cancellation. */
#ifndef STREAMER_QUEUE_H
#define STREAMER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct store;

/*
 * Functions return STORE_OK, STORE_NOTFOUND or STORE_ERROR (details in
 * store_errmsg of the store the queue was opened on). Times are
 * milliseconds since the epoch. A queue handle belongs to one store handle
 * (one process); close it before the store.
 */
struct queue;

/* Request statuses, as stored. */
#define QUEUE_PENDING "PENDING"
#define QUEUE_PROCESSING "PROCESSING"
#define QUEUE_COMPLETED "COMPLETED"
#define QUEUE_FAILED "FAILED"
#define QUEUE_CANCELLED "CANCELLED"

/* One request row. Strings are owned by the record; see request_record_free. */
struct request_record {
	char *id;                /* server id, job_<24 hex> */
	char *request_id;        /* the client's id */
	char *connection_id;
	char *user_id;
	char *tenant_id;
	char *action;
	char *payload;           /* JSON text */
	char *status;            /* one of QUEUE_* */
	int64_t attempts;
	int64_t progress;        /* 0..100 */
	char *progress_message;  /* may be NULL */
	char *progress_metadata; /* JSON text or NULL */
	char *result;            /* JSON text or NULL */
	char *error_code;        /* NULL unless FAILED or CANCELLED */
	char *error_message;
	int64_t cancel_requested;
	int64_t created_at;
	int64_t updated_at;
	int64_t run_after;
	int64_t started_at;      /* 0 when never started */
	int64_t finished_at;     /* 0 while live */
	int64_t lease_until;     /* 0 when not leased */
};

/* Frees the strings of r and zeroes it. Safe on a zeroed record. */
void request_record_free(struct request_record *r);

/*
 * The queue view of store s (the engine prepared its statements in
 * store_open), for the callers that hold a queue handle; never NULL (it
 * only remembers s). queue_close frees only the view.
 */
struct queue *queue_open(struct store *s);
void queue_close(struct queue *q);

/*
 * Stores a new PENDING request (r->id is made when NULL; r's id, request_id,
 * connection_id, user_id, tenant_id, action, payload and run_after are used),
 * runnable at once, or held until r->run_after when that is later than now
 * (see queue_unhold). Meant to run inside the event's transaction. Returns
 * STORE_OK, STORE_NOTFOUND when the connection already has a live request
 * with that request_id (nothing stored), or STORE_ERROR. On success r->id
 * holds the server id (allocated when it was NULL).
 */
int queue_enqueue(struct queue *q, struct request_record *r, int64_t now)
	__attribute__((warn_unused_result));

/*
 * Counts the live (PENDING or PROCESSING) requests of a connection into *n,
 * stopping at limit (so the cost is bounded by it). For the per-connection
 * quota; run it in the enqueue's transaction. STORE_OK or STORE_ERROR.
 */
int queue_count_live(struct queue *q, const char *connection_id, int64_t limit, int64_t *n)
	__attribute__((warn_unused_result));

/* Counts a tenant's PENDING requests into *n, stopping at limit, as queue_count_live. */
int queue_count_tenant_pending(struct queue *q, const char *tenant, int64_t limit, int64_t *n)
	__attribute__((warn_unused_result));

/*
 * Makes the held PENDING requests among ids (n server ids, borrowed)
 * runnable at now, in one statement; ids that are gone, running or not held
 * are left alone. STORE_OK when one changed, STORE_NOTFOUND when none did,
 * STORE_ERROR.
 */
int queue_unhold(struct queue *q, const char *const *ids, size_t n, int64_t now)
	__attribute__((warn_unused_result));

/*
 * Claims a runnable request atomically, fairly across tenants: a PENDING
 * one whose run_after has come, of the tenant with the fewest requests
 * PROCESSING, then the one whose last claim is oldest (never claimed
 * first), then the one whose oldest due request is oldest; or, when older,
 * a PROCESSING one whose lease has run out (its processor died). The cost
 * grows with the number of tenants that have pending requests, not with
 * the number of requests. The row becomes PROCESSING with attempts + 1, the lease
 * owner and lease_until = now + lease_ms. Fills *out. STORE_NOTFOUND when
 * nothing is runnable. Any number of processes may claim at once: each row
 * goes to exactly one of them.
 */
int queue_claim(struct queue *q, const char *owner, int64_t now, int64_t lease_ms,
		struct request_record *out) __attribute__((warn_unused_result));

/*
 * Extends the lease of a request this owner holds. STORE_NOTFOUND when the
 * owner no longer holds it (expired and claimed elsewhere, or finished).
 * *cancel (when non-NULL) is set to 1 when a cancel has been requested.
 */
int queue_renew(struct queue *q, const char *id, const char *owner, int64_t now,
		int64_t lease_ms, int *cancel) __attribute__((warn_unused_result));

/*
 * Stores the latest progress of a request this owner holds (and renews the
 * lease like queue_renew). metadata is JSON text or NULL. STORE_NOTFOUND when
 * the owner no longer holds it; *cancel as for queue_renew.
 */
int queue_progress(struct queue *q, const char *id, const char *owner, int64_t now,
		   int64_t lease_ms, int pct, const char *message, const char *metadata,
		   int *cancel) __attribute__((warn_unused_result));

/*
 * Finishes a request this owner holds: status is QUEUE_COMPLETED (result is
 * JSON text, progress becomes 100), QUEUE_FAILED or QUEUE_CANCELLED (code and
 * message describe why). The row is kept until now + keep_ms.
 * STORE_NOTFOUND when the owner no longer holds it (nothing changes).
 */
int queue_finish(struct queue *q, const char *id, const char *owner, int64_t now,
		 const char *status, const char *result, const char *code,
		 const char *message, int64_t keep_ms) __attribute__((warn_unused_result));

/*
 * Puts a request this owner holds back to PENDING, runnable at run_after
 * (a retry after a failure that may pass). STORE_NOTFOUND when not held.
 */
int queue_release(struct queue *q, const char *id, const char *owner, int64_t now,
		  int64_t run_after) __attribute__((warn_unused_result));

/* Reads the caller's own request by client id (latest first). STORE_NOTFOUND when none. */
int queue_get_own(struct queue *q, const char *tenant, const char *user,
		  const char *request_id, struct request_record *out)
	__attribute__((warn_unused_result));

/*
 * Cancels a request: a PENDING one becomes CANCELLED at once (*was_running
 * = 0); a PROCESSING one is marked cancel_requested and its processor stops
 * it at its next progress report (*was_running = 1). STORE_NOTFOUND when the
 * request is not live. Fills *out (when non-NULL) with the row after.
 */
int queue_cancel(struct queue *q, const char *id, int64_t now, int64_t keep_ms,
		 int *was_running, struct request_record *out)
	__attribute__((warn_unused_result));

/*
 * Cancels every PENDING request of a connection (it disconnected); running
 * ones go on and keep their results. Sets *n to the number cancelled.
 */
int queue_cancel_connection(struct queue *q, const char *connection_id, int64_t now,
			    int64_t keep_ms, int *n) __attribute__((warn_unused_result));

/* Deletes finished requests whose expires_at has passed. Sets *n to how many. */
int queue_gc(struct queue *q, int64_t now, int *n) __attribute__((warn_unused_result));

#endif

/* processor_slot.c - one processor slot: claims queued requests, runs each in a request process, stores and pushes progress and results. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "actions.h"
#include "config.h"
#include "request_run.h"
#include "log.h"
#include "metrics.h"
#include "fanout.h"
#include "proc.h"
#include "processor_int.h"
#include "protocol.h"
#include "queue.h"
#include "store.h"
#include "streams.h"
#include "util.h"

/* How often an idle processor looks at the queue without a wake-up. */
#define IDLE_POLL_MS 2000
/* Progress pushed to a client at most this often, except the first, jumps of >= 10 and 100. */
#define PROGRESS_MIN_GAP_MS 100
/* A request told to stop (cancel, shutdown) gets this long before it is killed. */
#define STOP_GRACE_MS 2000

/* ---- the slot's side of one request --------------------------------------------- */

struct run {
	struct slot *sl;
	struct request_record *req;
	int64_t lease_ms;
	int last_pushed_pct;
	int64_t last_push_ms;
	int cancel;
};

/*
 * Pushes msg (stolen) to the request's connection, numbered in its user's
 * stream (so a client that missed it, or reconnected, recovers it from the
 * history); failures are logged, never fatal.
 */
static void deliver(struct run *r, json_t *msg)
{
	struct history_limits lim = stream_limits(&r->sl->cfg);
	char why[256] = "", stream[HISTORY_STREAM_MAX + 1];

	if (!msg)
		return;
	stream_of_user(stream, sizeof stream, r->req->tenant_id, r->req->user_id);
	/* Not numbered, it still goes out: late is better than never for this one. */
	if (stream_number(r->sl->store, &lim, stream, r->req->connection_id, msg, time_now_ms(), NULL, why,
			  sizeof why) < 0)
		log_event(LOG_WARN, "stream_failed",
			  json_pack("{s:s,s:s,s:s}", "job_id", r->req->id, "stream", stream,
				    "reason", why));
	if (fanout_send_json(r->sl->fanout, FANOUT_CONNECTION, NULL, r->req->connection_id, msg,
			     NULL, why, sizeof why) < 0)
		log_event(LOG_WARN, "job_push_failed",
			  json_pack("{s:s,s:s,s:s,s:s}", "job_id", r->req->id, "request_id",
				    r->req->request_id, "connection_id", r->req->connection_id,
				    "reason", why));
	json_decref(msg);
}

/* A 'P' frame: store and push it when due; returns 1 to let the request go on. */
static int on_progress(struct run *r, json_t *f)
{
	json_t *meta = json_object_get(f, "metadata");
	const char *message = json_string_value(json_object_get(f, "message"));
	int pct = (int)json_integer_value(json_object_get(f, "pct"));
	int64_t now = time_now_ms();
	char *meta_text = NULL;
	int cancel = 0, due;

	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	due = r->last_pushed_pct < 0 || pct == 100 || pct - r->last_pushed_pct >= 10 ||
	      now - r->last_push_ms >= PROGRESS_MIN_GAP_MS;
	if (!due)
		return !r->cancel;
	if (json_is_object(meta))
		meta_text = json_dumps(meta, JSON_COMPACT);
	if (queue_progress(r->sl->q, r->req->id, r->sl->owner, now, r->lease_ms, pct, message,
			   meta_text, &cancel) == STORE_NOTFOUND)
		cancel = 1; /* the lease is gone: someone else runs it now */
	free(meta_text);
	if (cancel) {
		r->cancel = 1;
		return 0;
	}
	deliver(r, proto_progress(r->req->request_id, pct, message, json_is_object(meta) ? meta : NULL,
				  time_now_ms()));
	r->last_pushed_pct = pct;
	r->last_push_ms = now;
	return 1;
}

static void log_request(const char *event, const struct request_record *req, int64_t started,
		    const char *code)
{
	log_event(code ? LOG_WARN : LOG_INFO, event,
		  json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "job_id", req->id,
			    "request_id", req->request_id, "action", req->action,
			    "user", req->user_id, "tenant", req->tenant_id,
			    "attempt", (json_int_t)req->attempts,
			    "duration_us", (json_int_t)((time_now_ms() - started) * 1000),
			    "code", code));
}

/* Stores the end of a request and tells the client. result or (code, message). */
static void finish(struct run *r, json_t *result, const char *code, const char *message,
		   int64_t started)
{
	struct slot *sl = r->sl;
	const char *status = !code ? QUEUE_COMPLETED
			     : strcmp(code, "CANCELLED") == 0 ? QUEUE_CANCELLED : QUEUE_FAILED;
	char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int ret;

	ret = queue_finish(sl->q, r->req->id, sl->owner, time_now_ms(), status, text, code,
			   message, sl->cfg.result_ttl * 1000);
	free(text);
	if (ret != STORE_OK) {
		/* Lost the lease (another processor runs it) or the store failed: say nothing. */
		log_event(LOG_WARN, "job_lost",
			  json_pack("{s:s,s:s,s:s}", "job_id", r->req->id, "status", status,
				    "reason", ret == STORE_NOTFOUND ? "lease lost" : store_errmsg(sl->store)));
		return;
	}
	log_request(code ? (strcmp(status, QUEUE_CANCELLED) == 0 ? "job_cancelled" : "job_failed")
		: "job_completed", r->req, started, code);
	{
		char labels[160];

		snprintf(labels, sizeof labels, "action=\"%s\",outcome=\"%s\"", r->req->action,
			 code ? code : "ok");
		metrics_add("streamer_jobs_total", labels, 1);
		snprintf(labels, sizeof labels, "action=\"%s\"", r->req->action);
		metrics_observe("streamer_job_run_seconds", labels, (time_now_ms() - started) * 1000);
	}
	if (!code) {
		deliver(r, proto_progress(r->req->request_id, 100, "Completed", NULL, time_now_ms()));
		deliver(r, proto_complete(r->req->request_id, json_incref(result), time_now_ms()));
	} else {
		deliver(r, proto_error_text(r->req->request_id,
					    err_code_of_handler(code, ERR_PROCESSING_FAILED), message));
	}
}

/* Backoff before retry n (1-based): 1 s, 2 s, 4 s ... capped at 30 s, ±25 % jitter. */
static int64_t retry_backoff_ms(int64_t n)
{
	int64_t base = 1000;
	uint32_t rnd;

	for (int64_t i = 1; i < n && base < 30000; i++)
		base *= 2;
	if (base > 30000)
		base = 30000;
	random_bytes(&rnd, sizeof rnd);
	return base * 3 / 4 + (int64_t)(rnd % (uint32_t)(base / 2 + 1));
}

/*
 * Forks the request process. Returns its pid, *fd being the slot's end of their
 * socket pair, or -1 when it could not (the request was then finished as
 * failed or handed back to the queue).
 */
static pid_t start_request_process(struct run *r, int64_t started, int64_t deadline, int *fd)
{
	struct slot *sl = r->sl;
	struct request_record *req = r->req;
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		finish(r, NULL, "PROCESSING_FAILED", "Could not start the job", started);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		if (queue_release(sl->q, req->id, sl->owner, time_now_ms(),
				  time_now_ms() + retry_backoff_ms(req->attempts)) != STORE_OK)
			log_msg(LOG_ERROR, "job_release_failed", "%s", store_errmsg(sl->store));
		return -1;
	}
	if (pid == 0) {
		/* A request never outlives its slot: a slot killed outright takes its request along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		processor_child(&sl->cfg, req, deadline, sv[1]);
	}
	close(sv[1]);
	setpgid(pid, pid);
	*fd = sv[0];
	return pid;
}

/*
 * Follows the request until its outcome, storing and answering its progress and
 * renewing the lease meanwhile. Returns 'R' or 'E' with *outcome (a new
 * reference), 'X' when the request died without one, or 0 when the slot stopped
 * waiting: cancelled, stopping, or the deadline passed (*timed_out 1).
 */
static char await_outcome(struct run *r, int fd, int64_t started, int64_t deadline,
			  json_t **outcome, int *timed_out)
{
	int64_t renew_every = r->lease_ms / 3 > 0 ? r->lease_ms / 3 : 1;
	int64_t next_renew = started + renew_every;
	char type = 0;

	while (!type) {
		int64_t now = time_now_ms();
		int64_t wait = next_renew < deadline ? next_renew - now : deadline - now;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n;

		if (now >= deadline) {
			*timed_out = 1;
			break;
		}
		if (processor_stopping)
			break;
		if (now >= next_renew) {
			int cancel = 0;

			if (queue_renew(r->sl->q, r->req->id, r->sl->owner, now, r->lease_ms, &cancel) ==
			    STORE_NOTFOUND)
				r->cancel = 1;
			next_renew = now + renew_every;
			continue;
		}
		n = poll(&p, 1, (int)(wait > 1000 ? 1000 : wait < 1 ? 1 : wait));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		json_decref(*outcome);
		type = frame_recv(fd, outcome);
		if (type == 'P') {
			char answer = on_progress(r, *outcome) ? 'c' : 's';

			type = 0;
			if (write_all(fd, &answer, 1) < 0)
				break;
			if (answer == 's')
				break;
		} else if (type != 'R' && type != 'E') {
			type = 'X'; /* end of stream without a result: the request died */
		}
	}
	return type;
}

/* Stores and answers how the request ended (await_outcome's type, outcome and timed_out). */
static void conclude(struct run *r, char type, json_t *outcome, int timed_out, int64_t started)
{
	struct slot *sl = r->sl;
	struct request_record *req = r->req;

	if (type == 'R') {
		finish(r, outcome, NULL, NULL, started);
	} else if (type == 'E') {
		const char *code = json_string_value(json_object_get(outcome, "code"));
		const char *msg = json_string_value(json_object_get(outcome, "message"));

		if (r->cancel || (code && strcmp(code, "CANCELLED") == 0))
			finish(r, NULL, "CANCELLED", "Cancelled by the client", started);
		else
			finish(r, NULL, code ? code : "PROCESSING_FAILED",
			       msg ? msg : "The handler failed", started);
	} else if (timed_out) {
		char m[128];

		snprintf(m, sizeof m, "The request ran longer than STREAMER_JOB_TIMEOUT (%lld s)",
			 (long long)sl->cfg.job_timeout);
		finish(r, NULL, "TIMEOUT", m, started);
	} else if (r->cancel) {
		finish(r, NULL, "CANCELLED", "Cancelled by the client", started);
	} else if (processor_stopping) {
		/* Shutting down: hand it back for another processor, at once. */
		if (queue_release(sl->q, req->id, sl->owner, time_now_ms(), time_now_ms()) == STORE_OK)
			log_request("job_released", req, started, NULL);
	} else if (req->attempts < sl->cfg.job_max_attempts) {
		/* The request process crashed: retry after a backoff. */
		if (queue_release(sl->q, req->id, sl->owner, time_now_ms(),
				  time_now_ms() + retry_backoff_ms(req->attempts)) == STORE_OK)
			log_request("job_retry", req, started, "PROCESSING_FAILED");
	} else {
		char m[160];

		snprintf(m, sizeof m, "The handler crashed on each of %lld attempts",
			 (long long)req->attempts);
		finish(r, NULL, "PROCESSING_FAILED", m, started);
	}
}

/* Runs one claimed request in a request process and stores its end. */
static void run_request(struct slot *sl, struct request_record *req)
{
	struct run r = { .sl = sl, .req = req, .last_pushed_pct = -1,
			 .lease_ms = sl->cfg.job_lease * 1000 };
	int64_t started = time_now_ms();
	int64_t deadline = started + sl->cfg.job_timeout * 1000;
	json_t *outcome = NULL;
	int fd, status = 0, timed_out = 0;
	char type;
	pid_t pid;

	log_request("job_started", req, started, NULL);
	pid = start_request_process(&r, started, deadline, &fd);
	if (pid < 0)
		return;
	type = await_outcome(&r, fd, started, deadline, &outcome, &timed_out);
	if (type == 'R' || type == 'E') {
		waitpid(pid, &status, 0);
		kill(-pid, SIGKILL);
	} else {
		/* Cancelled, timed out, stopping, or the request died: make sure it is gone. */
		proc_stop_group(pid, -1, r.cancel || processor_stopping ? STOP_GRACE_MS : 0);
	}
	close(fd);
	conclude(&r, type, outcome, timed_out, started);
	json_decref(outcome);
}

/* ---- the slot ------------------------------------------------------------- */

int slot_open(struct slot *sl, char *err, size_t errlen)
{
	char why[512], host[64] = "host", tag[9];

	memset(sl, 0, sizeof *sl);
	if (config_load(&sl->cfg, 0, err, errlen) < 0)
		return -1;
	if (log_init(sl->cfg.log_level, sl->cfg.log_file) < 0) {
		snprintf(err, errlen, "STREAMER_LOG_FILE: cannot open %s: %s", sl->cfg.log_file,
			 strerror(errno));
		return -1;
	}
	{
		char mwhy[300];

		if (config_metrics_open(&sl->cfg, mwhy, sizeof mwhy) < 0)
			log_msg(LOG_WARN, "metrics_unavailable", "%s", mwhy);
	}
	struct store_options opt = { .busy_timeout_ms = sl->cfg.busy_timeout_ms };

	if (store_open(&sl->store, sl->cfg.db_path, &opt, 0, why, sizeof why) < 0) {
		snprintf(err, errlen, "STREAMER_DB: %.400s", why);
		return -1;
	}
	sl->q = queue_open(sl->store);
	if (actions_load(&sl->cfg, err, errlen) < 0)
		return -1;
	if (fanout_open(&sl->fanout, &sl->cfg, sl->store, err, errlen) < 0)
		return -1;
	if (store_wake_listen(sl->store, err, errlen) < 0)
		return -1;
	gethostname(host, sizeof host - 1);
	random_hex(tag, 4);
	snprintf(sl->owner, sizeof sl->owner, "%s:%ld:%.8s", host, (long)getpid(), tag);
	return 0;
}

void slot_close(struct slot *sl)
{
	fanout_close(sl->fanout);
	actions_free();
	queue_close(sl->q);
	store_close(sl->store);
	config_free(&sl->cfg);
	memset(sl, 0, sizeof *sl);
}

int slot_main(int once)
{
	struct slot sl;
	char err[512];
	int64_t next_gc = 0;

	if (slot_open(&sl, err, sizeof err) < 0) {
		fprintf(stderr, "streamer processor: %s\n", err);
		slot_close(&sl);
		return 1;
	}
	log_event(LOG_INFO, "processor_start", json_pack("{s:s}", "owner", sl.owner));
	while (!processor_stopping) {
		struct request_record req = { 0 };
		int64_t now = time_now_ms();
		int ret = queue_claim(sl.q, sl.owner, now, sl.cfg.job_lease * 1000, &req);

		if (ret == STORE_OK) {
			if (req.attempts == 1)
				metrics_observe("streamer_job_queue_wait_seconds", NULL,
						(now - req.created_at) * 1000);
			if (req.attempts > sl.cfg.job_max_attempts) {
				struct run r = { .sl = &sl, .req = &req };
				char m[160];

				snprintf(m, sizeof m, "Gave up after %lld attempts (the processor stopped each time)",
					 (long long)req.attempts - 1);
				finish(&r, NULL, "PROCESSING_FAILED", m, now);
			} else {
				run_request(&sl, &req);
			}
			request_record_free(&req);
			continue;
		}
		if (ret == STORE_ERROR)
			log_msg(LOG_ERROR, "job_claim_failed", "%s", store_errmsg(sl.store));
		if (once)
			break;
		if (now >= next_gc) {
			int n = 0;

			if (queue_gc(sl.q, now, &n) == STORE_OK && n > 0)
				log_event(LOG_INFO, "job_gc", json_pack("{s:i}", "deleted", n));
			next_gc = now + 60000;
		}
		{
			struct pollfd p = { .fd = store_wake_fd(sl.store), .events = POLLIN };

			if (poll(&p, 1, ret == STORE_ERROR ? 1000 : IDLE_POLL_MS) > 0)
				store_wake_drain(sl.store);
		}
	}
	log_event(LOG_INFO, "processor_stop", json_pack("{s:s}", "owner", sl.owner));
	slot_close(&sl);
	return 0;
}

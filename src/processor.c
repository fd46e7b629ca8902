/* processor.c - `streamer processor`: claims queued async requests, runs each in a job process, stores and pushes progress and results. */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "config.h"
#include "request_run.h"
#include "log.h"
#include "metrics.h"
#include "fanout.h"
#include "processor.h"
#include "protocol.h"
#include "queue.h"
#include "store.h"
#include "util.h"

/* How often an idle processor looks at the queue without a wake-up. */
#define IDLE_POLL_MS 2000
/* Progress pushed to a client at most this often, except the first, jumps of >= 10 and 100. */
#define PROGRESS_MIN_GAP_MS 100
/* A job told to stop (cancel, shutdown) gets this long before it is killed. */
#define STOP_GRACE_MS 2000
/* Largest frame a job process may send (a result). */
#define FRAME_MAX (64u << 20)

static volatile sig_atomic_t stopping;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

/* SIGCHLD only has to interrupt the supervisor's sigsuspend. */
static void on_child(int sig)
{
	(void)sig;
}

/* The supervisor's signal mask outside sigsuspend's wait (what slots run with). */
static sigset_t wait_mask;

/* One processor slot: a process that runs one request at a time. */
struct slot {
	struct config cfg;
	struct store *store;
	struct queue *q;
	struct fanout *fanout;
	char owner[96];
};

/* ---- frames between the slot and its job process ------------------------
 * [type:1][length:4, big-endian][length bytes]. The job sends 'P' (progress:
 * a JSON object {pct, message, metadata}), then 'R' (result JSON) or 'E'
 * (error JSON {code, message}); the slot answers each 'P' with one byte,
 * 'c' to go on or 's' to stop.
 */
static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(int fd, void *p, size_t n)
{
	char *c = p;

	while (n) {
		ssize_t r = read(fd, c, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int send_frame(int fd, char type, const json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	unsigned char hdr[5];
	size_t n;
	int ret;

	if (!text)
		return -1;
	n = strlen(text);
	hdr[0] = (unsigned char)type;
	hdr[1] = (unsigned char)(n >> 24);
	hdr[2] = (unsigned char)(n >> 16);
	hdr[3] = (unsigned char)(n >> 8);
	hdr[4] = (unsigned char)n;
	ret = write_all(fd, hdr, sizeof hdr) < 0 || write_all(fd, text, n) < 0 ? -1 : 0;
	free(text);
	return ret;
}

/* Reads one frame; returns its type, or 0 on end of stream or a bad frame. *j is a new reference. */
static char recv_frame(int fd, json_t **j)
{
	unsigned char hdr[5];
	uint32_t n;
	char *text;

	*j = NULL;
	if (read_all(fd, hdr, sizeof hdr) < 0)
		return 0;
	n = (uint32_t)hdr[1] << 24 | (uint32_t)hdr[2] << 16 | (uint32_t)hdr[3] << 8 | hdr[4];
	if (n > FRAME_MAX)
		return 0;
	text = xmalloc((size_t)n + 1);
	if (read_all(fd, text, n) < 0) {
		free(text);
		return 0;
	}
	*j = json_loadb(text, n, JSON_DECODE_ANY, NULL);
	free(text);
	return *j ? (char)hdr[0] : 0;
}

/* ---- the job process ------------------------------------------------------ */

static int child_progress(void *arg, int pct, const char *message, json_t *metadata)
{
	int fd = *(int *)arg;
	json_t *f = json_pack("{s:i,s:s?,s:O?}", "pct", pct, "message", message, "metadata",
			      metadata);
	char answer = 's';

	if (!f || send_frame(fd, 'P', f) < 0 || read_all(fd, &answer, 1) < 0)
		answer = 's';
	json_decref(f);
	return answer == 'c';
}

/* Runs in the forked job process: never returns. */
static void request_child(struct slot *sl, const struct request_record *job, int64_t deadline, int fd)
{
	struct request_sink sink = { child_progress, &fd };
	struct request_input in = {
		.id = job->id, .request_id = job->request_id, .action = job->action,
		.user_id = job->user_id, .tenant_id = job->tenant_id,
		.deadline_ms = deadline, .attempt = (int)job->attempts,
	};
	json_t *result = NULL, *f;
	char code[32] = "PROCESSING_FAILED", msg[512] = "";
	int ok;

	setpgid(0, 0); /* kill(-pid) then reaches whatever the handler starts */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	in.payload = json_loads(job->payload ? job->payload : "null", JSON_DECODE_ANY, NULL);
	if (!in.payload) {
		snprintf(msg, sizeof msg, "The stored payload is not JSON");
		ok = -1;
	} else if (request_validate(job->action, in.payload, msg, sizeof msg) < 0) {
		snprintf(code, sizeof code, "VALIDATION_ERROR");
		ok = -1;
	} else {
		ok = request_run(&sl->cfg, &in, &sink, &result, code, msg, sizeof msg);
	}
	if (ok == 0)
		f = json_incref(result ? result : json_null());
	else
		f = json_pack("{s:s,s:s}", "code", code, "message", msg[0] ? msg : "The handler failed");
	ok = f && send_frame(fd, ok == 0 ? 'R' : 'E', f) == 0;
	json_decref(f);
	json_decref(result);
	json_decref(in.payload);
	_exit(ok ? 0 : 1);
}

/* ---- the slot's side of one job --------------------------------------------- */

struct run {
	struct slot *sl;
	struct request_record *job;
	int64_t lease_ms;
	int last_pushed_pct;
	int64_t last_push_ms;
	int cancel;
};

static json_t *progress_msg(const char *request_id, int pct, const char *message, json_t *metadata)
{
	char ts[32];

	time_rfc3339(time_now_ms(), ts);
	return json_pack("{s:s,s:s,s:i,s:s,s:s,s:O*}", "type", "progress", "request_id", request_id,
			 "percentage", pct, "message", message ? message : "", "timestamp", ts,
			 "metadata", metadata);
}

static json_t *complete_msg(const char *request_id, json_t *result)
{
	char ts[32];

	time_rfc3339(time_now_ms(), ts);
	return json_pack("{s:s,s:s,s:O,s:s}", "type", "complete", "request_id", request_id,
			 "result", result, "timestamp", ts);
}

static json_t *error_msg(const char *request_id, const char *code, const char *message)
{
	return json_pack("{s:s,s:s,s:{s:s,s:s}}", "type", "error", "request_id", request_id,
			 "error", "code", code, "message", message);
}

/* Pushes msg (stolen) to the request's connection; failures are logged, never fatal. */
static void deliver(struct run *r, json_t *msg)
{
	char why[256] = "";

	if (!msg)
		return;
	if (fanout_send_json(r->sl->fanout, FANOUT_CONNECTION, NULL, r->job->connection_id, msg,
			     NULL, why, sizeof why) < 0)
		log_event(LOG_WARN, "job_push_failed",
			  json_pack("{s:s,s:s,s:s,s:s}", "job_id", r->job->id, "request_id",
				    r->job->request_id, "connection_id", r->job->connection_id,
				    "reason", why));
	json_decref(msg);
}

/* A 'P' frame: store and push it when due; returns 1 to let the job go on. */
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
	if (queue_progress(r->sl->q, r->job->id, r->sl->owner, now, r->lease_ms, pct, message,
			   meta_text, &cancel) == STORE_NOTFOUND)
		cancel = 1; /* the lease is gone: someone else runs it now */
	free(meta_text);
	if (cancel) {
		r->cancel = 1;
		return 0;
	}
	deliver(r, progress_msg(r->job->request_id, pct, message, json_is_object(meta) ? meta : NULL));
	r->last_pushed_pct = pct;
	r->last_push_ms = now;
	return 1;
}

static void log_job(const char *event, const struct request_record *job, int64_t started,
		    const char *code)
{
	log_event(code ? LOG_WARN : LOG_INFO, event,
		  json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:s?}", "job_id", job->id,
			    "request_id", job->request_id, "action", job->action,
			    "user", job->user_id, "tenant", job->tenant_id,
			    "attempt", (json_int_t)job->attempts,
			    "duration_us", (json_int_t)((time_now_ms() - started) * 1000),
			    "code", code));
}

/* Stores the end of a job and tells the client. result or (code, message). */
static void finish(struct run *r, json_t *result, const char *code, const char *message,
		   int64_t started)
{
	struct slot *sl = r->sl;
	const char *status = !code ? QUEUE_COMPLETED
			     : strcmp(code, "CANCELLED") == 0 ? QUEUE_CANCELLED : QUEUE_FAILED;
	char *text = result ? json_dumps(result, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	int ret;

	ret = queue_finish(sl->q, r->job->id, sl->owner, time_now_ms(), status, text, code,
			   message, sl->cfg.result_ttl * 1000);
	free(text);
	if (ret != STORE_OK) {
		/* Lost the lease (another processor runs it) or the store failed: say nothing. */
		log_event(LOG_WARN, "job_lost",
			  json_pack("{s:s,s:s,s:s}", "job_id", r->job->id, "status", status,
				    "reason", ret == STORE_NOTFOUND ? "lease lost" : store_errmsg(sl->store)));
		return;
	}
	log_job(code ? (strcmp(status, QUEUE_CANCELLED) == 0 ? "job_cancelled" : "job_failed")
		: "job_completed", r->job, started, code);
	{
		char labels[160];

		snprintf(labels, sizeof labels, "action=\"%s\",outcome=\"%s\"", r->job->action,
			 code ? code : "ok");
		metrics_add("streamer_jobs_total", labels, 1);
		snprintf(labels, sizeof labels, "action=\"%s\"", r->job->action);
		metrics_observe("streamer_job_run_seconds", labels, (time_now_ms() - started) * 1000);
	}
	if (!code) {
		deliver(r, progress_msg(r->job->request_id, 100, "Completed", NULL));
		deliver(r, complete_msg(r->job->request_id, result));
	} else {
		deliver(r, error_msg(r->job->request_id, code, message));
	}
}

/* Kills the job's process group and reaps it. */
static void kill_job(pid_t pid, int grace_ms, int fd)
{
	int64_t until = time_now_ms() + grace_ms;
	int status;

	kill(-pid, SIGTERM);
	kill(pid, SIGTERM);
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (time_now_ms() >= until) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		(void)fd;
		usleep(10000);
	}
	kill(-pid, SIGKILL); /* whatever the handler left behind */
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

static void run_job(struct slot *sl, struct request_record *job)
{
	struct run r = { .sl = sl, .job = job, .last_pushed_pct = -1,
			 .lease_ms = sl->cfg.job_lease * 1000 };
	int64_t started = time_now_ms();
	int64_t deadline = started + sl->cfg.job_timeout * 1000;
	int64_t renew_every = r.lease_ms / 3 > 0 ? r.lease_ms / 3 : 1;
	int64_t next_renew = started + renew_every;
	json_t *outcome = NULL;
	char type = 0;
	int sv[2], status = 0, timed_out = 0;
	pid_t pid;

	log_job("job_started", job, started, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		finish(&r, NULL, "PROCESSING_FAILED", "Could not start the job", started);
		return;
	}
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		if (queue_release(sl->q, job->id, sl->owner, time_now_ms(),
				  time_now_ms() + retry_backoff_ms(job->attempts)) != STORE_OK)
			log_msg(LOG_ERROR, "job_release_failed", "%s", store_errmsg(sl->store));
		return;
	}
	if (pid == 0) {
		/* A job never outlives its slot: a slot killed outright takes its job along. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(sv[0]);
		request_child(sl, job, deadline, sv[1]);
	}
	close(sv[1]);
	setpgid(pid, pid);

	while (!type) {
		int64_t now = time_now_ms();
		int64_t wait = next_renew < deadline ? next_renew - now : deadline - now;
		struct pollfd p = { .fd = sv[0], .events = POLLIN };
		int n;

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		if (stopping)
			break;
		if (now >= next_renew) {
			int cancel = 0;

			if (queue_renew(sl->q, job->id, sl->owner, now, r.lease_ms, &cancel) ==
			    STORE_NOTFOUND)
				r.cancel = 1;
			next_renew = now + renew_every;
			continue;
		}
		n = poll(&p, 1, (int)(wait > 1000 ? 1000 : wait < 1 ? 1 : wait));
		if (n < 0 && errno != EINTR)
			break;
		if (n <= 0)
			continue;
		json_decref(outcome);
		type = recv_frame(sv[0], &outcome);
		if (type == 'P') {
			char answer = on_progress(&r, outcome) ? 'c' : 's';

			type = 0;
			if (write_all(sv[0], &answer, 1) < 0)
				break;
			if (answer == 's')
				break;
		} else if (type != 'R' && type != 'E') {
			type = 'X'; /* end of stream without a result: the job died */
		}
	}

	if (type == 'R' || type == 'E') {
		waitpid(pid, &status, 0);
		kill(-pid, SIGKILL);
	} else {
		/* Cancelled, timed out, stopping, or the job died: make sure it is gone. */
		kill_job(pid, r.cancel || stopping ? STOP_GRACE_MS : 0, sv[0]);
	}
	close(sv[0]);

	if (type == 'R') {
		finish(&r, outcome, NULL, NULL, started);
	} else if (type == 'E') {
		const char *code = json_string_value(json_object_get(outcome, "code"));
		const char *msg = json_string_value(json_object_get(outcome, "message"));

		if (r.cancel || (code && strcmp(code, "CANCELLED") == 0))
			finish(&r, NULL, "CANCELLED", "Cancelled by the client", started);
		else
			finish(&r, NULL, code ? code : "PROCESSING_FAILED",
			       msg ? msg : "The handler failed", started);
	} else if (timed_out) {
		char m[128];

		snprintf(m, sizeof m, "The request ran longer than STREAMER_JOB_TIMEOUT (%lld s)",
			 (long long)sl->cfg.job_timeout);
		finish(&r, NULL, "TIMEOUT", m, started);
	} else if (r.cancel) {
		finish(&r, NULL, "CANCELLED", "Cancelled by the client", started);
	} else if (stopping) {
		/* Shutting down: hand it back for another processor, at once. */
		if (queue_release(sl->q, job->id, sl->owner, time_now_ms(), time_now_ms()) == STORE_OK)
			log_job("job_released", job, started, NULL);
	} else if (job->attempts < sl->cfg.job_max_attempts) {
		/* The job process crashed: retry after a backoff. */
		if (queue_release(sl->q, job->id, sl->owner, time_now_ms(),
				  time_now_ms() + retry_backoff_ms(job->attempts)) == STORE_OK)
			log_job("job_retry", job, started, "PROCESSING_FAILED");
	} else {
		char m[160];

		snprintf(m, sizeof m, "The handler crashed on each of %lld attempts",
			 (long long)job->attempts);
		finish(&r, NULL, "PROCESSING_FAILED", m, started);
	}
	json_decref(outcome);
}

/* ---- slots and the supervisor --------------------------------------------- */

static int slot_open(struct slot *sl, char *err, size_t errlen)
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
	if (!sl->q) {
		snprintf(err, errlen, "STREAMER_DB: %s", store_errmsg(sl->store));
		return -1;
	}
	if (request_runtime_init(&sl->cfg, err, errlen) < 0)
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

static void slot_close(struct slot *sl)
{
	if (sl->store)
		store_wake_close(sl->store);
	fanout_close(sl->fanout);
	request_runtime_free();
	queue_close(sl->q);
	store_close(sl->store);
	config_free(&sl->cfg);
	memset(sl, 0, sizeof *sl);
}

/* One slot's life: claim, run, repeat; wait for a wake-up when idle. Returns the exit status. */
static int slot_main(int once)
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
	while (!stopping) {
		struct request_record job = { 0 };
		int64_t now = time_now_ms();
		int ret = queue_claim(sl.q, sl.owner, now, sl.cfg.job_lease * 1000, &job);

		if (ret == STORE_OK) {
			if (job.attempts == 1)
				metrics_observe("streamer_job_queue_wait_seconds", NULL,
						(now - job.created_at) * 1000);
			if (job.attempts > sl.cfg.job_max_attempts) {
				struct run r = { .sl = &sl, .job = &job };
				char m[160];

				snprintf(m, sizeof m, "Gave up after %lld attempts (the processor stopped each time)",
					 (long long)job.attempts - 1);
				finish(&r, NULL, "PROCESSING_FAILED", m, now);
			} else {
				run_job(&sl, &job);
			}
			request_record_free(&job);
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

static void usage(FILE *to)
{
	fprintf(to,
		"Usage: streamer processor [--concurrency N] [--once]\n"
		"Runs queued async requests: claims them from the database (STREAMER_DB)\n"
		"with a lease, runs each handler in its own process, stores and pushes\n"
		"progress and results through STREAMER_CALLBACK_URL.\n\n"
		"  -c, --concurrency N  requests run at once (processes), 1-256 (default 1)\n"
		"      --once           run what is queued now, then exit\n"
		"  -h, --help           this text\n\n"
		"SIGTERM or SIGINT: running requests are stopped and handed back to the\n"
		"queue for another processor. Settings: STREAMER_JOB_LEASE,\n"
		"STREAMER_JOB_MAX_ATTEMPTS, STREAMER_JOB_TIMEOUT, STREAMER_RESULT_TTL and\n"
		"the rest of 'streamer-fcgi --help'.\n");
}

int processor_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_stop };
	long concurrency = 1;
	int c, once = 0, restarts = 0;
	pid_t *kids;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			errno = 0;
			concurrency = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || concurrency < 1 || concurrency > 256) {
				fprintf(stderr, "streamer processor: --concurrency must be 1-256\n");
				return 2;
			}
			break;
		case 'o':
			once = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	{
		/* Check the settings once in the foreground, so a bad one is a clear exit 1. */
		struct slot probe;
		char err[512];
		int bad = slot_open(&probe, err, sizeof err) < 0;

		slot_close(&probe);
		if (bad) {
			fprintf(stderr, "streamer processor: %s\n", err);
			return 1;
		}
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (concurrency == 1 || once)
		return slot_main(once);

	/*
	 * A supervisor: one process per slot, each restarted if it dies. The
	 * signals it waits for stay blocked except inside sigsuspend, so a
	 * SIGTERM between the check of `stopping` and the wait cannot be lost.
	 */
	kids = xcalloc((size_t)concurrency, sizeof *kids);
	{
		struct sigaction chld = { .sa_handler = on_child };
		sigset_t block;

		sigemptyset(&chld.sa_mask);
		sigaction(SIGCHLD, &chld, NULL);
		sigemptyset(&block);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGINT);
		sigaddset(&block, SIGCHLD);
		sigprocmask(SIG_BLOCK, &block, &wait_mask);
	}
	while (!stopping) {
		int status, reaped = 0;
		pid_t pid;

		for (long i = 0; i < concurrency && !stopping; i++) {
			if (kids[i] > 0)
				continue;
			pid = fork();
			if (pid == 0) {
				/* The slot dies with the supervisor, even one killed with SIGKILL. */
				prctl(PR_SET_PDEATHSIG, SIGTERM);
				sigprocmask(SIG_SETMASK, &wait_mask, NULL);
				if (getppid() == 1)
					_exit(0);
				free(kids);
				_exit(slot_main(0));
			}
			kids[i] = pid > 0 ? pid : 0;
		}
		while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
			reaped = 1;
			for (long i = 0; i < concurrency; i++) {
				if (kids[i] != pid)
					continue;
				kids[i] = 0;
				if (!stopping) {
					if (++restarts > 3 * concurrency)
						sleep(1); /* a slot that keeps dying must not spin */
					log_msg(LOG_WARN, "processor_restart", "slot process %ld exited (status %d)",
						(long)pid, status);
				}
			}
		}
		if (!reaped && !stopping)
			sigsuspend(&wait_mask);
	}
	for (long i = 0; i < concurrency; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (long i = 0; i < concurrency; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	free(kids);
	return 0;
}

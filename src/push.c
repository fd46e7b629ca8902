/* push.c - the push client: messages and closes to the proxy's callback URLs (every Pushpin node's publish API, or API Gateway @connections), with retries and a circuit breaker per node. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <jansson.h>

#include "log.h"
#include "metrics.h"
#include "push.h"
#include "util.h"

/* Pushpin refuses publish bodies over 1,000,000 bytes; stay under it with room for the envelope. */
#define PUBLISH_BODY_MAX 900000
#define BACKOFF_FIRST_MS 100
#define BACKOFF_CAP_MS 5000
/* Bytes of a response body kept for error messages. */
#define ANSWER_KEEP 200
#define WHY_MAX 512

/* How one target's part of a delivery ended. */
enum target_result {
	T_OK,          /* 2xx */
	T_STALE,       /* 410 from apigw */
	T_FAILED,      /* answered but did not take it (4xx, 5xx after retries), or out of time */
	T_UNREACHABLE, /* no connection (refused, connect timeout, name), or its circuit is open */
};

/* Where a target is in one delivery. */
enum target_state { S_READY, S_RUNNING, S_WAITING, S_DONE };

/* One callback URL (a Pushpin node's publish endpoint, or the apigw stage). */
struct target {
	CURL *curl;
	char *url;               /* without a trailing slash for apigw */
	int node;                /* 1-based position in STREAMER_CALLBACK_URL */
	int curl_prepared;       /* the handle has the options every push shares (prepare_curl) */
	/* its circuit breaker */
	int failures;            /* failed attempts in a row */
	int64_t open_until;      /* monotonic ms; 0 = closed */
	int trial;               /* the breaker let one trial attempt through */
	/* the delivery in progress */
	enum target_state state;
	enum target_result result;
	int attempts;
	int64_t wake_at;         /* S_WAITING: monotonic ms of the next attempt */
	char answer[ANSWER_KEEP + 1];
	size_t answer_len;
	char why[WHY_MAX];
};

struct push {
	CURLM *multi;
	struct target *t;
	size_t nt;
	enum callback_style style;
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	int64_t breaker_reset_ms;
	char *sigv4;             /* "aws:amz:<region>:execute-api", NULL = unsigned */
	char *aws_key, *aws_secret;
	struct curl_slist *json_headers;
	uint64_t rng;
};

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t now_ms(void)
{
	return time_mono_us() / 1000;
}

/* xorshift64: jitter needs no quality, only independence between processes. */
static uint64_t next_random(struct push *p)
{
	p->rng ^= p->rng << 13;
	p->rng ^= p->rng >> 7;
	p->rng ^= p->rng << 17;
	return p->rng;
}

/* The pause before attempt number `attempt` + 1: 100 ms, 200 ms, ... ±25 %, at most 5 s. */
static int64_t backoff_ms(struct push *p, int attempt)
{
	int64_t base = BACKOFF_FIRST_MS << (attempt - 1);
	int64_t span;

	if (base > BACKOFF_CAP_MS)
		base = BACKOFF_CAP_MS;
	span = base / 2; /* -25 % .. +25 % */
	base = base - base / 4 + (int64_t)(next_random(p) % (uint64_t)(span + 1));
	return base > BACKOFF_CAP_MS ? BACKOFF_CAP_MS : base;
}

static size_t keep_answer(char *data, size_t size, size_t nmemb, void *arg)
{
	struct target *t = arg;
	size_t n = size * nmemb, room = ANSWER_KEEP - t->answer_len;

	if (room > 0) {
		size_t take = n < room ? n : room;

		memcpy(t->answer + t->answer_len, data, take);
		t->answer_len += take;
		t->answer[t->answer_len] = '\0';
	}
	return n;
}

/* One target per URL of STREAMER_CALLBACK_URL (config.c split and checked them). */
static int targets_open(struct push *p, const struct strvec *urls, char *err, size_t errlen)
{
	p->t = xcalloc(urls->n ? urls->n : 1, sizeof *p->t);
	for (size_t i = 0; i < urls->n; i++) {
		struct target *t = &p->t[p->nt++];
		size_t n = strlen(urls->v[i]);

		if (p->style == CALLBACK_APIGW)
			while (n > 0 && urls->v[i][n - 1] == '/')
				n--;
		t->url = xstrndup(urls->v[i], n);
		t->node = (int)p->nt;
		t->curl = curl_easy_init();
		if (!t->curl)
			return err_printf(err, errlen, "STREAMER_CALLBACK_URL: cannot create a libcurl handle");
	}
	return 0;
}

int push_open(struct push **out, const struct config *cfg, char *err, size_t errlen)
{
	struct push *p = xcalloc(1, sizeof *p);
	static int curl_ready;

	*out = NULL;
	p->style = cfg->callback_style;
	p->connect_timeout_ms = cfg->callback_connect_timeout_ms;
	p->timeout_ms = cfg->callback_timeout_ms;
	p->breaker_reset_ms = cfg->callback_breaker_reset * 1000;
	random_bytes(&p->rng, sizeof p->rng);
	p->rng |= 1;
	if (cfg->aws_region) {
		struct buf b = { 0 };

		buf_printf(&b, "aws:amz:%s:execute-api", cfg->aws_region);
		p->sigv4 = buf_detach(&b);
		p->aws_key = xstrdup(cfg->aws_access_key_id);
		p->aws_secret = xstrdup(cfg->aws_secret_access_key);
	}
	if (!curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "STREAMER_CALLBACK_URL: libcurl failed to initialise");
			push_close(p);
			return -1;
		}
		curl_ready = 1;
	}
	p->multi = curl_multi_init();
	if (!p->multi) {
		snprintf(err, errlen, "STREAMER_CALLBACK_URL: cannot create a libcurl multi handle");
		push_close(p);
		return -1;
	}
	if (targets_open(p, &cfg->callback_urls, err, errlen) < 0) {
		push_close(p);
		return -1;
	}
	p->json_headers = curl_slist_append(NULL, "Content-Type: application/json");
	p->json_headers = curl_slist_append(p->json_headers, "Expect:");
	if (cfg->aws_session_token) {
		struct buf b = { 0 };

		buf_printf(&b, "X-Amz-Security-Token: %s", cfg->aws_session_token);
		p->json_headers = curl_slist_append(p->json_headers, b.data);
		buf_free(&b);
	}
	*out = p;
	return 0;
}

void push_close(struct push *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nt; i++) {
		struct target *t = &p->t[i];

		if (t->open_until)
			metrics_add("streamer_push_circuit_open", NULL, -1);
		if (t->curl)
			curl_easy_cleanup(t->curl);
		free(t->url);
	}
	free(p->t);
	if (p->multi)
		curl_multi_cleanup(p->multi);
	curl_slist_free_all(p->json_headers);
	free(p->sigv4);
	free(p->aws_key);
	free(p->aws_secret);
	free(p);
}

int push_configured(const struct push *p)
{
	return p && p->nt > 0;
}

enum callback_style push_style(const struct push *p)
{
	return p->style;
}

/* Whether t's connection was refused or never came up (as opposed to an answer or a cut). */
static int connect_failed(CURL *c, CURLcode rc)
{
	curl_off_t connected = 0;

	if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	    rc == CURLE_COULDNT_RESOLVE_PROXY)
		return 1;
	if (rc != CURLE_OPERATION_TIMEDOUT)
		return 0;
	curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connected);
	return connected == 0;
}

/*
 * Tries a TCP (and TLS) connection to t within the connect timeout; 0 or
 * -1 with the reason in why.
 */
static int probe_target(struct push *p, struct target *t, char *why, size_t whylen)
{
	int64_t now = now_ms();
	CURLcode rc;

	if (t->open_until && now < t->open_until) {
		snprintf(why, whylen, "%s: circuit open after %d failed attempts", t->url, t->failures);
		return -1;
	}
	curl_easy_reset(t->curl);
	curl_easy_setopt(t->curl, CURLOPT_URL, t->url);
	curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(t->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(t->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	rc = curl_easy_perform(t->curl);
	/* A connect-only handle cannot be reused for transfers: start afresh next time. */
	curl_easy_cleanup(t->curl);
	t->curl = curl_easy_init();
	t->curl_prepared = 0;
	if (!t->curl) {
		snprintf(why, whylen, "cannot create a libcurl handle");
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s: %s", t->url, curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

int push_probe(struct push *p, char *why, size_t whylen)
{
	char one[WHY_MAX];
	size_t down = 0;

	if (!push_configured(p)) {
		snprintf(why, whylen, "STREAMER_CALLBACK_URL is not set");
		return -1;
	}
	for (size_t i = 0; i < p->nt; i++) {
		if (probe_target(p, &p->t[i], one, sizeof one) == 0)
			continue;
		if (!down++)
			snprintf(why, whylen, "%s", one);
	}
	if (down == p->nt)
		return -1;
	if (!down)
		return 0;
	snprintf(why, whylen, "%zu of %zu callback nodes unreachable", down, p->nt);
	return 1;
}

/* Breaker bookkeeping after an attempt that reached (ok) or did not reach (!ok) a working target. */
static void breaker_note(struct push *p, struct target *t, int ok, const char *why)
{
	if (ok) {
		if (t->open_until) {
			metrics_add("streamer_push_circuit_open", NULL, -1);
			log_event(LOG_INFO, "push_circuit_closed",
				  json_pack("{s:s,s:i}", "url", t->url, "node", t->node));
		}
		t->failures = 0;
		t->open_until = 0;
		t->trial = 0;
		return;
	}
	t->failures++;
	if (t->trial || t->failures >= PUSH_BREAKER_FAILURES) {
		if (!t->open_until)
			metrics_add("streamer_push_circuit_open", NULL, 1);
		t->open_until = now_ms() + p->breaker_reset_ms;
		t->trial = 0;
		log_event(LOG_WARN, "push_circuit_open",
			  json_pack("{s:s,s:i,s:i,s:I,s:s}", "url", t->url, "node", t->node,
				    "failures", t->failures, "reset_ms", (json_int_t)p->breaker_reset_ms,
				    "error", why));
	}
}

/*
 * Sets the options every push shares on t's handle, once per handle (not
 * per push): only the URL, the timeouts and the method change between
 * attempts (start_attempt sets those).
 */
static void prepare_curl(struct push *p, struct target *t)
{
	CURL *c = t->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(c, CURLOPT_PRIVATE, t);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->json_headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "streamer");
	if (p->sigv4) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, p->sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, p->aws_key);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p->aws_secret);
	}
	t->curl_prepared = 1;
}

/* One request being delivered to every target. */
struct delivery {
	const char *method;
	const char *path;        /* appended to the target's URL (apigw), or NULL */
	const char *body;        /* NULL = none */
	size_t len;
	int64_t deadline;        /* monotonic ms */
};

/* Starts t's next attempt on the multi handle, or ends t when the breaker or the clock says no. */
static void start_attempt(struct push *p, struct target *t, const struct delivery *d)
{
	int64_t now = now_ms(), left = d->deadline - now;
	CURL *c = t->curl;
	struct buf url = { 0 };

	if (t->open_until) {
		if (now < t->open_until) {
			snprintf(t->why, sizeof t->why, "callback %s: circuit open after %d failed attempts; "
				 "next trial in %lld ms", t->url, t->failures, (long long)(t->open_until - now));
			t->state = S_DONE;
			t->result = T_UNREACHABLE;
			return;
		}
		t->trial = 1;
	}
	if (left <= 0) {
		snprintf(t->why, sizeof t->why, "callback %s: no answer within STREAMER_CALLBACK_TIMEOUT "
			 "(%lld ms)", t->url, (long long)p->timeout_ms);
		t->state = S_DONE;
		t->result = T_FAILED;
		return;
	}
	if (t->attempts++ > 0)
		metrics_add("streamer_push_retries_total", NULL, 1);
	if (!t->curl_prepared)
		prepare_curl(p, t);
	t->answer_len = 0;
	t->answer[0] = '\0';
	buf_puts(&url, t->url);
	if (d->path)
		buf_puts(&url, d->path);
	curl_easy_setopt(c, CURLOPT_URL, url.data); /* libcurl copies it */
	buf_free(&url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(p->connect_timeout_ms < left ? p->connect_timeout_ms : left));
	if (d->body) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* no body: undoes an earlier POST */
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, d->method);
	}
	if (curl_multi_add_handle(p->multi, c) != CURLM_OK) {
		snprintf(t->why, sizeof t->why, "callback %s: cannot start a transfer", t->url);
		t->state = S_DONE;
		t->result = T_FAILED;
		return;
	}
	t->state = S_RUNNING;
}

/* After t's attempt ended with rc: its result, a retry, or a pause before one. */
static void finish_attempt(struct push *p, struct target *t, const struct delivery *d, CURLcode rc)
{
	long status = 0;
	int retry, unreachable = 0;
	int64_t pause;
	char node[16];

	curl_multi_remove_handle(p->multi, t->curl);
	if (rc != CURLE_OK) {
		snprintf(t->why, sizeof t->why, "%s %s: %s", d->method, t->url, curl_easy_strerror(rc));
		unreachable = connect_failed(t->curl, rc);
		retry = 1;
	} else {
		curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
		if (status >= 200 && status < 300) {
			breaker_note(p, t, 1, NULL);
			t->state = S_DONE;
			t->result = T_OK;
			return;
		}
		for (size_t i = 0; i < t->answer_len; i++)
			if ((unsigned char)t->answer[i] < 0x20)
				t->answer[i] = ' ';
		snprintf(t->why, sizeof t->why, "%s %s: HTTP %ld %s", d->method, t->url, status, t->answer);
		retry = status == 429 || status >= 500;
	}
	/* A 4xx or a 429 comes from a working target: only transport errors and 5xx count against it. */
	breaker_note(p, t, !retry || status == 429, t->why);
	t->state = S_DONE;
	if (status == 410 && p->style == CALLBACK_APIGW) {
		t->result = T_STALE;
		return;
	}
	snprintf(node, sizeof node, "%d", t->node);
	metrics_add_labels("streamer_push_node_failures_total", "node", node, NULL, NULL, 1);
	t->result = unreachable ? T_UNREACHABLE : T_FAILED;
	/*
	 * With several nodes a node that takes no connection is given up at
	 * once, so it holds the others up by its connect timeout at most.
	 */
	if (!retry || (unreachable && p->nt > 1) || t->attempts >= PUSH_ATTEMPTS || t->open_until)
		return;
	pause = backoff_ms(p, t->attempts);
	if (now_ms() + pause >= d->deadline)
		return;
	t->state = S_WAITING;
	t->wake_at = now_ms() + pause;
}

/*
 * Runs d on every target at once (one multi handle), each with its own
 * retries and breaker, until each is done. The outcome: PUSH_OK when at
 * least one target took it and every other took it too or could not be
 * reached (a node that is down misses what it cannot deliver anyway);
 * PUSH_STALE for apigw's 410; else PUSH_FAILED with the first reason.
 */
static enum push_outcome deliver(struct push *p, const struct delivery *d, char *why, size_t whylen)
{
	size_t ok = 0, stale = 0, failed = 0, left = p->nt;
	const struct target *first_failed = NULL, *first_unreachable = NULL;

	for (size_t i = 0; i < p->nt; i++) {
		p->t[i].state = S_READY;
		p->t[i].attempts = 0;
		p->t[i].why[0] = '\0';
	}
	while (left > 0) {
		int64_t now = now_ms(), wait = d->deadline - now;
		int running = 0, waiting = 0;
		struct CURLMsg *msg;
		int queued;

		for (size_t i = 0; i < p->nt; i++) {
			struct target *t = &p->t[i];

			if (t->state == S_WAITING && now >= t->wake_at)
				t->state = S_READY;
			if (t->state == S_READY)
				start_attempt(p, t, d);
			if (t->state == S_RUNNING) {
				running++;
			} else if (t->state == S_WAITING) {
				waiting++;
				if (t->wake_at - now < wait)
					wait = t->wake_at - now;
			}
		}
		if (wait < 0)
			wait = 0;
		if (running) {
			int still;

			curl_multi_perform(p->multi, &still);
			if (still)
				curl_multi_poll(p->multi, NULL, 0, (int)(wait > 1000 ? 1000 : wait < 1 ? 1 : wait), NULL);
			curl_multi_perform(p->multi, &still);
		} else if (waiting && wait > 0) {
			sleep_ms(wait);
		}
		while ((msg = curl_multi_info_read(p->multi, &queued))) {
			struct target *t = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			if (t && t->state == S_RUNNING)
				finish_attempt(p, t, d, msg->data.result);
		}
		left = 0;
		for (size_t i = 0; i < p->nt; i++)
			left += p->t[i].state != S_DONE;
	}
	for (size_t i = 0; i < p->nt; i++) {
		const struct target *t = &p->t[i];

		if (t->result == T_OK) {
			ok++;
		} else if (t->result == T_STALE) {
			stale++;
		} else if (t->result == T_FAILED) {
			if (!failed++)
				first_failed = t;
		} else {
			if (!first_unreachable)
				first_unreachable = t;
			if (p->nt > 1)
				log_event(LOG_WARN, "push_node_missed",
					  json_pack("{s:s,s:i,s:i,s:s}", "url", t->url, "node", t->node,
						    "attempts", t->attempts, "error", t->why));
		}
	}
	if (stale)
		return PUSH_STALE;
	if (ok && !failed)
		return PUSH_OK;
	if (first_failed)
		snprintf(why, whylen, "%s", first_failed->why);
	else if (p->nt > 1)
		snprintf(why, whylen, "no callback node took it (%s)", first_unreachable->why);
	else
		snprintf(why, whylen, "%s", first_unreachable->why);
	return PUSH_FAILED;
}

/* The publish item of one push item (pushpin style). New reference. */
static json_t *publish_item(const struct push_item *it)
{
	json_t *ws;

	if (it->close) {
		ws = json_pack("{s:s}", "action", "close");
		if (it->code > 0)
			json_object_set_new(ws, "code", json_integer(it->code));
		if (it->reason)
			json_object_set_new(ws, "reason", json_string(it->reason));
	} else {
		ws = json_pack("{s:s}", "content", it->content ? it->content : "");
	}
	return json_pack("{s:s,s:{s:o}}", "channel", it->target, "formats", "ws-message", ws);
}

static void record(struct push *p, const char *outcome, int64_t started, size_t n)
{
	char labels[96];

	snprintf(labels, sizeof labels, "style=\"%s\",outcome=\"%s\"",
		 p->style == CALLBACK_APIGW ? "apigw" : "pushpin", outcome);
	metrics_add("streamer_pushes_total", labels, (int64_t)n);
	metrics_observe("streamer_push_duration_seconds", NULL, (now_ms() - started) * 1000);
}

/* Sends items[from..to) in one publish to every node; sets their outcomes. */
static void publish(struct push *p, struct push_item *items, size_t from, size_t to, char *body,
		    size_t len, int64_t deadline, char *why, size_t whylen, size_t *failed)
{
	int64_t started = now_ms();
	struct delivery d = { .method = "POST", .body = body, .len = len, .deadline = deadline };
	enum push_outcome o = deliver(p, &d, why, whylen);

	for (size_t i = from; i < to; i++)
		items[i].outcome = o;
	if (o != PUSH_OK)
		*failed += to - from;
	record(p, o == PUSH_OK ? "ok" : "failed", started, to - from);
}

static size_t send_pushpin(struct push *p, struct push_item *items, size_t n, int64_t deadline,
			   char *why, size_t whylen)
{
	struct buf body = { 0 };
	size_t failed = 0, from = 0;
	char first[WHY_MAX] = "";

	for (size_t i = 0; i < n; i++) {
		json_t *item = publish_item(&items[i]);
		char *text = item ? json_dumps(item, JSON_COMPACT) : NULL;
		size_t tlen = text ? strlen(text) : 0;

		json_decref(item);
		if (!text) {
			items[i].outcome = PUSH_FAILED;
			failed++;
			continue;
		}
		if (body.len && body.len + tlen + 4 > PUBLISH_BODY_MAX) {
			buf_puts(&body, "]}");
			publish(p, items, from, i, body.data, body.len, deadline, why, whylen, &failed);
			if (failed && !first[0])
				snprintf(first, sizeof first, "%s", why);
			buf_reset(&body);
		}
		if (!body.len) {
			buf_puts(&body, "{\"items\":[");
			from = i;
		} else {
			buf_putc(&body, ',');
		}
		buf_append(&body, text, tlen);
		free(text);
	}
	if (body.len) {
		buf_puts(&body, "]}");
		publish(p, items, from, n, body.data, body.len, deadline, why, whylen, &failed);
	}
	if (first[0])
		snprintf(why, whylen, "%s", first);
	buf_free(&body);
	return failed;
}

static size_t send_apigw(struct push *p, struct push_item *items, size_t n, int64_t deadline,
			 char *why, size_t whylen)
{
	size_t failed = 0;
	char first[WHY_MAX] = "", one[WHY_MAX];

	for (size_t i = 0; i < n; i++) {
		char *id = curl_easy_escape(p->t[0].curl, items[i].target, 0);
		struct buf path = { 0 };
		int64_t started = now_ms();
		const char *c = items[i].content ? items[i].content : "";
		struct delivery d = { .deadline = deadline };

		buf_printf(&path, "/@connections/%s", id ? id : "");
		curl_free(id);
		d.path = path.data;
		if (items[i].close) {
			d.method = "DELETE";
		} else {
			d.method = "POST";
			d.body = c;
			d.len = strlen(c);
		}
		one[0] = '\0';
		items[i].outcome = deliver(p, &d, one, sizeof one);
		buf_free(&path);
		record(p, items[i].outcome == PUSH_OK ? "ok" : items[i].outcome == PUSH_STALE ? "stale"
			  : "failed", started, 1);
		if (items[i].outcome == PUSH_FAILED) {
			failed++;
			if (!first[0])
				snprintf(first, sizeof first, "%s", one);
		}
	}
	if (first[0])
		snprintf(why, whylen, "%s", first);
	return failed;
}

size_t push_send(struct push *p, struct push_item *items, size_t n, char *why, size_t whylen)
{
	int64_t deadline;

	if (whylen)
		why[0] = '\0';
	if (!push_configured(p)) {
		for (size_t i = 0; i < n; i++)
			items[i].outcome = PUSH_FAILED;
		snprintf(why, whylen, "no callback: STREAMER_CALLBACK_URL is not set");
		return n;
	}
	deadline = now_ms() + p->timeout_ms;
	if (p->style == CALLBACK_APIGW)
		return send_apigw(p, items, n, deadline, why, whylen);
	return send_pushpin(p, items, n, deadline, why, whylen);
}

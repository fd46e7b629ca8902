/* push.c - the push client: messages and closes to the proxy's callback URL (Pushpin publish or API Gateway @connections), with retries and a circuit breaker. */
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

struct push {
	CURL *curl;
	char *url;               /* without a trailing slash for apigw */
	enum callback_style style;
	int64_t connect_timeout_ms;
	int64_t timeout_ms;
	int64_t breaker_reset_ms;
	char *sigv4;             /* "aws:amz:<region>:execute-api", NULL = unsigned */
	char *aws_key, *aws_secret;
	struct curl_slist *json_headers;
	int curl_prepared;       /* the handle has the options every push shares (prepare_curl) */
	/* the circuit breaker of the callback URL */
	int failures;            /* failed attempts in a row */
	int64_t open_until;      /* monotonic ms; 0 = closed */
	int trial;               /* the breaker let one trial attempt through */
	/* the last answer */
	char answer[ANSWER_KEEP + 1];
	size_t answer_len;
	uint64_t rng;
};

static void sleep_ms(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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
	struct push *p = arg;
	size_t n = size * nmemb, room = ANSWER_KEEP - p->answer_len;

	if (room > 0) {
		size_t take = n < room ? n : room;

		memcpy(p->answer + p->answer_len, data, take);
		p->answer_len += take;
		p->answer[p->answer_len] = '\0';
	}
	return n;
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
	if (cfg->callback_url) {
		size_t n = strlen(cfg->callback_url);

		if (p->style == CALLBACK_APIGW)
			while (n > 0 && cfg->callback_url[n - 1] == '/')
				n--;
		p->url = xstrndup(cfg->callback_url, n);
	}
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
	p->curl = curl_easy_init();
	if (!p->curl) {
		snprintf(err, errlen, "STREAMER_CALLBACK_URL: cannot create a libcurl handle");
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
	if (p->open_until)
		metrics_add("streamer_push_circuit_open", NULL, -1);
	if (p->curl)
		curl_easy_cleanup(p->curl);
	curl_slist_free_all(p->json_headers);
	free(p->url);
	free(p->sigv4);
	free(p->aws_key);
	free(p->aws_secret);
	free(p);
}

int push_configured(const struct push *p)
{
	return p && p->url;
}

enum callback_style push_style(const struct push *p)
{
	return p->style;
}

int push_probe(struct push *p, char *why, size_t whylen)
{
	int64_t now = time_mono_us() / 1000;
	CURLcode rc;

	if (!push_configured(p)) {
		snprintf(why, whylen, "STREAMER_CALLBACK_URL is not set");
		return -1;
	}
	if (p->open_until && now < p->open_until) {
		snprintf(why, whylen, "circuit open after %d failed attempts", p->failures);
		return -1;
	}
	curl_easy_reset(p->curl);
	curl_easy_setopt(p->curl, CURLOPT_URL, p->url);
	curl_easy_setopt(p->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(p->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(p->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(p->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)p->connect_timeout_ms);
	rc = curl_easy_perform(p->curl);
	/* A connect-only handle cannot be reused for transfers: start afresh next time. */
	curl_easy_cleanup(p->curl);
	p->curl = curl_easy_init();
	p->curl_prepared = 0;
	if (!p->curl) {
		snprintf(why, whylen, "cannot create a libcurl handle");
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s: %s", p->url, curl_easy_strerror(rc));
		return -1;
	}
	return 0;
}

/* How one attempt ended. */
enum attempt_result {
	ATTEMPT_OK,
	ATTEMPT_STALE,   /* 410 from apigw */
	ATTEMPT_FINAL,   /* a 4xx other than 429: retrying cannot help */
	ATTEMPT_RETRY,   /* transport error, 5xx, 429 */
};

/* Breaker bookkeeping after an attempt that reached (ok) or did not reach (!ok) a working callback. */
static void breaker_note(struct push *p, int ok, const char *why)
{
	if (ok) {
		if (p->open_until) {
			metrics_add("streamer_push_circuit_open", NULL, -1);
			log_event(LOG_INFO, "push_circuit_closed", json_pack("{s:s}", "url", p->url));
		}
		p->failures = 0;
		p->open_until = 0;
		p->trial = 0;
		return;
	}
	p->failures++;
	if (p->trial || p->failures >= PUSH_BREAKER_FAILURES) {
		if (!p->open_until)
			metrics_add("streamer_push_circuit_open", NULL, 1);
		p->open_until = time_mono_us() / 1000 + p->breaker_reset_ms;
		p->trial = 0;
		log_event(LOG_WARN, "push_circuit_open",
			  json_pack("{s:s,s:i,s:I,s:s}", "url", p->url, "failures", p->failures,
				    "reset_ms", (json_int_t)p->breaker_reset_ms, "error", why));
	}
}

/*
 * One HTTP request: method with body (NULL = none) to url, within
 * timeout_ms. Fills why on anything but ATTEMPT_OK.
 */
/*
 * Sets the options every push shares on p's handle, once per handle (not
 * per push): only the URL, the timeouts and the method change between
 * attempts (attempt sets those).
 */
static void prepare_curl(struct push *p)
{
	CURL *c = p->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_answer);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, p);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, p->json_headers);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "streamer");
	if (p->sigv4) {
		curl_easy_setopt(c, CURLOPT_AWS_SIGV4, p->sigv4);
		curl_easy_setopt(c, CURLOPT_USERNAME, p->aws_key);
		curl_easy_setopt(c, CURLOPT_PASSWORD, p->aws_secret);
	}
	p->curl_prepared = 1;
}

static enum attempt_result attempt(struct push *p, const char *method, const char *url,
				   const char *body, size_t len, int64_t timeout_ms, char *why,
				   size_t whylen)
{
	CURL *c = p->curl;
	CURLcode rc;
	long status = 0;

	if (!p->curl_prepared)
		prepare_curl(p);
	p->answer_len = 0;
	p->answer[0] = '\0';
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(p->connect_timeout_ms < timeout_ms ? p->connect_timeout_ms : timeout_ms));
	if (body) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L); /* no body: undoes an earlier POST */
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s %s: %s", method, p->url, curl_easy_strerror(rc));
		return ATTEMPT_RETRY;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status < 300)
		return ATTEMPT_OK;
	for (size_t i = 0; i < p->answer_len; i++)
		if ((unsigned char)p->answer[i] < 0x20)
			p->answer[i] = ' ';
	snprintf(why, whylen, "%s %s: HTTP %ld %s", method, p->url, status, p->answer);
	if (status == 410 && p->style == CALLBACK_APIGW)
		return ATTEMPT_STALE;
	if (status == 429 || status >= 500)
		return ATTEMPT_RETRY;
	return ATTEMPT_FINAL;
}

/*
 * One request with retries, the breaker and the deadline (monotonic ms) of
 * the whole push_send call.
 */
static enum push_outcome request(struct push *p, const char *method, const char *url,
				 const char *body, size_t len, int64_t deadline, char *why,
				 size_t whylen)
{
	for (int n = 1;; n++) {
		int64_t now = time_mono_us() / 1000, pause;
		enum attempt_result r;

		if (p->open_until) {
			if (now < p->open_until) {
				snprintf(why, whylen, "callback %s: circuit open after %d failed attempts; "
					 "next trial in %lld ms", p->url, p->failures,
					 (long long)(p->open_until - now));
				return PUSH_FAILED;
			}
			p->trial = 1;
		}
		if (now >= deadline) {
			snprintf(why, whylen, "callback %s: no answer within STREAMER_CALLBACK_TIMEOUT "
				 "(%lld ms)", p->url, (long long)p->timeout_ms);
			return PUSH_FAILED;
		}
		if (n > 1)
			metrics_add("streamer_push_retries_total", NULL, 1);
		r = attempt(p, method, url, body, len, deadline - now, why, whylen);
		breaker_note(p, r != ATTEMPT_RETRY || strstr(why, "HTTP 429"), why);
		if (r == ATTEMPT_OK)
			return PUSH_OK;
		if (r == ATTEMPT_STALE)
			return PUSH_STALE;
		if (r == ATTEMPT_FINAL || n >= PUSH_ATTEMPTS || p->open_until)
			return PUSH_FAILED;
		pause = backoff_ms(p, n);
		if (time_mono_us() / 1000 + pause >= deadline)
			return PUSH_FAILED;
		sleep_ms(pause);
	}
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
	metrics_observe("streamer_push_duration_seconds", NULL, (time_mono_us() / 1000 - started) * 1000);
}

/* Sends items[from..to) in one publish; sets their outcomes. */
static void publish(struct push *p, struct push_item *items, size_t from, size_t to, char *body,
		    size_t len, int64_t deadline, char *why, size_t whylen, size_t *failed)
{
	int64_t started = time_mono_us() / 1000;
	enum push_outcome o = request(p, "POST", p->url, body, len, deadline, why, whylen);

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
	char first[512] = "";

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
	char first[512] = "", one[512];

	for (size_t i = 0; i < n; i++) {
		char *id = curl_easy_escape(p->curl, items[i].target, 0);
		struct buf url = { 0 };
		int64_t started = time_mono_us() / 1000;
		const char *c = items[i].content ? items[i].content : "";

		buf_printf(&url, "%s/@connections/%s", p->url, id ? id : "");
		curl_free(id);
		one[0] = '\0';
		items[i].outcome = items[i].close
			? request(p, "DELETE", url.data, NULL, 0, deadline, one, sizeof one)
			: request(p, "POST", url.data, c, strlen(c), deadline, one, sizeof one);
		buf_free(&url);
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
	deadline = time_mono_us() / 1000 + p->timeout_ms;
	if (p->style == CALLBACK_APIGW)
		return send_apigw(p, items, n, deadline, why, whylen);
	return send_pushpin(p, items, n, deadline, why, whylen);
}

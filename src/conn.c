/* conn.c - connection events shared by both dialects: open (authenticate + store), message (route), close. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "actions.h"
#include "activity.h"
#include "call.h"
#include "conn.h"
#include "fanout.h"
#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "protocol.h"
#include "queue.h"
#include "ratelimit.h"
#include "router.h"
#include "secret.h"
#include "serverops.h"
#include "store.h"
#include "streams.h"
#include "subs.h"
#include "util.h"

#define CONN_ID_MAX 128

int conn_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;

	/* Only dots ("." or ".."): a path segment trick in the apigw style's
	 * {url}/@connections/{id}, never an id. */
	return id && str_is_token(id, n, CONN_ID_MAX, "._:-") && strspn(id, ".") != n;
}

int64_t conn_token_limit_ms(int64_t exp, int64_t leeway)
{
	int64_t s, ms;

	if (__builtin_add_overflow(exp, leeway, &s) || __builtin_mul_overflow(s, (int64_t)1000, &ms))
		return INT64_MAX;
	return ms > 0 ? ms : 1; /* 0 means "no limit" in the store: an old exp is still a limit */
}

/* Counts n in family with one label, whose value comes from the program (bounded), not the client. */
static void count1(const char *family, const char *label, const char *value)
{
	metrics_add_labels(family, label, value, NULL, NULL, 1);
}

/* Records the handling time of one event ("open", "message", "close", "disconnect"). */
static void observe_event(const char *event, int64_t us)
{
	metrics_observe_label("streamer_event_duration_seconds", "event", event, us);
}

/*
 * The token: the Authorization query parameter (browsers cannot set headers
 * on a WebSocket), else the Authorization header. A "Bearer " prefix and
 * surrounding blanks are removed. Returns a new string or NULL.
 */
static char *token_from(const struct request *req)
{
	char *t = query_param(req->query, "Authorization");
	char *start, *end, *out;

	if (!t && req->authorization)
		t = xstrdup(req->authorization);
	if (!t)
		return NULL;
	start = t;
	while (*start == ' ' || *start == '\t')
		start++;
	if (strncasecmp(start, "Bearer ", 7) == 0)
		start += 7;
	while (*start == ' ' || *start == '\t')
		start++;
	end = start + strlen(start);
	while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	out = end > start ? xstrndup(start, (size_t)(end - start)) : NULL;
	free(t);
	return out;
}

/* True when s[0..n) is an IPv4 or IPv6 address in text form (inet_pton). */
static int is_ip_address(const char *s, size_t n)
{
	char text[INET6_ADDRSTRLEN];
	unsigned char bin[sizeof(struct in6_addr)];

	if (n == 0 || n >= sizeof text)
		return 0;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(AF_INET, text, bin) == 1 || inet_pton(AF_INET6, text, bin) == 1;
}

char *conn_source_addr(const char *forwarded_for, const char *remote_addr)
{
	if (forwarded_for && *forwarded_for) {
		const char *last = strrchr(forwarded_for, ',');
		size_t n;

		last = last ? last + 1 : forwarded_for;
		while (*last == ' ' || *last == '\t')
			last++;
		n = strcspn(last, " \t");
		if (is_ip_address(last, n))
			return xstrndup(last, n);
	}
	return remote_addr ? xstrdup(remote_addr) : NULL;
}

enum auth_error conn_verify_token(const struct app *app, const char *token,
				  struct auth_identity *who)
{
	struct auth_policy policy = {
		.alg = app->cfg.jwt_alg,
		.key = app->key,
		.issuer = app->cfg.jwt_issuer,
		.audience = app->cfg.jwt_audience,
		.leeway = app->cfg.jwt_leeway,
		.now = (int64_t)time(NULL),
	};

	return auth_verify(&policy, token, strlen(token), who);
}

/*
 * The touch. A connection expires after STREAMER_CONNECTION_TTL without
 * activity, within one touch interval (STREAMER_TOUCH_INTERVAL): instead of
 * writing its row on every message, a message (or keep-alive) writes it
 * only when the expiry it would set is at least one interval later than the
 * stored one, or its last activity was written that long ago. A touch sets
 * the expiry TTL + one interval ahead, so a connection never expires sooner
 * than TTL after its last message, and at most one interval later. The
 * message counts gathered meanwhile wait in the host's activity table and
 * are written with the touch, or taken by the close.
 */
static int64_t touch_expiry(const struct app *app, int64_t now)
{
	return now + app->cfg.connection_ttl * 1000 + app->cfg.touch_interval_ms;
}

/* Whether an event at now must write rec's touch; active: a message (keep-alives are not activity). */
static int touch_due(const struct app *app, const struct conn_record *rec, int64_t now, int active)
{
	int64_t iv = app->cfg.touch_interval_ms, want = touch_expiry(app, now);

	if (rec->token_expires_at > 0 && want > rec->token_expires_at)
		want = rec->token_expires_at;
	return !app->activity || iv == 0 || want - rec->expires_at >= iv ||
	       (active && now - rec->last_active_at >= iv);
}

/*
 * Counts last added before this are of a connection that expired without a
 * close (a live one is touched, and its counts taken, at least once per
 * interval and keep-alive): activity_add may drop them.
 */
static int64_t activity_stale_before(const struct app *app, int64_t now)
{
	return now - app->cfg.connection_ttl * 1000 - 2 * app->cfg.touch_interval_ms;
}

/* Gives counts taken from the activity table back after their write failed (logged if lost). */
static void counts_give_back(struct app *app, const char *id, int64_t received, int64_t sent,
			     int64_t now)
{
	if ((received || sent) &&
	    activity_add(app->activity, id, received, sent, now, activity_stale_before(app, now)) < 0)
		log_event(LOG_WARN, "counts_lost",
			  json_pack("{s:s,s:I,s:I}", "connection_id", id, "messages_received",
				    (json_int_t)received, "messages_sent", (json_int_t)sent));
}

/*
 * Writes the touch of connection id for an event at now (active: a
 * message) with the counts taken from the activity table plus received and
 * sent (this event's). Inside the caller's transaction when it has one.
 * On failure the taken counts go back to the table.
 */
static int touch_write(struct app *app, const char *id, int64_t now, int active,
		       int64_t received, int64_t sent)
{
	struct conn_touch t = { .now = now, .expires_at = touch_expiry(app, now),
				.active_at = active ? now : 0 };
	int64_t r, s;
	int rc;

	activity_take(app->activity, id, &r, &s);
	t.received = r + received;
	t.sent = s + sent;
	rc = store_conn_touch(app->store, id, &t);
	if (rc == STORE_ERROR)
		counts_give_back(app, id, r, s, now);
	return rc;
}

/*
 * Counts one event's messages for connection id: in the activity table
 * when no touch is due, else with a touch written now (touch_write).
 */
static int count_event(struct app *app, const struct conn_record *rec, int64_t now,
		       int64_t received, int64_t sent)
{
	if (!touch_due(app, rec, now, 1) &&
	    activity_add(app->activity, rec->id, received, sent, now,
			 activity_stale_before(app, now)) == 0)
		return STORE_OK;
	return touch_write(app, rec->id, now, 1, received, sent);
}

/* The permissions arrays this process parsed last, by their JSON text (no parse per message). */
#define PERMS_CACHE 8
static struct {
	char *text;
	json_t *perms;
} perms_cache[PERMS_CACHE];
static unsigned perms_next;

/*
 * The parsed array of permissions text (a row's permissions column): a
 * borrowed reference, valid until the next call. Anything but an array of
 * strings reads as no permission.
 */
static json_t *permissions_of(const char *text)
{
	json_t *perms;
	unsigned i;

	for (i = 0; i < PERMS_CACHE; i++)
		if (perms_cache[i].text && strcmp(perms_cache[i].text, text) == 0)
			return perms_cache[i].perms;
	perms = json_loads(text, 0, NULL);
	if (!json_is_array(perms)) {
		json_decref(perms);
		perms = json_array();
	}
	i = perms_next++ % PERMS_CACHE;
	free(perms_cache[i].text);
	json_decref(perms_cache[i].perms);
	perms_cache[i].text = xstrdup(text);
	perms_cache[i].perms = perms;
	return perms;
}

void conn_cache_free(void)
{
	for (unsigned i = 0; i < PERMS_CACHE; i++) {
		free(perms_cache[i].text);
		json_decref(perms_cache[i].perms);
	}
	memset(perms_cache, 0, sizeof perms_cache);
	perms_next = 0;
}

static void reject(struct conn_reject *rej, enum err_code code, const char *message)
{
	rej->code = code;
	snprintf(rej->message, sizeof(rej->message), "%s", message);
}

/*
 * In the connect's transaction: 1 when rec's user already holds
 * STREAMER_MAX_CONNECTIONS_PER_USER live connections (other than rec's id),
 * 0 when there is room, -1 on a store error.
 */
static int user_quota_full(struct app *app, const struct conn_record *rec, int64_t now)
{
	int64_t max = app->cfg.max_connections_per_user, n = 0;

	if (max <= 0)
		return 0;
	if (store_conn_count_user(app->store, rec->tenant_id, rec->user_id, rec->id, now, max, &n) !=
	    STORE_OK)
		return -1;
	return n >= max;
}

char *conn_topic_claims(const struct auth_identity *who)
{
	json_t *o;
	char *text;

	if (!who->topics && !who->publish_topics)
		return NULL;
	o = json_object();
	if (who->topics)
		json_object_set(o, "topics", who->topics);
	if (who->publish_topics)
		json_object_set(o, "publish_topics", who->publish_topics);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/*
 * In the connect's transaction, after the row is stored: subscribes rec to
 * every entry of the token's topics claim (names and patterns), adds the
 * join events of the names to b and appends to items what the client is
 * told of each ({"topic","stream","epoch","offset"}, or {"topic","pattern":true}).
 * Returns STORE_OK or STORE_ERROR.
 */
static int server_subscribe(struct app *app, const struct conn_record *rec, json_t *topics,
			    int64_t now, json_t *items, struct presence_batch *b)
{
	struct subs *u = fanout_subs(app->fanout);
	size_t i;
	json_t *t;

	json_array_foreach(topics, i, t) {
		const char *topic = json_string_value(t);
		char stream[HISTORY_STREAM_MAX + 1];
		enum subs_add_result added;
		struct stream_pos pos;
		json_t *item;

		if (subs_add(u, rec->id, rec->tenant_id, topic, 0, TOPICS_PER_CONNECTION, now, &added) !=
		    STORE_OK)
			return STORE_ERROR;
		if (!subs_topic_valid(topic)) {
			json_array_append_new(items, json_pack("{s:s,s:b}", "topic", topic, "pattern", 1));
			continue;
		}
		if (added == SUBS_ADDED &&
		    fanout_presence_add(app->fanout, b, rec->tenant_id, topic, rec->user_id, 1, now) < 0)
			return STORE_ERROR;
		stream_of_topic(stream, sizeof stream, rec->tenant_id, topic);
		if (history_position(app->store, stream, &pos) == STORE_ERROR)
			return STORE_ERROR;
		item = json_pack("{s:s,s:s}", "topic", topic, "stream", stream);
		json_object_update_new(item, stream_pos_json(&pos));
		json_array_append_new(items, item);
	}
	return STORE_OK;
}

int conn_open(struct app *app, const struct request *req, const char *id, const char *secret,
	      struct conn_record *rec, json_t **subscribed, struct conn_reject *rej)
{
	struct presence_batch joins = { 0 };
	json_t *items = json_array();
	struct auth_identity who = {0};
	char *token = token_from(req);
	int64_t start = time_mono_us(), now = time_now_ms();
	enum auth_error e;
	int rc = -1, put, full = 0;

	memset(rec, 0, sizeof(*rec));
	if (subscribed)
		*subscribed = NULL;
	e = token ? conn_verify_token(app, token, &who) : AUTH_MISSING;
	free(token);
	if (e != AUTH_OK) {
		reject(rej, ERR_UNAUTHORIZED, auth_error_message(e));
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:i,s:s?}", "connection_id", id,
				    "outcome", "UNAUTHORIZED", "reason", auth_error_label(e),
				    "status", http_status_of(ERR_UNAUTHORIZED), "source", req->remote_addr));
		count1("streamer_auth_failures_total", "reason", auth_error_label(e));
		observe_event("open", time_mono_us() - start);
		return -1;
	}
	if (!config_tenant_allowed(&app->cfg, who.tenant)) {
		reject(rej, ERR_FORBIDDEN, "Tenant not allowed");
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "connection_id", id,
				    "user", who.sub, "tenant", who.tenant, "outcome", "FORBIDDEN",
				    "reason", "tenant_not_allowed",
				    "status", http_status_of(ERR_FORBIDDEN)));
		count1("streamer_auth_failures_total", "reason", "tenant_not_allowed");
		observe_event("open", time_mono_us() - start);
		goto out;
	}
	if (json_array_size(who.topics) > TOPICS_PER_CONNECTION) {
		snprintf(rej->message, sizeof rej->message,
			 "Invalid token: the topics claim lists %zu topics; a connection holds at most %d",
			 json_array_size(who.topics), TOPICS_PER_CONNECTION);
		rej->code = ERR_UNAUTHORIZED;
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "connection_id", id, "user", who.sub,
				    "tenant", who.tenant, "outcome", "UNAUTHORIZED", "reason", "topics",
				    "status", http_status_of(ERR_UNAUTHORIZED)));
		count1("streamer_auth_failures_total", "reason", "topics");
		observe_event("open", time_mono_us() - start);
		goto out;
	}

	rec->id = xstrdup(id);
	rec->user_id = xstrdup(who.sub);
	rec->tenant_id = xstrdup(who.tenant);
	rec->permissions = json_dumps(who.permissions, JSON_COMPACT);
	if (!rec->permissions)
		rec->permissions = xstrdup("[]");
	rec->topic_claims = conn_topic_claims(&who);
	rec->user_agent = req->user_agent ? xstrdup(req->user_agent) : NULL;
	rec->source_addr = conn_source_addr(req->forwarded_for, req->remote_addr);
	rec->connected_at = rec->last_active_at = now;
	rec->token_expires_at = conn_token_limit_ms(who.exp, app->cfg.jwt_leeway);
	rec->expires_at = touch_expiry(app, now);
	if (rec->expires_at > rec->token_expires_at)
		rec->expires_at = rec->token_expires_at;
	if (secret) {
		rec->secret_hash = xmalloc(SECRET_HASH_HEX_LEN + 1);
		secret_hash(secret, strlen(secret), rec->secret_hash);
	}

	if (store_begin(app->store) != STORE_OK) {
		put = STORE_ERROR;
	} else {
		full = user_quota_full(app, rec, now);
		put = full != 0 ? STORE_ERROR : store_conn_put(app->store, rec);
		if (put == STORE_OK && who.topics)
			put = server_subscribe(app, rec, who.topics, now, items, &joins);
		if (put == STORE_OK && store_commit(app->store) != STORE_OK)
			put = STORE_ERROR;
	}
	if (full > 0) {
		store_rollback(app->store);
		reject(rej, ERR_RATE_LIMITED, "Too many connections for this user");
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:s,s:s,s:i}", "connection_id", id, "user", who.sub,
				    "tenant", who.tenant, "outcome", "RATE_LIMITED",
				    "reason", "connections_per_user",
				    "status", http_status_of(ERR_RATE_LIMITED)));
		count1("streamer_rate_limited_total", "limit", "connections");
		conn_record_free(rec);
		observe_event("open", time_mono_us() - start);
		goto out;
	}
	if (put == STORE_CONFLICT) {
		/* A live connection of someone else (or of the other dialect) holds the id: never take it over. */
		store_rollback(app->store);
		reject(rej, ERR_HTTP_CONFLICT, "Connection id is in use by another connection");
		log_event(LOG_WARN, "connect_rejected",
			  json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s?}", "connection_id", id,
				    "user", who.sub, "tenant", who.tenant, "outcome", "CONFLICT",
				    "reason", "id_in_use", "status", http_status_of(ERR_HTTP_CONFLICT),
				    "source", rec->source_addr));
		count1("streamer_auth_failures_total", "reason", "id_in_use");
		observe_event("open", time_mono_us() - start);
		conn_record_free(rec);
		goto out;
	}
	if (put != STORE_OK) {
		log_event(LOG_ERROR, "connect_failed",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "outcome", "INTERNAL_ERROR",
				    "error", store_errmsg(app->store)));
		store_rollback(app->store);
		conn_record_free(rec);
		reject(rej, ERR_INTERNAL, "Failed to establish connection");
		goto out;
	}
	{
		int64_t old_received, old_sent;

		/* Counts an earlier connection under this id left behind are not this one's. */
		activity_take(app->activity, id, &old_received, &old_sent);
	}
	fanout_presence_flush(app->fanout, &joins);
	if (subscribed && json_array_size(items))
		*subscribed = json_incref(items);
	metrics_add("streamer_connections_opened_total", NULL, 1);
	observe_event("open", time_mono_us() - start);
	log_event(LOG_INFO, "connect",
		  json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:I}", "connection_id", id, "user", who.sub,
			    "tenant", who.tenant, "outcome", "ok", "source", rec->source_addr,
			    "user_agent", rec->user_agent,
			    "duration_us", (json_int_t)(time_mono_us() - start)));
	rc = 0;
out:
	presence_batch_free(&joins);
	json_decref(items);
	auth_identity_free(&who);
	return rc;
}

/* A new error message for request_id; details (may be NULL) is stolen. */
static json_t *error_reply(const char *request_id, enum err_code code, const char *message,
			   json_t *details)
{
	struct proto_error err = {0};
	json_t *out;

	proto_error_set(&err, code, "%s", message);
	err.details = details;
	out = proto_error(request_id, &err);
	proto_error_clear(&err);
	return out;
}

/* The reply for a message on a connection the store does not know (or that expired). */
static json_t *gone_reply(const char *request_id)
{
	return error_reply(request_id, ERR_UNAUTHORIZED,
			   "Connection is not authenticated or has expired", NULL);
}

/* The reply for a message on a connection whose token expired: the client must refresh or reconnect. */
static json_t *token_expired_reply(const char *request_id)
{
	return error_reply(request_id, ERR_UNAUTHORIZED,
			   "Token expired: the connection is closed; reconnect with a new token "
			   "(refresh it with auth.refresh before it expires)",
			   json_pack("{s:s}", "reason", "token_expired"));
}

/* Whether rec (read whatever its expiry) is past its token's expiry at now. */
static int token_expired(const struct conn_record *rec, int64_t now)
{
	return rec->token_expires_at > 0 && rec->token_expires_at <= now;
}

static json_t *internal_reply(const char *request_id)
{
	return error_reply(request_id, ERR_INTERNAL, "Internal error; please retry", NULL);
}

/* The error code of an outbound message, or "ok" for a response. Borrowed. */
static const char *outcome_of(json_t *reply)
{
	const char *code = json_string_value(json_object_get(json_object_get(reply, "error"), "code"));

	return code ? code : "ok";
}

/* Makes the pushes handlers queued; a failed required one replaces the reply with an error. */
static json_t *make_pushes(struct app *app, struct call *c, const char *id, json_t *reply)
{
	for (struct call_push *p = c->pushes; p; p = p->next) {
		char why[300];

		if (fanout_send(app->fanout, p->kind, p->tenant, p->name, p->text, NULL, why,
				sizeof why) == 0)
			continue;
		log_event(LOG_WARN, "push_failed",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "request_id", c->msg->id,
				    "reason", why));
		if (!p->required)
			continue;
		json_decref(reply);
		/* why names the callback URL and host: for the log above, never for the client. */
		reply = error_reply(c->msg->id, ERR_PROCESSING_FAILED, "Could not deliver the message", NULL);
	}
	return reply;
}

/*
 * For the plain dialect (secret non-NULL): true when connection id exists
 * and secret is its secret. Inside the caller's transaction.
 */
static int secret_ok(struct app *app, const char *id, const char *secret, int *failed)
{
	char *hash = NULL;
	int rc = store_conn_secret(app->store, id, &hash);
	int ok = rc == STORE_OK && secret_matches(secret, strlen(secret), hash);

	*failed = rc == STORE_ERROR;
	free(hash);
	return ok;
}

/*
 * The message rate limit of connection id: NULL when the message may pass,
 * else a new RATE_LIMITED error for request_id (counted in the metrics).
 */
static json_t *rate_limited_reply(struct app *app, const char *id, const char *request_id)
{
	struct proto_error err = {0};
	int64_t wait_ms;
	json_t *reply;

	if (!app->ratelimit)
		return NULL;
	wait_ms = ratelimit_take(app->ratelimit, id, strlen(id), app->cfg.rate_limit,
				 app->cfg.rate_burst, time_mono_us());
	if (wait_ms <= 0)
		return NULL;
	proto_error_rate_limited(&err, "message", wait_ms,
				 "Too many messages: at most %lld per second; retry in %lld ms",
				 (long long)app->cfg.rate_limit, (long long)wait_ms);
	reply = proto_error(request_id, &err);
	proto_error_clear(&err);
	count1("streamer_rate_limited_total", "limit", "message");
	return reply;
}

/*
 * Adds the positions of the connection's streams that moved in the last
 * POSITIONS_WINDOW_MS to reply: a client that lost the tail of a burst
 * learns it from its next answer. Stateless (no per-connection memory of
 * what was told), so a busy stream is listed in every answer for that long.
 */
#define POSITIONS_WINDOW_MS 5000
static void add_positions(struct app *app, const struct conn_record *rec, int64_t now,
			  json_t *reply)
{
	json_t *pos = stream_positions(app->store, rec, now - POSITIONS_WINDOW_MS);

	if (pos && json_is_object(reply))
		json_object_set_new(reply, "positions", pos);
	else
		json_decref(pos);
}

void conn_message(struct app *app, const char *id, const char *secret, const char *text,
		  size_t len, struct conn_reply *out)
{
	struct client_msg msg = {0};
	struct proto_error err = {0};
	struct conn_record rec = {0};
	struct call c = { .app = app, .conn = &rec, .msg = &msg };
	struct action act = {0};
	int64_t start = time_mono_us(), now = time_now_ms();
	json_t *reply = NULL;
	int parsed, known = 0, rc;

	memset(out, 0, sizeof *out);
	/* Validation needs no store: do it first so even a refusal carries the request id. */
	parsed = proto_parse(text, len, app->cfg.max_message_bytes, &msg, &err) == 0;
	if (parsed)
		known = actions_find(msg.action, &act);

	/* Before the store: a flood costs no transaction, and a refused message is not routed.
	 * The plain dialect proves the secret first, so nobody drains another's bucket. */
	if (!secret && (reply = rate_limited_reply(app, id, msg.id)))
		goto out;
	/* Only an action that stores something takes the write lock; the others read one snapshot. */
	if ((known && act.writes ? store_begin(app->store) : store_begin_read(app->store)) !=
	    STORE_OK) {
		reply = internal_reply(msg.id);
		goto fail;
	}
	if (secret) {
		int failed;

		if (!secret_ok(app, id, secret, &failed)) {
			if (failed) {
				reply = internal_reply(msg.id);
				goto fail;
			}
			/* Unknown id and wrong secret answer alike: nothing tells which ids exist. */
			store_rollback(app->store);
			out->gone = 1;
			reply = gone_reply(msg.id);
			goto out;
		}
		if ((reply = rate_limited_reply(app, id, msg.id))) {
			store_rollback(app->store);
			goto out;
		}
	}
	rc = store_conn_load(app->store, id, &rec, &app->conn_arena);
	if (rc == STORE_ERROR) {
		reply = internal_reply(msg.id);
		goto fail;
	}
	if (rc == STORE_NOTFOUND || rec.expires_at <= now) {
		out->token_expired = rc == STORE_OK && token_expired(&rec, now);
		store_rollback(app->store);
		memset(&rec, 0, sizeof rec);
		out->gone = 1;
		reply = out->token_expired ? token_expired_reply(msg.id) : gone_reply(msg.id);
		goto out;
	}
	if (!parsed) {
		reply = proto_error(msg.id, &err);
	} else {
		c.permissions = permissions_of(rec.permissions);
		c.now_ms = now;
		reply = router_dispatch(&c);
		add_positions(app, &rec, now, reply);
	}
	if (known && act.writes && store_commit(app->store) != STORE_OK) {
		json_decref(reply);
		reply = internal_reply(msg.id);
		call_release(&c);
		goto fail;
	}
	/* The snapshot ends before the touch (when one is due) takes the write lock. */
	store_rollback(app->store);
	if (count_event(app, &rec, now, 1, 1 + (c.also ? (int64_t)json_array_size(c.also) : 0)) ==
	    STORE_ERROR)
		log_event(LOG_ERROR, "store_error",
			  json_pack("{s:s,s:s}", "connection_id", id, "error",
				    store_errmsg(app->store)));
	if (c.pushes)
		reply = make_pushes(app, &c, id, reply);
	if (c.wake)
		app->wake_pending = 1;
	goto out;
fail:
	log_event(LOG_ERROR, "store_error",
		  json_pack("{s:s,s:s}", "connection_id", id, "error", store_errmsg(app->store)));
	store_rollback(app->store);
out:
	{
		/* Only actions this process knows make a label: client input cannot grow the series. */
		const char *action = !parsed ? "invalid" : known ? msg.action : "unknown";
		const char *outcome = outcome_of(reply);
		const struct log_field f[] = {
			LOG_STR("connection_id", id), LOG_STR("request_id", msg.id[0] ? msg.id : NULL),
			LOG_STR("user", rec.user_id), LOG_STR("tenant", rec.tenant_id),
			LOG_STR("action", parsed ? msg.action : NULL), LOG_STR("outcome", outcome),
			LOG_INT("duration_us", time_mono_us() - start),
		};

		metrics_add_labels("streamer_messages_total", "action", action, "outcome", outcome, 1);
		if (strcmp(outcome, "ok") != 0)
			count1("streamer_errors_total", "code", outcome);
		observe_event("message", time_mono_us() - start);
		log_line(LOG_INFO, "message", f, ARRAY_SIZE(f));
	}
	out->messages = json_array();
	json_array_append_new(out->messages, reply);
	if (c.also)
		json_array_extend(out->messages, c.also);
	out->controls = c.controls ? json_incref(c.controls) : json_array();
	call_release(&c);
	client_msg_free(&msg);
	proto_error_clear(&err);
}

void conn_reply_free(struct conn_reply *r)
{
	json_decref(r->messages);
	json_decref(r->controls);
	memset(r, 0, sizeof *r);
}

int conn_keepalive(struct app *app, const char *id)
{
	struct conn_record rec;
	int64_t now = time_now_ms();
	int rc = store_conn_load(app->store, id, &rec, &app->conn_arena);

	if (rc == STORE_OK && rec.expires_at > now) {
		if (touch_due(app, &rec, now, 0))
			rc = touch_write(app, id, now, 0, 0, 0);
		if (rc == STORE_OK || rc == STORE_NOTFOUND)
			return 0;
	}
	if (rc == STORE_ERROR) {
		log_event(LOG_ERROR, "store_error",
			  json_pack("{s:s,s:s}", "connection_id", id, "error", store_errmsg(app->store)));
		return 0;
	}
	/* Only for a connection that is no longer live. */
	return rc == STORE_OK && token_expired(&rec, now);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* close_once's answer when the plain dialect's secret does not match: nothing changed. */
#define CLOSE_REFUSED 3

/*
 * One try of conn_close's transaction: checks secret when non-NULL, deletes
 * the row (filling *rec) and cancels the connection's pending requests
 * (ops_remove), gathering the leave events of its topics into leaves (sent
 * by the caller after the commit).
 * Returns the store result or CLOSE_REFUSED; on anything but STORE_OK and
 * STORE_NOTFOUND the transaction is rolled back.
 */
static int close_once(struct app *app, const char *id, const char *secret, int64_t now,
		      struct conn_record *rec, int *cancelled, struct presence_batch *leaves)
{
	struct serverops o = { &app->cfg, app->store, app->fanout, app->queue };
	int rc, failed = 0;

	conn_record_free(rec);
	presence_batch_free(leaves);
	*cancelled = 0;
	if (store_begin(app->store) != STORE_OK)
		return STORE_ERROR;
	if (secret && !secret_ok(app, id, secret, &failed)) {
		store_rollback(app->store);
		return failed ? STORE_ERROR : CLOSE_REFUSED;
	}
	rc = ops_remove(&o, id, now, rec, cancelled, leaves);
	if (rc != STORE_ERROR && store_commit(app->store) != STORE_OK)
		rc = STORE_ERROR;
	if (rc == STORE_ERROR) {
		store_rollback(app->store);
		presence_batch_free(leaves);
	}
	return rc;
}

int conn_close(struct app *app, const char *id, const char *secret, const char *reason, int code)
{
	struct presence_batch leaves = { 0 };
	struct conn_record rec = {0};
	int64_t start = time_mono_us(), now = time_now_ms(), received, sent;
	int rc, cancelled = 0;

	/* Pushpin sends a connection's events one at a time: its messages are all counted by now. */
	activity_take(app->activity, id, &received, &sent);
	for (int attempt = 1;; attempt++) {
		rc = close_once(app, id, secret, now, &rec, &cancelled, &leaves);
		/* Only a lock held past the busy timeout is worth another try; a broken database is not. */
		if (rc != STORE_ERROR || attempt >= CONN_CLOSE_TRIES ||
		    !strstr(store_errmsg(app->store), "is busy"))
			break;
		log_event(LOG_WARN, "disconnect_retry",
			  json_pack("{s:s,s:s,s:i,s:s}", "connection_id", id, "reason", reason,
				    "attempt", attempt, "error", store_errmsg(app->store)));
		/* 50, 100, 200 ms: short, since the busy timeout already waited before each. */
		sleep_ms(50 << (attempt - 1));
	}
	if (rc == CLOSE_REFUSED || rc == STORE_ERROR)
		counts_give_back(app, id, received, sent, now);
	if (rc == CLOSE_REFUSED) {
		log_event(LOG_WARN, "disconnect_refused",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "reason", reason,
				    "outcome", "UNAUTHORIZED"));
		return 1;
	}
	if (rc == STORE_ERROR) {
		log_event(LOG_ERROR, "disconnect_failed",
			  json_pack("{s:s,s:s,s:s}", "connection_id", id, "reason", reason,
				    "error", store_errmsg(app->store)));
		conn_record_free(&rec);
		return -1;
	}
	json_t *fields = json_pack("{s:s,s:s,s:b,s:I}", "connection_id", id, "reason", reason,
				   "found", rc == STORE_OK,
				   "duration_us", (json_int_t)(time_mono_us() - start));
	if (code >= 0)
		json_object_set_new(fields, "close_code", json_integer(code));
	if (cancelled)
		json_object_set_new(fields, "requests_cancelled", json_integer(cancelled));
	if (rc == STORE_OK) {
		json_object_set_new(fields, "user", json_string(rec.user_id));
		json_object_set_new(fields, "tenant", json_string(rec.tenant_id));
		json_object_set_new(fields, "connected_seconds",
				    json_real((double)(now - rec.connected_at) / 1000.0));
		json_object_set_new(fields, "messages_received",
				    json_integer(rec.messages_received + received));
		json_object_set_new(fields, "messages_sent", json_integer(rec.messages_sent + sent));
	}
	fanout_presence_flush(app->fanout, &leaves);
	count1("streamer_connections_closed_total", "reason", reason);
	observe_event(strcmp(reason, "disconnect") == 0 ? "disconnect" : "close", time_mono_us() - start);
	log_event(LOG_INFO, "disconnect", fields);
	conn_record_free(&rec);
	return 0;
}

/* streams.c - numbered streams of pushed messages: their names, the position fields a pushed message carries, who may read a stream, and recovery pages from the store's history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "streams.h"
#include "subs.h"
#include "util.h"

struct history_limits stream_limits(const struct config *cfg)
{
	struct history_limits lim = { cfg->history_size, cfg->history_ttl * 1000 };

	return lim;
}

void stream_of_topic(char *out, size_t outlen, const char *tenant, const char *topic)
{
	snprintf(out, outlen, STREAM_TOPIC_PREFIX "%s:%s", tenant, topic);
}

void stream_of_tenant(char *out, size_t outlen, const char *tenant)
{
	snprintf(out, outlen, "tenant:%s", tenant);
}

void stream_of_user(char *out, size_t outlen, const char *tenant, const char *user)
{
	snprintf(out, outlen, "user:%s:%s", tenant, user);
}

json_t *stream_pos_json(const struct stream_pos *pos)
{
	return json_pack("{s:o,s:I}", "epoch", pos->epoch[0] ? json_string(pos->epoch) : json_null(),
			 "offset", (json_int_t)pos->offset);
}

/* Adds the position fields to msg (an object). */
static void stamp(json_t *msg, const char *stream, const char *epoch, int64_t offset)
{
	json_object_set_new(msg, "stream", json_string(stream));
	json_object_set_new(msg, "offset", json_integer(offset));
	json_object_set_new(msg, "epoch", json_string(epoch));
}

/* Whether s needs no escaping in a JSON string (stream names and epochs always do not). */
static int json_plain(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/*
 * The text of msg once stamped: stored text (msg without its position, an
 * object with members, as jansson wrote it) with the position's members
 * spliced in before its closing brace, as stamp appends them. NULL when the
 * text is not of that shape (the caller serialises msg instead).
 */
static char *splice_position(const char *text, const char *stream, const struct stream_pos *pos)
{
	size_t n = strlen(text);
	struct buf b = { 0 };

	if (n < 3 || text[0] != '{' || text[n - 1] != '}' || !json_plain(stream) ||
	    !json_plain(pos->epoch))
		return NULL;
	buf_append(&b, text, n - 1);
	buf_printf(&b, ",\"stream\":\"%s\",\"offset\":%lld,\"epoch\":\"%s\"}", stream,
		   (long long)pos->offset, pos->epoch);
	return buf_detach(&b);
}

int stream_number(struct store *s, const struct history_limits *lim, const char *stream,
		  const char *target, json_t *msg, int64_t now, char **pushed, char *why,
		  size_t whylen)
{
	struct stream_pos pos;
	char *text;
	int rc;

	if (pushed)
		*pushed = NULL;
	if (!json_is_object(msg))
		return err_printf(why, whylen, "a message in a stream must be a JSON object");
	/* Stored without its position: a reader adds it back (stamp) exactly as here. */
	json_object_del(msg, "stream");
	json_object_del(msg, "offset");
	json_object_del(msg, "epoch");
	if (!(text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		return err_printf(why, whylen, "cannot serialise the message");
	rc = history_append(s, stream, target, text, now, lim, &pos);
	if (rc != STORE_OK) {
		free(text);
		return err_printf(why, whylen, "history of %s: %s", stream, store_errmsg(s));
	}
	stamp(msg, stream, pos.epoch, pos.offset);
	if (pushed && !(*pushed = splice_position(text, stream, &pos)))
		*pushed = proto_dump(msg);
	free(text);
	return 0;
}

static int is_epoch(const char *s)
{
	size_t n = strlen(s);

	if (n != HISTORY_EPOCH_LEN)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

int stream_since_parse(json_t *obj, const char *field, struct stream_since *since,
		       struct proto_error *err)
{
	json_t *v = json_object_get(obj, field), *epoch, *offset;

	memset(since, 0, sizeof *since);
	if (!v)
		return 0;
	epoch = json_object_get(v, "epoch");
	offset = json_object_get(v, "offset");
	if (!json_is_object(v) || !offset || !json_is_integer(offset) ||
	    json_integer_value(offset) < 0 || !epoch ||
	    !(json_is_null(epoch) || (json_is_string(epoch) && is_epoch(json_string_value(epoch))))) {
		proto_error_set(err, ERR_VALIDATION,
				"%s must be {\"epoch\": %d lowercase hex digits or null, \"offset\": an integer >= 0}",
				field, HISTORY_EPOCH_LEN);
		return -1;
	}
	since->given = 1;
	if (json_is_string(epoch))
		snprintf(since->epoch, sizeof since->epoch, "%s", json_string_value(epoch));
	since->offset = (int64_t)json_integer_value(offset);
	return 0;
}

/* True when s starts with prefix followed by exactly tenant and a ':' (then *rest is what follows). */
static int has_tenant(const char *s, const char *prefix, const char *tenant, const char **rest)
{
	size_t p = strlen(prefix), t = strlen(tenant);

	if (strncmp(s, prefix, p) != 0 || strncmp(s + p, tenant, t) != 0 || s[p + t] != ':')
		return 0;
	*rest = s + p + t + 1;
	return 1;
}

int stream_readable(const struct conn_record *conn, const char *stream, struct proto_error *err)
{
	const char *rest;

	if (!stream || !*stream || strlen(stream) > HISTORY_STREAM_MAX) {
		proto_error_set(err, ERR_VALIDATION,
				"stream must be user:<tenant>:<user>, tenant:<tenant> or topic:<tenant>:<topic>");
		return -1;
	}
	if (strncmp(stream, "tenant:", 7) == 0) {
		if (strcmp(stream + 7, conn->tenant_id) == 0)
			return 0;
	} else if (strncmp(stream, "user:", 5) == 0) {
		if (has_tenant(stream, "user:", conn->tenant_id, &rest) &&
		    strcmp(rest, conn->user_id) == 0)
			return 0;
	} else if (strncmp(stream, STREAM_TOPIC_PREFIX, strlen(STREAM_TOPIC_PREFIX)) == 0) {
		if (has_tenant(stream, STREAM_TOPIC_PREFIX, conn->tenant_id, &rest)) {
			if (subs_topic_valid(rest))
				return 0;
			proto_error_set(err, ERR_VALIDATION,
					"stream %s: the topic must match [A-Za-z0-9._:-]{1,%d}", stream,
					SUBS_TOPIC_MAX);
			return -1;
		}
	} else {
		proto_error_set(err, ERR_VALIDATION,
				"stream must be user:<tenant>:<user>, tenant:<tenant> or topic:<tenant>:<topic>");
		return -1;
	}
	proto_error_set(err, ERR_FORBIDDEN, "Stream %s is not readable by this connection", stream);
	return -1;
}

/* What one page collects while the store walks the history. */
struct page {
	const char *stream;
	const char *epoch;
	const struct stream_reader *reader;
	json_t *messages;
	int64_t expect;      /* the next offset a gap-free walk sees */
	int contiguous;      /* no offset was missing so far */
	int64_t until;       /* the last offset the page covers */
	int64_t scanned;     /* entries walked, whoever they were addressed to */
	size_t *budget;
	int cut;             /* stopped early: the answer's byte budget is spent */
};

/* Whether the reader may see a message addressed to target. */
static int addressed_to(const struct stream_reader *r, const char *target)
{
	if (!target || !r->connection_id || strcmp(target, r->connection_id) == 0)
		return 1;
	for (size_t i = 0; i < r->n_earlier; i++)
		if (strcmp(target, r->earlier[i]) == 0)
			return 1;
	return 0;
}

static int collect(void *arg, const struct history_entry *e)
{
	struct page *p = arg;
	size_t len = strlen(e->text);
	json_t *msg;

	if (addressed_to(p->reader, e->target)) {
		/* Always room for one message, however large: a page never stalls. */
		if (len > *p->budget && json_array_size(p->messages) > 0) {
			p->cut = 1;
			return 1;
		}
		*p->budget = len > *p->budget ? 0 : *p->budget - len;
		msg = json_loads(e->text, 0, NULL);
		if (json_is_object(msg)) { /* only stream_number writes it: always an object */
			stamp(msg, p->stream, p->epoch, e->offset);
			json_array_append(p->messages, msg);
		}
		json_decref(msg);
	}
	if (e->offset != p->expect)
		p->contiguous = 0;
	p->expect = e->offset + 1;
	p->until = e->offset;
	p->scanned++;
	return 0;
}

int stream_page(struct store *s, const struct history_limits *lim, int64_t now,
		const char *stream, const struct stream_since *since, int64_t limit,
		const struct stream_reader *reader, size_t *budget, json_t **out,
		struct proto_error *err)
{
	struct stream_pos pos = { 0 };
	struct page p = { .stream = stream, .reader = reader, .contiguous = 1, .budget = budget };
	int64_t after = 0, oldest = 0;
	int rc, more = 0;

	*out = NULL;
	rc = history_position(s, stream, &pos);
	if (rc == STORE_ERROR)
		goto failed;
	p.messages = json_array();
	p.until = pos.offset;
	if (rc == STORE_NOTFOUND) {
		/* No stream (never written, or gone with its history): only "nothing yet" is known. */
		p.contiguous = !since->given || since->offset == 0;
	} else if (since->given && ((since->epoch[0] && strcmp(since->epoch, pos.epoch) != 0) ||
				    since->offset > pos.offset)) {
		p.contiguous = 0; /* another epoch, or an offset this one never reached */
	} else if (limit > 0) {
		after = since->given ? since->offset : pos.offset > limit ? pos.offset - limit : 0;
		p.epoch = pos.epoch;
		p.expect = after + 1;
		p.until = after;
		rc = history_read(s, stream, after, limit, now, lim->ttl_ms, &pos, &oldest, collect, &p);
		if (rc == STORE_ERROR)
			goto failed;
		if (p.cut || (p.scanned == limit && p.until < pos.offset)) {
			more = 1;
		} else {
			/* The walk reached the end of what is held: it must end at the position. */
			if (p.expect != pos.offset + 1)
				p.contiguous = 0;
			p.until = pos.offset;
		}
	} else {
		more = since->given && since->offset < pos.offset;
		p.until = since->given ? since->offset : pos.offset;
	}
	*out = stream_pos_json(&pos);
	json_object_set_new(*out, "messages", p.messages);
	json_object_set_new(*out, "more", json_boolean(more));
	json_object_set_new(*out, "until", json_integer(p.until));
	/* limit 0 asks for the position only: whether the rest is held is not looked at. */
	if (since->given && (limit > 0 || !more)) {
		json_object_set_new(*out, "recovered", json_boolean(p.contiguous));
		/* A check that found nothing missing is not a recovery. */
		if (!p.contiguous || json_array_size(p.messages) > 0)
			metrics_add("streamer_stream_recoveries_total",
				    p.contiguous ? "outcome=\"recovered\"" : "outcome=\"lost\"", 1);
	}
	return 0;
failed:
	json_decref(p.messages);
	log_event(LOG_ERROR, "store_error",
		  json_pack("{s:s,s:s}", "stream", stream, "error", store_errmsg(s)));
	proto_error_set(err, ERR_INTERNAL, "Internal error; please retry");
	return -1;
}

/* Adds one stream's position to the object *arg (made on the first). */
static int add_position(void *arg, const char *stream, const struct stream_pos *pos)
{
	json_t **out = arg;

	if (!*out)
		*out = json_object();
	json_object_set_new(*out, stream, stream_pos_json(pos));
	return 0;
}

json_t *stream_positions(struct store *s, const struct conn_record *conn, int64_t since)
{
	char user[HISTORY_STREAM_MAX + 1], tenant[HISTORY_STREAM_MAX + 1], topics[160];
	const char *names[2] = { user, tenant };
	json_t *out = NULL;

	stream_of_user(user, sizeof user, conn->tenant_id, conn->user_id);
	stream_of_tenant(tenant, sizeof tenant, conn->tenant_id);
	snprintf(topics, sizeof topics, STREAM_TOPIC_PREFIX "%s:", conn->tenant_id);
	if (history_positions(s, conn->id, names, 2, topics, since, add_position, &out) != STORE_OK) {
		json_decref(out);
		return NULL;
	}
	return out;
}

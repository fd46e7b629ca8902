/* store.c - the store interface's dispatch: picks the engine from the STREAMER_DB URL and forwards every call through its ops (see store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_engine.h"
#include "util.h"

/* Every engine of this build; adding one is one folder under src/store/ and one line here. */
static const struct store_ops *const engines[] = {
	&store_sqlite_ops,
#ifdef HAVE_LIBPQ
	&store_postgresql_ops,
#endif
};

#define NENGINES (sizeof engines / sizeof engines[0])

/* Whether scheme (n bytes) is name, when name is non-NULL. */
static int scheme_is(const char *scheme, size_t n, const char *name)
{
	return name && strlen(name) == n && strncmp(scheme, name, n) == 0;
}

/* The length of url's "<scheme>:" prefix when it has one of letters, digits, + . -, else 0. */
static size_t scheme_len(const char *url)
{
	size_t n = 0;

	if (!((url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z')))
		return 0;
	while (url[n] && url[n] != ':' && url[n] != '/')
		n++;
	return url[n] == ':' ? n : 0;
}

const struct store_ops *store_engine_of(const char *url, const char **target, char *err,
					size_t errlen)
{
	size_t n;

	*target = url;
	if (!url)
		url = "";
	n = scheme_len(url);
	for (size_t i = 0; n && i < NENGINES; i++) {
		if (scheme_is(url, n, engines[i]->name) || scheme_is(url, n, engines[i]->alias)) {
			*target = url + n + 1;
			return engines[i];
		}
	}
	/* "<scheme>://…" names an engine this build lacks; anything else is a plain path. */
	if (n && strncmp(url + n, "://", 3) == 0) {
		/* Only the scheme: the rest of a URL may hold a password. */
		snprintf(err, errlen, "no store engine for %.*s:// URLs (this build has: sqlite:<path> "
			 "or a plain path%s)", (int)(n > 32 ? 32 : n), url,
#ifdef HAVE_LIBPQ
			 ", postgresql://…"
#else
			 ""
#endif
			 );
		return NULL;
	}
	for (size_t i = 0; i < NENGINES; i++)
		if (engines[i]->claims_plain && engines[i]->claims_plain(url))
			return engines[i];
	snprintf(err, errlen, "no store engine for %s", url);
	return NULL;
}

char *store_url_redacted(const char *url)
{
	size_t len = strlen(url);
	/* Each secret (at least one byte, after at least "x:" or "password=")
	 * becomes 3 bytes: the text grows by at most 3 per 2 bytes of input. */
	char *out = xmalloc(len * 3 + 4), *o = out;
	const char *p = url, *scheme = strstr(url, "://");

	if (scheme) {
		const char *info = scheme + 3, *at = info + strcspn(info, "@/?#");
		const char *colon = memchr(info, ':', (size_t)(at - info));

		if (*at == '@' && colon) {
			memcpy(o, url, (size_t)(colon + 1 - url));
			o += colon + 1 - url;
			memcpy(o, "***", 3);
			o += 3;
			p = at;
		}
	}
	while (*p) {
		/* "password=" starting the string or after '?', '&' or a blank. */
		if (strncmp(p, "password=", 9) == 0 &&
		    (p == url || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ')) {
			memcpy(o, p, 9);
			o += 9;
			p += 9;
			p += strcspn(p, "& \t");
			memcpy(o, "***", 3);
			o += 3;
			continue;
		}
		*o++ = *p++;
	}
	*o = '\0';
	return out;
}

char *store_host_file(const char *url, const char *host_dir, const char *suffix)
{
	char err[300], name[48];
	const char *target;
	const struct store_ops *ops;
	char *plain, *dir, *path;

	if (host_dir && *host_dir) {
		dir = xstrcat2(host_dir, "/streamer");
		path = xstrcat2(dir, suffix);
		free(dir);
		return path;
	}
	ops = store_engine_of(url, &target, err, sizeof err);
	if (ops && ops->local_file)
		return xstrcat2(target, suffix);
	plain = store_url_redacted(url);
	snprintf(name, sizeof name, "/var/tmp/streamer-%016llx",
		 (unsigned long long)hash64(plain, strlen(plain)));
	free(plain);
	return xstrcat2(name, suffix);
}

int store_create(const char *url, long long gid, char *err, size_t errlen)
{
	const char *target;
	const struct store_ops *ops = store_engine_of(url, &target, err, errlen);

	return ops ? ops->create(target, gid, err, errlen) : -1;
}

int store_open(struct store **out, const char *url, const struct store_options *opt, int flags,
	       char *err, size_t errlen)
{
	static const struct store_options defaults = { .busy_timeout_ms = 5000 };
	const char *target;
	const struct store_ops *ops;

	*out = NULL;
	ops = store_engine_of(url, &target, err, errlen);
	return ops ? ops->open(out, target, opt ? opt : &defaults, flags, err, errlen) : -1;
}

void store_close(struct store *s)
{
	if (s)
		s->ops->close(s);
}

void conn_record_free(struct conn_record *r)
{
	if (!r)
		return;
	free(r->id);
	free(r->user_id);
	free(r->tenant_id);
	free(r->permissions);
	free(r->user_agent);
	free(r->source_addr);
	free(r->secret_hash);
	free(r->topic_claims);
	memset(r, 0, sizeof *r);
}

const char *store_errmsg(struct store *s)
{
	return s ? s->ops->errmsg(s) : "";
}

/* sql/ numbers the migrations once for every engine: the first engine knows the newest. */
int store_schema_latest(void)
{
	return engines[0]->schema_latest();
}

int store_schema_version(struct store *s)
{
	return s->ops->schema_version(s);
}

int store_begin(struct store *s)
{
	return s->ops->begin(s);
}

int store_commit(struct store *s)
{
	return s->ops->commit(s);
}

void store_rollback(struct store *s)
{
	s->ops->rollback(s);
}

int store_begin_read(struct store *s)
{
	return s->ops->begin_read(s);
}

int store_ping(struct store *s)
{
	return s->ops->ping(s);
}


int store_conn_put(struct store *s, const struct conn_record *r)
{
	return s->ops->conn_put(s, r);
}

int store_conn_touch(struct store *s, const char *id, const struct conn_touch *t)
{
	return s->ops->conn_touch(s, id, t);
}

int store_conn_refresh(struct store *s, const char *id, const char *permissions,
		       const char *topic_claims, int64_t token_expires_at, int64_t now,
		       int64_t ttl_ms, struct conn_record *out)
{
	return s->ops->conn_refresh(s, id, permissions, topic_claims, token_expires_at, now,
				    ttl_ms, out);
}

int store_conn_secret(struct store *s, const char *id, char **hash_hex)
{
	return s->ops->conn_secret(s, id, hash_hex);
}

int store_conn_get(struct store *s, const char *id, struct conn_record *out)
{
	return s->ops->conn_get(s, id, out);
}

int store_conn_load(struct store *s, const char *id, struct conn_record *out, struct buf *arena)
{
	return s->ops->conn_load(s, id, out, arena);
}

int store_conn_delete(struct store *s, const char *id, struct conn_record *out)
{
	return s->ops->conn_delete(s, id, out);
}

int store_conn_list(struct store *s, const char *tenant,
		    int (*fn)(const struct conn_record *r, void *ctx), void *ctx)
{
	return s->ops->conn_list(s, tenant, fn, ctx);
}

int store_conn_count_user(struct store *s, const char *tenant, const char *user,
			  const char *except_id, int64_t now, int64_t limit, int64_t *n)
{
	return s->ops->conn_count_user(s, tenant, user, except_id, now, limit, n);
}

int store_gauges(struct store *s, int64_t now, int64_t *connections_active,
		 int64_t *requests_pending, int64_t *requests_running)
{
	return s->ops->gauges(s, now, connections_active, requests_pending, requests_running);
}

int store_activity(struct store *s, const char *tenant, int64_t from_ms, int64_t until_ms,
		   int (*fn)(void *arg, const struct store_activity_row *row), void *arg)
{
	return s->ops->activity(s, tenant, from_ms, until_ms, fn, arg);
}

int store_wake_listen(struct store *s, char *err, size_t errlen)
{
	return s->ops->wake_listen(s, err, errlen);
}

int store_wake_fd(struct store *s)
{
	return s->ops->wake_fd(s);
}

void store_wake_drain(struct store *s)
{
	s->ops->wake_drain(s);
}

void store_wake_notify(struct store *s)
{
	s->ops->wake_notify(s);
}

void store_wake_close(struct store *s)
{
	s->ops->wake_close(s);
}


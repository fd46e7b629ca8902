/* history.c - the PostgreSQL engine's numbered streams and their bounded message history (sql/postgresql/008_streams.sql): the history_* ops. */
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "pg_int.h"

/*
 * Where the calls below run: a transaction of their own when none is open,
 * else a savepoint inside the caller's, so that a failure undoes only this
 * call. A read needs only a snapshot (REPEATABLE READ READ ONLY).
 */
enum scope { SCOPE_WRITE, SCOPE_READ };
enum own { OWN_NOTHING, OWN_SAVEPOINT, OWN_TXN };

/* Opens the scope; *own receives what scope_close must end. */
static int scope_open(struct pg_store *s, enum scope kind, enum own *own)
{
	*own = OWN_NOTHING;
	if (s->in_txn) {
		if (kind == SCOPE_READ)
			return STORE_OK;
		*own = OWN_SAVEPOINT;
		return pg_cmd(s, H_SAVEPOINT, "history savepoint", NULL, "");
	}
	if (pg_cmd(s, kind == SCOPE_WRITE ? STMT_BEGIN : STMT_BEGIN_READ, "begin", NULL, "") !=
	    STORE_OK)
		return STORE_ERROR;
	*own = OWN_TXN;
	s->in_txn = 1; /* a session lost now must not reconnect in the middle */
	return STORE_OK;
}

/* Ends what scope_open began: commits (releases) unless ret is STORE_ERROR, else undoes it. Returns ret, or STORE_ERROR when the end fails. */
static int scope_close(struct pg_store *s, enum own own, int ret)
{
	if (own == OWN_SAVEPOINT) {
		if (ret == STORE_ERROR)
			(void)pg_cmd(s, H_ROLLBACK_TO, "history rollback", NULL, "");
		if (pg_cmd(s, H_RELEASE, "history release", NULL, "") != STORE_OK)
			return STORE_ERROR;
		return ret;
	}
	if (own == OWN_NOTHING)
		return ret;
	if (ret != STORE_ERROR) {
		PGresult *res = pg_run(s, STMT_COMMIT, "commit", "");
		int ok = res && strcmp(PQcmdStatus(res), "COMMIT") == 0;

		PQclear(res);
		if (ok) {
			s->in_txn = 0;
			return ret;
		}
	}
	if (PQstatus(s->conn) == CONNECTION_OK)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	s->in_txn = 0;
	return STORE_ERROR;
}

/* a - b, saturated at INT64_MIN: a time cutoff for an age that may be huge. */
static int64_t cutoff(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_sub_overflow(a, b, &r) ? INT64_MIN : r;
}

/* Fills *pos from columns epoch, top, updated_at starting at column c of row r. */
static void read_pos(const PGresult *res, int r, int c, struct stream_pos *pos)
{
	const char *e = pg_str(res, r, c);

	snprintf(pos->epoch, sizeof pos->epoch, "%s", e ? e : "");
	pos->offset = pg_int(res, r, c + 1);
	pos->updated_at = pg_int(res, r, c + 2);
}

int pg_history_append(struct store *h, const char *stream, const char *target,
		      const char *text, int64_t now, const struct history_limits *lim,
		      struct stream_pos *pos)
{
	struct pg_store *s = pgs(h);
	char epoch[HISTORY_EPOCH_LEN + 1];
	PGresult *res;
	int ret = STORE_ERROR;

	memset(pos, 0, sizeof *pos);
	random_hex(epoch, HISTORY_EPOCH_LEN / 2);
	/* One statement: atomic alone; inside the caller's transaction a savepoint, so that
	 * its failure does not abort the caller's (PostgreSQL aborts a transaction on error). */
	if (s->in_txn && pg_cmd(s, H_SAVEPOINT, "history savepoint", NULL, "") != STORE_OK)
		return STORE_ERROR;
	res = pg_run(s, H_APPEND, "storing a stream's message", "ttittii", stream, epoch, now,
		     target, text, lim->size > 0 ? lim->size : (int64_t)0,
		     cutoff(now, lim->ttl_ms));
	if (res && PQntuples(res) == 1) {
		read_pos(res, 0, 0, pos);
		ret = STORE_OK;
	}
	PQclear(res);
	if (s->in_txn)
		ret = scope_close(s, OWN_SAVEPOINT, ret);
	if (ret != STORE_OK)
		memset(pos, 0, sizeof *pos);
	return ret;
}

/* H_POSITION for stream: STORE_OK with *pos, STORE_NOTFOUND (pos zeroed), STORE_ERROR. */
static int position(struct pg_store *s, const char *stream, struct stream_pos *pos)
{
	PGresult *res = pg_run(s, H_POSITION, "reading a stream's position", "t", stream);
	int ret;

	memset(pos, 0, sizeof *pos);
	if (!res)
		return STORE_ERROR;
	ret = PQntuples(res) > 0 ? STORE_OK : STORE_NOTFOUND;
	if (ret == STORE_OK)
		read_pos(res, 0, 0, pos);
	PQclear(res);
	return ret;
}

int pg_history_position(struct store *h, const char *stream, struct stream_pos *pos)
{
	return position(pgs(h), stream, pos);
}

/* Reads the messages of stream after after (H_READ), calling fn per message until it returns non-zero. */
static int walk_entries(struct pg_store *s, const char *stream, int64_t after, int64_t young,
			int64_t limit, int (*fn)(void *arg, const struct history_entry *e),
			void *arg)
{
	PGresult *res = pg_run(s, H_READ, "reading a stream's history", "tiii", stream, after,
			       young, limit);

	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		struct history_entry e = {
			.offset = pg_int(res, i, 0),
			.target = pg_str(res, i, 1),
			.text = pg_str(res, i, 2),
			.created_at = pg_int(res, i, 3),
		};

		if (fn(arg, &e) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

int pg_history_read(struct store *h, const char *stream, int64_t after, int64_t limit,
		    int64_t now, int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
		    int (*fn)(void *arg, const struct history_entry *e), void *arg)
{
	struct pg_store *s = pgs(h);
	int64_t young = now ? cutoff(now, ttl_ms) : INT64_MIN;
	enum own own;
	PGresult *res;
	int ret;

	memset(pos, 0, sizeof *pos);
	*oldest = 0;
	if (scope_open(s, SCOPE_READ, &own) != STORE_OK)
		return STORE_ERROR;
	ret = position(s, stream, pos);
	if (ret == STORE_OK) {
		res = pg_run(s, H_OLDEST, "reading a stream's oldest message", "ti", stream, young);
		if (!res)
			ret = STORE_ERROR;
		else if (PQntuples(res) > 0)
			*oldest = pg_int(res, 0, 0);
		PQclear(res);
	}
	/* A limit of 0 or less reads nothing (as SQLite's LIMIT -1 never reaches here). */
	if (ret == STORE_OK && limit > 0 && *oldest > 0)
		ret = walk_entries(s, stream, after, young, limit, fn, arg);
	ret = scope_close(s, own, ret);
	if (ret != STORE_OK) {
		memset(pos, 0, sizeof *pos);
		*oldest = 0;
	}
	return ret;
}

int pg_history_positions(struct store *h, const char *connection_id, const char *const *names,
			 size_t n, const char *topic_prefix, int64_t since, history_pos_fn fn,
			 void *arg)
{
	struct pg_store *s = pgs(h);
	const char *name[HISTORY_POSITIONS_NAMES_MAX] = { 0 };
	PGresult *res;

	if (n > HISTORY_POSITIONS_NAMES_MAX)
		return pg_set_error(s, "history_positions: %zu stream names, at most %d", n,
				    HISTORY_POSITIONS_NAMES_MAX);
	/* One index probe answers the common case, where no stream moved since: nothing to list. */
	if (since > 0) {
		int moved;

		res = pg_run(s, H_ANY_MOVED, "checking whether a stream moved", "i", since);
		if (!res)
			return STORE_ERROR;
		moved = PQntuples(res) > 0;
		PQclear(res);
		if (!moved)
			return STORE_OK;
	}
	for (size_t i = 0; i < n; i++)
		name[i] = names[i];
	res = pg_run(s, H_POSITIONS, "reading the positions of a connection's streams", "tttttti",
		     name[0], name[1], name[2], name[3], connection_id, topic_prefix, since);
	if (!res)
		return STORE_ERROR;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *stream = pg_str(res, i, 0);
		struct stream_pos pos;

		read_pos(res, i, 1, &pos);
		if (stream && fn(arg, stream, &pos) != 0)
			break;
	}
	PQclear(res);
	return STORE_OK;
}

int pg_history_gc(struct store *h, int64_t now, int64_t ttl_ms, int64_t idle_ms,
		  int64_t *messages, int64_t *streams)
{
	struct pg_store *s = pgs(h);
	int64_t nm = 0, nm2 = 0, ns = 0;
	enum own own;
	int ret;

	if (scope_open(s, SCOPE_WRITE, &own) != STORE_OK)
		return STORE_ERROR;
	ret = pg_cmd(s, H_GC_MESSAGES, "removing old stream messages", &nm, "i",
		     cutoff(now, ttl_ms));
	if (ret == STORE_OK)
		ret = pg_cmd(s, H_GC_IDLE_MESSAGES, "removing idle streams' messages", &nm2, "i",
			     cutoff(now, idle_ms));
	if (ret == STORE_OK)
		ret = pg_cmd(s, H_GC_STREAMS, "removing idle streams", &ns, "i", cutoff(now, idle_ms));
	ret = scope_close(s, own, ret);
	if (messages)
		*messages = ret == STORE_OK ? nm + nm2 : 0;
	if (streams)
		*streams = ret == STORE_OK ? ns : 0;
	return ret;
}

/* history.c - the SQLite engine's numbered streams and their bounded message history (sql/008_streams.sql): the history_* ops. */
#include <stdio.h>
#include <string.h>

#include "history.h"
#include "sqlite_int.h"

/* Runs bound statement id, which changes rows and returns none; adds the rows changed to *n. */
static int exec_count(struct sqlite_store *s, enum sqlite_stmt id, const char *what, int64_t *n)
{
	if (sqlite_run_exec(s, id, what) != STORE_OK)
		return STORE_ERROR;
	*n += sqlite3_changes(s->db); /* changes64 needs 3.37; configure asks 3.35 */
	return STORE_OK;
}

/*
 * Where the calls below run: a write transaction of their own when none is
 * open (BEGIN IMMEDIATE: the write lock first, so two appends never race
 * on a stale snapshot), else a savepoint inside the caller's, so that a
 * failure undoes only this call. A read needs only a snapshot.
 */
enum scope { SCOPE_WRITE, SCOPE_READ };

/* Opens the scope; *own receives what scope_close must end (STMT_COUNT: nothing). */
static int scope_open(struct sqlite_store *s, enum scope kind, enum sqlite_stmt *own)
{
	enum sqlite_stmt begin;

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (!sqlite3_get_autocommit(s->db)) {
		*own = kind == SCOPE_WRITE ? H_SAVEPOINT : STMT_COUNT;
		return kind == SCOPE_WRITE ? sqlite_run_exec(s, H_SAVEPOINT, "history savepoint") : STORE_OK;
	}
	begin = kind == SCOPE_WRITE ? STMT_BEGIN : H_BEGIN_READ;
	*own = begin;
	return sqlite_run_exec(s, begin, "begin");
}

/* Ends what scope_open began: commits (releases) when ret is not STORE_ERROR, else undoes it. Returns ret, or STORE_ERROR when the commit fails. */
static int scope_close(struct sqlite_store *s, enum sqlite_stmt own, int ret)
{
	if (own == H_SAVEPOINT) {
		if (ret == STORE_ERROR)
			(void)sqlite_run_exec(s, H_ROLLBACK_TO, "history rollback");
		if (sqlite_run_exec(s, H_RELEASE, "history release") != STORE_OK)
			return STORE_ERROR;
		return ret;
	}
	if (own == STMT_COUNT)
		return ret;
	if (ret != STORE_ERROR && sqlite_run_exec(s, STMT_COMMIT, "commit") == STORE_OK)
		return ret;
	if (!sqlite3_get_autocommit(s->db))
		(void)sqlite_run_exec(s, STMT_ROLLBACK, "rollback");
	return STORE_ERROR;
}

/* a - b, saturated at INT64_MIN: a time cutoff for an age that may be huge. */
static int64_t cutoff(int64_t a, int64_t b)
{
	int64_t r;

	return __builtin_sub_overflow(a, b, &r) ? INT64_MIN : r;
}

/* Fills *pos from columns epoch, top, updated_at starting at column i of the current row. */
static void read_pos(sqlite3_stmt *st, int i, struct stream_pos *pos)
{
	const unsigned char *e = sqlite3_column_text(st, i);

	snprintf(pos->epoch, sizeof pos->epoch, "%s", e ? (const char *)e : "");
	pos->offset = sqlite3_column_int64(st, i + 1);
	pos->updated_at = sqlite3_column_int64(st, i + 2);
}

/* Runs bound H_NEXT: the stream's next offset, in *pos. */
static int next_offset(struct sqlite_store *s, struct stream_pos *pos)
{
	sqlite3_stmt *st = s->stmt[H_NEXT];
	int ret = STORE_OK;

	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = sqlite_fail(s, "numbering a stream's message");
	} else {
		read_pos(st, 0, pos);
		/* Step to the end: a write's RETURNING row comes before it is done. */
		if (sqlite3_step(st) != SQLITE_DONE)
			ret = sqlite_fail(s, "numbering a stream's message");
	}
	sqlite_done(st);
	return ret;
}

int sqlite_history_append(struct store *h, const char *stream, const char *target,
			  const char *text, int64_t now, const struct history_limits *lim,
			  struct stream_pos *pos)
{
	struct sqlite_store *s = sq(h);
	char epoch[HISTORY_EPOCH_LEN + 1];
	enum sqlite_stmt own;
	int64_t keep_from;
	int ret;

	memset(pos, 0, sizeof *pos);
	random_hex(epoch, HISTORY_EPOCH_LEN / 2);
	if (scope_open(s, SCOPE_WRITE, &own) != STORE_OK)
		return STORE_ERROR;
	ret = sqlite_bind(s, s->stmt[H_NEXT], "tti", stream, epoch, now);
	if (ret == STORE_OK)
		ret = next_offset(s, pos);
	if (ret == STORE_OK)
		ret = sqlite_bind(s, s->stmt[H_INSERT], "titti", stream, pos->offset, target, text,
				  now);
	if (ret == STORE_OK)
		ret = sqlite_run_exec(s, H_INSERT, "storing a stream's message");
	keep_from = lim->size > 0 ? cutoff(pos->offset + 1, lim->size) : pos->offset + 1;
	if (ret == STORE_OK)
		ret = sqlite_bind(s, s->stmt[H_TRIM], "tiii", stream, keep_from,
				  cutoff(now, lim->ttl_ms), pos->offset + 1);
	if (ret == STORE_OK)
		ret = sqlite_run_exec(s, H_TRIM, "trimming a stream's history");
	ret = scope_close(s, own, ret);
	if (ret != STORE_OK)
		memset(pos, 0, sizeof *pos);
	return ret;
}

/* Runs H_POSITION for stream: STORE_OK with *pos, STORE_NOTFOUND (pos zeroed). */
static int position(struct sqlite_store *s, const char *stream, struct stream_pos *pos)
{
	sqlite3_stmt *st = s->stmt[H_POSITION];
	int ret = STORE_NOTFOUND;
	int rc;

	memset(pos, 0, sizeof *pos);
	if (sqlite_bind(s, st, "t", stream) != STORE_OK)
		return STORE_ERROR;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		read_pos(st, 0, pos);
		ret = STORE_OK;
	} else if (rc != SQLITE_DONE) {
		ret = sqlite_fail(s, "reading a stream's position");
	}
	sqlite_done(st);
	return ret;
}

int sqlite_history_position(struct store *h, const char *stream, struct stream_pos *pos)
{
	return position(sq(h), stream, pos);
}

/* Runs bound H_OLDEST: the first offset still readable, 0 when none. */
static int oldest_offset(struct sqlite_store *s, int64_t *oldest)
{
	sqlite3_stmt *st = s->stmt[H_OLDEST];
	int rc = sqlite3_step(st);
	int ret = STORE_OK;

	*oldest = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = sqlite_fail(s, "reading a stream's oldest message");
	sqlite_done(st);
	return ret;
}

/* Walks bound H_READ, calling fn per message until it returns non-zero. */
static int walk_entries(struct sqlite_store *s, int (*fn)(void *arg, const struct history_entry *e),
			void *arg)
{
	sqlite3_stmt *st = s->stmt[H_READ];
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct history_entry e = {
			.offset = sqlite3_column_int64(st, 0),
			.target = (const char *)sqlite3_column_text(st, 1),
			.text = (const char *)sqlite3_column_text(st, 2),
			.created_at = sqlite3_column_int64(st, 3),
		};

		if (!e.text) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (fn(arg, &e) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sqlite_fail(s, "reading a stream's history");
		sqlite_done(st);
		return STORE_ERROR;
	}
	sqlite_done(st);
	return STORE_OK;
}

int sqlite_history_read(struct store *h, const char *stream, int64_t after, int64_t limit,
			int64_t now, int64_t ttl_ms, struct stream_pos *pos, int64_t *oldest,
			int (*fn)(void *arg, const struct history_entry *e), void *arg)
{
	struct sqlite_store *s = sq(h);
	int64_t young = now ? cutoff(now, ttl_ms) : INT64_MIN;
	enum sqlite_stmt own;
	int ret;

	memset(pos, 0, sizeof *pos);
	*oldest = 0;
	if (scope_open(s, SCOPE_READ, &own) != STORE_OK)
		return STORE_ERROR;
	ret = position(s, stream, pos);
	if (ret == STORE_OK && sqlite_bind(s, s->stmt[H_OLDEST], "ti", stream, young) != STORE_OK)
		ret = STORE_ERROR;
	if (ret == STORE_OK)
		ret = oldest_offset(s, oldest);
	/* LIMIT takes a negative number as none: a limit of 0 or less reads nothing. */
	if (ret == STORE_OK && limit > 0 && *oldest > 0) {
		ret = sqlite_bind(s, s->stmt[H_READ], "tiii", stream, after, young, limit);
		if (ret == STORE_OK)
			ret = walk_entries(s, fn, arg);
	}
	ret = scope_close(s, own, ret);
	if (ret != STORE_OK) {
		memset(pos, 0, sizeof *pos);
		*oldest = 0;
	}
	return ret;
}

int sqlite_history_positions(struct store *h, const char *connection_id, const char *const *names,
			     size_t n, const char *topic_prefix, int64_t since, history_pos_fn fn,
			     void *arg)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = s->stmt[H_POSITIONS];
	const char *name[HISTORY_POSITIONS_NAMES_MAX] = { 0 };
	int rc;

	if (n > HISTORY_POSITIONS_NAMES_MAX) {
		sqlite_set_error(s, "history_positions: %zu stream names, at most %d", n,
				 HISTORY_POSITIONS_NAMES_MAX);
		return STORE_ERROR;
	}
	/* One index probe answers the common case, where no stream moved since: nothing to list. */
	if (since > 0) {
		sqlite3_stmt *any = s->stmt[H_ANY_MOVED];

		if (sqlite_bind(s, any, "i", since) != STORE_OK)
			return STORE_ERROR;
		rc = sqlite3_step(any);
		sqlite_done(any);
		if (rc == SQLITE_DONE)
			return STORE_OK;
		if (rc != SQLITE_ROW) {
			sqlite_fail(s, "checking whether a stream moved");
			return STORE_ERROR;
		}
	}
	for (size_t i = 0; i < n; i++)
		name[i] = names[i];
	if (sqlite_bind(s, st, "tttttti", name[0], name[1], name[2], name[3], connection_id,
			topic_prefix, since) != STORE_OK)
		return STORE_ERROR;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *stream = (const char *)sqlite3_column_text(st, 0);
		struct stream_pos pos;

		read_pos(st, 1, &pos);
		if (stream && fn(arg, stream, &pos) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE) {
		sqlite_fail(s, "reading the positions of a connection's streams");
		sqlite_done(st);
		return STORE_ERROR;
	}
	sqlite_done(st);
	return STORE_OK;
}

int sqlite_history_gc(struct store *h, int64_t now, int64_t ttl_ms, int64_t idle_ms,
		      int64_t *messages, int64_t *streams)
{
	struct sqlite_store *s = sq(h);
	int64_t nm = 0, ns = 0;
	enum sqlite_stmt own;
	int ret;

	if (scope_open(s, SCOPE_WRITE, &own) != STORE_OK)
		return STORE_ERROR;
	ret = sqlite_bind(s, s->stmt[H_GC_MESSAGES], "i", cutoff(now, ttl_ms));
	if (ret == STORE_OK)
		ret = exec_count(s, H_GC_MESSAGES, "removing old stream messages", &nm);
	if (ret == STORE_OK)
		ret = sqlite_bind(s, s->stmt[H_GC_IDLE_MESSAGES], "i", cutoff(now, idle_ms));
	if (ret == STORE_OK)
		ret = exec_count(s, H_GC_IDLE_MESSAGES, "removing idle streams' messages", &nm);
	if (ret == STORE_OK)
		ret = sqlite_bind(s, s->stmt[H_GC_STREAMS], "i", cutoff(now, idle_ms));
	if (ret == STORE_OK)
		ret = exec_count(s, H_GC_STREAMS, "removing idle streams", &ns);
	ret = scope_close(s, own, ret);
	if (messages)
		*messages = ret == STORE_OK ? nm : 0;
	if (streams)
		*streams = ret == STORE_OK ? ns : 0;
	return ret;
}

/* wake.c - the PostgreSQL engine's processor wake-ups: LISTEN/NOTIFY on the channel streamer_wake (see store_wake_listen in store.h). */
#include <stdio.h>

#include "pg_int.h"

/*
 * A listener keeps a second session of its own that only LISTENs: its
 * socket (PQsocket) is the wake-up fd, readable when a NOTIFY arrives. On
 * the handle's main session a notification could be read into libpq's
 * queue by an unrelated query and leave the socket quiet, costing a poll
 * interval. Only processors listen, so workers keep one session. Behind a
 * pooler, this session needs session pooling (LISTEN is lost in
 * transaction pooling); the main session needs it too for its prepared
 * statements.
 */
/* Opens the LISTEN session: 0, or -1 with a reason in err (and none open). */
static int listen_session(struct pg_store *s, char *err, size_t errlen)
{
	PGresult *res;

	pg_finish(s, s->wake);
	s->wake = pg_connect(s->conninfo);
	if (!s->wake || PQstatus(s->wake) != CONNECTION_OK) {
		snprintf(err, errlen, "database %s: cannot open the wake-up session: %s", s->where,
			 s->wake ? PQerrorMessage(s->wake) : "out of memory");
		goto fail;
	}
	PQsetNoticeProcessor(s->wake, pg_quiet, NULL);
	res = PQexec(s->wake, "LISTEN streamer_wake");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		snprintf(err, errlen, "database %s: LISTEN streamer_wake: %s", s->where,
			 PQresultErrorMessage(res));
		PQclear(res);
		goto fail;
	}
	PQclear(res);
	if (PQsetnonblocking(s->wake, 1) != 0) {
		snprintf(err, errlen, "database %s: wake-up session: %s", s->where,
			 PQerrorMessage(s->wake));
		goto fail;
	}
	return 0;
fail:
	pg_finish(s, s->wake);
	s->wake = NULL;
	return -1;
}

int pg_wake_listen(struct store *h, char *err, size_t errlen)
{
	struct pg_store *s = pgs(h);

	pg_wake_close(h);
	if (listen_session(s, err, errlen) < 0)
		return -1;
	s->listening = 1;
	return 0;
}

int pg_wake_fd(struct store *h)
{
	struct pg_store *s = pgs(h);
	char err[256];

	/* Listening, but the session was lost and not yet opened again: try now. */
	if (s->listening && !s->wake)
		(void)listen_session(s, err, sizeof err);
	return s->wake ? PQsocket(s->wake) : -1;
}

/*
 * Reads what arrived and drops the notifications. A lost wake-up session
 * is opened again here (the fd may change: callers read store_wake_fd
 * before each poll); until then processors rely on their queue poll.
 */
void pg_wake_drain(struct store *h)
{
	struct pg_store *s = pgs(h);
	PGnotify *n;

	if (!s->wake)
		return;
	if (!PQconsumeInput(s->wake) || PQstatus(s->wake) != CONNECTION_OK) {
		char err[256];

		(void)listen_session(s, err, sizeof err);
		return;
	}
	while ((n = PQnotifies(s->wake)))
		PQfreemem(n);
}

void pg_wake_notify(struct store *h)
{
	struct pg_store *s = pgs(h);

	/* Errors are ignored (store.h): a lost wake-up costs only latency. */
	PQclear(pg_run(s, STMT_NOTIFY, "wake-up notify", ""));
}

void pg_wake_close(struct store *h)
{
	struct pg_store *s = pgs(h);

	pg_finish(s, s->wake);
	s->wake = NULL;
	s->listening = 0;
}

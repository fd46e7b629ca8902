/* report.c - the SQLite engine's whole-store reads: the gauges of /metrics and a tenant's activity for generate_report. */
#include "sqlite_int.h"

int sqlite_gauges(struct store *h, int64_t now, int64_t *connections_active,
		  int64_t *requests_pending, int64_t *requests_running)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = NULL;
	int ret = STORE_OK;

	*connections_active = *requests_pending = *requests_running = 0;
	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_prepare_v2(s->db, STORE_SQL_GAUGES, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, now) != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
		ret = sqlite_fail(s, "reading the gauges");
	} else {
		*connections_active = sqlite3_column_int64(st, 0);
		*requests_pending = sqlite3_column_int64(st, 1);
		*requests_running = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return ret;
}

static const char *text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int sqlite_activity(struct store *h, const char *tenant, int64_t from_ms, int64_t until_ms,
		    int (*fn)(void *arg, const struct store_activity_row *row), void *arg)
{
	struct sqlite_store *s = sq(h);
	sqlite3_stmt *st = NULL;
	int ret = STORE_ERROR, rc;

	if (sqlite_check_file(s, 0) != STORE_OK)
		return STORE_ERROR;
	if (sqlite3_prepare_v2(s->db, STORE_SQL_ACTIVITY, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_text(st, 1, tenant, -1, SQLITE_STATIC) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, from_ms) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, until_ms) != SQLITE_OK) {
		sqlite_fail(s, "reading activity");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_activity_row row = {
			.at_ms = sqlite3_column_int64(st, 0), .kind = text(st, 1),
			.tenant_id = text(st, 2), .id = text(st, 3), .user_id = text(st, 4),
			.action = text(st, 5), .status = text(st, 6),
			.duration_ms = sqlite3_column_int64(st, 7),
		};

		if (fn(arg, &row) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		sqlite_fail(s, "reading activity");
		goto out;
	}
	ret = STORE_OK;
out:
	sqlite3_finalize(st);
	return ret;
}

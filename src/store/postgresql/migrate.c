/* migrate.c - the PostgreSQL engine's schema: the migrations of sql/postgresql/ embedded at build time, applied by `streamer init-db`, checked by every other open. */
#include <stdio.h>
#include <stdlib.h>

#include "pg_int.h"
#include "pg_migrations.h"

int pg_schema_latest(void)
{
	int latest = 0;

	for (const struct pg_migration *m = pg_migrations; m->sql; m++)
		if (m->version > latest)
			latest = m->version;
	return latest;
}

/* Runs a one-row, one-column query into *v: 0, or -1 with the error recorded. */
static int query_int(struct pg_store *s, const char *sql, int *v)
{
	PGresult *res = PQexec(s->conn, sql);
	int ret = 0;

	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		pg_set_error(s, "database %s: reading the schema version: %s", s->where,
			     PQresultErrorMessage(res));
		ret = -1;
	} else {
		*v = (int)pg_int(res, 0, 0);
	}
	PQclear(res);
	return ret;
}

/* The version recorded in streamer_schema, 0 when the table is missing: 0, or -1 with the error recorded. */
static int read_version(struct pg_store *s, int *v)
{
	int exists = 0;

	*v = 0;
	if (query_int(s, "SELECT (to_regclass('streamer_schema') IS NOT NULL)::int", &exists) < 0)
		return -1;
	return exists ? query_int(s, "SELECT coalesce(max(version), 0) FROM streamer_schema", v) : 0;
}

/*
 * All pending migrations in one transaction, under an advisory lock taken
 * before the version is read: several processes running init-db at once
 * apply each step exactly once, the others find it done.
 */
static int apply(struct pg_store *s, int latest)
{
	int v = 0;

	if (pg_exec_sql(s, s->conn, "BEGIN", "starting the migrations") < 0)
		return -1;
	if (pg_exec_sql(s, s->conn, "SELECT pg_advisory_xact_lock(7437370917392416002)",
			"locking for the migrations") < 0 ||
	    pg_exec_sql(s, s->conn, "CREATE TABLE IF NOT EXISTS streamer_schema "
			"(version INTEGER NOT NULL)", "creating streamer_schema") < 0 ||
	    read_version(s, &v) < 0)
		goto fail;
	if (v > latest) {
		pg_set_error(s, "database %s: database schema version %d is newer than this build "
			     "(%d)", s->where, v, latest);
		goto fail;
	}
	for (const struct pg_migration *m = pg_migrations; m->sql; m++) {
		char what[300], record[96];

		if (m->version <= v)
			continue;
		snprintf(what, sizeof what, "migration postgresql/%s (version %d)", m->file,
			 m->version);
		/* An integer of the build, not input. */
		snprintf(record, sizeof record, "DELETE FROM streamer_schema; "
			 "INSERT INTO streamer_schema VALUES (%d)", m->version);
		if (pg_exec_sql(s, s->conn, m->sql, what) < 0 ||
		    pg_exec_sql(s, s->conn, record, what) < 0)
			goto fail;
	}
	if (pg_exec_sql(s, s->conn, "COMMIT", "committing the migrations") < 0)
		goto fail;
	return 0;
fail:
	PQclear(PQexec(s->conn, "ROLLBACK"));
	return -1;
}

int pg_migrate(struct pg_store *s, int migrate)
{
	int latest = pg_schema_latest();
	int v;

	if (migrate)
		return apply(s, latest);
	if (read_version(s, &v) < 0)
		return -1;
	if (v > latest)
		pg_set_error(s, "database %s: database schema version %d is newer than this build "
			     "(%d)", s->where, v, latest);
	else if (v < latest)
		pg_set_error(s, "database %s: database schema version %d is older than this build "
			     "(%d): run 'streamer init-db' first", s->where, v, latest);
	return v == latest ? 0 : -1;
}

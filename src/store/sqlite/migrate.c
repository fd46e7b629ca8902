/* migrate.c - the SQLite engine's database file and schema: creating the file, the embedded migrations from sql/, one-off SQL of opening. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "migrations.h"
#include "sqlite_int.h"

/* Runs one-off SQL of store_open (pragmas, migrations); never used per call. */
int sqlite_exec(struct sqlite_store *s, const char *sql, const char *what)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		int code = sqlite3_errcode(s->db) & 0xff;

		sqlite_set_error(s, "database %s%s: %s: %s", s->path,
				 code == SQLITE_BUSY || code == SQLITE_LOCKED
				 ? " is busy (still locked after the busy timeout)" : "",
				 what, msg ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/*
 * Runs a one-row pragma of store_open and copies its first column as text
 * into out (outlen bytes). Returns 0, or -1 with the error recorded.
 */
int sqlite_pragma_text(struct sqlite_store *s, const char *sql, char *out, size_t outlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int ret = -1;

	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		sqlite_fail(s, sql);
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite_fail(s, sql);
		goto out;
	}
	t = sqlite3_column_text(st, 0);
	snprintf(out, outlen, "%s", t ? (const char *)t : "");
	ret = 0;
out:
	sqlite3_finalize(st);
	return ret;
}

static int read_user_version(struct sqlite_store *s, int *v)
{
	char text[32];

	if (sqlite_pragma_text(s, "PRAGMA user_version", text, sizeof text) < 0)
		return -1;
	*v = atoi(text);
	return 0;
}

int sqlite_schema_latest(void)
{
	int latest = 0;

	for (const struct store_migration *m = store_migrations; m->sql; m++)
		if (m->version > latest)
			latest = m->version;
	return latest;
}

static int schema_too_new(struct sqlite_store *s, int v)
{
	sqlite_set_error(s, "database %s: database schema version %d is newer than this build (%d)",
			 s->path, v, sqlite_schema_latest());
	return -1;
}

/*
 * Applies each embedded migration newer than the database, one transaction
 * each. BEGIN IMMEDIATE takes the write lock before user_version is read
 * again, so when several processes start at once exactly one applies each
 * step and the others see it done. (A future migration that must rebuild a
 * table cannot switch foreign_keys off here: the pragma is a no-op inside a
 * transaction; such a step needs its own handling.)
 */
int sqlite_migrate(struct sqlite_store *s)
{
	int latest = sqlite_schema_latest();
	int v;

	if (read_user_version(s, &v) < 0)
		return -1;
	if (v > latest)
		return schema_too_new(s, v);
	for (const struct store_migration *m = store_migrations; m->sql; m++) {
		char what[300];
		char pragma[64];

		if (m->version <= v)
			continue;
		if (sqlite_exec(s, "BEGIN IMMEDIATE", "starting a migration") < 0)
			return -1;
		if (read_user_version(s, &v) < 0)
			goto fail;
		if (v > latest) {
			schema_too_new(s, v);
			goto fail;
		}
		if (m->version > v) {
			snprintf(what, sizeof what, "migration %s (version %d)", m->file, m->version);
			if (sqlite_exec(s, m->sql, what) < 0)
				goto fail;
			/* An integer of the build, not input: no parameter can bind a pragma. */
			snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", m->version);
			if (sqlite_exec(s, pragma, what) < 0)
				goto fail;
			v = m->version;
		}
		if (sqlite_exec(s, "COMMIT", "committing a migration") < 0)
			goto fail;
	}
	return 0;
fail:
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

int sqlite_create_file(const char *path, long long gid, char *err, size_t errlen)
{
	mode_t mode = gid >= 0 ? 0640 : 0600;
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
		return -1;
	}
	/* Exactly this mode whatever the umask; SQLite gives -wal and -shm the same. */
	if ((gid >= 0 && fchown(fd, (uid_t)-1, (gid_t)gid) < 0) || fchmod(fd, mode) < 0) {
		snprintf(err, errlen, "cannot set the owner group or mode of database %s: %s", path,
			 strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	if (close(fd) < 0) {
		snprintf(err, errlen, "cannot create database %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 1;
}

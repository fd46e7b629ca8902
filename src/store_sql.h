/* store_sql.h - the schema and migrations embedded from sql/ at build time. */
#ifndef STREAMER_STORE_SQL_H
#define STREAMER_STORE_SQL_H

/* One step of the schema: applying sql moves PRAGMA user_version to version. */
struct store_migration {
	int version;
	const char *file;
	const char *sql;
};

/* In ascending version order, ending with an entry whose sql is NULL. */
extern const struct store_migration store_migrations[];

#endif

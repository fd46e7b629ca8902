/* migrations.h - the SQLite engine's schema and migrations, embedded from sql/ at build time (sql/embed.sh writes store/sqlite/sql_embedded.c). */
#ifndef STREAMER_STORE_SQLITE_MIGRATIONS_H
#define STREAMER_STORE_SQLITE_MIGRATIONS_H

/* One step of the schema: applying sql moves PRAGMA user_version to version. */
struct store_migration {
	int version;
	const char *file;
	const char *sql;
};

/* In ascending version order, ending with an entry whose sql is NULL. */
extern const struct store_migration store_migrations[];

#endif

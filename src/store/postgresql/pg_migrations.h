/* pg_migrations.h - the PostgreSQL engine's migrations, embedded from sql/postgresql/ at build time (sql/embed.sh writes store/postgresql/pg_sql_embedded.c). */
#ifndef STREAMER_STORE_PG_MIGRATIONS_H
#define STREAMER_STORE_PG_MIGRATIONS_H

/* One step of the schema: applying sql moves streamer_schema's version to version. */
struct pg_migration {
	int version;
	const char *file;
	const char *sql;
};

/* In ascending version order, ending with an entry whose sql is NULL. */
extern const struct pg_migration pg_migrations[];

#endif

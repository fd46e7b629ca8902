/* cli_db.c - `streamer init-db` and `streamer connections`: the connection store from the command line. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opt.h"
#include "config.h"
#include "store.h"
#include "util.h"

/*
 * Opens the store at db_opt (--db) or else at STREAMER_DB, with the
 * configured busy timeout; store_open migrates the database. When create is
 * set a missing file is created first (mode 0600, or 0640 with
 * STREAMER_DB_GROUP); otherwise it is an error, so that a typo in a path
 * does not leave an empty database behind. Returns 0 with the
 * handle and the path used (caller frees), or 1 after printing
 * "streamer CMD: reason" on stderr.
 */
static int open_store(const char *cmd, const char *db_opt, int create, struct store **out,
		      char **path_out)
{
	struct config cfg = { 0 };
	char err[1024];
	char *path = NULL;
	int ret = 1;

	*out = NULL;
	*path_out = NULL;
	if (config_load(&cfg, 0, err, sizeof err) != 0) {
		fprintf(stderr, "streamer %s: %s\n", cmd, err);
		return 1; /* config_load left cfg freed */
	}
	path = xstrdup(db_opt ? db_opt : cfg.db_path);
	if (create && store_create(path, cfg.db_gid, err, sizeof err) < 0) {
		fprintf(stderr, "streamer %s: %s\n", cmd, err);
		goto out;
	}
	if (store_open(out, path, &(struct store_options){ .busy_timeout_ms = cfg.busy_timeout_ms },
		       0, err, sizeof err) != 0) {
		fprintf(stderr, "streamer %s: %s\n", cmd, err);
		goto out;
	}
	*path_out = path;
	path = NULL;
	ret = 0;
out:
	free(path);
	config_free(&cfg);
	return ret;
}

/* Fails when stdout could not be written (a full disk, a closed pipe). */
static int finish_output(const char *cmd)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "streamer %s: writing output: %s\n", cmd, strerror(errno));
		return 1;
	}
	return 0;
}

/* ---- init-db ---- */

static void init_db_usage(FILE *to)
{
	fprintf(to,
		"Usage: streamer init-db [--db PATH]\n"
		"\n"
		"Creates the SQLite database if it does not exist (mode 0600, or 0640 with\n"
		"STREAMER_DB_GROUP), switches it to WAL mode and applies the pending\n"
		"migrations (this build knows schema version %d). Running it again is\n"
		"harmless. Only init-db creates a database: workers, the processor and\n"
		"the other commands refuse to start without one, and migrate it when\n"
		"they start.\n"
		"\n"
		"  --db PATH   the database file (default: STREAMER_DB)\n"
		"  -h, --help  show this help\n",
		store_schema_latest());
}

int cli_init_db(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	struct store *s = NULL;
	char *path = NULL;
	int c, version, ret = 1;

	optind = 0; /* glibc: start afresh, main may have parsed before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'h':
			init_db_usage(stdout);
			return finish_output("init-db");
		default:
			return cli_bad_option("init-db", c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "streamer init-db: unexpected argument '%s'\n", argv[optind]);
		init_db_usage(stderr);
		return 2;
	}
	if (open_store("init-db", db, 1, &s, &path) != 0)
		goto out;
	version = store_schema_version(s);
	if (version < 0) {
		fprintf(stderr, "streamer init-db: %s\n", store_errmsg(s));
		goto out;
	}
	{
		char *shown = store_url_redacted(path);

		printf("database %s at schema version %d\n", shown, version);
		free(shown);
	}
	ret = finish_output("init-db");
out:
	store_close(s);
	free(path);
	return ret;
}

/* ---- connections ---- */

static void connections_usage(FILE *to)
{
	fprintf(to,
		"Usage: streamer connections [--tenant T] [--json] [--db PATH]\n"
		"\n"
		"Lists the connections in the store, oldest first, including expired ones\n"
		"that have not been removed yet. Times are UTC.\n"
		"\n"
		"  --tenant T  only the connections of tenant T\n"
		"  --json      one JSON object per line with every field (times in ms since\n"
		"              the epoch, permissions as an array)\n"
		"  --db PATH   the database file (default: STREAMER_DB)\n"
		"  -h, --help  show this help\n");
}

/*
 * A JSON string for s (NULL gives null). Bytes that are not valid UTF-8
 * (a user agent may hold anything) become '?' rather than losing the row.
 * Returns a new reference.
 */
static json_t *json_text(const char *s)
{
	json_t *v;
	char *copy;

	if (!s)
		return json_null();
	v = json_string(s);
	if (v)
		return v;
	copy = xstrdup(s);
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	v = json_string(copy);
	free(copy);
	return v;
}

/* The permissions array; text that is not a JSON array is kept as a string. New reference. */
static json_t *json_permissions(const char *text)
{
	json_t *v = json_loads(text ? text : "[]", JSON_REJECT_DUPLICATES, NULL);

	if (v && json_is_array(v))
		return v;
	json_decref(v);
	return json_text(text);
}

/* Prints r as one line of JSON; ctx is an int set to 1 on failure, which also stops the walk. */
static int print_json(const struct conn_record *r, void *ctx)
{
	int *failed = ctx;
	json_t *o;
	o = json_pack("{s:o, s:o, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I, s:I}",
		      "id", json_text(r->id),
		      "user_id", json_text(r->user_id),
		      "tenant_id", json_text(r->tenant_id),
		      "permissions", json_permissions(r->permissions),
		      "user_agent", json_text(r->user_agent),
		      "source_addr", json_text(r->source_addr),
		      "connected_at", (json_int_t)r->connected_at,
		      "last_active_at", (json_int_t)r->last_active_at,
		      "expires_at", (json_int_t)r->expires_at,
		      "messages_received", (json_int_t)r->messages_received,
		      "messages_sent", (json_int_t)r->messages_sent);
	if (!o) {
		fprintf(stderr, "streamer connections: cannot encode connection %s\n", r->id);
		*failed = 1;
		return 1;
	}
	if (json_dumpf(o, stdout, JSON_COMPACT) != 0 || putchar('\n') == EOF)
		*failed = 1; /* finish_output reports it */
	json_decref(o);
	return *failed;
}

/* The rows of the human table, copied out of the store's walk to size the columns. */
struct table {
	struct conn_record *rows;
	size_t n, cap;
};

static int collect_row(const struct conn_record *r, void *ctx)
{
	struct table *t = ctx;
	struct conn_record *c;

	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->rows = xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	c = &t->rows[t->n++];
	*c = *r;
	c->id = xstrdup(r->id);
	c->user_id = xstrdup(r->user_id);
	c->tenant_id = xstrdup(r->tenant_id);
	c->permissions = xstrdup(r->permissions);
	c->user_agent = xstrdup(r->user_agent);
	c->source_addr = xstrdup(r->source_addr);
	return 0;
}

static void table_free(struct table *t)
{
	for (size_t i = 0; i < t->n; i++)
		conn_record_free(&t->rows[i]);
	free(t->rows);
	memset(t, 0, sizeof *t);
}

/* Display width of UTF-8 text: one column per character, not per byte. */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

/* Prints s left-aligned in width columns; control bytes become '?' so no cell can drive the terminal. */
static void print_cell(const char *s, size_t width)
{
	size_t w = text_width(s);

	for (; *s; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
	for (; w < width; w++)
		putchar(' ');
	putchar(' ');
	putchar(' ');
}

static size_t max_size(size_t a, size_t b)
{
	return a > b ? a : b;
}

static void print_table(const struct table *t)
{
	static const char *const head[] = {
		"ID", "USER", "TENANT", "CONNECTED", "LAST ACTIVE", "EXPIRES", "RECEIVED", "SENT",
	};
	size_t wid = strlen(head[0]), wuser = strlen(head[1]), wtenant = strlen(head[2]);
	size_t wtime = 24; /* YYYY-MM-DDTHH:MM:SS.mmmZ */
	int wnum = 8;

	for (size_t i = 0; i < t->n; i++) {
		wid = max_size(wid, text_width(t->rows[i].id));
		wuser = max_size(wuser, text_width(t->rows[i].user_id));
		wtenant = max_size(wtenant, text_width(t->rows[i].tenant_id));
	}
	print_cell(head[0], wid);
	print_cell(head[1], wuser);
	print_cell(head[2], wtenant);
	print_cell(head[3], wtime);
	print_cell(head[4], wtime);
	print_cell(head[5], wtime);
	printf("%*s  %*s\n", wnum, head[6], wnum, head[7]);
	for (size_t i = 0; i < t->n; i++) {
		const struct conn_record *r = &t->rows[i];
		char when[32];

		print_cell(r->id, wid);
		print_cell(r->user_id, wuser);
		print_cell(r->tenant_id, wtenant);
		time_rfc3339(r->connected_at, when);
		print_cell(when, wtime);
		time_rfc3339(r->last_active_at, when);
		print_cell(when, wtime);
		time_rfc3339(r->expires_at, when);
		print_cell(when, wtime);
		printf("%*" PRId64 "  %*" PRId64 "\n", wnum, r->messages_received,
		       wnum, r->messages_sent);
	}
}

int cli_connections(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tenant", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *tenant = NULL;
	struct store *s = NULL;
	struct table t = { 0 };
	char *path = NULL;
	int c, rc, json = 0, json_failed = 0, ret = 1;

	optind = 0; /* glibc: start afresh, main may have parsed before */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			tenant = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			connections_usage(stdout);
			return finish_output("connections");
		default:
			return cli_bad_option("connections", c, argv);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "streamer connections: unexpected argument '%s'\n", argv[optind]);
		connections_usage(stderr);
		return 2;
	}
	if (open_store("connections", db, 0, &s, &path) != 0)
		goto out;
	if (json)
		rc = store_conn_list(s, tenant, print_json, &json_failed);
	else
		rc = store_conn_list(s, tenant, collect_row, &t);
	if (rc != STORE_OK) {
		fprintf(stderr, "streamer connections: %s\n", store_errmsg(s));
		goto out;
	}
	if (!json)
		print_table(&t);
	ret = finish_output("connections");
	if (json_failed)
		ret = 1;
out:
	table_free(&t);
	store_close(s);
	free(path);
	return ret;
}

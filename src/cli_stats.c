/* cli_stats.c - `streamer stats`: the host's metrics and the store's gauges for a person at a terminal (or --json). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cli_opt.h"
#include "config.h"
#include "metrics.h"
#include "stats.h"
#include "store.h"
#include "util.h"

static void usage(FILE *to)
{
	fprintf(to, "Usage: streamer stats [--json] [--db FILE]\n"
		    "Prints the counters every worker and processor on this host share\n"
		    "(the same numbers as GET /metrics) and the store's gauges.\n\n"
		    "  --json      one JSON object instead of aligned text\n"
		    "  --db FILE   the database (default STREAMER_DB); its metrics file is FILE.metrics\n"
		    "  -h, --help  this text\n");
}

static void print_line(const char *series, int64_t value, void *ctx)
{
	(void)ctx;
	printf("  %-72s %" PRId64 "\n", series, value);
}

static void add_json(const char *series, int64_t value, void *ctx)
{
	json_object_set_new((json_t *)ctx, series, json_integer(value));
}

int cli_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg = { 0 };
	struct store *s = NULL;
	struct gauges g;
	const char *db = NULL;
	char err[1024], *mpath = NULL;
	int c, json = 0, ret = 1;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'd': db = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("stats", c, argv);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(&cfg, 0, err, sizeof err) < 0) {
		fprintf(stderr, "streamer stats: %s\n", err);
		return 1;
	}
	if (!db)
		db = cfg.db_path;
	if (store_open(&s, db, &(struct store_options){ .busy_timeout_ms = cfg.busy_timeout_ms }, 0,
		       err, sizeof err) < 0) {
		fprintf(stderr, "streamer stats: %s\n", err);
		goto out;
	}
	if (stats_gauges(s, time_now_ms(), &g) != STORE_OK) {
		fprintf(stderr, "streamer stats: %s\n", store_errmsg(s));
		goto out;
	}
	/* STREAMER_METRICS_FILE when set (and --db not given), else the one beside the database. */
	if (cfg.metrics_file && strcmp(cfg.metrics_file, "off") != 0 && db == cfg.db_path)
		mpath = xstrdup(cfg.metrics_file);
	else
		mpath = metrics_default_path(db, cfg.host_dir);
	if (metrics_open(mpath, err, sizeof err) < 0)
		fprintf(stderr, "streamer stats: %s (showing the gauges only)\n", err);
	if (json) {
		json_t *o = json_pack("{s:{},s:{s:I,s:I,s:I}}", "counters", "gauges",
				      "connections_active", (json_int_t)g.connections_active,
				      "jobs_pending", (json_int_t)g.jobs_pending,
				      "jobs_running", (json_int_t)g.jobs_running);

		metrics_foreach(add_json, json_object_get(o, "counters"));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(o);
	} else {
		printf("store %s\n", db);
		printf("  %-72s %" PRId64 "\n", "connections active", g.connections_active);
		printf("  %-72s %" PRId64 "\n", "requests pending", g.jobs_pending);
		printf("  %-72s %" PRId64 "\n", "requests running", g.jobs_running);
		printf("counters since %s was created (all processes on this host)\n", mpath);
		metrics_foreach(print_line, NULL);
	}
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	metrics_close();
	free(mpath);
	store_close(s);
	config_free(&cfg);
	return ret;
}

/* processor_opts.c - the command line of `streamer processor`: --concurrency, --once, --help. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_opt.h"
#include "config.h"
#include "processor_int.h"

static void usage(FILE *to)
{
	fprintf(to,
		"Usage: streamer processor [--concurrency N] [--once]\n"
		"Runs queued async requests: claims them from the database (STREAMER_DB)\n"
		"with a lease, runs each handler in its own process, stores and pushes\n"
		"progress and results through STREAMER_CALLBACK_URL.\n\n"
		"  -c, --concurrency N  requests run at once (processes), 1-256 (default 1)\n"
		"      --once           run what is queued now, then exit\n"
		"  -h, --help           this text\n\n");
	config_usage_names(to, CONFIG_PROCESSOR,
			   "SIGTERM or SIGINT: running requests are stopped and handed back to the "
			   "queue for another processor. Settings: ",
			   " and the rest of 'streamer-fcgi --help'.");
}

int processor_opts_parse(int argc, char **argv, struct processor_opts *o)
{
	static const struct option opts[] = {
		{ "concurrency", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	o->concurrency = 1;
	o->once = 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":c:h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'c':
			errno = 0;
			o->concurrency = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || o->concurrency < 1 || o->concurrency > 256) {
				fprintf(stderr, "streamer processor: --concurrency must be 1-256\n");
				return 2;
			}
			break;
		case 'o':
			o->once = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("processor", c, argv);
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

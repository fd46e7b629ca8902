/* cli.c - the streamer command: dispatches to its subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "processor.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "init-db", cli_init_db, "create the database or migrate it to the current schema" },
	{ "token", cli_token, "sign a JWT for development and tests" },
	{ "connections", cli_connections, "list the connections in the store" },
	{ "stats", cli_stats, "the host's metrics and the store's gauges" },
	{ "send", cli_send, "push a message to a connection or to every connection of a user" },
	{ "broadcast", cli_broadcast, "push a message to a whole tenant or to a topic" },
	{ "close", cli_close, "close a connection at the proxy with a code and reason" },
	{ "gc", cli_gc, "remove expired connections (closing them), results and old stream history" },
	{ "processor", processor_main, "run queued async requests ([--concurrency N])" },
	{ NULL, NULL, NULL },
};

static void usage(FILE *to)
{
	fprintf(to, "Usage: streamer COMMAND [OPTIONS]\n\nCommands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(to, "  %-12s %s\n", c->name, c->summary);
	fprintf(to, "\nRun 'streamer COMMAND --help' for the options of a command.\n"
		    "Settings come from STREAMER_* variables; see 'streamer-fcgi --help'.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("streamer %s\n", PACKAGE_VERSION);
		return 0;
	}
	for (const struct command *c = commands; c->name; c++)
		if (strcmp(argv[1], c->name) == 0)
			return c->run(argc - 1, argv + 1);
	fprintf(stderr, "streamer: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

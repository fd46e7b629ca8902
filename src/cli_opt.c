/* cli_opt.c - the one way the streamer subcommands (the processor's too) report a bad option. */
#include <getopt.h>
#include <stdio.h>

#include "cli_opt.h"

int cli_bad_option(const char *cmd, int c, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "";

	if (c == ':')
		fprintf(stderr, "streamer %s: option '%s' needs a value\n", cmd, arg);
	else if (optopt)
		fprintf(stderr, "streamer %s: unknown option '-%c'\n", cmd, optopt);
	else
		fprintf(stderr, "streamer %s: unknown option '%s'\n", cmd, arg);
	fprintf(stderr, "Try 'streamer %s --help'.\n", cmd);
	return CLI_EXIT_USAGE;
}

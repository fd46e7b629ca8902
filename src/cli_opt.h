/* cli_opt.h - the one way the streamer subcommands (the processor's too) report a bad option. */
#ifndef STREAMER_CLI_OPT_H
#define STREAMER_CLI_OPT_H

/*
 * Usage: set opterr = 0, start the optstring with ':' and hand every value
 * getopt_long returns that is not an option of the command (':' or '?') to
 * cli_bad_option.
 */

/* The exit status of a usage error (0 ok, 1 failure, 2 usage). */
#define CLI_EXIT_USAGE 2

/*
 * Reports a usage error of command cmd ("gc") on stderr as
 *   streamer CMD: <fmt, ...>
 *   Try 'streamer CMD --help'.
 * and returns CLI_EXIT_USAGE.
 */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Reports getopt_long's failure c (':' a missing value, '?' an unknown
 * option) of command cmd with cli_usage_error: "option '--db' needs a
 * value", "unknown option '--nope'" (or '-x'), reading optind, optopt and
 * argv as getopt_long left them. Returns CLI_EXIT_USAGE.
 */
int cli_bad_option(const char *cmd, int c, char **argv);

#endif

/* cli.h - subcommands of the streamer CLI. */
#ifndef STREAMER_CLI_H
#define STREAMER_CLI_H

/* `streamer token`: signs a JWT for development and tests. Returns the exit status (0 ok, 1 failure, 2 usage). */
int cli_token(int argc, char **argv);
/* `streamer init-db`: creates or migrates the database. Returns the exit status. */
int cli_init_db(int argc, char **argv);
/* `streamer connections`: lists stored connections. Returns the exit status. */
int cli_connections(int argc, char **argv);
/* `streamer stats`: shared metrics and store gauges. Returns the exit status. */
int cli_stats(int argc, char **argv);

/* `streamer send|broadcast|close|gc`: pushes through the callback URL (cli_push.c). Return the exit status. */
int cli_send(int argc, char **argv);
int cli_broadcast(int argc, char **argv);
int cli_close(int argc, char **argv);
int cli_gc(int argc, char **argv);

#endif

/* processor.h - `streamer processor`, the runner of queued async requests. */
#ifndef STREAMER_PROCESSOR_H
#define STREAMER_PROCESSOR_H

/*
 * The `streamer processor [--concurrency N] [--once]` command. Returns the
 * exit status: 0 after SIGTERM/SIGINT (or, with --once, when the queue has
 * nothing runnable), 1 when the settings are bad, 2 on a usage error.
 */
int processor_main(int argc, char **argv);

#endif

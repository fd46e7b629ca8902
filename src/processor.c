/* processor.c - `streamer processor`: checks the settings, then runs one slot or supervises several slot processes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "processor.h"
#include "processor_int.h"
#include "util.h"

volatile sig_atomic_t processor_stopping;

static void on_stop(int sig)
{
	(void)sig;
	processor_stopping = 1;
}

/* SIGCHLD only has to interrupt the supervisor's sigsuspend. */
static void on_child(int sig)
{
	(void)sig;
}

/* The supervisor's signal mask outside sigsuspend's wait (what slots run with). */
static sigset_t wait_mask;

/* Forks a slot process for each empty place of kids[0..n). */
static void start_slots(pid_t *kids, long n)
{
	for (long i = 0; i < n && !processor_stopping; i++) {
		pid_t pid;

		if (kids[i] > 0)
			continue;
		pid = fork();
		if (pid == 0) {
			/* The slot dies with the supervisor, even one killed with SIGKILL. */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			sigprocmask(SIG_SETMASK, &wait_mask, NULL);
			if (getppid() == 1)
				_exit(0);
			free(kids);
			_exit(slot_main(0));
		}
		kids[i] = pid > 0 ? pid : 0;
	}
}

/* Reaps the slots that exited, freeing their places. Returns 1 when it reaped any. */
static int reap_slots(pid_t *kids, long n, int *restarts)
{
	int status, reaped = 0;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		reaped = 1;
		for (long i = 0; i < n; i++) {
			if (kids[i] != pid)
				continue;
			kids[i] = 0;
			if (!processor_stopping) {
				if (++*restarts > 3 * n)
					sleep(1); /* a slot that keeps dying must not spin */
				log_msg(LOG_WARN, "processor_restart", "slot process %ld exited (status %d)",
					(long)pid, status);
			}
		}
	}
	return reaped;
}

/*
 * A supervisor: one process per slot, each restarted if it dies. The
 * signals it waits for stay blocked except inside sigsuspend, so a
 * SIGTERM between the check of `processor_stopping` and the wait cannot be lost.
 */
static int supervise(long concurrency)
{
	struct sigaction chld = { .sa_handler = on_child };
	pid_t *kids = xcalloc((size_t)concurrency, sizeof *kids);
	sigset_t block;
	int restarts = 0;

	sigemptyset(&chld.sa_mask);
	sigaction(SIGCHLD, &chld, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &wait_mask);
	while (!processor_stopping) {
		start_slots(kids, concurrency);
		if (!reap_slots(kids, concurrency, &restarts) && !processor_stopping)
			sigsuspend(&wait_mask);
	}
	for (long i = 0; i < concurrency; i++)
		if (kids[i] > 0)
			kill(kids[i], SIGTERM);
	for (long i = 0; i < concurrency; i++)
		if (kids[i] > 0)
			waitpid(kids[i], NULL, 0);
	free(kids);
	return 0;
}

int processor_main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_stop };
	struct processor_opts o;
	int rc = processor_opts_parse(argc, argv, &o);

	if (rc >= 0)
		return rc;
	{
		/* Check the settings once in the foreground, so a bad one is a clear exit 1. */
		struct slot probe;
		char err[512];
		int bad = slot_open(&probe, err, sizeof err) < 0;

		slot_close(&probe);
		if (bad) {
			fprintf(stderr, "streamer processor: %s\n", err);
			return 1;
		}
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (o.concurrency == 1 || o.once)
		return slot_main(o.once);
	return supervise(o.concurrency);
}

/* proc.c - child process groups: stop one with a grace time (SIGTERM, wait, SIGKILL), as the processor and exec actions do. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

#include "proc.h"
#include "util.h"

/* Without a pidfd: how often to look for the exit. */
#define EXIT_CHECK_MS 10

/* Waits up to ms (> 0) for pid to exit, or for its pidfd to say so. */
static void wait_a_while(int pidfd, int64_t ms)
{
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		poll(&p, 1, (int)(ms > 1000 ? 1000 : ms));
	} else {
		struct timespec ts = { 0, (ms < EXIT_CHECK_MS ? ms : EXIT_CHECK_MS) * 1000000L };

		nanosleep(&ts, NULL);
	}
}

int proc_stop_group(pid_t pid, int pidfd, int grace_ms)
{
	int64_t until = time_now_ms() + grace_ms;
	int status = -1;
	pid_t w = waitpid(pid, &status, WNOHANG);

	if (w == 0) {
		kill(-pid, SIGTERM);
		while ((w = waitpid(pid, &status, WNOHANG)) == 0) {
			int64_t left = until - time_now_ms();

			if (left <= 0)
				break;
			wait_a_while(pidfd, left);
		}
	}
	kill(-pid, SIGKILL);
	while (w == 0 || (w < 0 && errno == EINTR))
		w = waitpid(pid, &status, 0);
	return w == pid ? status : -1;
}

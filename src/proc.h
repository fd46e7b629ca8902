/* proc.h - child process groups: stop one with a grace time (SIGTERM, wait, SIGKILL), as the processor and exec actions do. */
#ifndef STREAMER_PROC_H
#define STREAMER_PROC_H

#include <sys/types.h>

/*
 * Stops the process group led by pid, a child of the caller that made its
 * own group: unless pid has exited already, SIGTERM to the group and up to
 * grace_ms (0: none) for pid to exit; then SIGKILL to the group (pid if it
 * is still there, and whatever it left behind) and reaps pid. pidfd, when
 * >= 0, is pid's pidfd to wait on (else the exit is looked for every 10 ms).
 * Returns pid's wait status, or -1 when it could not be reaped (ECHILD).
 */
int proc_stop_group(pid_t pid, int pidfd, int grace_ms);

#endif

/* shm.c - mapping a host-wide table file and locking its slots (see shm.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"
#include "util.h"

/* This process's pid for lock words, refreshed in a forked child (no getpid() per lock). */
static uint32_t my_pid;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void pid_refresh(void)
{
	my_pid = (uint32_t)getpid();
}

static void pid_init(void)
{
	pid_refresh();
	pthread_atfork(NULL, NULL, pid_refresh);
}

void *shm_map(const char *path, size_t size, const char magic[8], const char *what, char *err,
	      size_t errlen)
{
	struct stat st;
	char *p;
	int fd;

	pthread_once(&pid_once, pid_init);
	if (!path) {
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			snprintf(err, errlen, "cannot map a private %s table: %s", what, strerror(errno));
			return NULL;
		}
		memcpy(p, magic, 8);
		return p;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0660);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || ((size_t)st.st_size < size && ftruncate(fd, (off_t)size) < 0)) {
		snprintf(err, errlen, "cannot size %s: %s", path, strerror(errno));
		close(fd);
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return NULL;
	}
	if (p[0] == '\0') {
		memcpy(p, magic, 8); /* every process writes the same bytes */
	} else if (memcmp(p, magic, 8) != 0) {
		snprintf(err, errlen, "%s is not a %s file of this version: remove it", path, what);
		munmap(p, size);
		return NULL;
	}
	return p;
}

void shm_unmap(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

int shm_lock(uint32_t *lock, int64_t wait_us)
{
	int64_t deadline = 0;

	for (unsigned spin = 0;; spin++) {
		uint32_t holder = 0;

		if (__atomic_compare_exchange_n(lock, &holder, my_pid, 0, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return 0;
		if (spin < 200)
			continue;
		/* The holder may be preempted: give it the CPU, and check it is alive now and then. */
		sched_yield();
		if (spin % 64 == 0) {
			int64_t now = time_mono_us();

			if (!deadline)
				deadline = now + wait_us;
			if (holder && kill((pid_t)holder, 0) < 0 && errno == ESRCH &&
			    __atomic_compare_exchange_n(lock, &holder, my_pid, 0, __ATOMIC_ACQUIRE,
							__ATOMIC_RELAXED))
				return 0;
			if (now > deadline)
				return -1;
		}
	}
}

void shm_unlock(uint32_t *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

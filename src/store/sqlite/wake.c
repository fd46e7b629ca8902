/* wake.c - the SQLite engine's processor wake-ups: unix datagram sockets in "<database>.wake/" (see store_wake_listen in store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sqlite_int.h"

/* Writes "<db_path>.wake" into out; returns -1 when it does not fit. */
static int wake_dir(const char *db_path, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.wake", db_path);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Each waiting processor binds a datagram socket in "<database>.wake/"; a
 * worker that queues a request sends one byte to every socket there.
 * Sockets of processors that died are removed by the next sender.
 */
int sqlite_wake_listen(struct store *h, char *err, size_t errlen)
{
	struct sqlite_store *s = sq(h);
	const char *db_path = s->path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof sa.sun_path], hex[9];
	int fd, n;

	sqlite_wake_close(h);
	if (wake_dir(db_path, dir, sizeof dir) < 0) {
		snprintf(err, errlen, "database path %s is too long for a wake-up socket", db_path);
		return -1;
	}
	if (mkdir(dir, 0770) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	random_hex(hex, 4);
	n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/p%ld-%s.sock", dir, (long)getpid(), hex);
	if (n < 0 || (size_t)n >= sizeof sa.sun_path) {
		snprintf(err, errlen, "wake-up socket path in %s is too long", dir);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", sa.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	s->wake_fd = fd;
	memcpy(s->wake_path, sa.sun_path, sizeof s->wake_path);
	return 0;
}

int sqlite_wake_fd(struct store *h)
{
	return sq(h)->wake_fd;
}

void sqlite_wake_close(struct store *h)
{
	struct sqlite_store *s = sq(h);

	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->wake_path[0])
		unlink(s->wake_path);
	s->wake_fd = -1;
	s->wake_path[0] = '\0';
}

void sqlite_wake_drain(struct store *h)
{
	char b[64];

	while (sq(h)->wake_fd >= 0 && recv(sq(h)->wake_fd, b, sizeof b, 0) > 0)
		;
}

void sqlite_wake_notify(struct store *h)
{
	const char *db_path = sq(h)->path;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof sa.sun_path];
	struct dirent *e;
	DIR *d;
	int fd;

	if (wake_dir(db_path, dir, sizeof dir) < 0 || !(d = opendir(dir)))
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	while (fd >= 0 && (e = readdir(d))) {
		size_t l = strlen(e->d_name);
		int n;

		if (l < 6 || strcmp(e->d_name + l - 5, ".sock") != 0)
			continue;
		n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof sa.sun_path)
			continue;
		if (sendto(fd, "w", 1, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof sa) < 0 &&
		    errno == ECONNREFUSED)
			unlink(sa.sun_path); /* nobody is bound to it any more */
	}
	if (fd >= 0)
		close(fd);
	closedir(d);
}

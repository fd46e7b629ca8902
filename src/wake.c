/* wake.c - wake-up datagrams from workers to idle processors (see wake.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"
#include "wake.h"

/* Writes "<db_path>.wake" into out; returns -1 when it does not fit. */
static int wake_dir(const char *db_path, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.wake", db_path);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int wake_listen(struct wake *w, const char *db_path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof sa.sun_path], hex[9];
	int n;

	w->fd = -1;
	w->path[0] = '\0';
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
	w->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (w->fd < 0 || bind(w->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		snprintf(err, errlen, "cannot bind %s: %s", sa.sun_path, strerror(errno));
		if (w->fd >= 0)
			close(w->fd);
		w->fd = -1;
		return -1;
	}
	memcpy(w->path, sa.sun_path, sizeof w->path);
	return 0;
}

void wake_close(struct wake *w)
{
	if (w->fd >= 0)
		close(w->fd);
	if (w->path[0])
		unlink(w->path);
	w->fd = -1;
	w->path[0] = '\0';
}

void wake_drain(struct wake *w)
{
	char b[64];

	while (recv(w->fd, b, sizeof b, 0) > 0)
		;
}

void wake_all(const char *db_path)
{
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

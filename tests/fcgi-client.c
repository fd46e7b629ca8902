/* fcgi-client.c - a minimal FastCGI client for tests and benchmarks: sends N requests, checks their status. */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define FCGI_BEGIN_REQUEST 1
#define FCGI_END_REQUEST 3
#define FCGI_PARAMS 4
#define FCGI_STDIN 5
#define FCGI_STDOUT 6
#define FCGI_STDERR 7

struct bytes {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 256;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void record(struct bytes *b, int type, const void *p, size_t n)
{
	unsigned char h[8] = { 1, (unsigned char)type, 0, 1, (unsigned char)(n >> 8),
			       (unsigned char)n, 0, 0 };
	put(b, h, 8);
	put(b, p, n);
}

static void nv_len(struct bytes *b, size_t n)
{
	if (n < 128) {
		unsigned char c = (unsigned char)n;
		put(b, &c, 1);
	} else {
		unsigned char c[4] = { (unsigned char)((n >> 24) | 0x80), (unsigned char)(n >> 16),
				       (unsigned char)(n >> 8), (unsigned char)n };
		put(b, c, 4);
	}
}

/* Replaces every "%d" in s with i. Returns a new string. */
static char *subst(const char *s, long i, size_t *outlen, size_t inlen)
{
	struct bytes b = {0};
	char num[32];
	int nl = snprintf(num, sizeof(num), "%ld", i);

	for (size_t k = 0; k < inlen; k++) {
		if (s[k] == '%' && k + 1 < inlen && s[k + 1] == 'd') {
			put(&b, num, (size_t)nl);
			k++;
		} else {
			put(&b, &s[k], 1);
		}
	}
	put(&b, "", 1);
	*outlen = b.len - 1;
	return (char *)b.p;
}

static int dial(const char *addr)
{
	int fd;

	if (addr[0] == '/' || addr[0] == '.') {
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", addr);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			return fd;
	} else {
		char host[256];
		const char *colon = strrchr(addr, ':');
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res;
		if (!colon)
			return -1;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - addr), addr);
		if (getaddrinfo(*host ? host : "127.0.0.1", colon + 1, &hints, &res) != 0)
			return -1;
		fd = socket(res->ai_family, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) == 0) {
			freeaddrinfo(res);
			return fd;
		}
		freeaddrinfo(res);
	}
	if (fd >= 0)
		close(fd);
	return -1;
}

static int read_full(int fd, unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Sends one request; fills out with the CGI response (headers + body). Returns 0 or -1. */
static int stdin_delay_ms;

static int one(const char *addr, char **params, int nparams, const char *body, size_t blen,
	       long i, struct bytes *out)
{
	size_t head_len;
	struct bytes req = {0}, p = {0};
	unsigned char begin[8] = { 0, 1, 0, 0, 0, 0, 0, 0 };
	int fd = dial(addr), rc = -1;

	if (fd < 0) {
		fprintf(stderr, "fcgi-client: cannot connect to %s: %s\n", addr, strerror(errno));
		return -1;
	}
	record(&req, FCGI_BEGIN_REQUEST, begin, 8);
	for (int k = 0; k < nparams; k++) {
		size_t vlen;
		char *eq = strchr(params[k], '=');
		size_t nlen = (size_t)(eq - params[k]);
		char *v = subst(eq + 1, i, &vlen, strlen(eq + 1));
		nv_len(&p, nlen);
		nv_len(&p, vlen);
		put(&p, params[k], nlen);
		put(&p, v, vlen);
		free(v);
	}
	for (size_t off = 0; off < p.len; off += 32768)
		record(&req, FCGI_PARAMS, p.p + off, p.len - off < 32768 ? p.len - off : 32768);
	record(&req, FCGI_PARAMS, "", 0);
	head_len = req.len;
	for (size_t off = 0; off < blen; off += 32768)
		record(&req, FCGI_STDIN, body + off, blen - off < 32768 ? blen - off : 32768);
	record(&req, FCGI_STDIN, "", 0);
	if (stdin_delay_ms > 0) {
		/* Hold the body back so the worker sits inside the request (signal tests). */
		if (write(fd, req.p, head_len) != (ssize_t)head_len)
			goto out;
		usleep((useconds_t)stdin_delay_ms * 1000);
		if (write(fd, req.p + head_len, req.len - head_len) != (ssize_t)(req.len - head_len))
			goto out;
	} else if (write(fd, req.p, req.len) != (ssize_t)req.len) {
		goto out;
	}
	for (;;) {
		unsigned char h[8], content[65536 + 256];
		size_t clen, plen;
		if (read_full(fd, h, 8) < 0)
			goto out;
		clen = ((size_t)h[4] << 8) | h[5];
		plen = h[6];
		if (read_full(fd, content, clen + plen) < 0)
			goto out;
		if (h[1] == FCGI_STDOUT)
			put(out, content, clen);
		else if (h[1] == FCGI_STDERR)
			fwrite(content, 1, clen, stderr);
		else if (h[1] == FCGI_END_REQUEST)
			break;
	}
	rc = 0;
out:
	close(fd);
	free(req.p);
	free(p.p);
	return rc;
}

static int status_of(const struct bytes *b)
{
	if (b->len > 8 && memcmp(b->p, "Status: ", 8) == 0)
		return atoi((const char *)b->p + 8);
	return 200;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "param", required_argument, NULL, 'p' },
		{ "body", required_argument, NULL, 'b' },
		{ "expect-status", required_argument, NULL, 'e' },
		{ "expect-body", required_argument, NULL, 'E' },
		{ "print", no_argument, NULL, 'P' },
		{ "start", required_argument, NULL, 's' },
		{ "stdin-delay", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 },
	};
	char *params[64];
	int nparams = 0, expect = 0, print = 0, c;
	long count = 1, start = 0, failures = 0;
	const char *body = "", *expect_body = NULL;
	struct timespec t0, t1;

	while ((c = getopt_long(argc, argv, "n:p:b:e:E:Ps:d:", opts, NULL)) != -1) {
		switch (c) {
		case 'n': count = atol(optarg); break;
		case 's': start = atol(optarg); break;
		case 'd': stdin_delay_ms = atoi(optarg); break;
		case 'p':
			if (nparams == 64 || !strchr(optarg, '=')) {
				fprintf(stderr, "fcgi-client: bad --param %s\n", optarg);
				return 2;
			}
			params[nparams++] = optarg;
			break;
		case 'b': body = optarg; break;
		case 'e': expect = atoi(optarg); break;
		case 'E': expect_body = optarg; break;
		case 'P': print = 1; break;
		default:
			fprintf(stderr, "usage: fcgi-client ADDR [--count N] [--start I] [--param NAME=VALUE]... "
					"[--body TEXT] [--expect-status N] [--expect-body SUBSTRING] [--print] [--stdin-delay MS]\n"
					"  %%d in values and the body is replaced by the request number\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "fcgi-client: give the socket address (/path or host:port)\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = start; i < start + count; i++) {
		struct bytes out = {0};
		size_t blen;
		char *b = subst(body, i, &blen, strlen(body));
		int ok = one(argv[optind], params, nparams, b, blen, i, &out) == 0;
		put(&out, "", 1);
		if (ok && expect && status_of(&out) != expect)
			ok = 0;
		if (ok && expect_body && !strstr((char *)out.p, expect_body))
			ok = 0;
		if (!ok) {
			failures++;
			if (failures <= 3)
				fprintf(stderr, "fcgi-client: request %ld failed:\n%s\n", i,
					out.p ? (char *)out.p : "");
		}
		if (print)
			fwrite(out.p, 1, out.len - 1, stdout);
		free(out.p);
		free(b);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	fprintf(stderr, "fcgi-client: %ld requests, %ld failed, %.3f s, %.1f req/s\n", count,
		failures, secs, secs > 0 ? (double)count / secs : 0.0);
	return failures ? 1 : 0;
}

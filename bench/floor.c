/* floor.c - the benchmark floor: the least a FastCGI responder can do for Pushpin's WebSocket-over-HTTP. */

/*
 * Every request gets 200 and Content-Type application/websocket-events:
 *   - a body starting with "OPEN" is accepted with "OPEN" (plus any TEXT
 *     events batched behind it echoed as below);
 *   - each TEXT event comes back as "TEXT <hex>\r\nm:<content>\r\n";
 *   - PING gets PONG, CLOSE is echoed, everything else is dropped.
 * Sec-WebSocket-Extensions: grip is always sent so the "m:" prefix works.
 * A GET (e.g. /healthz) gets 200 {"status":"ok","floor":true}.
 *
 * No auth, no store, no JSON parsing: this is the cost of the transport
 * alone, which streamer-fcgi is measured against. It uses the reentrant
 * FCGX_*_r API on the listener libfcgi finds on stdin (spawn-fcgi,
 * lighttpd bin-path); it is FastCGI only, not a CGI.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

struct buf {
	char *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		fputs("floor: out of memory\n", stderr);
		abort();
	}
	b->p = p;
	b->cap = cap;
}

static void buf_add(struct buf *b, const void *data, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, data, n);
	b->len += n;
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_event(struct buf *b, const char *name, const char *prefix,
		      const char *content, size_t n)
{
	size_t plen = strlen(prefix);
	char head[64];
	int h = snprintf(head, sizeof head, "%s %zx\r\n", name, n + plen);
	buf_add(b, head, (size_t)h);
	buf_add(b, prefix, plen);
	buf_add(b, content, n);
	buf_add(b, "\r\n", 2);
}

/*
 * Answers the events in body[0..len) into out. Returns 0, or -1 when the
 * body is not a well-formed event batch.
 */
static int answer_events(const char *body, size_t len, struct buf *out)
{
	size_t i = 0;
	while (i < len) {
		const char *eol = memchr(body + i, '\r', len - i);
		if (!eol || (size_t)(eol - body) + 1 >= len || eol[1] != '\n')
			return -1;
		size_t line_len = (size_t)(eol - (body + i));
		char name[16];
		const char *sp = memchr(body + i, ' ', line_len);
		size_t name_len = sp ? (size_t)(sp - (body + i)) : line_len;
		if (name_len == 0 || name_len >= sizeof name)
			return -1;
		memcpy(name, body + i, name_len);
		name[name_len] = '\0';
		size_t clen = 0;
		if (sp) {
			char *end;
			char hex[24];
			size_t hl = line_len - name_len - 1;
			if (hl == 0 || hl >= sizeof hex)
				return -1;
			memcpy(hex, sp + 1, hl);
			hex[hl] = '\0';
			clen = strtoul(hex, &end, 16);
			if (*end)
				return -1;
		}
		i += line_len + 2;
		const char *content = body + i;
		if (sp) {
			if (clen > len - i || len - i - clen < 2 ||
			    content[clen] != '\r' || content[clen + 1] != '\n')
				return -1;
			i += clen + 2;
		}
		if (strcmp(name, "OPEN") == 0)
			buf_str(out, "OPEN\r\n");
		else if (strcmp(name, "TEXT") == 0)
			buf_event(out, "TEXT", "m:", content, clen);
		else if (strcmp(name, "PING") == 0)
			buf_event(out, "PONG", "", content, clen);
		else if (strcmp(name, "CLOSE") == 0)
			buf_event(out, "CLOSE", "", content, clen);
	}
	return 0;
}

static void serve(FCGX_Request *req, struct buf *body, struct buf *out)
{
	const char *method = FCGX_GetParam("REQUEST_METHOD", req->envp);
	body->len = 0;
	out->len = 0;

	for (;;) {
		buf_reserve(body, 16384);
		int n = FCGX_GetStr(body->p + body->len, 16384, req->in);
		if (n <= 0)
			break;
		body->len += (size_t)n;
	}

	if (!method || strcmp(method, "POST") != 0) {
		static const char ok[] = "Status: 200 OK\r\n"
			"Content-Type: application/json\r\n\r\n"
			"{\"status\":\"ok\",\"floor\":true}\n";
		FCGX_PutStr(ok, sizeof ok - 1, req->out);
		return;
	}
	if (answer_events(body->p, body->len, out) != 0) {
		static const char bad[] = "Status: 400 Bad Request\r\n"
			"Content-Type: text/plain\r\n\r\nmalformed events\n";
		FCGX_PutStr(bad, sizeof bad - 1, req->out);
		return;
	}
	char head[256];
	int h = snprintf(head, sizeof head,
			 "Status: 200 OK\r\n"
			 "Content-Type: application/websocket-events\r\n"
			 "Sec-WebSocket-Extensions: grip\r\n"
			 "Content-Length: %zu\r\n\r\n", out->len);
	FCGX_PutStr(head, h, req->out);
	if (out->len)
		FCGX_PutStr(out->p, (int)out->len, req->out);
}

int main(int argc, char **argv)
{
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		puts("usage: floor   (a FastCGI app: run it under spawn-fcgi)");
		return 0;
	}
	if (FCGX_IsCGI()) {
		fputs("floor: no FastCGI listener on stdin: run it under spawn-fcgi\n", stderr);
		return 2;
	}
	if (FCGX_Init() != 0) {
		fputs("floor: FCGX_Init failed\n", stderr);
		return 1;
	}
	FCGX_Request req;
	if (FCGX_InitRequest(&req, 0, 0) != 0) {
		fputs("floor: FCGX_InitRequest failed\n", stderr);
		return 1;
	}
	struct buf body = {0}, out = {0};
	while (FCGX_Accept_r(&req) >= 0) {
		serve(&req, &body, &out);
		FCGX_Finish_r(&req);
	}
	free(body.p);
	free(out.p);
	return 0;
}

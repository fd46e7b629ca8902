/* http.c - the HTTP request a worker receives and the response it writes. */
#include <stdlib.h>
#include <string.h>

#include "http.h"

/*
 * A copy of a CGI variable, valid UTF-8: headers are client bytes, and they
 * go into log lines and stored fields (jansson refuses invalid UTF-8, which
 * would cost a log line all its fields).
 */
static char *env_copy(env_lookup_fn lookup, void *ctx, const char *name)
{
	return utf8_repair_dup(lookup(ctx, name));
}

void request_from_env(struct request *req, env_lookup_fn lookup, void *ctx)
{
	const char *uri = lookup(ctx, "REQUEST_URI");
	const char *len = lookup(ctx, "CONTENT_LENGTH");
	const char *q = lookup(ctx, "QUERY_STRING");

	memset(req, 0, sizeof(*req));
	req->method = utf8_repair_dup(lookup(ctx, "REQUEST_METHOD") ? lookup(ctx, "REQUEST_METHOD") : "GET");
	if (uri && *uri) {
		const char *mark = strchr(uri, '?');
		struct buf p = {0};

		utf8_repair(&p, uri, mark ? (size_t)(mark - uri) : strlen(uri));
		req->path = buf_detach(&p);
		if (!q && mark)
			q = mark + 1;
	} else {
		struct buf p = {0};
		const char *script = lookup(ctx, "SCRIPT_NAME");
		const char *info = lookup(ctx, "PATH_INFO");
		buf_puts(&p, script ? script : "");
		buf_puts(&p, info ? info : "");
		if (p.len == 0)
			buf_putc(&p, '/');
		req->path = utf8_repair_dup(p.data);
		buf_free(&p);
	}
	req->query = utf8_repair_dup(q ? q : "");
	req->content_type = env_copy(lookup, ctx, "CONTENT_TYPE");
	req->content_length = -1;
	if (len && *len) {
		char *end;
		long long n = strtoll(len, &end, 10);
		if (*end == '\0' && n >= 0)
			req->content_length = n;
	}
	req->connection_id = env_copy(lookup, ctx, "HTTP_CONNECTION_ID");
	req->x_connection_id = env_copy(lookup, ctx, "HTTP_X_CONNECTION_ID");
	req->x_connection_secret = env_copy(lookup, ctx, "HTTP_X_CONNECTION_SECRET");
	req->authorization = env_copy(lookup, ctx, "HTTP_AUTHORIZATION");
	req->grip_sig = env_copy(lookup, ctx, "HTTP_GRIP_SIG");
	req->user_agent = env_copy(lookup, ctx, "HTTP_USER_AGENT");
	req->remote_addr = env_copy(lookup, ctx, "REMOTE_ADDR");
	req->forwarded_for = env_copy(lookup, ctx, "HTTP_X_FORWARDED_FOR");
}

void request_free(struct request *req)
{
	free(req->method);
	free(req->path);
	free(req->query);
	free(req->content_type);
	free(req->connection_id);
	free(req->x_connection_id);
	free(req->x_connection_secret);
	free(req->authorization);
	free(req->grip_sig);
	free(req->user_agent);
	free(req->remote_addr);
	free(req->forwarded_for);
	buf_free(&req->body);
	memset(req, 0, sizeof(*req));
}

void response_header(struct response *r, const char *name, const char *value)
{
	buf_puts(&r->headers, name);
	buf_puts(&r->headers, ": ");
	buf_puts(&r->headers, value);
	buf_puts(&r->headers, "\r\n");
}

void response_json(struct response *r, int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	r->status = status;
	r->content_type = "application/json";
	buf_reset(&r->body);
	buf_puts(&r->body, text ? text : "null");
	buf_putc(&r->body, '\n');
	free(text);
}

void response_error(struct response *r, enum err_code code, const char *message)
{
	response_json(r, http_status_of(code),
		      json_pack("{s:s,s:s}", "error", message, "code", err_code_name(code)));
}

/* Appends the decimal digits of v. */
static void put_uint(struct buf *out, unsigned long long v)
{
	char tmp[24], *d = tmp + sizeof(tmp);

	do {
		*--d = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	buf_append(out, d, (size_t)(tmp + sizeof(tmp) - d));
}

void response_render(const struct response *r, struct buf *out)
{
	/* What "Status: %d %s", "Content-Type: %s", "Content-Length: %zu" print, without printf. */
	buf_reserve(out, 96 + r->headers.len + r->body.len);
	buf_puts(out, "Status: ");
	if (r->status < 0) {
		buf_putc(out, '-');
		put_uint(out, 0ULL - (unsigned long long)r->status);
	} else {
		put_uint(out, (unsigned long long)r->status);
	}
	buf_putc(out, ' ');
	buf_puts(out, http_reason(r->status));
	buf_puts(out, "\r\n");
	if (r->content_type) {
		buf_puts(out, "Content-Type: ");
		buf_puts(out, r->content_type);
		buf_puts(out, "\r\n");
	}
	buf_puts(out, "Content-Length: ");
	put_uint(out, r->body.len);
	buf_puts(out, "\r\n");
	if (r->headers.len)
		buf_append(out, r->headers.data, r->headers.len);
	buf_puts(out, "\r\n");
	if (r->body.len)
		buf_append(out, r->body.data, r->body.len);
}

void response_free(struct response *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
	memset(r, 0, sizeof(*r));
}

const char *http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Unknown";
	}
}

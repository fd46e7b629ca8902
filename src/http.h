/* http.h - the HTTP request a worker receives and the response it writes (a refusal's status comes from http_status_of). */
#ifndef STREAMER_HTTP_H
#define STREAMER_HTTP_H

#include <stddef.h>

#include <jansson.h>

#include "protocol.h"
#include "util.h"

/*
 * A request copied out of the CGI/FastCGI environment: it owns every string,
 * so nothing refers to libfcgi's memory after FCGX_Finish_r. Absent headers
 * are NULL. Every string is valid UTF-8: invalid bytes of the client's
 * became U+FFFD (utf8_repair), so they can go into log lines and the store.
 */
struct request {
	char *method;          /* REQUEST_METHOD */
	char *path;            /* REQUEST_URI without the query, else SCRIPT_NAME + PATH_INFO */
	char *query;           /* QUERY_STRING, "" when absent */
	char *content_type;    /* CONTENT_TYPE */
	long long content_length; /* CONTENT_LENGTH, -1 when absent or invalid */
	char *connection_id;   /* Connection-Id (Pushpin) */
	char *x_connection_id; /* X-Connection-Id (plain HTTP) */
	char *x_connection_secret; /* X-Connection-Secret (plain HTTP) */
	char *authorization;   /* Authorization header */
	char *grip_sig;        /* Grip-Sig */
	char *user_agent;      /* User-Agent */
	char *remote_addr;     /* REMOTE_ADDR */
	char *forwarded_for;   /* X-Forwarded-For */
	struct buf body;
	int body_too_large;    /* set by the reader when the body exceeded the limit (body then empty) */
};

/* Reads a CGI variable by name; returns NULL when absent. */
typedef const char *(*env_lookup_fn)(void *ctx, const char *name);

/* Fills req from the variables that lookup returns (the body is left empty). */
void request_from_env(struct request *req, env_lookup_fn lookup, void *ctx);
void request_free(struct request *req);

struct response {
	int status;
	const char *content_type; /* static string */
	struct buf headers;       /* extra "Name: value\r\n" lines */
	struct buf body;
};

/* Adds one header line. name and value must not contain CR or LF. */
void response_header(struct response *r, const char *name, const char *value);
/* Sets status, application/json and the compact dump of body (stolen). */
void response_json(struct response *r, int status, json_t *body);
/*
 * A refusal: the status http_status_of(code) and the JSON body
 * {"error": message, "code": err_code_name(code)}.
 */
void response_error(struct response *r, enum err_code code, const char *message);
/* Renders the CGI response ("Status:", headers, blank line, body) into out. */
void response_render(const struct response *r, struct buf *out);
void response_free(struct response *r);

/* The reason phrase for a status code ("Unauthorized"). */
const char *http_reason(int status);

#endif

/* router.h - the one table of client actions and the checks applied before any handler runs. */
#ifndef STREAMER_ROUTER_H
#define STREAMER_ROUTER_H

#include <stdint.h>

#include <jansson.h>

#include "protocol.h"

struct app;
struct conn_record;

/* What a handler sees: process state, the caller's connection and its message (all borrowed). */
struct call {
	struct app *app;
	const struct conn_record *conn;
	const struct client_msg *msg;
	json_t *permissions; /* the connection's permissions array (borrowed) */
	int64_t now_ms;
};

/*
 * A handler either sets *data to a new reference (the response's data; NULL
 * means JSON null) and returns 0, or fills err and returns -1.
 */
typedef int (*action_fn)(struct call *c, json_t **data, struct proto_error *err);

#define ACTION_ASYNC 0x1 /* queued for a processor (from the async issue on) */

struct action {
	const char *name;
	action_fn fn;
	unsigned flags;
	const char *permission; /* required permission, NULL = any authenticated client */
};

/* Finds an action by name; NULL when there is none. */
const struct action *router_find(const char *name);

/*
 * Routes one validated message: looks up the action (INVALID_ACTION), checks
 * the required permission (FORBIDDEN), runs the handler and wraps its outcome
 * as a response or error message carrying the request id. Returns a new
 * reference to the outbound message.
 */
json_t *router_dispatch(struct call *c);

/* router_dispatch over another table (ending with a NULL name); for tests. */
json_t *router_dispatch_in(const struct action *table, struct call *c);

/* The built-in actions, defined in handlers.c. */
extern const struct action handler_actions[];

#endif

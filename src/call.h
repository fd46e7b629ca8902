/* call.h - what an action's handler sees and may add to its answer: the call of one client message. */
#ifndef STREAMER_CALL_H
#define STREAMER_CALL_H

#include <stdint.h>

#include <jansson.h>

#include "fanout.h"
#include "protocol.h"

struct app;
struct conn_record;

/* A push a handler asks for, made after the event's transaction commits. */
struct call_push {
	enum fanout_kind kind;
	char *tenant, *name, *text;  /* owned */
	int required;                /* 1: when it fails, the reply becomes an error */
	struct call_push *next;
};

/*
 * What a handler sees: process state, the caller's connection and its
 * message (all borrowed), and what it may add beyond its response.
 * Handlers run inside the event's store transaction: they must not make
 * network calls (they queue pushes with call_push_add instead).
 */
struct call {
	struct app *app;
	const struct conn_record *conn;
	const struct client_msg *msg;
	json_t *permissions; /* the connection's permissions array (borrowed) */
	int64_t now_ms;

	/* filled by handlers, released by call_release */
	json_t *reply;       /* a whole outbound message sent instead of the response, or NULL */
	json_t *also;        /* more outbound messages sent after the reply (array), or NULL */
	json_t *controls;    /* GRIP control messages for the caller's connection (array), or NULL */
	struct call_push *pushes;
	int wake;            /* a request was queued: wake the processors after the commit */
};

/* Sends msg (stolen) after the reply in the same answer. */
void call_also(struct call *c, json_t *msg);
/* Adds a GRIP control message {"type": type, "channel": channel} for the caller's connection. */
void call_control(struct call *c, const char *type, const char *channel);
/* Queues a push of msg (stolen) to a target, made after the commit; see struct call_push. */
void call_push_add(struct call *c, enum fanout_kind kind, const char *tenant, const char *name,
		   json_t *msg, int required);
/* As call_push_add with msg already serialised: text (a JSON object's text) is stolen. */
void call_push_text(struct call *c, enum fanout_kind kind, const char *tenant, const char *name,
		    char *text, int required);
/* 1 when the caller's permissions hold permission (NULL: nothing is required), else 0. */
int call_permitted(const struct call *c, const char *permission);
/* Releases what handlers added (reply, also, controls, pushes). */
void call_release(struct call *c);

/*
 * A built-in sync action's handler either sets *data to a new reference (the
 * response's data; NULL means JSON null) and returns 0, or fills err and
 * returns -1.
 */
typedef int (*action_fn)(struct call *c, json_t **data, struct proto_error *err);

#endif

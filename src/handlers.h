/* handlers.h - the built-in client actions: echo, health, whoami (handlers.c), topics (subscribe, unsubscribe, publish), requests (request.status, request.cancel, handler-ABI actions) and auth.refresh. */
#ifndef STREAMER_HANDLERS_H
#define STREAMER_HANDLERS_H

#include "call.h"

struct streamer_handler;

/*
 * The string member key of the message's payload object, borrowed, or NULL
 * with err set (VALIDATION_ERROR naming payload.key) when the payload is not
 * an object or the member is missing, not a string, empty or longer than max
 * bytes.
 */
const char *payload_string(struct call *c, const char *key, size_t max, struct proto_error *err);

/* At most this many topics per connection: Pushpin allows 20 subscriptions, two are the connection's own and its tenant's. */
#define TOPICS_PER_CONNECTION 18

/* The built-in sync actions (action_fn contracts, call.h), listed in the registry (actions.c). */
int action_echo(struct call *c, json_t **data, struct proto_error *err);
int action_health(struct call *c, json_t **data, struct proto_error *err);
int action_whoami(struct call *c, json_t **data, struct proto_error *err);
int action_subscribe(struct call *c, json_t **data, struct proto_error *err);
int action_unsubscribe(struct call *c, json_t **data, struct proto_error *err);
int action_publish(struct call *c, json_t **data, struct proto_error *err);
int action_request_status(struct call *c, json_t **data, struct proto_error *err);
int action_request_cancel(struct call *c, json_t **data, struct proto_error *err);
int action_auth_refresh(struct call *c, json_t **data, struct proto_error *err); /* handlers_auth.c */

/*
 * Runs the message's action with its handler-ABI handler h
 * (handlers_requests.c; an action_fn contract): validates the payload with
 * h's validate (VALIDATION_ERROR), then queues an async one (the reply is
 * the acknowledgment) or runs a sync one at once.
 */
int handler_abi_call(struct call *c, const struct streamer_handler *h, json_t **data,
		     struct proto_error *err);

#endif

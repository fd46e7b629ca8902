/* router.c - dispatching one client message: the registry's lookup, then the checks applied before any handler runs. */
#include <string.h>

#include "actions.h"
#include "handlers.h"
#include "router.h"

json_t *router_dispatch(struct call *c)
{
	struct action a;
	struct proto_error err = {0};
	json_t *data = NULL, *out;

	if (!actions_find(c->msg->action, &a)) {
		proto_error_set(&err, ERR_INVALID_ACTION, "Unknown action: %s", c->msg->action);
		goto error;
	}
	if (!call_permitted(c, a.permission)) {
		proto_error_set(&err, ERR_FORBIDDEN, "Action %s requires the %s permission",
				c->msg->action, a.permission);
		goto error;
	}
	if ((a.fn ? a.fn(c, &data, &err) : handler_abi_call(c, a.handler, &data, &err)) < 0)
		goto error;
	if (c->reply) {
		json_decref(data);
		out = c->reply;
		c->reply = NULL;
		return out;
	}
	return proto_response(c->msg->id, data);
error:
	out = proto_error(c->msg->id, &err);
	proto_error_clear(&err);
	return out;
}

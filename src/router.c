/* router.c - the one table of client actions and the checks applied before any handler runs. */
#include <string.h>

#include "router.h"
#include "log.h"

static const struct action *find_in(const struct action *table, const char *name)
{
	for (const struct action *a = table; a->name; a++)
		if (strcmp(a->name, name) == 0)
			return a;
	return NULL;
}

const struct action *router_find(const char *name)
{
	return find_in(handler_actions, name);
}

static int has_permission(json_t *permissions, const char *want)
{
	size_t i;
	json_t *p;

	json_array_foreach(permissions, i, p)
		if (json_is_string(p) && strcmp(json_string_value(p), want) == 0)
			return 1;
	return 0;
}

json_t *router_dispatch(struct call *c)
{
	return router_dispatch_in(handler_actions, c);
}

json_t *router_dispatch_in(const struct action *table, struct call *c)
{
	const struct action *a = find_in(table, c->msg->action);
	struct proto_error err = {0};
	json_t *data = NULL, *out;

	if (!a) {
		proto_error_set(&err, ERR_INVALID_ACTION, "Unknown action: %s", c->msg->action);
		goto error;
	}
	if (a->permission && !has_permission(c->permissions, a->permission)) {
		proto_error_set(&err, ERR_FORBIDDEN, "Action %s requires the %s permission",
				a->name, a->permission);
		goto error;
	}
	if (a->fn(c, &data, &err) < 0)
		goto error;
	return proto_response(c->msg->id, data);
error:
	out = proto_error(c->msg->id, &err);
	proto_error_clear(&err);
	return out;
}

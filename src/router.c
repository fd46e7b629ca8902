/* router.c - the one table of client actions and the checks applied before any handler runs. */
#include <stdlib.h>
#include <string.h>

#include "request_run.h"
#include "log.h"
#include "router.h"
#include "util.h"

#include <streamer/handler.h>

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
	const struct streamer_handler *h = a ? NULL : request_handler(c->msg->action);
	const char *permission = a ? a->permission : h ? request_action_permission(c->msg->action) : NULL;
	struct proto_error err = {0};
	json_t *data = NULL, *out;

	if (!a && !h) {
		proto_error_set(&err, ERR_INVALID_ACTION, "Unknown action: %s", c->msg->action);
		goto error;
	}
	if (permission && !has_permission(c->permissions, permission)) {
		proto_error_set(&err, ERR_FORBIDDEN, "Action %s requires the %s permission",
				c->msg->action, permission);
		goto error;
	}
	if ((a ? a->fn(c, &data, &err) : handler_abi_call(c, h, &data, &err)) < 0)
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

void call_also(struct call *c, json_t *msg)
{
	if (!msg)
		return;
	if (!c->also)
		c->also = json_array();
	json_array_append_new(c->also, msg);
}

void call_control(struct call *c, const char *type, const char *channel)
{
	if (!c->controls)
		c->controls = json_array();
	json_array_append_new(c->controls, json_pack("{s:s,s:s}", "type", type, "channel", channel));
}

void call_push_add(struct call *c, enum fanout_kind kind, const char *tenant, const char *name,
		   json_t *msg, int required)
{
	struct call_push *p = xcalloc(1, sizeof *p), **tail = &c->pushes;

	p->kind = kind;
	p->tenant = tenant ? xstrdup(tenant) : NULL;
	p->name = name ? xstrdup(name) : NULL;
	p->text = proto_dump(msg);
	p->required = required;
	json_decref(msg);
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
}

void call_release(struct call *c)
{
	json_decref(c->reply);
	json_decref(c->also);
	json_decref(c->controls);
	c->reply = c->also = c->controls = NULL;
	while (c->pushes) {
		struct call_push *next = c->pushes->next;

		free(c->pushes->tenant);
		free(c->pushes->name);
		free(c->pushes->text);
		free(c->pushes);
		c->pushes = next;
	}
	c->wake = 0;
}

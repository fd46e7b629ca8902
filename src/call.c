/* call.c - what handlers add to the answer of one client message: more messages, GRIP controls, pushes. */
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "util.h"

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

void call_push_text(struct call *c, enum fanout_kind kind, const char *tenant, const char *name,
		    char *text, int required)
{
	struct call_push *p = xcalloc(1, sizeof *p), **tail = &c->pushes;

	p->kind = kind;
	p->tenant = tenant ? xstrdup(tenant) : NULL;
	p->name = name ? xstrdup(name) : NULL;
	p->text = text;
	p->required = required;
	while (*tail)
		tail = &(*tail)->next;
	*tail = p;
}

void call_push_add(struct call *c, enum fanout_kind kind, const char *tenant, const char *name,
		   json_t *msg, int required)
{
	call_push_text(c, kind, tenant, name, proto_dump(msg), required);
	json_decref(msg);
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

int call_permitted(const struct call *c, const char *permission)
{
	size_t i;
	json_t *p;

	if (!permission)
		return 1;
	json_array_foreach(c->permissions, i, p)
		if (json_is_string(p) && strcmp(json_string_value(p), permission) == 0)
			return 1;
	return 0;
}

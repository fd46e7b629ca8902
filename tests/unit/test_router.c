/* test_router.c - unit tests for the action registry and dispatch: unknown actions, permissions, handler errors, request ids, clashes. */
#include <string.h>

#include "actions.h"
#include "config.h"
#include "protocol.h"
#include "router.h"
#include "store.h"
#include "tap.h"

#include <streamer/handler.h>

/* Dispatches text as a message from a connection holding perms (a JSON array). */
static json_t *run(const char *text, const char *perms)
{
	struct client_msg msg;
	struct proto_error err = {0};
	struct conn_record rec = { .id = "c1", .user_id = "u", .tenant_id = "t" };
	json_t *p = json_loads(perms, 0, NULL), *out;

	CHECK(proto_parse(text, strlen(text), 4096, &msg, &err) == 0);
	struct call c = { .app = NULL, .conn = &rec, .msg = &msg, .permissions = p, .now_ms = 0 };
	out = router_dispatch(&c);
	call_release(&c);
	client_msg_free(&msg);
	json_decref(p);
	return out;
}

static const char *code_of(json_t *m)
{
	return json_string_value(json_object_get(json_object_get(m, "error"), "code"));
}

static const char *message_of(json_t *m)
{
	return json_string_value(json_object_get(json_object_get(m, "error"), "message"));
}

static void test_unknown_action(void)
{
	json_t *m = run("{\"action\":\"nope\",\"id\":\"a\"}", "[]");

	CHECK_STR(code_of(m), "INVALID_ACTION");
	CHECK_STR(message_of(m), "Unknown action: nope");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "a");
	json_decref(m);
}

/* publish needs the publish permission: checked before the handler sees the (here invalid) payload. */
static void test_permission_required(void)
{
	json_t *m = run("{\"action\":\"publish\",\"id\":\"b\"}", "[\"read\",\"publishx\"]");

	CHECK_STR(code_of(m), "FORBIDDEN");
	CHECK_STR(message_of(m), "Action publish requires the publish permission");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "b");
	json_decref(m);
	m = run("{\"action\":\"publish\",\"id\":\"b\"}", "[\"read\",\"publish\"]");
	CHECK_STR(code_of(m), "VALIDATION_ERROR");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "b");
	json_decref(m);
}

static void test_open_action(void)
{
	json_t *m = run("{\"action\":\"echo\",\"id\":\"c\",\"payload\":{\"k\":1}}", "[]");

	CHECK_STR(json_string_value(json_object_get(m, "type")), "response");
	CHECK(json_is_true(json_object_get(m, "success")));
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "c");
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "data"), "action")), "echo");
	json_decref(m);
}

static void test_handler_error(void)
{
	json_t *m = run("{\"action\":\"request.status\",\"id\":\"d\"}", "[]");

	CHECK_STR(code_of(m), "VALIDATION_ERROR");
	CHECK_STR(message_of(m), "payload must be an object with a request_id string");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "d");
	json_decref(m);
}

/* The lookup says what an action is. */
static void test_registry(void)
{
	static const char *const sync[] = { "echo", "health", "whoami", "subscribe", "unsubscribe",
					    "publish", "request.status", "request.cancel",
					    "auth.refresh" };
	struct action a;

	for (size_t i = 0; i < sizeof sync / sizeof sync[0]; i++) {
		CHECK_INT(actions_find(sync[i], &a), 1);
		CHECK_STR(a.name, sync[i]);
		CHECK_INT(a.kind, ACTION_BUILTIN);
		CHECK(a.fn != NULL && a.handler == NULL);
		CHECK(actions_handler(sync[i]) == NULL);
		CHECK((a.permission != NULL) == (strcmp(sync[i], "publish") == 0));
	}
	CHECK_INT(actions_find("publish", &a), 1);
	CHECK_STR(a.permission, "publish");
	CHECK_INT(actions_find("delay", &a), 1);
	CHECK_INT(a.kind, ACTION_BUILTIN_ASYNC);
	CHECK(a.fn == NULL && a.handler != NULL && (a.handler->flags & STREAMER_HANDLER_ASYNC));
	CHECK(a.handler == actions_handler("delay"));
	CHECK_STR(a.handler->name, "delay");
	CHECK_INT(actions_find("ech", &a), 0);
	CHECK_INT(actions_find("", NULL), 0);
	CHECK_INT(actions_find(NULL, NULL), 0);
	CHECK_INT(actions_find("echo", NULL), 1);
	CHECK(actions_handler("nope") == NULL);
}

/* An exec action is found as one; it may not take a name a built-in action owns. */
static void test_exec_actions(void)
{
	char true_spec[] = "x.true=/bin/true", builtin[] = "echo=/bin/true", async[] = "delay=/bin/true";
	char *ok[] = { true_spec, NULL }, *clash1[] = { builtin, NULL }, *clash2[] = { async, NULL };
	struct config cfg = { 0 };
	struct action a;
	char err[512];

	cfg.exec_actions = ok;
	CHECK_INT(actions_load(&cfg, err, sizeof err), 0);
	CHECK_INT(actions_find("x.true", &a), 1);
	CHECK_INT(a.kind, ACTION_EXEC);
	CHECK(a.permission == NULL && a.handler == actions_handler("x.true"));
	CHECK(a.handler->flags & STREAMER_HANDLER_ASYNC);
	cfg.exec_actions = clash1;
	CHECK_INT(actions_load(&cfg, err, sizeof err), -1);
	CHECK_STR(err, "STREAMER_EXEC_ACTIONS: action 'echo' is already a built-in action");
	CHECK_INT(actions_find("x.true", NULL), 0); /* a refused load leaves nothing loaded */
	cfg.exec_actions = clash2;
	CHECK_INT(actions_load(&cfg, err, sizeof err), -1);
	CHECK_STR(err, "STREAMER_EXEC_ACTIONS: action 'delay' is already a built-in async action");
	actions_free();
}

/* generate_report needs STREAMER_REPORT_PERMISSION ("reports" by default); empty turns the check off. */
static void test_report_permission(void)
{
	struct config cfg = { 0 };
	struct action a;
	char err[256];
	json_t *m;

	CHECK_INT(actions_find("generate_report", &a), 1);
	CHECK_STR(a.permission, "reports");
	m = run("{\"action\":\"generate_report\",\"id\":\"g\",\"payload\":{}}", "[\"read\"]");
	CHECK_STR(code_of(m), "FORBIDDEN");
	CHECK(strstr(message_of(m), "reports") != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "g");
	json_decref(m);

	cfg.report_permission = "analytics";
	CHECK_INT(actions_load(&cfg, err, sizeof err), 0);
	CHECK_INT(actions_find("generate_report", &a), 1);
	CHECK_STR(a.permission, "analytics");
	m = run("{\"action\":\"generate_report\",\"id\":\"g\",\"payload\":{}}", "[\"reports\"]");
	CHECK_STR(code_of(m), "FORBIDDEN");
	json_decref(m);
	/* with the permission the payload is validated before anything is queued */
	m = run("{\"action\":\"generate_report\",\"id\":\"g\",\"payload\":{}}", "[\"analytics\"]");
	CHECK_STR(code_of(m), "VALIDATION_ERROR");
	json_decref(m);
	cfg.report_permission = NULL;
	CHECK_INT(actions_load(&cfg, err, sizeof err), 0);
	CHECK_INT(actions_find("generate_report", &a), 1);
	CHECK(a.permission == NULL);
	CHECK_INT(actions_find("delay", &a), 1);
	CHECK(a.permission == NULL); /* others keep their own */
	actions_free();
}

TAP_MAIN(TAP_TEST(test_unknown_action), TAP_TEST(test_permission_required),
	 TAP_TEST(test_open_action), TAP_TEST(test_handler_error), TAP_TEST(test_registry),
	 TAP_TEST(test_exec_actions), TAP_TEST(test_report_permission))

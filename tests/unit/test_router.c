/* test_router.c - unit tests for the dispatch table: unknown actions, permissions, handler errors, request ids. */
#include <string.h>

#include "config.h"
#include "request_run.h"
#include "protocol.h"
#include "router.h"
#include "store.h"
#include "tap.h"

static int ok_handler(struct call *c, json_t **data, struct proto_error *err)
{
	*data = json_pack("{s:s}", "ran", c->msg->action);
	return 0;
}

static int failing_handler(struct call *c, json_t **data, struct proto_error *err)
{
	proto_error_set(err, ERR_NOT_FOUND, "No such thing");
	err->details = json_pack("{s:s}", "what", "thing");
	return -1;
}

static const struct action table[] = {
	{ "open.thing", ok_handler, 0, NULL },
	{ "secret.thing", ok_handler, 0, "admin" },
	{ "broken", failing_handler, 0, NULL },
	{ NULL, NULL, 0, NULL },
};

/* Dispatches text as a message from a connection holding perms (a JSON array). */
static json_t *run(const char *text, const char *perms)
{
	struct client_msg msg;
	struct proto_error err = {0};
	struct conn_record rec = { .id = "c1", .user_id = "u", .tenant_id = "t" };
	json_t *p = json_loads(perms, 0, NULL), *out;

	CHECK(proto_parse(text, strlen(text), 4096, &msg, &err) == 0);
	struct call c = { .app = NULL, .conn = &rec, .msg = &msg, .permissions = p, .now_ms = 0 };
	out = router_dispatch_in(table, &c);
	client_msg_free(&msg);
	json_decref(p);
	return out;
}

static const char *code_of(json_t *m)
{
	return json_string_value(json_object_get(json_object_get(m, "error"), "code"));
}

static void test_unknown_action(void)
{
	json_t *m = run("{\"action\":\"nope\",\"id\":\"a\"}", "[]");

	CHECK_STR(code_of(m), "INVALID_ACTION");
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "error"), "message")),
		  "Unknown action: nope");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "a");
	json_decref(m);
}

static void test_permission_required(void)
{
	json_t *m = run("{\"action\":\"secret.thing\",\"id\":\"b\"}", "[\"read\",\"adminx\"]");

	CHECK_STR(code_of(m), "FORBIDDEN");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "b");
	json_decref(m);
	m = run("{\"action\":\"secret.thing\",\"id\":\"b\"}", "[\"read\",\"admin\"]");
	CHECK_STR(json_string_value(json_object_get(m, "type")), "response");
	CHECK_STR(json_string_value(json_object_get(json_object_get(m, "data"), "ran")), "secret.thing");
	json_decref(m);
}

static void test_open_action(void)
{
	json_t *m = run("{\"action\":\"open.thing\",\"id\":\"c\"}", "[]");

	CHECK_STR(json_string_value(json_object_get(m, "type")), "response");
	CHECK(json_is_true(json_object_get(m, "success")));
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "c");
	json_decref(m);
}

static void test_handler_error(void)
{
	json_t *m = run("{\"action\":\"broken\",\"id\":\"d\"}", "[]");

	CHECK_STR(code_of(m), "NOT_FOUND");
	CHECK_STR(json_string_value(json_object_get(json_object_get(json_object_get(m, "error"), "details"), "what")),
		  "thing");
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "d");
	json_decref(m);
}

static void test_builtin_table(void)
{
	CHECK(router_find("echo") != NULL);
	CHECK(router_find("health") != NULL);
	CHECK(router_find("whoami") != NULL);
	CHECK(router_find("ech") == NULL);
	CHECK(router_find("") == NULL);
}

/* generate_report needs STREAMER_REPORT_PERMISSION ("reports" by default); empty turns the check off. */
static void test_report_permission(void)
{
	struct config cfg = { 0 };
	char err[256];
	json_t *m;

	CHECK_STR(request_action_permission("generate_report"), "reports");
	m = run("{\"action\":\"generate_report\",\"id\":\"g\",\"payload\":{}}", "[\"read\"]");
	CHECK_STR(code_of(m), "FORBIDDEN");
	CHECK(strstr(json_string_value(json_object_get(json_object_get(m, "error"), "message")),
		      "reports") != NULL);
	CHECK_STR(json_string_value(json_object_get(m, "request_id")), "g");
	json_decref(m);

	cfg.report_permission = "analytics";
	CHECK_INT(request_runtime_init(&cfg, err, sizeof err), 0);
	CHECK_STR(request_action_permission("generate_report"), "analytics");
	m = run("{\"action\":\"generate_report\",\"id\":\"g\",\"payload\":{}}", "[\"reports\"]");
	CHECK_STR(code_of(m), "FORBIDDEN");
	json_decref(m);
	cfg.report_permission = NULL;
	CHECK_INT(request_runtime_init(&cfg, err, sizeof err), 0);
	CHECK(request_action_permission("generate_report") == NULL);
	CHECK(request_action_permission("delay") == NULL); /* others keep their own */
	request_runtime_free();
}

TAP_MAIN(TAP_TEST(test_unknown_action), TAP_TEST(test_permission_required),
	 TAP_TEST(test_open_action), TAP_TEST(test_handler_error), TAP_TEST(test_builtin_table),
	 TAP_TEST(test_report_permission))

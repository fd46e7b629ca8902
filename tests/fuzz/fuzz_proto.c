/* fuzz_proto.c - libFuzzer target for proto_parse: any message text, checked against the contract in protocol.h. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "protocol.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct client_msg msg;
	struct proto_error err = { 0 };

	if (proto_parse((const char *)data, size, FUZZ_MAX_MESSAGE, &msg, &err) == 0) {
		if (!msg.root || !msg.action || !msg.id[0] || strlen(msg.id) > PROTO_ID_MAX ||
		    !str_is_token(msg.action, strlen(msg.action), PROTO_ACTION_MAX, "._-") ||
		    (msg.metadata && !json_is_object(msg.metadata)))
			abort();
	} else if (msg.root || strlen(msg.id) > PROTO_ID_MAX || !err.message[0]) {
		abort();
	}
	client_msg_free(&msg);
	proto_error_clear(&err);
	return 0;
}

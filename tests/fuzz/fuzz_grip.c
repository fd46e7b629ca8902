/* fuzz_grip.c - libFuzzer target for auth_grip_verify (the Grip-Sig check): each input as given and re-signed with the test key. */
#include <stdlib.h>

#include "auth.h"
#include "fuzz.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The header value reaches auth_grip_verify as a C string. */
	char *sig = xstrndup((const char *)data, size), *signed_sig;
	size_t len;

	(void)auth_grip_verify(FUZZ_GRIP_KEY, sig, FUZZ_NOW);
	signed_sig = fuzz_resign(data, size, FUZZ_GRIP_KEY, &len);
	if (signed_sig)
		(void)auth_grip_verify(FUZZ_GRIP_KEY, signed_sig, FUZZ_NOW);
	free(signed_sig);
	free(sig);
	return 0;
}

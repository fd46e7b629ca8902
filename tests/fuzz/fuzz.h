/* fuzz.h - what the libFuzzer targets in tests/fuzz share: the entry points and a JWS re-signer. */
#ifndef STREAMER_FUZZ_H
#define STREAMER_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* libFuzzer calls this once per input; data[0..size) is borrowed. Returns 0. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* libFuzzer calls this once before any input, when a target defines it (fuzz_auth: its keys). */
int LLVMFuzzerInitialize(int *argc, char ***argv);

/*
 * The time every auth target verifies at: the seeds in tests/cases/auth and
 * tests/cases/grip are valid (or expired) relative to it.
 */
#define FUZZ_NOW 1700000000
/* The message size limit proto_parse gets: the default STREAMER_MAX_MESSAGE_BYTES. */
#define FUZZ_MAX_MESSAGE 131072
/* The auth targets' leeway in seconds. */
#define FUZZ_LEEWAY 60

/*
 * The fixed test keys the seeds are signed with (tests/fuzz/make-seeds.sh):
 * HS256 for tests/cases/auth, the Pushpin sig_key for tests/cases/grip. They
 * guard nothing: they are test fixtures.
 */
#define FUZZ_AUTH_SECRET "streamer-fuzz-test-key-0123456789"
#define FUZZ_GRIP_KEY "streamer-fuzz-grip-key"

/*
 * Re-signs a token with HS256 under secret: keeps data up to its second '.'
 * (the JWS signing input, mutated or not) and appends "." and the base64url
 * HMAC-SHA256 of it, so that the fuzzer reaches the header and claim checks
 * behind the signature. Returns a new NUL-terminated string (caller frees)
 * with its length in *len, or NULL when data has fewer than two '.'.
 */
char *fuzz_resign(const uint8_t *data, size_t size, const char *secret, size_t *len);

#endif

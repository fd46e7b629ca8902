/* fuzz_auth.c - libFuzzer target for auth_verify: each input as given (HS256 and ES256 pinned) and re-signed with the test key. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "auth.h"
#include "fuzz.h"
#include "protocol.h"
#include "util.h"

static struct auth_key *hs256, *es256;

/* Loads the keys once: the HS256 test secret, and an ES256 key made at start. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	EVP_PKEY *pkey;
	BIO *bio;
	char *pem = NULL, err[256];
	long n;

	if (auth_key_load(&hs256, AUTH_HS256, FUZZ_AUTH_SECRET, strlen(FUZZ_AUTH_SECRET), err,
			  sizeof(err)) < 0)
		abort();
	pkey = EVP_EC_gen("P-256");
	bio = BIO_new(BIO_s_mem());
	if (!pkey || !bio || !PEM_write_bio_PUBKEY(bio, pkey))
		abort();
	n = BIO_get_mem_data(bio, &pem);
	if (auth_key_load(&es256, AUTH_ES256, pem, (size_t)n, err, sizeof(err)) < 0)
		abort();
	BIO_free(bio);
	EVP_PKEY_free(pkey);
	return 0;
}

/* Verifies token against key, and checks the contract on the identity. */
static void verify(enum auth_alg alg, const struct auth_key *key, const char *token, size_t len)
{
	struct auth_policy p = {
		.alg = alg, .key = key, .issuer = NULL, .audience = NULL,
		.leeway = FUZZ_LEEWAY, .now = FUZZ_NOW,
	};
	struct auth_identity id;
	enum auth_error e = auth_verify(&p, token, len, &id);

	if ((unsigned)e >= AUTH_ERROR_COUNT || !auth_error_message(e) || !auth_error_label(e))
		abort();
	if (e == AUTH_OK) {
		/* auth.h: sub ≤ 256 bytes, tenant ≤ 128, unexpired with the leeway. */
		if (!id.sub || !*id.sub || strlen(id.sub) > 256 || !id.tenant || !*id.tenant ||
		    strlen(id.tenant) > 128 || !json_is_array(id.permissions) ||
		    id.exp + FUZZ_LEEWAY <= FUZZ_NOW)
			abort();
		/* auth.h: the topic claims, when present, are arrays of valid names or patterns. */
		json_t *lists[2] = { id.topics, id.publish_topics };

		for (int k = 0; k < 2; k++) {
			size_t i;
			json_t *t;

			if (!lists[k])
				continue;
			if (!json_is_array(lists[k]) || json_array_size(lists[k]) > AUTH_TOPICS_MAX)
				abort();
			json_array_foreach(lists[k], i, t)
				if (!json_is_string(t) || !topic_pattern_valid(json_string_value(t)))
					abort();
		}
	} else if (id.sub || id.tenant || id.permissions || id.topics || id.publish_topics) {
		abort();
	}
	auth_identity_free(&id);
	/* With issuer and audience set, the same token walks the remaining claim checks. */
	p.issuer = "streamer";
	p.audience = "streamer-api";
	e = auth_verify(&p, token, len, &id);
	auth_identity_free(&id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *signed_token;
	size_t len;

	verify(AUTH_HS256, hs256, (const char *)data, size);
	verify(AUTH_ES256, es256, (const char *)data, size);
	signed_token = fuzz_resign(data, size, FUZZ_AUTH_SECRET, &len);
	if (signed_token)
		verify(AUTH_HS256, hs256, signed_token, len);
	free(signed_token);
	return 0;
}

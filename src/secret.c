/* secret.c - the plain HTTP dialect's connection secrets: made from the OS CSPRNG, stored only as SHA-256, compared in constant time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "secret.h"
#include "util.h"

void secret_new(char out[SECRET_HEX_LEN + 1])
{
	random_hex(out, SECRET_BYTES);
}

void secret_hash(const char *secret, size_t len, char out[SECRET_HASH_HEX_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(secret, len, md, &mdlen, EVP_sha256(), NULL) || mdlen * 2 != SECRET_HASH_HEX_LEN) {
		fputs("streamer: SHA-256 failed\n", stderr);
		abort();
	}
	for (unsigned int i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[SECRET_HASH_HEX_LEN] = '\0';
}

bool secret_matches(const char *secret, size_t len, const char *hash_hex)
{
	char got[SECRET_HASH_HEX_LEN + 1];

	if (!secret || !hash_hex)
		return false;
	secret_hash(secret, len, got);
	return ct_equal(got, SECRET_HASH_HEX_LEN, hash_hex, strlen(hash_hex));
}

/* fuzz.c - the JWS re-signer the auth and Grip-Sig fuzz targets share. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz.h"
#include "util.h"

char *fuzz_resign(const uint8_t *data, size_t size, const char *secret, size_t *len)
{
	const uint8_t *dot1 = memchr(data, '.', size), *dot2;
	unsigned char mac[EVP_MAX_MD_SIZE], b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int maclen = 0;
	size_t n, k = 0;
	struct buf out = { 0 };

	if (!dot1)
		return NULL;
	dot2 = memchr(dot1 + 1, '.', size - (size_t)(dot1 + 1 - data));
	if (!dot2)
		return NULL;
	n = (size_t)(dot2 - data);
	if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), data, n, mac, &maclen))
		abort();
	EVP_EncodeBlock(b64, mac, (int)maclen);
	/* base64 to unpadded base64url */
	for (size_t i = 0; b64[i] && b64[i] != '='; i++)
		b64[k++] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' : b64[i];
	buf_append(&out, data, n + 1);
	buf_append(&out, b64, k);
	*len = out.len;
	return buf_detach(&out);
}

/* secret.h - the plain HTTP dialect's connection secrets: made from the OS CSPRNG, stored only as SHA-256, compared in constant time. */
#ifndef STREAMER_SECRET_H
#define STREAMER_SECRET_H

#include <stdbool.h>
#include <stddef.h>

/* Random bytes in a secret (256 bits) and the length of its lowercase hex text. */
#define SECRET_BYTES 32
#define SECRET_HEX_LEN (2 * SECRET_BYTES)
/* Length of the lowercase hex SHA-256 of a secret. */
#define SECRET_HASH_HEX_LEN 64

/* Writes a new secret (SECRET_HEX_LEN hex digits from getrandom) plus NUL into out. */
void secret_new(char out[SECRET_HEX_LEN + 1]);

/* Writes the lowercase hex SHA-256 of secret[0..len) plus NUL into out; aborts if OpenSSL fails. */
void secret_hash(const char *secret, size_t len, char out[SECRET_HASH_HEX_LEN + 1]);

/*
 * True when the SHA-256 of secret[0..len) equals hash_hex (as secret_hash
 * writes it). The comparison takes the same time wherever the hashes differ.
 * False when secret or hash_hex is NULL.
 */
bool secret_matches(const char *secret, size_t len, const char *hash_hex);

#endif

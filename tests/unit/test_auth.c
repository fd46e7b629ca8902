/* test_auth.c - JWT verification (every algorithm, every refusal), key loading and Grip-Sig. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/encoder.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "auth.h"
#include "util.h"
#include "tap.h"

#define NOW 1700000000
#define LEEWAY 60
#define SECRET "a-shared-secret-for-the-tests-0123456789"

/* Valid claims at NOW; tests add to or replace them. */
#define SUB_TENANT "\"sub\":\"alice\",\"tenant_id\":\"acme\""
#define EXP_OK "\"exp\":1700000600"
#define CLAIMS_OK "{" SUB_TENANT "," EXP_OK ",\"iat\":1699999990}"

/*
 * Test keys, made once before the tests fork (RSA generation is slow) and
 * inherited by every test process. No key material is kept in the tree.
 */
static struct {
	EVP_PKEY *rsa, *ec256, *ec384;
	char *rsa_priv, *rsa_pub, *rsa_pub_pkcs1;
	char *ec256_priv, *ec256_pub, *ec384_priv, *ec384_pub;
} K;

static char *bio_string(BIO *bio)
{
	char *p = NULL;
	long n = BIO_get_mem_data(bio, &p);
	char *s = xstrndup(p, (size_t)n);

	BIO_free(bio);
	return s;
}

static char *pem_private(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (!PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL))
		abort();
	return bio_string(bio);
}

static char *pem_public(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (!PEM_write_bio_PUBKEY(bio, pkey))
		abort();
	return bio_string(bio);
}

/* PKCS#1 "RSA PUBLIC KEY" (the type-specific structure). */
static char *pem_public_pkcs1(EVP_PKEY *pkey)
{
	BIO *bio = BIO_new(BIO_s_mem());
	OSSL_ENCODER_CTX *ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_PUBLIC_KEY, "PEM",
							      "type-specific", NULL);

	if (!ctx || !OSSL_ENCODER_to_bio(ctx, bio))
		abort();
	OSSL_ENCODER_CTX_free(ctx);
	return bio_string(bio);
}

__attribute__((constructor)) static void make_keys(void)
{
	K.rsa = EVP_RSA_gen(2048);
	K.ec256 = EVP_EC_gen("P-256");
	K.ec384 = EVP_EC_gen("P-384");
	if (!K.rsa || !K.ec256 || !K.ec384)
		abort();
	K.rsa_priv = pem_private(K.rsa);
	K.rsa_pub = pem_public(K.rsa);
	K.rsa_pub_pkcs1 = pem_public_pkcs1(K.rsa);
	K.ec256_priv = pem_private(K.ec256);
	K.ec256_pub = pem_public(K.ec256);
	K.ec384_priv = pem_private(K.ec384);
	K.ec384_pub = pem_public(K.ec384);
}

static bool is_hs(enum auth_alg alg)
{
	return alg == AUTH_HS256 || alg == AUTH_HS384 || alg == AUTH_HS512;
}

static const char *public_for(enum auth_alg alg)
{
	switch (alg) {
	case AUTH_ES256:
		return K.ec256_pub;
	case AUTH_ES384:
		return K.ec384_pub;
	case AUTH_HS256: case AUTH_HS384: case AUTH_HS512:
		return SECRET;
	default:
		return K.rsa_pub;
	}
}

static const char *private_for(enum auth_alg alg)
{
	switch (alg) {
	case AUTH_ES256:
		return K.ec256_priv;
	case AUTH_ES384:
		return K.ec384_priv;
	case AUTH_HS256: case AUTH_HS384: case AUTH_HS512:
		return SECRET;
	default:
		return K.rsa_priv;
	}
}

static EVP_PKEY *pkey_for(enum auth_alg alg)
{
	return alg == AUTH_ES256 ? K.ec256 : alg == AUTH_ES384 ? K.ec384 : K.rsa;
}

static const EVP_MD *md_for(enum auth_alg alg)
{
	switch (alg) {
	case AUTH_RS384: case AUTH_ES384: case AUTH_HS384:
		return EVP_sha384();
	case AUTH_RS512: case AUTH_HS512:
		return EVP_sha512();
	default:
		return EVP_sha256();
	}
}

/* The verification key for alg, loaded once per test process (kept reachable on purpose). */
static const struct auth_key *key_for(enum auth_alg alg)
{
	static struct auth_key *cache[AUTH_HS512 + 1];
	char err[256];

	if (!cache[alg]) {
		const char *pem = public_for(alg);
		if (auth_key_load(&cache[alg], alg, pem, strlen(pem), err, sizeof(err)) < 0) {
			printf("# auth_key_load(%s): %s\n", auth_alg_name(alg), err);
			_exit(1);
		}
	}
	return cache[alg];
}

static struct auth_policy policy(enum auth_alg alg)
{
	struct auth_policy p = {
		.alg = alg, .key = key_for(alg), .leeway = LEEWAY, .now = NOW,
	};
	return p;
}

static char *b64url(const void *p, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *c = out; *c; c++)
		*c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
	return out;
}

/* Signs in[0..n) as alg does, into out (512 bytes); ES signatures are raw R||S unless der. */
static size_t sign(enum auth_alg alg, const char *in, size_t n, unsigned char *out, bool der)
{
	unsigned char buf[512];
	size_t len = sizeof(buf);
	EVP_MD_CTX *ctx;

	if (is_hs(alg)) {
		unsigned int maclen = 0;
		HMAC(md_for(alg), SECRET, (int)strlen(SECRET), (const unsigned char *)in, n, out, &maclen);
		return maclen;
	}
	ctx = EVP_MD_CTX_new();
	if (EVP_DigestSignInit(ctx, NULL, md_for(alg), NULL, pkey_for(alg)) != 1 ||
	    EVP_DigestSign(ctx, buf, &len, (const unsigned char *)in, n) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	if (alg == AUTH_RS256 || alg == AUTH_RS384 || alg == AUTH_RS512 || der) {
		memcpy(out, buf, len);
		return len;
	}
	{
		const unsigned char *p = buf;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		int half = alg == AUTH_ES256 ? 32 : 48;

		BN_bn2binpad(ECDSA_SIG_get0_r(es), out, half);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), out + half, half);
		ECDSA_SIG_free(es);
		return (size_t)(2 * half);
	}
}

/* "<b64 header>.<b64 payload>" from JSON texts. Caller frees. */
static char *signing_input(const char *header, const char *payload)
{
	char *h = b64url(header, strlen(header)), *p = b64url(payload, strlen(payload));
	struct buf b = {0};

	buf_printf(&b, "%s.%s", h, p);
	free(h);
	free(p);
	return buf_detach(&b);
}

static char *default_header(enum auth_alg alg)
{
	struct buf b = {0};

	buf_printf(&b, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", auth_alg_name(alg));
	return buf_detach(&b);
}

/* A token with the given header (NULL: the usual one for alg) and payload, signed with the test key for alg. */
static char *craft_sig(enum auth_alg alg, const char *header, const char *payload, bool der)
{
	char *hdr = header ? xstrdup(header) : default_header(alg);
	char *in = signing_input(hdr, payload);
	unsigned char sig[512];
	size_t n = sign(alg, in, strlen(in), sig, der);
	char *s = b64url(sig, n);
	struct buf b = {0};

	buf_printf(&b, "%s.%s", in, s);
	free(hdr);
	free(in);
	free(s);
	return buf_detach(&b);
}

static char *craft(enum auth_alg alg, const char *header, const char *payload)
{
	return craft_sig(alg, header, payload, false);
}

/* A token whose third part is sig as given (already base64url). */
static char *craft_unsigned(const char *header, const char *payload, const char *sig)
{
	char *in = signing_input(header, payload);
	struct buf b = {0};

	buf_printf(&b, "%s.%s", in, sig);
	free(in);
	return buf_detach(&b);
}

/* A token made by libjwt 1.10.2 the way `streamer token` makes it. Caller frees. */
static char *mint(enum auth_alg alg, const char *key, size_t keylen, const char *claims)
{
	jwt_t *jwt = NULL;
	char *tok;

	if (jwt_new(&jwt) != 0 ||
	    jwt_set_alg(jwt, jwt_str_alg(auth_alg_name(alg)), (const unsigned char *)key, (int)keylen) != 0 ||
	    jwt_add_grants_json(jwt, claims) != 0)
		abort();
	tok = jwt_encode_str(jwt);
	jwt_free(jwt);
	if (!tok)
		abort();
	return tok;
}

/* Verifies token (then frees it and any identity) under p. */
static enum auth_error run(const struct auth_policy *p, char *token)
{
	struct auth_identity id;
	enum auth_error e = auth_verify(p, token, strlen(token), &id);

	if (e != AUTH_OK && (id.sub || id.tenant || id.permissions || id.exp))
		e = (enum auth_error)-1; /* a refusal must leave id zeroed */
	auth_identity_free(&id);
	free(token);
	return e;
}

static enum auth_error run_alg(enum auth_alg alg, char *token)
{
	struct auth_policy p = policy(alg);
	return run(&p, token);
}

/* Compares by label so that a failure reads "signature, expected algorithm". */
#define EXPECT(alg, token, want) \
	CHECK_STR(auth_error_label(run_alg((alg), (token))), auth_error_label(want))
#define EXPECT_P(p, token, want) \
	CHECK_STR(auth_error_label(run((p), (token))), auth_error_label(want))

/* Decoded length of the signature part of token. */
static size_t sig_bytes(const char *token)
{
	size_t n = strlen(strrchr(token, '.') + 1);
	return n * 3 / 4;
}

/* ---- every algorithm, minted by libjwt -------------------------------- */

static void libjwt_round_trip(enum auth_alg alg)
{
	const char *key = private_for(alg);
	char *tok = mint(alg, key, strlen(key), CLAIMS_OK);
	struct auth_policy p = policy(alg);
	struct auth_identity id;

	if (alg == AUTH_ES256)
		CHECK_INT(sig_bytes(tok), 64); /* raw R||S, not DER */
	if (alg == AUTH_ES384)
		CHECK_INT(sig_bytes(tok), 96);
	CHECK_STR(auth_error_label(auth_verify(&p, tok, strlen(tok), &id)), "ok");
	CHECK_STR(id.sub, "alice");
	CHECK_STR(id.tenant, "acme");
	auth_identity_free(&id);
	/* The same token under any other pinned algorithm is refused by the pin. */
	for (int other = AUTH_RS256; other <= AUTH_HS512; other++)
		if (other != (int)alg)
			EXPECT((enum auth_alg)other, xstrdup(tok), AUTH_ALG);
	free(tok);
}

static void rs256_libjwt(void) { libjwt_round_trip(AUTH_RS256); }
static void rs384_libjwt(void) { libjwt_round_trip(AUTH_RS384); }
static void rs512_libjwt(void) { libjwt_round_trip(AUTH_RS512); }
static void es256_libjwt(void) { libjwt_round_trip(AUTH_ES256); }
static void es384_libjwt(void) { libjwt_round_trip(AUTH_ES384); }
static void hs256_libjwt(void) { libjwt_round_trip(AUTH_HS256); }
static void hs384_libjwt(void) { libjwt_round_trip(AUTH_HS384); }
static void hs512_libjwt(void) { libjwt_round_trip(AUTH_HS512); }

/* The hand-made tokens of the refusal tests are right when nothing is wrong with them. */
static void crafted_tokens_verify(void)
{
	for (int alg = AUTH_RS256; alg <= AUTH_HS512; alg++)
		EXPECT((enum auth_alg)alg, craft((enum auth_alg)alg, NULL, CLAIMS_OK), AUTH_OK);
}

static void identity_is_filled(void)
{
	struct auth_policy p = policy(AUTH_RS256);
	struct auth_identity id;
	char *tok = craft(AUTH_RS256, NULL,
			  "{\"sub\":\"user-1\",\"tenant_id\":\"t.1_ab@c-d\",\"exp\":1700000600,"
			  "\"permissions\":[\"read\",\"write:docs\"],\"extra\":{\"x\":[1]}}");

	CHECK_INT(auth_verify(&p, tok, strlen(tok), &id), AUTH_OK);
	free(tok);
	CHECK_STR(id.sub, "user-1");
	CHECK_STR(id.tenant, "t.1_ab@c-d");
	CHECK_INT(id.exp, 1700000600);
	CHECK(json_is_array(id.permissions));
	CHECK_INT(json_array_size(id.permissions), 2);
	CHECK_STR(json_string_value(json_array_get(id.permissions, 0)), "read");
	CHECK_STR(json_string_value(json_array_get(id.permissions, 1)), "write:docs");
	CHECK_INT(id.permissions->refcount, 1); /* ours alone: the payload is gone */
	auth_identity_free(&id);
	CHECK(id.sub == NULL && id.permissions == NULL);
	auth_identity_free(&id); /* twice is harmless */
}

static void identity_without_permissions_has_empty_array(void)
{
	struct auth_policy p = policy(AUTH_HS256);
	struct auth_identity id;
	char *tok = craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1700000600.75}");

	CHECK_INT(auth_verify(&p, tok, strlen(tok), &id), AUTH_OK);
	free(tok);
	CHECK(json_is_array(id.permissions));
	CHECK_INT(json_array_size(id.permissions), 0);
	CHECK_INT(id.exp, 1700000600); /* a real exp is rounded down */
	auth_identity_free(&id);
}

/* ---- size and shape --------------------------------------------------- */

static void missing_token(void)
{
	struct auth_policy p = policy(AUTH_RS256);
	struct auth_identity id;

	memset(&id, 0xff, sizeof(id));
	CHECK_INT(auth_verify(&p, "", 0, &id), AUTH_MISSING);
	CHECK(id.sub == NULL && id.tenant == NULL && id.permissions == NULL && id.exp == 0);
	CHECK_INT(auth_verify(&p, NULL, 0, &id), AUTH_MISSING);
}

static void too_large(void)
{
	char *big = xmalloc(AUTH_MAX_TOKEN + 2);

	memset(big, 'a', AUTH_MAX_TOKEN + 1);
	big[AUTH_MAX_TOKEN + 1] = '\0';
	EXPECT(AUTH_RS256, xstrdup(big), AUTH_TOO_LARGE);
	big[AUTH_MAX_TOKEN] = '\0'; /* exactly the limit: judged on its shape instead */
	EXPECT(AUTH_RS256, big, AUTH_MALFORMED);
	/* A valid token padded past the limit with a huge claim. */
	{
		struct buf b = {0};
		buf_puts(&b, "{" SUB_TENANT "," EXP_OK ",\"pad\":\"");
		for (int i = 0; i < AUTH_MAX_TOKEN; i++)
			buf_putc(&b, 'x');
		buf_puts(&b, "\"}");
		EXPECT(AUTH_RS256, craft(AUTH_RS256, NULL, b.data), AUTH_TOO_LARGE);
		buf_free(&b);
	}
}

static void malformed_parts(void)
{
	char *tok = craft(AUTH_RS256, NULL, CLAIMS_OK);
	char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
	struct buf b = {0};

	EXPECT(AUTH_RS256, xstrndup(tok, (size_t)(d2 - tok)), AUTH_MALFORMED);   /* two parts */
	EXPECT(AUTH_RS256, xstrndup(tok, (size_t)(d1 - tok)), AUTH_MALFORMED);   /* one part */
	buf_printf(&b, "%s.%s", tok, d2 + 1);                                      /* four parts */
	EXPECT(AUTH_RS256, buf_detach(&b), AUTH_MALFORMED);
	buf_printf(&b, "%s.", tok);                                                /* empty fourth */
	EXPECT(AUTH_RS256, buf_detach(&b), AUTH_MALFORMED);
	buf_printf(&b, "%s", d1);                                                  /* empty header */
	EXPECT(AUTH_RS256, buf_detach(&b), AUTH_MALFORMED);
	buf_printf(&b, "%.*s.%s", (int)(d1 - tok), tok, d2);                       /* empty payload */
	EXPECT(AUTH_RS256, buf_detach(&b), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, xstrdup(".."), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, xstrdup("Bearer"), AUTH_MALFORMED);
	free(tok);
}

/* Replaces the character at offset i of a fresh valid token. */
static char *poke(size_t i, char c)
{
	char *tok = craft(AUTH_HS256, NULL, CLAIMS_OK);

	tok[i] = c;
	return tok;
}

static void malformed_base64(void)
{
	char *tok = craft(AUTH_HS256, NULL, CLAIMS_OK);
	size_t hdr = (size_t)(strchr(tok, '.') - tok);
	struct buf b = {0};

	EXPECT(AUTH_HS256, poke(3, '+'), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, poke(3, '/'), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, poke(hdr + 4, '*'), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, poke(strlen(tok) - 2, ' '), AUTH_MALFORMED);
	/* Padding, even where it is what base64 would write. */
	{
		char *h = b64url("{\"alg\": \"HS256\"}", 16); /* 16 bytes: 22 characters + "==" */
		CHECK_INT(strlen(h), 22);
		buf_printf(&b, "%s==%s", h, strchr(tok, '.'));
		EXPECT(AUTH_HS256, buf_detach(&b), AUTH_MALFORMED);
		buf_printf(&b, "%s%s", h, strchr(tok, '.'));
		EXPECT(AUTH_HS256, buf_detach(&b), AUTH_SIGNATURE); /* control: unpadded gets further */
		free(h);
	}
	CHECK_INT(strlen(strrchr(tok, '.') + 1), 43); /* 32 bytes: base64 would add one "=" */
	buf_printf(&b, "%s=", tok);
	EXPECT(AUTH_HS256, buf_detach(&b), AUTH_MALFORMED);
	/* "e30" is "{}"; a length no encoding has (4n+1), and non-zero leftover bits. */
	EXPECT(AUTH_HS256, xstrdup("e30.e30.AAAA"), AUTH_ALG); /* control: gets as far as the pin */
	EXPECT(AUTH_HS256, xstrdup("e30AA.e30.AAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, xstrdup("e30.e30.AAAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, xstrdup("e31.e30.AAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, xstrdup("e30.e31.AAAA"), AUTH_MALFORMED);
	/* A NUL byte inside the given length. */
	{
		char *t = craft(AUTH_HS256, NULL, CLAIMS_OK);
		struct auth_policy p = policy(AUTH_HS256);
		struct auth_identity id;
		size_t n = strlen(t);
		t[n - 3] = '\0';
		CHECK_INT(auth_verify(&p, t, n, &id), AUTH_MALFORMED);
		free(t);
	}
	free(tok);
}

static void malformed_header(void)
{
	EXPECT(AUTH_RS256, craft_unsigned("not json", CLAIMS_OK, "AAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, craft_unsigned("[\"RS256\"]", CLAIMS_OK, "AAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, craft_unsigned("\"RS256\"", CLAIMS_OK, "AAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"RS256\"", CLAIMS_OK, "AAAA"), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"RS256\"} x", CLAIMS_OK, "AAAA"), AUTH_MALFORMED);
	/* A second alg must not hide behind the first. */
	EXPECT(AUTH_RS256, craft(AUTH_RS256, "{\"alg\":\"RS256\",\"alg\":\"none\"}", CLAIMS_OK),
	       AUTH_MALFORMED);
}

static void malformed_typ_and_crit(void)
{
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\",\"typ\":\"JWE\"}", CLAIMS_OK),
	       AUTH_MALFORMED);
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\",\"typ\":7}", CLAIMS_OK),
	       AUTH_MALFORMED);
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\",\"typ\":null}", CLAIMS_OK),
	       AUTH_MALFORMED);
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}",
				 CLAIMS_OK), AUTH_MALFORMED);
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\",\"crit\":[]}", CLAIMS_OK),
	       AUTH_MALFORMED);
	/* Accepted spellings. */
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\"}", CLAIMS_OK), AUTH_OK);
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"typ\":\"jwt\",\"alg\":\"ES256\"}", CLAIMS_OK), AUTH_OK);
	EXPECT(AUTH_ES256, craft(AUTH_ES256, "{\"alg\":\"ES256\",\"typ\":\"application/JWT\",\"kid\":\"k1\"}",
				 CLAIMS_OK), AUTH_OK);
}

static void malformed_payload(void)
{
	/* Signed correctly, so these reach the payload check. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "[1,2]"), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "not json"), AUTH_MALFORMED);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "\"alice\""), AUTH_MALFORMED);
	EXPECT(AUTH_RS256, craft(AUTH_RS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"sub\":\"root\"}"),
	       AUTH_MALFORMED); /* duplicate claim */
	/* Not signed: the signature is judged before the payload is read. */
	EXPECT(AUTH_HS256, craft_unsigned("{\"alg\":\"HS256\"}", "not json", "AAAA"), AUTH_SIGNATURE);
}

/* ---- algorithm pinning ------------------------------------------------ */

static void alg_none(void)
{
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"none\",\"typ\":\"JWT\"}", CLAIMS_OK, ""), AUTH_ALG);
	EXPECT(AUTH_HS256, craft_unsigned("{\"alg\":\"none\"}", CLAIMS_OK, ""), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"none\"}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"None\"}", CLAIMS_OK, ""), AUTH_ALG);
	/* The pinned alg with no signature at all. */
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"RS256\"}", CLAIMS_OK, ""), AUTH_SIGNATURE);
	EXPECT(AUTH_HS256, craft_unsigned("{\"alg\":\"HS256\"}", CLAIMS_OK, ""), AUTH_SIGNATURE);
	EXPECT(AUTH_ES256, craft_unsigned("{\"alg\":\"ES256\"}", CLAIMS_OK, ""), AUTH_SIGNATURE);
	/* libjwt's own "none" token. */
	{
		jwt_t *jwt = NULL;
		char *tok;
		CHECK(jwt_new(&jwt) == 0 && jwt_add_grants_json(jwt, CLAIMS_OK) == 0);
		tok = jwt_encode_str(jwt);
		jwt_free(jwt);
		CHECK(tok != NULL);
		EXPECT(AUTH_RS256, tok, AUTH_ALG);
	}
}

/* The classic confusion: HMAC keyed with the server's public key, sent to an RS256 server. */
static void alg_confusion_hs256_with_public_key(void)
{
	char *in = signing_input("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", CLAIMS_OK);
	unsigned char mac[64];
	unsigned int maclen = 0;
	char *sig, *tok;
	struct buf b = {0};
	struct auth_key *pem_as_secret = NULL;
	struct auth_policy p = policy(AUTH_HS256);
	char err[200];

	HMAC(EVP_sha256(), K.rsa_pub, (int)strlen(K.rsa_pub), (const unsigned char *)in, strlen(in),
	     mac, &maclen);
	sig = b64url(mac, maclen);
	buf_printf(&b, "%s.%s", in, sig);
	tok = buf_detach(&b);
	EXPECT(AUTH_RS256, xstrdup(tok), AUTH_ALG);
	/* Control: the forgery is a good HS256 token for whoever holds that "secret". */
	CHECK_INT(auth_key_load(&pem_as_secret, AUTH_HS256, K.rsa_pub, strlen(K.rsa_pub), err,
				sizeof(err)), 0);
	p.key = pem_as_secret;
	/* (The loaded secret lost the PEM's final newline, so sign again with it stripped.) */
	HMAC(EVP_sha256(), K.rsa_pub, (int)strlen(K.rsa_pub) - 1, (const unsigned char *)in,
	     strlen(in), mac, &maclen);
	free(sig);
	sig = b64url(mac, maclen);
	buf_printf(&b, "%s.%s", in, sig);
	EXPECT_P(&p, buf_detach(&b), AUTH_OK);
	auth_key_free(pem_as_secret);
	free(sig);
	free(in);
	free(tok);
}

static void alg_other_than_pinned(void)
{
	EXPECT(AUTH_RS256, mint(AUTH_RS384, K.rsa_priv, strlen(K.rsa_priv), CLAIMS_OK), AUTH_ALG);
	EXPECT(AUTH_RS256, craft(AUTH_RS384, NULL, CLAIMS_OK), AUTH_ALG);
	EXPECT(AUTH_ES256, craft(AUTH_ES384, NULL, CLAIMS_OK), AUTH_ALG);
	EXPECT(AUTH_HS512, craft(AUTH_HS256, NULL, CLAIMS_OK), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"typ\":\"JWT\"}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":256}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":null}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":[\"RS256\"]}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"rs256\"}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"RS256 \"}", CLAIMS_OK, "AAAA"), AUTH_ALG);
	EXPECT(AUTH_RS256, craft_unsigned("{\"alg\":\"PS256\"}", CLAIMS_OK, "AAAA"), AUTH_ALG);
}

/* ---- signatures ------------------------------------------------------- */

static void tampered_payload(void)
{
	for (int alg = AUTH_RS256; alg <= AUTH_HS512; alg++) {
		char *tok = craft((enum auth_alg)alg, NULL, CLAIMS_OK);
		char *other = signing_input("{}", "{\"sub\":\"root\",\"tenant_id\":\"acme\",\"exp\":1700000600}");
		char *p1 = strchr(tok, '.') + 1, *p2 = strchr(other, '.') + 1;
		struct buf b = {0};

		buf_printf(&b, "%.*s%s%s", (int)(p1 - tok), tok, p2, strrchr(tok, '.'));
		EXPECT((enum auth_alg)alg, buf_detach(&b), AUTH_SIGNATURE);
		free(other);
		free(tok);
	}
}

static void tampered_signature(void)
{
	for (int alg = AUTH_RS256; alg <= AUTH_HS512; alg++) {
		char *tok = craft((enum auth_alg)alg, NULL, CLAIMS_OK);
		char *sig = strrchr(tok, '.') + 1;
		size_t n = strlen(tok);

		sig[5] = sig[5] == 'A' ? 'B' : 'A';
		EXPECT((enum auth_alg)alg, xstrdup(tok), AUTH_SIGNATURE);
		sig[5] = sig[5] == 'A' ? 'B' : 'A';
		/* The right signature followed by more bytes. */
		{
			char *in = xstrndup(tok, (size_t)(sig - 1 - tok));
			unsigned char raw[520] = {0};
			size_t len = sign((enum auth_alg)alg, in, strlen(in), raw, false);
			char *s = b64url(raw, len + 3);
			struct buf b = {0};

			buf_printf(&b, "%s.%s", in, s);
			EXPECT((enum auth_alg)alg, buf_detach(&b), AUTH_SIGNATURE);
			free(s);
			free(in);
		}
		/* Truncated to whole groups of four: still canonical base64url. */
		sig[(strlen(sig) / 4 - 1) * 4] = '\0';
		CHECK(strlen(tok) < n);
		EXPECT((enum auth_alg)alg, tok, AUTH_SIGNATURE);
	}
}

static void es_signature_format(void)
{
	/* DER, as OpenSSL makes it, is not the JWS form. */
	EXPECT(AUTH_ES256, craft_sig(AUTH_ES256, NULL, CLAIMS_OK, true), AUTH_SIGNATURE);
	EXPECT(AUTH_ES384, craft_sig(AUTH_ES384, NULL, CLAIMS_OK, true), AUTH_SIGNATURE);
	/* Raw, but of the wrong width. */
	{
		char *tok = craft(AUTH_ES256, NULL, CLAIMS_OK);
		struct buf b = {0};
		char *in = xstrndup(tok, (size_t)(strrchr(tok, '.') - tok));
		unsigned char zero[96] = {0}, sig[96];
		char *s;

		sign(AUTH_ES256, in, strlen(in), sig, false);
		for (size_t n = 63; n <= 96; n += n == 65 ? 31 : 1) {
			if (n == 64)
				continue;
			memcpy(zero, sig, n < 64 ? n : 64);
			s = b64url(zero, n);
			buf_printf(&b, "%s.%s", in, s);
			EXPECT(AUTH_ES256, buf_detach(&b), AUTH_SIGNATURE);
			free(s);
		}
		/* r = s = 0 is never a valid signature. */
		memset(zero, 0, sizeof(zero));
		s = b64url(zero, 64);
		buf_printf(&b, "%s.%s", in, s);
		EXPECT(AUTH_ES256, buf_detach(&b), AUTH_SIGNATURE);
		free(s);
		free(in);
		free(tok);
	}
}

static void wrong_key(void)
{
	EVP_PKEY *other = EVP_EC_gen("P-256");
	char *pub = pem_public(other);
	struct auth_key *key = NULL;
	struct auth_policy p = policy(AUTH_ES256);
	char err[200];

	CHECK_INT(auth_key_load(&key, AUTH_ES256, pub, strlen(pub), err, sizeof(err)), 0);
	p.key = key;
	EXPECT_P(&p, craft(AUTH_ES256, NULL, CLAIMS_OK), AUTH_SIGNATURE);
	auth_key_free(key);
	/* Another HMAC secret. */
	CHECK_INT(auth_key_load(&key, AUTH_HS256, "another", 7, err, sizeof(err)), 0);
	p = policy(AUTH_HS256);
	p.key = key;
	EXPECT_P(&p, craft(AUTH_HS256, NULL, CLAIMS_OK), AUTH_SIGNATURE);
	auth_key_free(key);
	/* A key loaded for another algorithm than the policy pins. */
	p = policy(AUTH_RS256);
	p.key = key_for(AUTH_RS384);
	EXPECT_P(&p, craft(AUTH_RS256, NULL, CLAIMS_OK), AUTH_SIGNATURE);
	p.key = NULL;
	EXPECT_P(&p, craft(AUTH_RS256, NULL, CLAIMS_OK), AUTH_SIGNATURE);
	/* An HMAC key under an RS256 policy must not turn "RS256" tokens into HMAC ones. */
	p.key = key_for(AUTH_HS256);
	{
		char *in = signing_input("{\"alg\":\"RS256\"}", CLAIMS_OK);
		unsigned char mac[64];
		size_t n = sign(AUTH_HS256, in, strlen(in), mac, false);
		char *s = b64url(mac, n);
		struct buf b = {0};

		buf_printf(&b, "%s.%s", in, s);
		EXPECT_P(&p, buf_detach(&b), AUTH_SIGNATURE);
		free(s);
		free(in);
	}
	free(pub);
	EVP_PKEY_free(other);
}

/* ---- claims ----------------------------------------------------------- */

static void missing_exp(void)
{
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "}"), AUTH_NO_EXP);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":\"1700000600\"}"), AUTH_NO_EXP);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":null}"), AUTH_NO_EXP);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":true}"), AUTH_NO_EXP);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":[1700000600]}"), AUTH_NO_EXP);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1e300}"), AUTH_NO_EXP);
	/* Before any other claim: no exp and no sub is still "missing exp". */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{}"), AUTH_NO_EXP);
}

static void expiry_and_leeway(void)
{
	/* Expired: exp + leeway <= now. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1699999939}"), AUTH_EXPIRED);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1699999940}"), AUTH_EXPIRED);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":0}"), AUTH_EXPIRED);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":-9223372036854775807}"),
	       AUTH_EXPIRED);
	/* Within the leeway. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1699999941}"), AUTH_OK);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1699999999}"), AUTH_OK);
	/* Without leeway the same token is expired. */
	{
		struct auth_policy p = policy(AUTH_HS256);
		p.leeway = 0;
		EXPECT_P(&p, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1700000000}"), AUTH_EXPIRED);
		EXPECT_P(&p, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":1700000001}"), AUTH_OK);
	}
	/* Far future and the largest integer do not overflow. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT ",\"exp\":9223372036854775807}"), AUTH_OK);
	/* Expired wins over every later claim. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"exp\":1,\"nbf\":9999999999,\"sub\":5}"), AUTH_EXPIRED);
}

static void not_yet_valid(void)
{
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"nbf\":1700000061}"),
	       AUTH_NOT_YET);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"nbf\":1700000060.5}"),
	       AUTH_NOT_YET);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"nbf\":1700000060}"),
	       AUTH_OK);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"nbf\":1600000000}"),
	       AUTH_OK);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"nbf\":\"soon\"}"),
	       AUTH_MALFORMED);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"nbf\":null}"),
	       AUTH_MALFORMED);
}

static void issued_in_future(void)
{
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"iat\":1700000061}"),
	       AUTH_IAT_FUTURE);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"iat\":1700000060}"),
	       AUTH_OK);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK ",\"iat\":\"now\"}"),
	       AUTH_MALFORMED);
	/* nbf is judged before iat. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{" SUB_TENANT "," EXP_OK
				 ",\"iat\":1800000000,\"nbf\":1800000000}"), AUTH_NOT_YET);
}

static void bad_subject(void)
{
	struct buf b = {0};

	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"tenant_id\":\"acme\"," EXP_OK "}"), AUTH_NO_SUB);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"sub\":\"\",\"tenant_id\":\"acme\"," EXP_OK "}"),
	       AUTH_NO_SUB);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"sub\":42,\"tenant_id\":\"acme\"," EXP_OK "}"),
	       AUTH_NO_SUB);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"sub\":null,\"tenant_id\":\"acme\"," EXP_OK "}"),
	       AUTH_NO_SUB);
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"sub\":[\"a\"],\"tenant_id\":\"acme\"," EXP_OK "}"),
	       AUTH_NO_SUB);
	/* \u0000 inside a string is refused by the JSON parser. */
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, "{\"sub\":\"a\\u0000b\",\"tenant_id\":\"acme\"," EXP_OK "}"),
	       AUTH_MALFORMED);
	/* 257 bytes is too long, 256 is fine. */
	buf_puts(&b, "{\"tenant_id\":\"acme\"," EXP_OK ",\"sub\":\"");
	for (int i = 0; i < 256; i++)
		buf_putc(&b, 'u');
	buf_puts(&b, "\"}");
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, b.data), AUTH_OK);
	b.len -= 2;
	buf_puts(&b, "u\"}");
	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, b.data), AUTH_NO_SUB);
	buf_free(&b);
}

static char *with_tenant(const char *tenant_json)
{
	struct buf b = {0};

	buf_printf(&b, "{\"sub\":\"alice\"," EXP_OK "%s%s}", tenant_json ? ",\"tenant_id\":" : "",
		   tenant_json ? tenant_json : "");
	return buf_detach(&b);
}

static void expect_tenant(const char *tenant_json, enum auth_error want)
{
	char *claims = with_tenant(tenant_json);

	EXPECT(AUTH_HS256, craft(AUTH_HS256, NULL, claims), want);
	free(claims);
}

static void bad_tenant(void)
{
	char long_tenant[140];

	expect_tenant(NULL, AUTH_NO_TENANT);
	expect_tenant("\"\"", AUTH_NO_TENANT);
	expect_tenant("\"ac me\"", AUTH_NO_TENANT);
	expect_tenant("\"acme/other\"", AUTH_NO_TENANT);
	expect_tenant("\"acme\\n\"", AUTH_NO_TENANT);
	expect_tenant("\"ac%me\"", AUTH_NO_TENANT);
	expect_tenant("\"caf\\u00e9\"", AUTH_NO_TENANT);
	expect_tenant("7", AUTH_NO_TENANT);
	expect_tenant("null", AUTH_NO_TENANT);
	expect_tenant("[\"acme\"]", AUTH_NO_TENANT);
	snprintf(long_tenant, sizeof(long_tenant), "\"%0129d\"", 0);
	expect_tenant(long_tenant, AUTH_NO_TENANT);
	snprintf(long_tenant, sizeof(long_tenant), "\"%0128d\"", 0);
	expect_tenant(long_tenant, AUTH_OK);
	/* ':' separates a channel's kind from its name: not in a tenant. */
	expect_tenant("\"acme:other\"", AUTH_NO_TENANT);
	expect_tenant("\"Org.1_ab@c-d\"", AUTH_OK);
}

static void issuer(void)
{
	struct auth_policy p = policy(AUTH_RS512);

	p.issuer = "https://issuer.example";
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":\"https://issuer.example\"}"),
		 AUTH_OK);
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":\"https://evil.example\"}"),
		 AUTH_ISSUER);
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":\"https://issuer.example/\"}"),
		 AUTH_ISSUER);
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":\"HTTPS://ISSUER.EXAMPLE\"}"),
		 AUTH_ISSUER);
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":[\"https://issuer.example\"]}"),
		 AUTH_ISSUER);
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK "}"), AUTH_ISSUER);
	/* Unconfigured: any iss passes. */
	p.issuer = NULL;
	EXPECT_P(&p, craft(AUTH_RS512, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":\"anyone\"}"), AUTH_OK);
}

static void audience(void)
{
	struct auth_policy p = policy(AUTH_ES384);

	p.audience = "streamer";
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":\"streamer\"}"), AUTH_OK);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":[\"other\",\"streamer\"]}"),
		 AUTH_OK);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":\"other\"}"), AUTH_AUDIENCE);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":\"streamer2\"}"),
		 AUTH_AUDIENCE);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":[\"other\",\"streamers\"]}"),
		 AUTH_AUDIENCE);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":[]}"), AUTH_AUDIENCE);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":[[\"streamer\"]]}"),
		 AUTH_AUDIENCE);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":{\"streamer\":1}}"),
		 AUTH_AUDIENCE);
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK "}"), AUTH_AUDIENCE);
	/* The issuer is judged first. */
	p.issuer = "me";
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"iss\":\"you\"}"), AUTH_ISSUER);
	/* Unconfigured: aud is not looked at. */
	p.issuer = p.audience = NULL;
	EXPECT_P(&p, craft(AUTH_ES384, NULL, "{" SUB_TENANT "," EXP_OK ",\"aud\":42}"), AUTH_OK);
}

static void permissions(void)
{
	char claims[400];
	static const char *const bad[] = {
		"\"read\"", "{\"read\":true}", "[\"read\",1]", "[1]", "[\"read\",null]",
		"[[\"read\"]]", "[\"\"]", "null", "true",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(claims, sizeof(claims), "{" SUB_TENANT "," EXP_OK ",\"permissions\":%s}", bad[i]);
		EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, claims), AUTH_PERMISSIONS);
	}
	snprintf(claims, sizeof(claims), "{" SUB_TENANT "," EXP_OK ",\"permissions\":[\"%0129d\"]}", 0);
	EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, claims), AUTH_PERMISSIONS);
	snprintf(claims, sizeof(claims), "{" SUB_TENANT "," EXP_OK ",\"permissions\":[\"%0128d\"]}", 0);
	EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, claims), AUTH_OK);
	EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, "{" SUB_TENANT "," EXP_OK ",\"permissions\":[]}"), AUTH_OK);
}

/* The topics and publish_topics claims: arrays of at most 64 topic names or patterns. */
static void topic_claims(void)
{
	char claims[2400];
	static const char *const bad[] = {
		"\"news\"", "[1]", "[\"\"]", "[\"a b\"]", "[\"x.*.y\"]", "[\"*x\"]", "[\".*\"]",
		"[\"a.**\"]", "[\"a*\"]", "[\"news\",null]", "{}", "null",
	};
	static const char *const good[] = {
		"[]", "[\"news\"]", "[\"*\"]", "[\"prices.*\"]", "[\"a:b.c-d_e.*\",\"x\"]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		for (int claim = 0; claim < 2; claim++) {
			snprintf(claims, sizeof(claims), "{" SUB_TENANT "," EXP_OK ",\"%s\":%s}",
				 claim ? "publish_topics" : "topics", bad[i]);
			EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, claims), AUTH_TOPICS);
		}
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		snprintf(claims, sizeof(claims), "{" SUB_TENANT "," EXP_OK ",\"topics\":%s,\"publish_topics\":%s}",
			 good[i], good[i]);
		EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, claims), AUTH_OK);
	}
	/* 64 entries pass, 65 do not. */
	for (int n = 64; n <= 65; n++) {
		size_t len = (size_t)snprintf(claims, sizeof(claims), "{" SUB_TENANT "," EXP_OK ",\"topics\":[");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(claims + len, sizeof(claims) - len, "%s\"t%d\"", i ? "," : "", i);
		snprintf(claims + len, sizeof(claims) - len, "]}");
		EXPECT(AUTH_HS384, craft(AUTH_HS384, NULL, claims), n == 64 ? AUTH_OK : AUTH_TOPICS);
	}
}

/* ---- keys ------------------------------------------------------------- */

static int load(enum auth_alg alg, const char *data, size_t len, char *err)
{
	struct auth_key *key = NULL;
	int rc;

	strcpy(err, "(none)");
	rc = auth_key_load(&key, alg, data, len, err, 200);
	CHECK((rc == 0) == (key != NULL));
	auth_key_free(key);
	return rc;
}

#define LOAD_FAILS(alg, data, why) do { \
	char err_[200]; \
	CHECK_INT(load((alg), (data), strlen(data), err_), -1); \
	if (!strstr(err_, (why))) { \
		printf("# %s:%d: reason \"%s\" lacks \"%s\"\n", __FILE__, __LINE__, err_, (why)); \
		_exit(1); \
	} \
} while (0)

static void key_wrong_type(void)
{
	LOAD_FAILS(AUTH_RS256, K.ec256_pub, "RSA");
	LOAD_FAILS(AUTH_RS512, K.ec384_pub, "RSA");
	LOAD_FAILS(AUTH_ES256, K.rsa_pub, "EC");
	LOAD_FAILS(AUTH_ES256, K.ec384_pub, "prime256v1");
	LOAD_FAILS(AUTH_ES384, K.ec256_pub, "secp384r1");
	{
		EVP_PKEY *k = EVP_EC_gen("secp256k1");
		char *pem = pem_public(k);
		LOAD_FAILS(AUTH_ES256, pem, "secp256k1");
		free(pem);
		EVP_PKEY_free(k);
	}
	{
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		char *pem = pem_public(k);
		LOAD_FAILS(AUTH_RS256, pem, "RSA");
		LOAD_FAILS(AUTH_ES256, pem, "EC");
		free(pem);
		EVP_PKEY_free(k);
	}
}

static void key_short_rsa(void)
{
	EVP_PKEY *k = EVP_RSA_gen(1024);
	char *pem = pem_public(k);

	LOAD_FAILS(AUTH_RS256, pem, "1024");
	free(pem);
	EVP_PKEY_free(k);
}

static void key_not_a_public_key(void)
{
	char *pkcs1 = xstrdup(K.rsa_pub_pkcs1);

	LOAD_FAILS(AUTH_RS256, "", "PEM");
	LOAD_FAILS(AUTH_RS256, "garbage\n", "PEM");
	LOAD_FAILS(AUTH_RS256, "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "PUBLIC KEY");
	LOAD_FAILS(AUTH_RS256, "-----BEGIN PUBLIC KEY-----\nnot base64!\n-----END PUBLIC KEY-----\n", "PEM");
	LOAD_FAILS(AUTH_RS256, K.rsa_priv, "private key");
	LOAD_FAILS(AUTH_ES256, K.ec256_priv, "private key");
	LOAD_FAILS(AUTH_RS256, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
		   "not a public key");
	/* A PKCS#1 body under the PKIX label does not parse. */
	{
		char *body = strstr(pkcs1, "-----\n") + 6;
		struct buf b = {0};
		*strstr(body, "-----END") = '\0';
		buf_printf(&b, "-----BEGIN PUBLIC KEY-----\n%s-----END PUBLIC KEY-----\n", body);
		LOAD_FAILS(AUTH_RS256, b.data, "cannot parse");
		buf_free(&b);
	}
	{
		char err[200];
		struct auth_key *key = (struct auth_key *)&err; /* overwritten with NULL on failure */
		CHECK_INT(auth_key_load(&key, AUTH_RS256, NULL, 0, err, sizeof(err)), -1);
		CHECK(key == NULL);
	}
	free(pkcs1);
}

static void key_pkcs1_accepted(void)
{
	struct auth_key *key = NULL;
	struct auth_policy p = policy(AUTH_RS256);
	char err[200];

	CHECK(strstr(K.rsa_pub_pkcs1, "-----BEGIN RSA PUBLIC KEY-----") != NULL);
	CHECK_INT(auth_key_load(&key, AUTH_RS256, K.rsa_pub_pkcs1, strlen(K.rsa_pub_pkcs1), err,
				sizeof(err)), 0);
	p.key = key;
	EXPECT_P(&p, mint(AUTH_RS256, K.rsa_priv, strlen(K.rsa_priv), CLAIMS_OK), AUTH_OK);
	EXPECT_P(&p, craft(AUTH_RS256, NULL, "{\"sub\":\"x\"," EXP_OK "}"), AUTH_NO_TENANT);
	auth_key_free(key);
	/* Text before the PEM block (as openssl x509 -text writes) is skipped. */
	{
		struct buf b = {0};
		buf_printf(&b, "Public-Key: (2048 bit)\n%s", K.rsa_pub);
		CHECK_INT(auth_key_load(&key, AUTH_RS256, b.data, b.len, err, sizeof(err)), 0);
		auth_key_free(key);
		buf_free(&b);
	}
	auth_key_free(NULL);
}

static void key_hmac_secret(void)
{
	struct auth_key *key = NULL;
	struct auth_policy p = policy(AUTH_HS256);
	char err[200];

	LOAD_FAILS(AUTH_HS256, "", "empty");
	LOAD_FAILS(AUTH_HS512, "\n", "empty");
	LOAD_FAILS(AUTH_HS384, "\r\n\n", "empty");
	/* The file's trailing newlines are not part of the secret. */
	CHECK_INT(auth_key_load(&key, AUTH_HS256, SECRET "\r\n\n", strlen(SECRET) + 3, err, sizeof(err)), 0);
	p.key = key;
	EXPECT_P(&p, craft(AUTH_HS256, NULL, CLAIMS_OK), AUTH_OK);
	auth_key_free(key);
	/* But the secret is every other byte: a trailing space counts. */
	CHECK_INT(auth_key_load(&key, AUTH_HS256, SECRET " ", strlen(SECRET) + 1, err, sizeof(err)), 0);
	p.key = key;
	EXPECT_P(&p, craft(AUTH_HS256, NULL, CLAIMS_OK), AUTH_SIGNATURE);
	auth_key_free(key);
	/* libjwt with the stripped secret, as `streamer token` signs. */
	CHECK_INT(auth_key_load(&key, AUTH_HS512, "s3cr3t\n", 7, err, sizeof(err)), 0);
	p = policy(AUTH_HS512);
	p.key = key;
	EXPECT_P(&p, mint(AUTH_HS512, "s3cr3t", 6, CLAIMS_OK), AUTH_OK);
	EXPECT_P(&p, mint(AUTH_HS512, "s3cr3t\n", 7, CLAIMS_OK), AUTH_SIGNATURE);
	auth_key_free(key);
}

/* ---- Grip-Sig --------------------------------------------------------- */

/* A Grip-Sig as Pushpin makes it, with the given header alg, HMAC digest, key and claims. */
static char *grip(const char *alg, const EVP_MD *md, const char *key, const char *claims)
{
	struct buf b = {0};
	char *hdr, *in, *sig;
	unsigned char mac[64];
	unsigned int maclen = 0;

	buf_printf(&b, "{\"typ\":\"JWT\",\"alg\":\"%s\"}", alg);
	hdr = buf_detach(&b);
	in = signing_input(hdr, claims);
	HMAC(md, key, (int)strlen(key), (const unsigned char *)in, strlen(in), mac, &maclen);
	sig = b64url(mac, maclen);
	buf_printf(&b, "%s.%s", in, sig);
	free(hdr);
	free(in);
	free(sig);
	return buf_detach(&b);
}

static int grip_check(const char *key, char *sig, int64_t now)
{
	int ok = auth_grip_verify(key, sig, now);

	free(sig);
	return ok;
}

#define GRIP_OK "{\"iss\":\"pushpin\",\"exp\":1700003600}"

static void grip_valid(void)
{
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme", GRIP_OK), NOW), 1);
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme", GRIP_OK), 1700003599), 1);
	CHECK_INT(grip_check("k\n", grip("HS256", EVP_sha256(), "k\n", GRIP_OK), NOW), 1);
	/* Pushpin's real-time value is a real number on some builds. */
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme",
					      "{\"iss\":\"pushpin\",\"exp\":1700003600.0}"), NOW), 1);
}

static void grip_invalid(void)
{
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "other", GRIP_OK), NOW), 0);
	CHECK_INT(grip_check("k", grip("HS256", EVP_sha256(), "k\n", GRIP_OK), NOW), 0); /* nothing stripped */
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme",
					      "{\"iss\":\"pushpin2\",\"exp\":1700003600}"), NOW), 0);
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme",
					      "{\"iss\":\"Pushpin\",\"exp\":1700003600}"), NOW), 0);
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme",
					      "{\"exp\":1700003600}"), NOW), 0);
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme",
					      "{\"iss\":\"pushpin\"}"), NOW), 0);
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme",
					      "{\"iss\":\"pushpin\",\"exp\":\"1700003600\"}"), NOW), 0);
	/* Expired: exp must be after now, with no leeway. */
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme", GRIP_OK), 1700003600), 0);
	CHECK_INT(grip_check("changeme", grip("HS256", EVP_sha256(), "changeme", GRIP_OK), 1800000000), 0);
	/* Not HS256. */
	CHECK_INT(grip_check("changeme", grip("HS384", EVP_sha384(), "changeme", GRIP_OK), NOW), 0);
	CHECK_INT(grip_check("changeme", grip("HS512", EVP_sha512(), "changeme", GRIP_OK), NOW), 0);
	CHECK_INT(grip_check("changeme", grip("none", EVP_sha256(), "changeme", GRIP_OK), NOW), 0);
	CHECK_INT(grip_check("changeme", craft_unsigned("{\"alg\":\"none\"}", GRIP_OK, ""), NOW), 0);
	/* A good signature under a header that claims another alg. */
	CHECK_INT(grip_check("changeme", grip("hs256", EVP_sha256(), "changeme", GRIP_OK), NOW), 0);
	/* Nothing, or nonsense. */
	CHECK_INT(auth_grip_verify("changeme", NULL, NOW), 0);
	CHECK_INT(auth_grip_verify("changeme", "", NOW), 0);
	CHECK_INT(auth_grip_verify("changeme", "a.b.c", NOW), 0);
	CHECK_INT(grip_check(NULL, grip("HS256", EVP_sha256(), "", GRIP_OK), NOW), 0);
	CHECK_INT(grip_check("", grip("HS256", EVP_sha256(), "", GRIP_OK), NOW), 0);
	/* Tampered claims. */
	{
		char *good = grip("HS256", EVP_sha256(), "changeme", GRIP_OK);
		char *later = signing_input("{}", "{\"iss\":\"pushpin\",\"exp\":1900000000}");
		struct buf b = {0};
		buf_printf(&b, "%.*s%s%s", (int)(strchr(good, '.') - good), good, strchr(later, '.'),
			   strrchr(good, '.'));
		CHECK_INT(grip_check("changeme", buf_detach(&b), NOW), 0);
		free(later);
		free(good);
	}
}

/*
 * The last Grip-Sig that verified is accepted again from memory: only the
 * same bytes under the same key, only before its exp; failures never are.
 */
static void grip_cache(void)
{
	char *good = grip("HS256", EVP_sha256(), "changeme", GRIP_OK);
	char *bad = grip("HS256", EVP_sha256(), "other", GRIP_OK);
	struct buf b = {0};
	unsigned long hits = auth_grip_cache_hits();

	CHECK_INT(auth_grip_verify("changeme", good, NOW), 1);
	CHECK_INT(auth_grip_cache_hits(), hits);
	CHECK_INT(auth_grip_verify("changeme", good, NOW), 1);
	CHECK_INT(auth_grip_verify("changeme", good, 1700003599), 1);
	CHECK_INT(auth_grip_cache_hits(), hits + 2);
	/* At exp it is expired, remembered or not. */
	CHECK_INT(auth_grip_verify("changeme", good, 1700003600), 0);
	/* Another key, a changed byte, a longer string: verified, and refused. */
	hits = auth_grip_cache_hits();
	CHECK_INT(auth_grip_verify("changemf", good, NOW), 0);
	buf_puts(&b, good);
	/* The signature's first character: all six of its bits count (the last one's low bits may not). */
	b.data[strrchr(b.data, '.') - b.data + 1] ^= 1;
	CHECK_INT(auth_grip_verify("changeme", b.data, NOW), 0);
	buf_putc(&b, 'x');
	CHECK_INT(auth_grip_verify("changeme", b.data, NOW), 0);
	/* A failing signature is not remembered: refused each time, the good one still remembered. */
	CHECK_INT(auth_grip_verify("changeme", bad, NOW), 0);
	CHECK_INT(auth_grip_verify("changeme", bad, NOW), 0);
	CHECK_INT(auth_grip_cache_hits(), hits);
	CHECK_INT(auth_grip_verify("changeme", good, NOW), 1);
	CHECK_INT(auth_grip_cache_hits(), hits + 1);
	/* A newer valid signature replaces it. */
	{
		char *newer = grip("HS256", EVP_sha256(), "changeme",
				   "{\"iss\":\"pushpin\",\"exp\":1700007200}");

		CHECK_INT(auth_grip_verify("changeme", newer, 1700003600), 1);
		CHECK_INT(auth_grip_verify("changeme", newer, 1700003601), 1);
		CHECK_INT(auth_grip_cache_hits(), hits + 2);
		free(newer);
	}
	buf_free(&b);
	free(bad);
	free(good);
}

/* ---- names and messages ----------------------------------------------- */

static void alg_names(void)
{
	static const char *const names[] = {
		"RS256", "RS384", "RS512", "ES256", "ES384", "HS256", "HS384", "HS512",
	};

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		CHECK_INT(auth_alg_parse(names[i]), i);
		CHECK_STR(auth_alg_name((enum auth_alg)i), names[i]);
	}
	CHECK_INT(auth_alg_parse("rs256"), -1);
	CHECK_INT(auth_alg_parse("none"), -1);
	CHECK_INT(auth_alg_parse("ES512"), -1);
	CHECK_INT(auth_alg_parse("PS256"), -1);
	CHECK_INT(auth_alg_parse("RS256 "), -1);
	CHECK_INT(auth_alg_parse(""), -1);
	CHECK_INT(auth_alg_parse(NULL), -1);
}

static void error_texts(void)
{
	static const struct {
		enum auth_error e;
		const char *label, *message;
	} want[] = {
		{ AUTH_OK, "ok", NULL },
		{ AUTH_MISSING, "missing_token", "Missing authorization token" },
		{ AUTH_TOO_LARGE, "too_large", "Invalid token: token too large" },
		{ AUTH_MALFORMED, "malformed", "Invalid token: malformed token" },
		{ AUTH_ALG, "algorithm", "Invalid token: algorithm not allowed" },
		{ AUTH_SIGNATURE, "signature", "Invalid token: signature verification failed" },
		{ AUTH_NO_EXP, "missing_exp", "Invalid token: missing exp" },
		{ AUTH_EXPIRED, "expired", "Invalid token: token is expired" },
		{ AUTH_NOT_YET, "not_yet_valid", "Invalid token: token is not valid yet" },
		{ AUTH_IAT_FUTURE, "iat_future", "Invalid token: token issued in the future" },
		{ AUTH_NO_SUB, "missing_sub", "Invalid token: missing subject (sub)" },
		{ AUTH_NO_TENANT, "invalid_tenant", "Invalid token: missing or invalid tenant_id" },
		{ AUTH_ISSUER, "issuer", "Invalid token: invalid issuer" },
		{ AUTH_AUDIENCE, "audience", "Invalid token: invalid audience" },
		{ AUTH_PERMISSIONS, "permissions", "Invalid token: permissions must be an array of strings" },
		{ AUTH_TOPICS, "topics", "Invalid token: topics and publish_topics must be arrays of at most 64 topic names or patterns (name.*, *)" },
	};

	CHECK_INT(ARRAY_SIZE(want), AUTH_ERROR_COUNT);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		CHECK_INT(want[i].e, i);
		CHECK_STR(auth_error_label(want[i].e), want[i].label);
		if (want[i].message)
			CHECK_STR(auth_error_message(want[i].e), want[i].message);
	}
	CHECK(auth_error_message(AUTH_ERROR_COUNT) != NULL);
	CHECK(auth_error_label((enum auth_error)-1) != NULL);
}

TAP_MAIN(
	TAP_TEST(rs256_libjwt),
	TAP_TEST(rs384_libjwt),
	TAP_TEST(rs512_libjwt),
	TAP_TEST(es256_libjwt),
	TAP_TEST(es384_libjwt),
	TAP_TEST(hs256_libjwt),
	TAP_TEST(hs384_libjwt),
	TAP_TEST(hs512_libjwt),
	TAP_TEST(crafted_tokens_verify),
	TAP_TEST(identity_is_filled),
	TAP_TEST(identity_without_permissions_has_empty_array),
	TAP_TEST(missing_token),
	TAP_TEST(too_large),
	TAP_TEST(malformed_parts),
	TAP_TEST(malformed_base64),
	TAP_TEST(malformed_header),
	TAP_TEST(malformed_typ_and_crit),
	TAP_TEST(malformed_payload),
	TAP_TEST(alg_none),
	TAP_TEST(alg_confusion_hs256_with_public_key),
	TAP_TEST(alg_other_than_pinned),
	TAP_TEST(tampered_payload),
	TAP_TEST(tampered_signature),
	TAP_TEST(es_signature_format),
	TAP_TEST(wrong_key),
	TAP_TEST(missing_exp),
	TAP_TEST(expiry_and_leeway),
	TAP_TEST(not_yet_valid),
	TAP_TEST(issued_in_future),
	TAP_TEST(bad_subject),
	TAP_TEST(bad_tenant),
	TAP_TEST(issuer),
	TAP_TEST(audience),
	TAP_TEST(permissions),
	TAP_TEST(topic_claims),
	TAP_TEST(key_wrong_type),
	TAP_TEST(key_short_rsa),
	TAP_TEST(key_not_a_public_key),
	TAP_TEST(key_pkcs1_accepted),
	TAP_TEST(key_hmac_secret),
	TAP_TEST(grip_valid),
	TAP_TEST(grip_invalid),
	TAP_TEST(grip_cache),
	TAP_TEST(alg_names),
	TAP_TEST(error_texts)
)

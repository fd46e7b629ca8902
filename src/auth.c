/* auth.c - JWT (JWS compact) verification with a pinned algorithm and a key parsed once, and Pushpin's Grip-Sig. */

/*
 * Why verification is written here on OpenSSL while `streamer token`
 * (cli_token.c) mints with libjwt. The worker reads every token from the
 * network; the library that parses it decides what an attacker can try.
 * libjwt on our target, Debian 12, is 1.10.2 (libjwt0 1.10.2-1+deb12u1), and
 * there:
 * - jwt_decode(&jwt, token, key, key_len) takes the algorithm from the
 *   token's own header and has no parameter to pin one. Pinning means
 *   calling jwt_get_alg() after the signature was already checked with the
 *   attacker's choice, and the key is bytes of any kind: an RS256 public key
 *   PEM given to it is a valid HS256 secret, so an HS256 token MACed with
 *   the public key passes unless every caller remembers that check. This
 *   family has hit libjwt itself: "alg":"none" accepted with a key given
 *   (benmcollins/libjwt#6, 2016), RS/HS confusion in jwt_decode (#200, 2024),
 *   jwt_decode_2's key callback skipped for "none" (fixed in 2.1.1, 2024),
 *   and the HMAC compared with strcmp (CVE-2024-25189, the deb12u1 patch).
 *   The key-provider callback (jwt_decode_2) and 3.x's checker, which pins
 *   the algorithm, came after 1.10.2, and we do not want to vendor a JOSE
 *   library.
 * - A malformed token and a bad signature both come back as EINVAL (and a
 *   foreign algorithm only shows after the fact), so AUTH_MALFORMED,
 *   AUTH_ALG and AUTH_SIGNATURE, which the client message and the auth
 *   metric label tell apart, could not be told apart.
 * - The PEM is parsed again on every decode; here it is parsed once
 *   (auth_key_load) and the worker refuses to start on a bad key.
 * - Strictness we want is not available: duplicate JSON keys, "crit",
 *   non-canonical base64url, "typ", the RSA size and EC curve of the key.
 * Here the algorithm is fixed by configuration before the token is read: the
 * header's "alg" must equal it (jws_check_header) and the key object carries
 * its algorithm (key->alg), so no header can make a public key act as an HMAC
 * secret. The cost is a few hundred lines on OpenSSL's EVP API (which
 * libjwt calls too), tested by test_auth.c, also against libjwt's tokens.
 * Minting stays on libjwt: a signer chooses its own algorithm, reads no
 * untrusted input, and the worker does not link libjwt at all.
 */
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "auth.h"
#include "protocol.h"
#include "util.h"

#define RSA_MIN_BITS 2048      /* RFC 7518 §3.3: 2048 bits or larger MUST be used */
#define SUB_MAX 256
#define TENANT_MAX 128
#define PERMISSION_MAX 128
/* A decoded token never exceeds 3/4 of its text, plus the slack of 3 partial groups. */
#define DECODED_MAX (AUTH_MAX_TOKEN / 4 * 3 + 3)

struct auth_key {
	enum auth_alg alg;
	EVP_PKEY *pkey;              /* RS and ES */
	EVP_PKEY_CTX *verify;        /* RS and ES: pkey's verify operation, set up once (auth_key_load) */
	const unsigned char *secret; /* HS; owned by loaded keys, borrowed by the Grip-Sig check */
	size_t secret_len;
};

static const struct {
	const char *name;
	int nid;        /* EC curve; 0 for the others */
	size_t ec_half; /* bytes of R (and of S) in a JWS ECDSA signature */
} algs[] = {
	[AUTH_RS256] = { "RS256", 0, 0 },
	[AUTH_RS384] = { "RS384", 0, 0 },
	[AUTH_RS512] = { "RS512", 0, 0 },
	[AUTH_ES256] = { "ES256", NID_X9_62_prime256v1, 32 },
	[AUTH_ES384] = { "ES384", NID_secp384r1, 48 },
	[AUTH_HS256] = { "HS256", 0, 0 },
	[AUTH_HS384] = { "HS384", 0, 0 },
	[AUTH_HS512] = { "HS512", 0, 0 },
};

static bool alg_valid(int alg)
{
	return alg >= 0 && (size_t)alg < ARRAY_SIZE(algs);
}

static bool alg_is_rsa(enum auth_alg alg)
{
	return alg == AUTH_RS256 || alg == AUTH_RS384 || alg == AUTH_RS512;
}

static bool alg_is_ec(enum auth_alg alg)
{
	return alg == AUTH_ES256 || alg == AUTH_ES384;
}

static const EVP_MD *alg_md(enum auth_alg alg)
{
	switch (alg) {
	case AUTH_RS256: case AUTH_ES256: case AUTH_HS256:
		return EVP_sha256();
	case AUTH_RS384: case AUTH_ES384: case AUTH_HS384:
		return EVP_sha384();
	case AUTH_RS512: case AUTH_HS512:
		return EVP_sha512();
	}
	return NULL;
}

int auth_alg_parse(const char *s)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(algs); i++)
		if (strcmp(s, algs[i].name) == 0)
			return (int)i;
	return -1;
}

const char *auth_alg_name(enum auth_alg alg)
{
	return alg_valid((int)alg) ? algs[alg].name : "unknown";
}

/* ---- keys ------------------------------------------------------------- */

/* Parses the first PEM block of data into a public key, or NULL with a reason in err. */
static EVP_PKEY *pem_public_key(const char *data, size_t len, char *err, size_t errlen)
{
	BIO *bio = NULL;
	char *name = NULL, *header = NULL;
	unsigned char *der = NULL;
	long derlen = 0;
	EVP_PKEY *pkey = NULL;
	const unsigned char *p;

	if (len > INT_MAX) {
		snprintf(err, errlen, "key file too large");
		return NULL;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (!bio || !PEM_read_bio(bio, &name, &header, &der, &derlen)) {
		snprintf(err, errlen, "not a PEM public key (expected -----BEGIN PUBLIC KEY-----)");
		goto out;
	}
	p = der;
	if (strcmp(name, "PUBLIC KEY") == 0) {
		pkey = d2i_PUBKEY(NULL, &p, derlen);
	} else if (strcmp(name, "RSA PUBLIC KEY") == 0) {
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, derlen);
	} else if (strstr(name, "PRIVATE KEY")) {
		snprintf(err, errlen, "this is a private key (%s); give the public key "
			 "(openssl pkey -pubout)", name);
		goto out;
	} else {
		snprintf(err, errlen, "PEM block \"%s\" is not a public key "
			 "(expected PUBLIC KEY or RSA PUBLIC KEY)", name);
		goto out;
	}
	if (!pkey || p != der + derlen) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		snprintf(err, errlen, "cannot parse the %s PEM block", name);
	}
out:
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(header);
	OPENSSL_free(der);
	BIO_free(bio);
	return pkey;
}

/* Returns 0 when pkey is of the kind alg needs, else -1 with a reason in err. */
static int pkey_fits(const EVP_PKEY *pkey, enum auth_alg alg, char *err, size_t errlen)
{
	if (alg_is_rsa(alg)) {
		if (!EVP_PKEY_is_a(pkey, "RSA")) {
			snprintf(err, errlen, "%s needs an RSA key, got %s", algs[alg].name,
				 EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "another type");
			return -1;
		}
		if (EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS) {
			snprintf(err, errlen, "RSA key of %d bits is too short (at least %d)",
				 EVP_PKEY_get_bits(pkey), RSA_MIN_BITS);
			return -1;
		}
		return 0;
	}
	if (!EVP_PKEY_is_a(pkey, "EC")) {
		snprintf(err, errlen, "%s needs an EC key on %s, got %s", algs[alg].name,
			 OBJ_nid2sn(algs[alg].nid),
			 EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) : "another type");
		return -1;
	}
	{
		char curve[64] = "";
		size_t n = 0;

		if (!EVP_PKEY_get_group_name(pkey, curve, sizeof(curve), &n) ||
		    OBJ_sn2nid(curve) != algs[alg].nid) {
			ERR_clear_error();
			snprintf(err, errlen, "%s needs an EC key on %s, got curve %s", algs[alg].name,
				 OBJ_nid2sn(algs[alg].nid), curve[0] ? curve : "(explicit or unknown)");
			return -1;
		}
	}
	return 0;
}

/*
 * Sets up key->verify, the one verify operation every token of the process
 * uses (OpenSSL allows EVP_PKEY_verify again and again on one context):
 * the key's context, its digest and, for RSA, PKCS #1 v1.5 padding are
 * resolved here once, not per connect.
 */
static int verify_setup(struct auth_key *key, char *err, size_t errlen)
{
	key->verify = EVP_PKEY_CTX_new(key->pkey, NULL);
	if (!key->verify || EVP_PKEY_verify_init(key->verify) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(key->verify, alg_md(key->alg)) != 1 ||
	    (alg_is_rsa(key->alg) &&
	     EVP_PKEY_CTX_set_rsa_padding(key->verify, RSA_PKCS1_PADDING) != 1)) {
		snprintf(err, errlen, "OpenSSL cannot verify %s signatures with this key",
			 algs[key->alg].name);
		ERR_clear_error();
		return -1;
	}
	return 0;
}

int auth_key_load(struct auth_key **out, enum auth_alg alg, const char *data,
		  size_t len, char *err, size_t errlen)
{
	struct auth_key *key;

	*out = NULL;
	if (!alg_valid((int)alg)) {
		snprintf(err, errlen, "unknown algorithm");
		return -1;
	}
	if (!data)
		len = 0;
	key = xcalloc(1, sizeof(*key));
	key->alg = alg;
	if (alg_is_rsa(alg) || alg_is_ec(alg)) {
		key->pkey = pem_public_key(data ? data : "", len, err, errlen);
		if (!key->pkey || pkey_fits(key->pkey, alg, err, errlen) < 0 ||
		    verify_setup(key, err, errlen) < 0)
			goto fail;
	} else {
		unsigned char *secret;

		while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
			len--;
		if (len == 0) {
			snprintf(err, errlen, "the %s secret is empty", algs[alg].name);
			goto fail;
		}
		if (len > INT_MAX) {
			snprintf(err, errlen, "the %s secret is too long", algs[alg].name);
			goto fail;
		}
		secret = xmalloc(len);
		memcpy(secret, data, len);
		key->secret = secret;
		key->secret_len = len;
	}
	*out = key;
	return 0;
fail:
	auth_key_free(key);
	return -1;
}

void auth_key_free(struct auth_key *key)
{
	if (!key)
		return;
	EVP_PKEY_CTX_free(key->verify);
	EVP_PKEY_free(key->pkey);
	if (key->secret)
		OPENSSL_clear_free((void *)key->secret, key->secret_len);
	free(key);
}

/* ---- JWS compact serialisation ---------------------------------------- */

/* Maps a base64url character to its value, or -1. */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decodes unpadded base64url s[0..n) into out (room for n*3/4+1 bytes).
 * Refuses any other character (padding included), an impossible length and
 * non-zero leftover bits, so each byte string has one encoding only.
 * Returns the decoded length, or -1.
 */
static long b64url_decode(const char *s, size_t n, unsigned char *out)
{
	unsigned long acc = 0;
	int bits = 0;
	long o = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64url_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6 | (unsigned long)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	if (acc & ((1ul << bits) - 1))
		return -1;
	return o;
}

/* A token cut into its parts; the decoded bytes live in dec. */
struct jws {
	const char *signing_input; /* "<header>.<payload>" in the token */
	size_t signing_len;
	const unsigned char *header, *payload, *sig;
	size_t header_len, payload_len, sig_len;
	unsigned char dec[DECODED_MAX];
};

static enum auth_error jws_split(struct jws *j, const char *token, size_t len)
{
	const char *dot1, *dot2, *part[3];
	size_t plen[3], used = 0;
	const unsigned char **dst[3] = { &j->header, &j->payload, &j->sig };
	size_t *dstlen[3] = { &j->header_len, &j->payload_len, &j->sig_len };

	if (!token || len == 0)
		return AUTH_MISSING;
	if (len > AUTH_MAX_TOKEN)
		return AUTH_TOO_LARGE;
	dot1 = memchr(token, '.', len);
	if (!dot1)
		return AUTH_MALFORMED;
	dot2 = memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token));
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return AUTH_MALFORMED;
	part[0] = token;
	plen[0] = (size_t)(dot1 - token);
	part[1] = dot1 + 1;
	plen[1] = (size_t)(dot2 - part[1]);
	part[2] = dot2 + 1;
	plen[2] = len - (size_t)(part[2] - token);
	for (int i = 0; i < 3; i++) {
		long n;

		/*
		 * The header and payload are objects, so never empty. An empty
		 * signature ("alg":"none") is let through to be refused by the
		 * algorithm pin, or else by the signature check.
		 */
		if (plen[i] == 0 && i < 2)
			return AUTH_MALFORMED;
		n = b64url_decode(part[i], plen[i], j->dec + used);
		if (n < 0)
			return AUTH_MALFORMED;
		*dst[i] = j->dec + used;
		*dstlen[i] = (size_t)n;
		used += (size_t)n;
	}
	j->signing_input = token;
	j->signing_len = (size_t)(dot2 - token);
	return AUTH_OK;
}

/* Loads a JSON object (duplicate keys refused); returns a new reference or NULL. */
static json_t *json_object_from(const unsigned char *p, size_t n)
{
	json_error_t jerr;
	json_t *v = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &jerr);

	if (v && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/* Pins the algorithm and refuses header parameters we do not implement. */
static enum auth_error jws_check_header(const struct jws *j, enum auth_alg alg)
{
	json_t *h = json_object_from(j->header, j->header_len);
	json_t *v;
	enum auth_error e = AUTH_OK;

	if (!h)
		return AUTH_MALFORMED;
	v = json_object_get(h, "alg");
	if (!json_is_string(v) || strcmp(json_string_value(v), algs[alg].name) != 0) {
		e = AUTH_ALG;
		goto out;
	}
	v = json_object_get(h, "typ");
	if (v && !(json_is_string(v) && (strcasecmp(json_string_value(v), "JWT") == 0 ||
					 strcasecmp(json_string_value(v), "application/jwt") == 0))) {
		e = AUTH_MALFORMED;
		goto out;
	}
	/* RFC 7515 §4.1.11: an extension we do not understand must make us refuse. */
	if (json_object_get(h, "crit"))
		e = AUTH_MALFORMED;
out:
	json_decref(h);
	return e;
}

static bool verify_hmac(const struct auth_key *key, const struct jws *j)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (!HMAC(alg_md(key->alg), key->secret, (int)key->secret_len,
		  (const unsigned char *)j->signing_input, j->signing_len, mac, &maclen))
		return false;
	return ct_equal(mac, maclen, j->sig, j->sig_len);
}

/* Turns a JWS ECDSA signature (R || S, fixed width) into the DER OpenSSL verifies. Returns its length or 0. */
static size_t ecdsa_raw_to_der(const unsigned char *sig, size_t siglen, size_t half,
			       unsigned char *der, size_t dermax)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *p = der;
	int n = 0;

	if (siglen != 2 * half)
		return 0;
	es = ECDSA_SIG_new();
	r = BN_bin2bn(sig, (int)half, NULL);
	s = BN_bin2bn(sig + half, (int)half, NULL);
	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		goto out;
	}
	n = i2d_ECDSA_SIG(es, NULL);
	if (n <= 0 || (size_t)n > dermax)
		n = 0;
	else
		n = i2d_ECDSA_SIG(es, &p);
out:
	ECDSA_SIG_free(es);
	return n > 0 ? (size_t)n : 0;
}

static bool verify_pkey(const struct auth_key *key, const struct jws *j)
{
	unsigned char der[2 * (48 + 3) + 8];
	const unsigned char *sig = j->sig;
	size_t siglen = j->sig_len;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (alg_is_ec(key->alg)) {
		siglen = ecdsa_raw_to_der(j->sig, j->sig_len, algs[key->alg].ec_half, der, sizeof(der));
		if (siglen == 0)
			return false;
		sig = der;
	}
	/* The digest here, the public-key operation on the context made once per key. */
	return EVP_Digest(j->signing_input, j->signing_len, md, &mdlen, alg_md(key->alg), NULL) == 1 &&
	       EVP_PKEY_verify(key->verify, sig, siglen, md, mdlen) == 1;
}

/*
 * Everything up to the claims: size, shape, pinned header, signature, and a
 * payload that is an object. On AUTH_OK *payload is a new reference.
 */
static enum auth_error jws_verify(const struct auth_key *key, enum auth_alg alg,
				  const char *token, size_t len, json_t **payload)
{
	struct jws j;
	enum auth_error e;
	bool ok;

	*payload = NULL;
	e = jws_split(&j, token, len);
	if (e == AUTH_OK)
		e = jws_check_header(&j, alg);
	if (e != AUTH_OK)
		return e;
	if (!key || key->alg != alg)
		return AUTH_SIGNATURE;
	ok = key->pkey ? verify_pkey(key, &j) : verify_hmac(key, &j);
	/* A failed verification leaves reasons on this thread's error queue; none is for us to keep. */
	ERR_clear_error();
	if (!ok)
		return AUTH_SIGNATURE;
	*payload = json_object_from(j.payload, j.payload_len);
	return *payload ? AUTH_OK : AUTH_MALFORMED;
}

/* ---- claims ----------------------------------------------------------- */

/* Reads a NumericDate (JSON integer or real) as whole seconds, rounding up when up. */
static bool claim_time(const json_t *v, bool up, int64_t *out)
{
	double d;

	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return true;
	}
	if (!json_is_real(v))
		return false;
	d = json_real_value(v);
	if (!isfinite(d) || d <= -9.0e18 || d >= 9.0e18)
		return false;
	/* Truncate, then round the way asked (no libm in the link). */
	*out = (int64_t)d;
	if (up && (double)*out < d)
		(*out)++;
	else if (!up && (double)*out > d)
		(*out)--;
	return true;
}

static bool string_claim(const json_t *v, size_t max)
{
	return json_is_string(v) && json_string_length(v) >= 1 && json_string_length(v) <= max;
}

static bool audience_has(const json_t *aud, const char *want)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
			return true;
	return false;
}

/* An absent claim, or an array of at most AUTH_TOPICS_MAX topic names or patterns. */
static int topics_claim_valid(const json_t *v)
{
	const json_t *t;
	size_t i;

	if (!v)
		return 1;
	if (!json_is_array(v) || json_array_size(v) > AUTH_TOPICS_MAX)
		return 0;
	json_array_foreach(v, i, t)
		if (!json_is_string(t) || !topic_pattern_valid(json_string_value(t)))
			return 0;
	return 1;
}

static enum auth_error check_claims(const struct auth_policy *p, json_t *c, int64_t *exp)
{
	json_t *v;
	int64_t t;
	size_t i;

	v = json_object_get(c, "exp");
	if (!claim_time(v, false, exp))
		return AUTH_NO_EXP;
	if (int64_add_sat(*exp, p->leeway) <= p->now)
		return AUTH_EXPIRED;
	v = json_object_get(c, "nbf");
	if (v) {
		if (!claim_time(v, true, &t))
			return AUTH_MALFORMED;
		if (t > int64_add_sat(p->now, p->leeway))
			return AUTH_NOT_YET;
	}
	v = json_object_get(c, "iat");
	if (v) {
		if (!claim_time(v, true, &t))
			return AUTH_MALFORMED;
		if (t > int64_add_sat(p->now, p->leeway))
			return AUTH_IAT_FUTURE;
	}
	if (!string_claim(json_object_get(c, "sub"), SUB_MAX))
		return AUTH_NO_SUB;
	v = json_object_get(c, "tenant_id");
	if (!json_is_string(v) ||
	    !str_is_token(json_string_value(v), json_string_length(v), TENANT_MAX, "._@-"))
		return AUTH_NO_TENANT;
	if (p->issuer) {
		v = json_object_get(c, "iss");
		if (!json_is_string(v) || strcmp(json_string_value(v), p->issuer) != 0)
			return AUTH_ISSUER;
	}
	if (p->audience && !audience_has(json_object_get(c, "aud"), p->audience))
		return AUTH_AUDIENCE;
	v = json_object_get(c, "permissions");
	if (v) {
		json_t *perm;

		if (!json_is_array(v))
			return AUTH_PERMISSIONS;
		json_array_foreach(v, i, perm)
			if (!string_claim(perm, PERMISSION_MAX))
				return AUTH_PERMISSIONS;
	}
	if (!topics_claim_valid(json_object_get(c, "topics")) ||
	    !topics_claim_valid(json_object_get(c, "publish_topics")))
		return AUTH_TOPICS;
	return AUTH_OK;
}

enum auth_error auth_verify(const struct auth_policy *p, const char *token,
			    size_t len, struct auth_identity *id)
{
	json_t *claims = NULL, *perms;
	enum auth_error e;
	int64_t exp = 0;

	memset(id, 0, sizeof(*id));
	if (!alg_valid((int)p->alg))
		return AUTH_ALG;
	e = jws_verify(p->key, p->alg, token, len, &claims);
	if (e != AUTH_OK)
		return e;
	e = check_claims(p, claims, &exp);
	if (e == AUTH_OK) {
		id->sub = xstrdup(json_string_value(json_object_get(claims, "sub")));
		id->tenant = xstrdup(json_string_value(json_object_get(claims, "tenant_id")));
		perms = json_object_get(claims, "permissions");
		id->permissions = perms ? json_incref(perms) : json_array();
		if (!id->permissions)
			abort(); /* jansson's allocation failed: same policy as xmalloc */
		id->topics = json_incref(json_object_get(claims, "topics"));
		id->publish_topics = json_incref(json_object_get(claims, "publish_topics"));
		id->exp = exp;
	}
	json_decref(claims);
	return e;
}

void auth_identity_free(struct auth_identity *id)
{
	if (!id)
		return;
	free(id->sub);
	free(id->tenant);
	json_decref(id->permissions);
	json_decref(id->topics);
	json_decref(id->publish_topics);
	memset(id, 0, sizeof(*id));
}

static const struct {
	const char *label;
	const char *message;
} errors[AUTH_ERROR_COUNT] = {
	[AUTH_OK]          = { "ok", "OK" },
	[AUTH_MISSING]     = { "missing_token", "Missing authorization token" },
	[AUTH_TOO_LARGE]   = { "too_large", "Invalid token: token too large" },
	[AUTH_MALFORMED]   = { "malformed", "Invalid token: malformed token" },
	[AUTH_ALG]         = { "algorithm", "Invalid token: algorithm not allowed" },
	[AUTH_SIGNATURE]   = { "signature", "Invalid token: signature verification failed" },
	[AUTH_NO_EXP]      = { "missing_exp", "Invalid token: missing exp" },
	[AUTH_EXPIRED]     = { "expired", "Invalid token: token is expired" },
	[AUTH_NOT_YET]     = { "not_yet_valid", "Invalid token: token is not valid yet" },
	[AUTH_IAT_FUTURE]  = { "iat_future", "Invalid token: token issued in the future" },
	[AUTH_NO_SUB]      = { "missing_sub", "Invalid token: missing subject (sub)" },
	[AUTH_NO_TENANT]   = { "invalid_tenant", "Invalid token: missing or invalid tenant_id" },
	[AUTH_ISSUER]      = { "issuer", "Invalid token: invalid issuer" },
	[AUTH_AUDIENCE]    = { "audience", "Invalid token: invalid audience" },
	[AUTH_PERMISSIONS] = { "permissions", "Invalid token: permissions must be an array of strings" },
	[AUTH_TOPICS]      = { "topics", "Invalid token: topics and publish_topics must be arrays of at most 64 topic names or patterns (name.*, *)" },
};

const char *auth_error_message(enum auth_error e)
{
	return (unsigned)e < AUTH_ERROR_COUNT ? errors[e].message : "Invalid token";
}

const char *auth_error_label(enum auth_error e)
{
	return (unsigned)e < AUTH_ERROR_COUNT ? errors[e].label : "unknown";
}

/* ---- Grip-Sig --------------------------------------------------------- */

/*
 * Process state: the last Grip-Sig that verified, the key it verified with
 * and its exp. Pushpin signs once and sends the same string with many
 * requests, so a byte-identical string under the same key is accepted again
 * without the HMAC and the JSON parse while now < exp. Only a signature that
 * verified is ever stored here.
 */
static struct {
	char *key, *sig;
	int64_t exp;
	unsigned long hits;
} grip_cache;

unsigned long auth_grip_cache_hits(void)
{
	return grip_cache.hits;
}

int auth_grip_verify(const char *key, const char *sig, int64_t now)
{
	struct auth_key k = { .alg = AUTH_HS256 };
	json_t *claims = NULL, *iss;
	int64_t exp;
	int ok;

	if (!key || !*key || !sig)
		return 0;
	/*
	 * Plain comparisons: the cached string is itself a verified signature,
	 * so a match tells the caller nothing it did not send, and the key is
	 * the server's own on both sides.
	 */
	if (grip_cache.sig && now < grip_cache.exp && strcmp(sig, grip_cache.sig) == 0 &&
	    strcmp(key, grip_cache.key) == 0) {
		grip_cache.hits++;
		return 1;
	}
	k.secret = (const unsigned char *)key;
	k.secret_len = strlen(key);
	if (k.secret_len > INT_MAX ||
	    jws_verify(&k, AUTH_HS256, sig, strlen(sig), &claims) != AUTH_OK)
		return 0;
	iss = json_object_get(claims, "iss");
	ok = json_is_string(iss) && strcmp(json_string_value(iss), "pushpin") == 0 &&
	     claim_time(json_object_get(claims, "exp"), false, &exp) && exp > now;
	json_decref(claims);
	if (ok) {
		free(grip_cache.key);
		free(grip_cache.sig);
		grip_cache.key = xstrdup(key);
		grip_cache.sig = xstrdup(sig);
		grip_cache.exp = exp;
	}
	return ok;
}

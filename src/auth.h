/* auth.h - JWT verification with a pinned algorithm and a key loaded once, and Pushpin's Grip-Sig. */
#ifndef STREAMER_AUTH_H
#define STREAMER_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

enum auth_alg {
	AUTH_RS256, AUTH_RS384, AUTH_RS512,
	AUTH_ES256, AUTH_ES384,
	AUTH_HS256, AUTH_HS384, AUTH_HS512,
};

/* Why a token was refused. AUTH_OK is 0; the rest map to one message each. */
enum auth_error {
	AUTH_OK = 0,
	AUTH_MISSING,      /* no token at all */
	AUTH_TOO_LARGE,    /* over AUTH_MAX_TOKEN bytes */
	AUTH_MALFORMED,    /* not three base64url parts of JSON objects */
	AUTH_ALG,          /* header alg differs from the pinned one (incl. "none") */
	AUTH_SIGNATURE,    /* signature does not verify */
	AUTH_NO_EXP,       /* exp missing or not a number */
	AUTH_EXPIRED,      /* exp + leeway <= now */
	AUTH_NOT_YET,      /* nbf - leeway > now */
	AUTH_IAT_FUTURE,   /* iat - leeway > now */
	AUTH_NO_SUB,       /* sub missing, not a string, empty or over 256 bytes */
	AUTH_NO_TENANT,    /* tenant_id missing, not a string, empty, over 128 bytes or not
			      [A-Za-z0-9._@-] (no ':': it separates the parts of channel names) */
	AUTH_ISSUER,       /* iss differs from the configured issuer */
	AUTH_AUDIENCE,     /* aud (string or array) lacks the configured audience */
	AUTH_PERMISSIONS,  /* permissions present but not an array of strings */
	AUTH_TOPICS,       /* topics or publish_topics present but not an array of at most
			      AUTH_TOPICS_MAX topic names or patterns (topic_pattern_valid) */
	AUTH_ERROR_COUNT
};

#define AUTH_MAX_TOKEN 8192
/* The most entries a topics or publish_topics claim may hold. */
#define AUTH_TOPICS_MAX 64

/* Opaque verification key: an OpenSSL public key or an HMAC secret. */
struct auth_key;

/* Parses "RS256" … "HS512" (exact case); returns -1 when unknown. */
int auth_alg_parse(const char *s);
/* Returns the JOSE name of alg ("RS256"). */
const char *auth_alg_name(enum auth_alg alg);

/*
 * Builds a key for alg from data[0..len): a PEM public key (PKIX "PUBLIC KEY"
 * or PKCS#1 "RSA PUBLIC KEY"; the first PEM block is used, a private key is
 * refused) for the RS and ES algorithms, the raw secret for HS (trailing
 * newlines are stripped; it must not be empty then). The key type must fit
 * alg (RSA of at least 2048 bits for RS, P-256 for ES256, P-384 for ES384).
 * The key is parsed here once and reused by every auth_verify. Returns 0 and
 * a new key in *out (free with auth_key_free), or -1 with a reason in err.
 */
int auth_key_load(struct auth_key **out, enum auth_alg alg, const char *data,
		  size_t len, char *err, size_t errlen)
	__attribute__((warn_unused_result));
void auth_key_free(struct auth_key *key);

struct auth_policy {
	enum auth_alg alg;
	const struct auth_key *key;
	const char *issuer;   /* NULL: iss not checked */
	const char *audience; /* NULL: aud not checked */
	int64_t leeway;       /* seconds */
	int64_t now;          /* seconds since the epoch */
};

/* What a verified token says. Strings are owned; free with auth_identity_free. */
struct auth_identity {
	char *sub;
	char *tenant;
	json_t *permissions; /* a new reference to an array of strings (empty when absent) */
	json_t *topics;      /* the topics claim: a new reference to an array of topic names or patterns, NULL when absent */
	json_t *publish_topics; /* the publish_topics claim, likewise */
	int64_t exp;
};

/*
 * Verifies token[0..len) against p: header alg first (pinned), then the
 * signature, then the claims in the order of enum auth_error. Returns AUTH_OK
 * and fills id, or the first reason found (id is then left zeroed). Never
 * logs and never keeps the token. An empty signature part passes the shape
 * check so that "alg":"none" is reported as AUTH_ALG; with the pinned alg it
 * is AUTH_SIGNATURE. Also AUTH_MALFORMED: a "typ" header other
 * than "JWT" (any case, "application/" prefix allowed), a "crit" header, base64
 * padding or non-canonical base64url, duplicate JSON keys, nbf or iat that is
 * not a number. NumericDates may be integers or reals. p->key must have been
 * loaded for p->alg (else AUTH_SIGNATURE).
 */
enum auth_error auth_verify(const struct auth_policy *p, const char *token,
			    size_t len, struct auth_identity *id)
	__attribute__((warn_unused_result));
void auth_identity_free(struct auth_identity *id);

/* The client-facing text for e (static), e.g. "Invalid token: token is expired". */
const char *auth_error_message(enum auth_error e);
/* A short stable label (static) for logs and metrics, e.g. "expired". */
const char *auth_error_label(enum auth_error e);

/*
 * Checks a Grip-Sig header value: an HS256 JWT signed with key (the raw
 * bytes of the NUL-terminated string, nothing stripped) whose iss is "pushpin"
 * and whose exp is after now (no leeway). Returns 1 when valid, else 0 (also
 * for a NULL or empty key or a NULL sig). The last signature that verified
 * is remembered per process with its key and exp: the byte-identical string
 * under the same key is accepted again without verifying while now < exp.
 */
int auth_grip_verify(const char *key, const char *sig, int64_t now);

/* How many auth_grip_verify calls this process answered from that memory (tests, debugging). */
unsigned long auth_grip_cache_hits(void);

#endif

/* cli_token.c - `streamer token`: signs a JWT with libjwt for development and tests. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <jwt.h>

#include "auth.h"
#include "cli.h"
#include "cli_opt.h"
#include "util.h"

#define KEY_MAX (64 * 1024)

static void usage(FILE *to)
{
	fprintf(to,
		"Usage: streamer token --key FILE --sub USER --tenant TENANT [OPTIONS]\n"
		"\n"
		"Prints a signed JWT for development and tests.\n"
		"\n"
		"  -k, --key FILE          PEM private key (RS*, ES*) or shared secret file (HS*)\n"
		"  -s, --sub USER          the sub claim\n"
		"  -t, --tenant TENANT     the tenant_id claim\n"
		"  -p, --permissions LIST  comma-separated permissions (\"\" gives an empty array)\n"
		"      --topics LIST       the topics claim: comma-separated topics or patterns (news, prices.*,\n"
		"                          *) the connection is subscribed to at connect and may subscribe to\n"
		"      --publish-topics LIST  the publish_topics claim: topics or patterns it may publish to\n"
		"      --ttl SECONDS       lifetime; exp = now + SECONDS (negative: already expired) [3600]\n"
		"  -a, --alg ALG           RS256 RS384 RS512 ES256 ES384 HS256 HS384 HS512 [RS256]\n"
		"      --issuer I          the iss claim\n"
		"      --audience A        the aud claim\n"
		"      --not-before S      nbf = now + S seconds\n"
		"  -h, --help              show this help\n");
}

static jwt_alg_t to_libjwt(enum auth_alg alg)
{
	switch (alg) {
	case AUTH_RS256: return JWT_ALG_RS256;
	case AUTH_RS384: return JWT_ALG_RS384;
	case AUTH_RS512: return JWT_ALG_RS512;
	case AUTH_ES256: return JWT_ALG_ES256;
	case AUTH_ES384: return JWT_ALG_ES384;
	case AUTH_HS256: return JWT_ALG_HS256;
	case AUTH_HS384: return JWT_ALG_HS384;
	case AUTH_HS512: return JWT_ALG_HS512;
	}
	return JWT_ALG_INVAL;
}

static int parse_seconds(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return *s && *end == '\0' && errno == 0 ? 0 : -1;
}

/* A claim holding a comma-separated list as a JSON object text ("a,b" → {"claim":["a","b"]}). New string. */
static char *list_claim_json(const char *claim, const char *list)
{
	json_t *arr = json_array();
	const char *p = list;
	char *text;

	while (*p) {
		size_t len = strcspn(p, ",");
		if (len > 0)
			json_array_append_new(arr, json_stringn(p, len));
		p += len;
		if (*p == ',')
			p++;
	}
	json_t *obj = json_pack("{s:o}", claim, arr);
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	return text;
}

int cli_token(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "sub", required_argument, NULL, 's' },
		{ "tenant", required_argument, NULL, 't' },
		{ "permissions", required_argument, NULL, 'p' },
		{ "topics", required_argument, NULL, 'x' },
		{ "publish-topics", required_argument, NULL, 'P' },
		{ "ttl", required_argument, NULL, 'T' },
		{ "alg", required_argument, NULL, 'a' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "audience", required_argument, NULL, 'A' },
		{ "not-before", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *keyfile = NULL, *sub = NULL, *tenant = NULL, *perms = NULL;
	const char *topics = NULL, *pub_topics = NULL;
	const char *issuer = NULL, *audience = NULL, *nbf_arg = NULL;
	long long ttl = 3600, nbf = 0;
	int alg = AUTH_RS256, c, rc = 1;
	char *key = NULL, *token = NULL, *pjson = NULL;
	size_t keylen = 0;
	jwt_t *jwt = NULL;
	time_t now = time(NULL);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":k:s:t:p:a:h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 's': sub = optarg; break;
		case 't': tenant = optarg; break;
		case 'p': perms = optarg; break;
		case 'x': topics = optarg; break;
		case 'P': pub_topics = optarg; break;
		case 'i': issuer = optarg; break;
		case 'A': audience = optarg; break;
		case 'n': nbf_arg = optarg; break;
		case 'T':
			if (parse_seconds(optarg, &ttl) < 0) {
				fprintf(stderr, "streamer token: --ttl expects seconds, got '%s'\n", optarg);
				return 2;
			}
			break;
		case 'a':
			alg = auth_alg_parse(optarg);
			if (alg < 0) {
				fprintf(stderr, "streamer token: unsupported algorithm '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("token", c, argv);
		}
	}
	if (!keyfile || !sub || !tenant || optind != argc) {
		fprintf(stderr, "streamer token: --key, --sub and --tenant are required\n");
		usage(stderr);
		return 2;
	}
	if (nbf_arg && parse_seconds(nbf_arg, &nbf) < 0) {
		fprintf(stderr, "streamer token: --not-before expects seconds, got '%s'\n", nbf_arg);
		return 2;
	}
	key = file_read(keyfile, KEY_MAX, &keylen);
	if (!key) {
		fprintf(stderr, "streamer token: cannot read %s: %s\n", keyfile, strerror(errno));
		return 1;
	}
	/* Same rule as the verifier: a secret file's trailing newlines are not part of it. */
	if (alg == AUTH_HS256 || alg == AUTH_HS384 || alg == AUTH_HS512)
		while (keylen > 0 && (key[keylen - 1] == '\n' || key[keylen - 1] == '\r'))
			keylen--;

	if (jwt_new(&jwt) != 0 ||
	    jwt_set_alg(jwt, to_libjwt((enum auth_alg)alg), (const unsigned char *)key, (int)keylen) != 0) {
		fprintf(stderr, "streamer token: cannot use %s as a %s signing key\n", keyfile,
			auth_alg_name((enum auth_alg)alg));
		goto out;
	}
	if (jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "tenant_id", tenant) ||
	    jwt_add_grant_int(jwt, "iat", (long)now) ||
	    jwt_add_grant_int(jwt, "exp", (long)(now + ttl)) ||
	    (issuer && jwt_add_grant(jwt, "iss", issuer)) ||
	    (audience && jwt_add_grant(jwt, "aud", audience)) ||
	    (nbf_arg && jwt_add_grant_int(jwt, "nbf", (long)(now + nbf)))) {
		fprintf(stderr, "streamer token: cannot add the claims\n");
		goto out;
	}
	{
		const char *claims[][2] = { { "permissions", perms }, { "topics", topics },
					    { "publish_topics", pub_topics } };

		for (size_t i = 0; i < ARRAY_SIZE(claims); i++) {
			if (!claims[i][1])
				continue;
			free(pjson);
			pjson = list_claim_json(claims[i][0], claims[i][1]);
			if (!pjson || jwt_add_grants_json(jwt, pjson) != 0) {
				fprintf(stderr, "streamer token: cannot add the %s claim\n", claims[i][0]);
				goto out;
			}
		}
	}
	token = jwt_encode_str(jwt);
	if (!token) {
		fprintf(stderr, "streamer token: signing failed (is %s a %s private key?)\n", keyfile,
			auth_alg_name((enum auth_alg)alg));
		goto out;
	}
	printf("%s\n", token);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	free(token);
	free(pjson);
	jwt_free(jwt);
	free(key);
	return rc;
}

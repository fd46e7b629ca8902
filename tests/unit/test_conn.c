/* test_conn.c - unit tests for the trust checks of conn.c and secret.c: connection ids, recorded client addresses, connection secrets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "secret.h"
#include "tap.h"

static void test_conn_id_valid(void)
{
	CHECK(conn_id_valid("c1"));
	CHECK(conn_id_valid("0f8e4c4a-3b1e-4b8e-9a55-8f2a0c1d2e3f"));
	CHECK(conn_id_valid("a.b:c_d-e"));
	CHECK(conn_id_valid(".a"));
	CHECK(conn_id_valid("a.."));
	/* Dot-only ids are path segments in {url}/@connections/{id}. */
	CHECK(!conn_id_valid("."));
	CHECK(!conn_id_valid(".."));
	CHECK(!conn_id_valid("..."));
	CHECK(!conn_id_valid("@connections/.."));
	CHECK(!conn_id_valid("../x"));
	CHECK(!conn_id_valid("a/b"));
	CHECK(!conn_id_valid("a%2e"));
	CHECK(!conn_id_valid("a b"));
	CHECK(!conn_id_valid(""));
	CHECK(!conn_id_valid(NULL));
	{
		char id[130];

		memset(id, 'x', 128);
		id[128] = '\0';
		CHECK(conn_id_valid(id));
		id[128] = 'x';
		id[129] = '\0';
		CHECK(!conn_id_valid(id));
	}
}

/* conn_source_addr's answer, compared and freed. */
static void check_source(const char *xff, const char *peer, const char *want)
{
	char *got = conn_source_addr(xff, peer);

	if (want)
		CHECK_STR(got, want);
	else
		CHECK(got == NULL);
	free(got);
}

static void test_source_addr(void)
{
	check_source(NULL, "10.0.0.1", "10.0.0.1");
	check_source("", "10.0.0.1", "10.0.0.1");
	check_source("203.0.113.7", "127.0.0.1", "203.0.113.7");
	/* The last entry is the one the proxy appended. */
	check_source("1.2.3.4, 203.0.113.7", "127.0.0.1", "203.0.113.7");
	check_source("1.2.3.4,2001:db8::1", "127.0.0.1", "2001:db8::1");
	/* Not an address: the peer is recorded instead, never the client's text. */
	check_source("evil<script>", "127.0.0.1", "127.0.0.1");
	check_source("1.2.3.4, ", "127.0.0.1", "127.0.0.1");
	check_source("1.2.3.4, 999.1.1.1", "127.0.0.1", "127.0.0.1");
	check_source("1.2.3.4, 203.0.113.7 extra", "127.0.0.1", "203.0.113.7");
	check_source("2001:db8::1%eth0", "::1", "::1");
	check_source("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "::1", "::1");
	check_source("x", NULL, NULL);
}

static void test_secret(void)
{
	char a[SECRET_HEX_LEN + 1], b[SECRET_HEX_LEN + 1], h[SECRET_HASH_HEX_LEN + 1];

	secret_new(a);
	secret_new(b);
	CHECK_INT(strlen(a), 64);
	CHECK_INT(strspn(a, "0123456789abcdef"), 64);
	CHECK(strcmp(a, b) != 0);
	/* SHA-256("abc") */
	secret_hash("abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	CHECK(secret_matches("abc", 3, h));
	CHECK(!secret_matches("abd", 3, h));
	CHECK(!secret_matches("ab", 2, h));
	CHECK(!secret_matches("abc", 3, "ba7816bf"));
	CHECK(!secret_matches(NULL, 0, h));
	CHECK(!secret_matches("abc", 3, NULL));
	secret_hash(a, strlen(a), h);
	CHECK(secret_matches(a, strlen(a), h));
	CHECK(!secret_matches(b, strlen(b), h));
}

TAP_MAIN(
	TAP_TEST(test_conn_id_valid),
	TAP_TEST(test_source_addr),
	TAP_TEST(test_secret),
)

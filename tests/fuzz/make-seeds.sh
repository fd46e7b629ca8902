#!/bin/sh
# make-seeds.sh - writes the signed seed tokens of tests/cases/auth and tests/cases/grip (HS256 with the fuzz targets' fixed test keys).
# Usage: tests/fuzz/make-seeds.sh [TOP_SRCDIR]. Times are relative to FUZZ_NOW (fuzz.h): 1700000000.
set -eu
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
AUTH_KEY=streamer-fuzz-test-key-0123456789   # fuzz.h FUZZ_AUTH_SECRET
GRIP_KEY=streamer-fuzz-grip-key              # fuzz.h FUZZ_GRIP_KEY

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# token KEY HEADER-JSON CLAIMS-JSON: prints header.claims.signature
token() {
	input="$(printf '%s' "$2" | b64url).$(printf '%s' "$3" | b64url)"
	sig=$(printf '%s' "$input" | openssl dgst -sha256 -hmac "$1" -binary | b64url)
	printf '%s.%s' "$input" "$sig"
}

# seed DIR NAME EXPECTED TEXT: writes DIR/NAME/input (TEXT, no newline) and
# DIR/NAME/expected (the outcome tests/unit/test_fuzz_cases checks).
seed() {
	mkdir -p "$top/tests/cases/$1/$2"
	printf '%s' "$4" > "$top/tests/cases/$1/$2/input"
	printf '%s\n' "$3" > "$top/tests/cases/$1/$2/expected"
}

H='{"alg":"HS256","typ":"JWT"}'
C='"sub":"alice","tenant_id":"acme"'
OK="{$C,\"exp\":1700000600,\"iat\":1699999990}"

seed auth valid-hs256 ok "$(token $AUTH_KEY "$H" "$OK")"
seed auth valid-all-claims ok "$(token $AUTH_KEY '{"alg":"HS256"}' \
	"{$C,\"exp\":1700000600.5,\"nbf\":1699999999,\"iat\":1699999990.25,\"iss\":\"streamer\",\"aud\":[\"other\",\"streamer-api\"],\"permissions\":[\"publish\",\"reports\"]}")"
seed auth valid-typ-application-jwt ok "$(token $AUTH_KEY '{"typ":"application/jwt","alg":"HS256"}' \
	"{$C,\"exp\":1700000600,\"aud\":\"streamer-api\",\"iss\":\"streamer\"}")"
seed auth bad-expired expired "$(token $AUTH_KEY "$H" "{$C,\"exp\":1699999900}")"
seed auth bad-not-yet-valid not_yet_valid "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"nbf\":1700001000}")"
seed auth bad-iat-future iat_future "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"iat\":1700001000}")"
seed auth bad-no-exp missing_exp "$(token $AUTH_KEY "$H" "{$C}")"
seed auth bad-no-sub missing_sub "$(token $AUTH_KEY "$H" '{"tenant_id":"acme","exp":1700000600}')"
seed auth bad-tenant invalid_tenant "$(token $AUTH_KEY "$H" '{"sub":"alice","tenant_id":"ac/me","exp":1700000600}')"
seed auth bad-permissions permissions "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"permissions\":[\"publish\",7]}")"
seed auth valid-topics ok "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"topics\":[\"news\",\"prices.*\",\"*\"],\"publish_topics\":[\"chat.*\"]}")"
seed auth bad-topics topics "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"topics\":[\"a.*.b\"]}")"
seed auth bad-alg-none algorithm "$(printf '%s' '{"alg":"none"}' | b64url).$(printf '%s' "$OK" | b64url)."
seed auth bad-alg-rs256 algorithm "$(token $AUTH_KEY '{"alg":"RS256","typ":"JWT"}' "$OK")"
seed auth bad-wrong-key signature "$(token other-key "$H" "$OK")"
seed auth bad-crit malformed "$(token $AUTH_KEY '{"alg":"HS256","crit":["exp"]}' "$OK")"
seed auth bad-duplicate-claim malformed "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"sub\":\"mallory\"}")"
seed auth bad-claims-not-object malformed "$(token $AUTH_KEY "$H" '["alice"]')"
seed auth bad-padding malformed "$(token $AUTH_KEY "$H" "$OK" | sed 's/\./=./')"
seed auth bad-garbage malformed 'not a token at all'
seed auth bad-two-parts malformed 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9'

G='{"alg":"HS256","typ":"JWT"}'
seed grip valid valid "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700003600}')"
seed grip valid-real-exp valid "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700000001.5}')"
seed grip bad-real-exp-rounds-down invalid "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700000000.5}')"
seed grip bad-expired invalid "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700000000}')"
seed grip bad-issuer invalid "$(token $GRIP_KEY "$G" '{"iss":"someone","exp":1700003600}')"
seed grip bad-no-exp invalid "$(token $GRIP_KEY "$G" '{"iss":"pushpin"}')"
seed grip bad-wrong-key invalid "$(token other-key "$G" '{"iss":"pushpin","exp":1700003600}')"
seed grip bad-alg-hs512 invalid "$(token $GRIP_KEY '{"alg":"HS512"}' '{"iss":"pushpin","exp":1700003600}')"
seed grip bad-garbage invalid 'garbage'

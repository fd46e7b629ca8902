#!/bin/sh
# make-seeds.sh - writes the signed seed tokens of tests/cases/auth and tests/cases/grip (HS256 with the fuzz targets' fixed test keys).
# Usage: tests/fuzz/make-seeds.sh [TOP_SRCDIR]. Times are relative to FUZZ_NOW (fuzz.h): 1700000000.
set -eu
top=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
AUTH_KEY=streamer-fuzz-test-key-0123456789   # fuzz_auth.c TEST_SECRET
GRIP_KEY=streamer-fuzz-grip-key              # fuzz_grip.c TEST_GRIP_KEY

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# token KEY HEADER-JSON CLAIMS-JSON: prints header.claims.signature
token() {
	input="$(printf '%s' "$2" | b64url).$(printf '%s' "$3" | b64url)"
	sig=$(printf '%s' "$input" | openssl dgst -sha256 -hmac "$1" -binary | b64url)
	printf '%s.%s' "$input" "$sig"
}

# seed DIR NAME TEXT: writes DIR/NAME/input (no newline)
seed() {
	mkdir -p "$top/tests/cases/$1/$2"
	printf '%s' "$3" > "$top/tests/cases/$1/$2/input"
}

H='{"alg":"HS256","typ":"JWT"}'
C='"sub":"alice","tenant_id":"acme"'
OK="{$C,\"exp\":1700000600,\"iat\":1699999990}"

seed auth valid-hs256 "$(token $AUTH_KEY "$H" "$OK")"
seed auth valid-all-claims "$(token $AUTH_KEY '{"alg":"HS256"}' \
	"{$C,\"exp\":1700000600.5,\"nbf\":1699999999,\"iat\":1699999990.25,\"iss\":\"streamer\",\"aud\":[\"other\",\"streamer-api\"],\"permissions\":[\"publish\",\"reports\"]}")"
seed auth valid-typ-application-jwt "$(token $AUTH_KEY '{"typ":"application/jwt","alg":"HS256"}' \
	"{$C,\"exp\":1700000600,\"aud\":\"streamer-api\",\"iss\":\"streamer\"}")"
seed auth bad-expired "$(token $AUTH_KEY "$H" "{$C,\"exp\":1699999900}")"
seed auth bad-not-yet-valid "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"nbf\":1700001000}")"
seed auth bad-iat-future "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"iat\":1700001000}")"
seed auth bad-no-exp "$(token $AUTH_KEY "$H" "{$C}")"
seed auth bad-no-sub "$(token $AUTH_KEY "$H" '{"tenant_id":"acme","exp":1700000600}')"
seed auth bad-tenant "$(token $AUTH_KEY "$H" '{"sub":"alice","tenant_id":"ac/me","exp":1700000600}')"
seed auth bad-permissions "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"permissions\":[\"publish\",7]}")"
seed auth bad-alg-none "$(printf '%s' '{"alg":"none"}' | b64url).$(printf '%s' "$OK" | b64url)."
seed auth bad-alg-rs256 "$(token $AUTH_KEY '{"alg":"RS256","typ":"JWT"}' "$OK")"
seed auth bad-wrong-key "$(token other-key "$H" "$OK")"
seed auth bad-crit "$(token $AUTH_KEY '{"alg":"HS256","crit":["exp"]}' "$OK")"
seed auth bad-duplicate-claim "$(token $AUTH_KEY "$H" "{$C,\"exp\":1700000600,\"sub\":\"mallory\"}")"
seed auth bad-claims-not-object "$(token $AUTH_KEY "$H" '["alice"]')"
seed auth bad-padding "$(token $AUTH_KEY "$H" "$OK" | sed 's/\./=./')"
seed auth bad-garbage 'not a token at all'
seed auth bad-two-parts 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9'

G='{"alg":"HS256","typ":"JWT"}'
seed grip valid "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700003600}')"
seed grip valid-real-exp "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700000000.5}')"
seed grip bad-expired "$(token $GRIP_KEY "$G" '{"iss":"pushpin","exp":1700000000}')"
seed grip bad-issuer "$(token $GRIP_KEY "$G" '{"iss":"someone","exp":1700003600}')"
seed grip bad-no-exp "$(token $GRIP_KEY "$G" '{"iss":"pushpin"}')"
seed grip bad-wrong-key "$(token other-key "$G" '{"iss":"pushpin","exp":1700003600}')"
seed grip bad-alg-hs512 "$(token $GRIP_KEY '{"alg":"HS512"}' '{"iss":"pushpin","exp":1700003600}')"
seed grip bad-garbage 'garbage'

# tests/grip.sh - Grip-Sig tokens as Pushpin makes them, for shell tests and benchmarks (functions only: sourcing it has no side effects).
# shellcheck shell=bash

# b64url: base64url without padding, from stdin.
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# grip_sig KEY [EXP_OFFSET] [ISS]: a Grip-Sig as Pushpin makes it: an HS256
# JWT with {"iss":ISS (default pushpin),"exp":now+EXP_OFFSET (default 3600)},
# signed with KEY (Pushpin's sig_key, used as is).
grip_sig() {
	local key=$1 exp=$(($(date +%s) + ${2:-3600})) iss=${3:-pushpin} h p s
	h=$(printf '{"alg":"HS256","typ":"JWT"}' | b64url)
	p=$(printf '{"iss":"%s","exp":%d}' "$iss" "$exp" | b64url)
	s=$(printf '%s.%s' "$h" "$p" | openssl dgst -sha256 -hmac "$key" -binary | b64url)
	printf '%s.%s.%s' "$h" "$p" "$s"
}

#!/bin/bash
# reports.sh - generate_report needs the reports permission (STREAMER_REPORT_PERMISSION) and `streamer gc` deletes report files past STREAMER_RESULT_TTL.
. "$top_srcdir/tests/lib.sh"
setup_stack
export STREAMER_OUTPUT_DIR="$TMP/reports"
TODAY=$(date -u +%F)
REPORT="{\"action\":\"generate_report\",\"id\":\"g1\",\"payload\":{\"start_date\":\"$TODAY\",\"end_date\":\"$TODAY\",\"format\":\"csv\"}}"

# --- the permission --------------------------------------------------------
WS_QUERY="Authorization=$(token alice acme --permissions read,write)"
body_reset; ev OPEN; ws_event conn-secret-p1
body_reset; ev TEXT "$REPORT"; ws_event conn-secret-p1
m=$(m_msg 1)
check_eq "generate_report without the reports permission is FORBIDDEN" "$(jq -r .error.code <<<"$m")" FORBIDDEN
check_contains "naming the permission" "$(jq -r .error.message <<<"$m")" "reports"
check_eq "and nothing is queued" "$(db_sql "SELECT count(*) FROM requests")" 0

WS_QUERY="Authorization=$(token alice acme --permissions read,reports)"
body_reset; ev OPEN; ws_event conn-secret-p2
body_reset; ev TEXT "$REPORT"; ws_event conn-secret-p2
check_eq "with the reports permission it is acknowledged" "$(m_msg 1 | jq -r .type)" acknowledgment

WS_QUERY="Authorization=$(token bob acme --permissions read)"
body_reset; ev OPEN; STREAMER_REPORT_PERMISSION= ws_event conn-secret-p3
body_reset; ev TEXT "${REPORT/g1/g3}"; STREAMER_REPORT_PERMISSION= ws_event conn-secret-p3
check_eq "STREAMER_REPORT_PERMISSION empty turns the check off" "$(m_msg 1 | jq -r .type)" acknowledgment
body_reset; ev TEXT "${REPORT/g1/g4}"; STREAMER_REPORT_PERMISSION=analytics ws_event conn-secret-p3
check_eq "another configured permission is required instead" "$(m_msg 1 | jq -r .error.code)" FORBIDDEN

# --- the processor runs them: no connection ids, and the per-tenant quota ---
STREAMER_REPORT_QUOTA_BYTES=1 "$STREAMER_CLI" processor --once >/dev/null 2>"$TMP/processor.err"
check_eq "the processor ran both queued reports" "$?" 0
status() { db_sql "SELECT status || ' ' || coalesce(error_code, '') FROM requests WHERE request_id = '$1'"; }
# Whichever ran first wrote its report; the other then found the tenant over the cap.
if [ "$(status g1)" = "COMPLETED " ]; then done_id=g1 limited=g3 conn=conn-secret-p3; else done_id=g3 limited=g1 conn=conn-secret-p2; fi
check_eq "the first report of the tenant is written" "$(status $done_id)" "COMPLETED "
check_eq "the next one, over STREAMER_REPORT_QUOTA_BYTES, fails with RATE_LIMITED" "$(status $limited)" "FAILED RATE_LIMITED"
body_reset; ev TEXT "{\"action\":\"request.status\",\"id\":\"s3\",\"payload\":{\"request_id\":\"$limited\"}}"
STREAMER_REPORT_PERMISSION= ws_event $conn
check_eq "request.status tells the client RATE_LIMITED" "$(m_msg 1 | jq -r .data.error.code)" RATE_LIMITED
file=$(db_sql "SELECT result FROM requests WHERE request_id = '$done_id'" | jq -r .file)
check "the report file exists" test -f "$STREAMER_OUTPUT_DIR/$file"
check_contains "it lists the tenant's connections, without their ids" "$(cat "$STREAMER_OUTPUT_DIR/$file")" ",connection,,alice,"
check "but never a connection id" sh -c '! grep -q conn-secret "$1"' sh "$STREAMER_OUTPUT_DIR/$file"

# --- gc deletes old report files ---------------------------------------------
mkdir -p "$STREAMER_OUTPUT_DIR"
old="report-acme-2024-03-01_2024-03-02-822b33ad87c148a0-0123456789abcdef0123456789abcdef.csv"
new="report-acme-2024-03-01_2024-03-02-822b33ad87c148a0-fedcba9876543210fedcba9876543210.json"
echo old >"$STREAMER_OUTPUT_DIR/$old"
echo new >"$STREAMER_OUTPUT_DIR/$new"
echo tmp >"$STREAMER_OUTPUT_DIR/.report-acme-x.json.tmp"
echo keep >"$STREAMER_OUTPUT_DIR/README"
touch -d '-2 hours' "$STREAMER_OUTPUT_DIR/$old" "$STREAMER_OUTPUT_DIR/README"
touch -d '-2 days' "$STREAMER_OUTPUT_DIR/.report-acme-x.json.tmp"
out=$(STREAMER_RESULT_TTL=3600 "$STREAMER_CLI" gc 2>&1)
check_contains "gc reports the report files it removed" "$out" "2 expired report files"
check "gc deleted the report older than STREAMER_RESULT_TTL" test ! -e "$STREAMER_OUTPUT_DIR/$old"
check "and the temporary file of a run that died" test ! -e "$STREAMER_OUTPUT_DIR/.report-acme-x.json.tmp"
check "it kept the newer report" test -e "$STREAMER_OUTPUT_DIR/$new"
check "it kept files that are not reports" test -e "$STREAMER_OUTPUT_DIR/README"
rm -rf "$STREAMER_OUTPUT_DIR"
out=$("$STREAMER_CLI" gc 2>&1)
check_contains "gc without a report directory removes none and succeeds" "$out" "0 expired report files"

done_testing

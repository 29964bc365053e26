#!/usr/bin/env bash
# hosting_bodies: request bodies without CONTENT_LENGTH and the body limit,
# max_body_bytes = 16M as the shipped Apache snippet:
#   - raw FastCGI, no CONTENT_LENGTH: a detection request (the sample, 48 KB)
#     answers 200 success; a 17 MiB body answers the daemon's JSON 413;
#   - Apache (etc/apache/rb-aioutliers.conf): a chunked detection request of
#     48 KB (Apache passes 16 KiB or more without CONTENT_LENGTH) answers 200
#     success; a declared 17 MiB body gets Apache's own 413 and never reaches
#     the daemon (no log line); a chunked 100 MB body gets a 413 (the daemon's:
#     Apache cannot limit it, docs/HOSTING.md "Body size").
set -u
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init bodies RB_KEEP_SVC
traffic_daemon_conf "max_body_bytes = 16M"
start_bg daemon.log "$daemon" -f -c "$tmp/daemon.conf"
wait_health_fcgi "$sock"
sample_b64=$(base64 -w0 "$src/etc/samples/traffic-sample.json")
model_b64=$(printf traffic | base64 -w0)
python3 -c 'import sys, urllib.parse; print(urllib.parse.urlencode({"data": sys.argv[1], "model": sys.argv[2]}), end="")' \
	"$sample_b64" "$model_b64" >"$tmp/valid.form"
head -c $((17 << 20)) /dev/zero >"$tmp/big17"

# raw FastCGI, no CONTENT_LENGTH
out=$(python3 "$peer" post "$sock" /api/v1/outliers "$tmp/valid.form" nolen 2>"$tmp/ans")
if [ "${out%% *}" = 200 ] && grep -q '"status":"success"' "$tmp/ans"; then
	pass "raw, no CONTENT_LENGTH, $(stat -c %s "$tmp/valid.form") bytes: 200 success (${out#* } ms)"
else
	fail "raw, no CONTENT_LENGTH: $out $(head -c 200 "$tmp/ans")"
fi
out=$(python3 "$peer" post "$sock" /api/v1/outliers "$tmp/big17" nolen 2>"$tmp/ans")
if [ "${out%% *}" = 413 ] && grep -q 'over the limit' "$tmp/ans"; then
	pass "raw, no CONTENT_LENGTH, 17 MiB: the daemon's 413 (${out#* } ms)"
else
	fail "raw, no CONTENT_LENGTH, 17 MiB: $out $(head -c 200 "$tmp/ans")"
fi

# Apache with the shipped snippet
web=$(free_port)
snippet_for apache "$sock" >"$tmp/apache-rb.conf"
write_apache_conf "$tmp/apache-rb.conf" "$web" alias
start_bg apache.log /usr/sbin/apache2 -X -f "$tmp/apache.conf"
url=http://127.0.0.1:$web/api/v1/outliers
wait_health_http "$web"
lines() { grep -c "POST /api/v1/outliers" "$tmp/daemon.log"; }

out=$(curl -s -w '\n%{http_code}' -H 'Transfer-Encoding: chunked' \
	-H 'Content-Type: application/x-www-form-urlencoded' --data-binary "@$tmp/valid.form" "$url")
if [ "${out##*$'\n'}" = 200 ] && grep -q '"status":"success"' <<<"$out"; then
	pass "Apache, chunked $(stat -c %s "$tmp/valid.form") bytes: 200 success"
else
	fail "Apache, chunked valid request: ${out:0:300}"
fi
before=$(lines)
out=$(curl -s -w '\n%{http_code}' -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary "@$tmp/big17" "$url")
if [ "${out##*$'\n'}" = 413 ] && grep -qi '<html' <<<"$out" && [ "$(lines)" = "$before" ]; then
	pass "Apache, Content-Length 17 MiB: Apache's own 413, the daemon saw nothing"
else
	fail "Apache, Content-Length 17 MiB: ${out##*$'\n'}, daemon lines $before -> $(lines): ${out:0:200}"
fi
before=$(lines)
out=$(head -c 100000000 /dev/zero | curl -s -w '\n%{http_code} %{time_total}' \
	-H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-www-form-urlencoded' \
	--data-binary @- "$url")
status=${out##*$'\n'}
# Its end was not read (the daemon stops at 4 x max_body_bytes), so the message must not
# claim a size: "of more than N bytes".
if [ "${status%% *}" = 413 ] && grep -q 'body of more than [0-9]* bytes' <<<"$out"; then
	pass "Apache, chunked 100 MB: 413 in ${status#* } s ($(head -c 90 <<<"$out"))"
else
	fail "Apache, chunked 100 MB: $status: ${out:0:200}"
fi

hosting_finish body "$tmp/daemon.log" "$tmp/apache.error.log"

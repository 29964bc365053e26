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
export PATH="$PATH:/usr/sbin:/sbin"
src=${RB_SOURCE_DIR:?run through ctest}
bld=${RB_BUILD_DIR:?run through ctest}
. "$src/tests/hosting/need-shared.sh"
need_shared upstream/traffic.keras upstream/traffic.ini
shared=$RB_SHARED_DIR
daemon="$bld/fcgi/rb-aioutliers"
peer="$src/tests/hosting/fcgi_peer.py"
tmp=$(mktemp -d /tmp/rb-bodies-XXXXXX)
chmod 755 "$tmp"
mkdir -p "$tmp/run" "$tmp/www" "$tmp/models"
chmod 755 "$tmp/run"
pids=()
failures=0
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	if [ -n "${RB_KEEP_SVC:-}" ]; then echo "logs kept in $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
. "$src/tests/hosting/free-port.sh"
ln -s "$shared/upstream/traffic.keras" "$tmp/models/traffic.keras"
ln -s "$shared/upstream/traffic.ini" "$tmp/models/traffic.ini"
sock=$tmp/run/rb-aioutliers.sock
cat >"$tmp/daemon.conf" <<EOC
listen = unix:$sock
listen_mode = 0666
workers = 2
models_dir = $tmp/models
trained_models_dir =
druid_url = http://127.0.0.1:9/druid/v2/
allow_root = yes
max_body_bytes = 16M
EOC
"$daemon" -f -c "$tmp/daemon.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
pids+=($!)
for _ in $(seq 100); do
	[ "$(python3 "$peer" get "$sock" /health 2>/dev/null | cut -d' ' -f1)" = 200 ] && break
	sleep 0.1
done
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
mods=/usr/lib/apache2/modules
sed -e "s#/run/rb-aioutliers/#$tmp/run/#g" "$src/etc/apache/rb-aioutliers.conf" >"$tmp/apache-rb.conf"
cat >"$tmp/apache.conf" <<EOC
ServerRoot "$tmp"
ServerName 127.0.0.1
Listen 127.0.0.1:$web
PidFile $tmp/apache.pid
DefaultRuntimeDir $tmp
Mutex file:$tmp default
ErrorLog $tmp/apache.error.log
LogLevel warn
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule alias_module $mods/mod_alias.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_fcgi_module $mods/mod_proxy_fcgi.so
User www-data
Group www-data
DocumentRoot $tmp/www
Include $tmp/apache-rb.conf
EOC
/usr/sbin/apache2 -X -f "$tmp/apache.conf" >"$tmp/apache.log" 2>&1 </dev/null &
pids+=($!)
url=http://127.0.0.1:$web/api/v1/outliers
for _ in $(seq 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$web/health")" = 200 ] && break
	sleep 0.1
done
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

if [ "$failures" != 0 ]; then
	echo "--- daemon log"; tail -n 20 "$tmp/daemon.log"
	echo "--- apache"; tail -n 10 "$tmp/apache.error.log" 2>/dev/null
	echo "$failures check(s) failed"
	exit 1
fi
echo "all body checks passed"

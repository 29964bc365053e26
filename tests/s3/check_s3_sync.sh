#!/usr/bin/env bash
# s3_sync: the model sync from S3 against s3rver on loopback (docs/OPERATIONS.md, "Model
# sync from S3"). Part 1 drives core/store with tests/s3/s3_probe, one pass at a time:
#   (a changed model is taken by the second listing that shows it unchanged: "pending" first)
#   upload (three objects -> installed, files equal), again (nothing fetched), change (one
#   object: only it fetched, installed), corrupt (a truncated .keras: rejected, the installed
#   files stay, not fetched again), partial (a model with only its .keras: incomplete), delete
#   (a model gone from the bucket: its files stay, logged once), wrong credentials (an unknown
#   access key: the listing fails with 403; a wrong secret: 403 SignatureDoesNotMatch),
#   rb-aioutliers-train --upload (a small model put and synced back; with a wrong key:
#   exit 1), server down (the listing fails, nothing changes).
# Part 2: the daemon (models_url, interval PT5S) behind lighttpd: an upload appears in
# /health's models after the helper's reload; a corrupt upload of it changes nothing and the
# model still answers.
# s3rver: $RB_S3RVER, else build*/s3rver (tests/s3/install-s3rver.sh; .ci/run runs it).
# s3rver 3.7 does not check Signature V4 signatures (only that the access key exists): it
# runs behind tests/s3/sigv4_proxy.js, which checks each request with AWS's own signer
# (@smithy/signature-v4), so a wrong secret, or a header signed but not sent, is a 403 here too.
set -uo pipefail
. "${RB_SOURCE_DIR:?run through ctest}/tests/hosting/lib.sh"
hosting_init s3
probe=$bld/tests/s3/s3_probe
s3rver=${RB_S3RVER:-}
for c in "$bld/s3rver/node_modules/.bin/s3rver" "$src/build/s3rver/node_modules/.bin/s3rver"; do
	[ -z "$s3rver" ] && [ -x "$c" ] && s3rver=$c
done
[ -n "$s3rver" ] || { echo "FAIL: s3rver is not installed: bash tests/s3/install-s3rver.sh $bld/s3rver"; exit 1; }

s3port=$(free_port)
s3inner=$(free_port)
s3modules=$(cd "$(dirname "$s3rver")/.." && pwd)
[ -d "$s3modules/@smithy/signature-v4" ] ||
	{ echo "FAIL: AWS's signer is not installed: bash tests/s3/install-s3rver.sh $bld/s3rver"; exit 1; }
mkdir -p "$tmp/s3data" "$tmp/dir"
# s3rver behind tests/s3/sigv4_proxy.js: the proxy (on $s3port, what the clients use) checks
# every request's Signature V4 with AWS's own signer as S3 does, then passes it to s3rver.
start_s3() {
	start_bg -a s3rver.log "$s3rver" -d "$tmp/s3data" -a 127.0.0.1 -p "$s3inner" \
		--configure-bucket models
	s3pid=$bg_pid
	start_bg -a sigv4.log env RB_SIGV4_MODULES="$s3modules" node "$src/tests/s3/sigv4_proxy.js" \
		"$s3port" "$s3inner" us-east-1 S3RVER S3RVER
	proxypid=$bg_pid
	for port in "$s3inner" "$s3port"; do
		for _ in $(seq 100); do
			(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue 2
			sleep 0.1
		done
		echo "FAIL: s3rver or sigv4_proxy did not start"; cat "$tmp/s3rver.log" "$tmp/sigv4.log"; exit 1
	done
}
start_s3
ep=http://127.0.0.1:$s3port
s3url=s3://models/rbaioutliers/latest
printf 'access_key_id = S3RVER\nsecret_access_key = S3RVER\n' >"$tmp/creds"
printf '[default]\naws_access_key_id = NOBODY\naws_secret_access_key = S3RVER\n' >"$tmp/bad-creds"
printf 'access_key_id = S3RVER\nsecret_access_key = WRONG\n' >"$tmp/bad-secret"
chmod 600 "$tmp/creds" "$tmp/bad-creds" "$tmp/bad-secret"
# put NAME FILE [URL]: FILE uploaded as object NAME under URL (default $s3url, part 1's)
put() { "$probe" "$ep" "$tmp/creds" "${3:-$s3url}" put "$1" "$2" >/dev/null || fail "put $1"; }
sync_once() { "$probe" "$ep" "${2:-$tmp/creds}" "$s3url" sync "${1:-$tmp/dir}" >"$tmp/out" 2>&1; }
# settle: a changed model is taken by the listing after the one that first saw it
sync_twice() { sync_once; expect '^pending 1$' "$1: first listing waits"; sync_once; }
gets() { sed 's/\x1b\[[0-9;]*m//g' "$tmp/s3rver.log" | grep -c "rbaioutliers/latest/.* 200" ; }
expect() { # expect LINE-REGEX WHAT
	if grep -qE "$1" "$tmp/out"; then pass "$2"; else fail "$2: wanted /$1/, got: $(tr '\n' '|' <"$tmp/out")"; fi
}
M=$src/models

sync_once; expect '^installed 0$' "an empty bucket installs nothing"
for x in keras ini druid.json; do put "flows.$x" "$M/flows.$x"; done
sync_twice upload; expect '^installed flows' "upload: flows installed"; expect '^installed 1$' "upload: one model"
same=1; for x in keras ini druid.json; do cmp -s "$M/flows.$x" "$tmp/dir/flows.$x" || same=0; done
[ "$same" = 1 ] && pass "upload: the three files equal the uploaded ones" || fail "upload: files differ"
n0=$(gets)
sync_once; expect '^installed 0$' "again: nothing new"
[ "$(gets)" = "$n0" ] && pass "again: no object fetched" || fail "again: $(( $(gets) - n0 )) objects fetched"

# change: one object (the template, reformatted) -> only it is fetched
python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), indent=1))' \
	"$M/flows.druid.json" >"$tmp/changed.druid.json"
put flows.druid.json "$tmp/changed.druid.json"
n0=$(gets)
sync_twice change; expect '^installed 1$' "change: installed again"
[ "$(( $(gets) - n0 ))" = 1 ] && pass "change: one object fetched" || fail "change: $(( $(gets) - n0 )) objects fetched"
cmp -s "$tmp/changed.druid.json" "$tmp/dir/flows.druid.json" && pass "change: the new template is in place" \
	|| fail "change: template not replaced"

# corrupt: a truncated .keras is rejected, the installed model stays
cp "$tmp/dir/flows.keras" "$tmp/good.keras"
head -c 20000 "$M/flows.keras" >"$tmp/bad.keras"
put flows.keras "$tmp/bad.keras"
sync_twice corrupt; expect '^rejected flows' "corrupt: rejected"; expect '^installed 0$' "corrupt: nothing installed"
cmp -s "$tmp/good.keras" "$tmp/dir/flows.keras" && pass "corrupt: the installed .keras stays" || fail "corrupt: .keras replaced"
ls -A "$tmp/dir/.s3-sync" | grep -q . && fail "corrupt: staging not cleaned: $(ls -A "$tmp/dir/.s3-sync")" || pass "corrupt: staging empty"
n0=$(gets)
sync_once; expect '^installed 0$' "corrupt, again: nothing"
grep -q '^rejected' "$tmp/out" && fail "corrupt, again: logged twice" || pass "corrupt, again: not logged again"
[ "$(gets)" = "$n0" ] && pass "corrupt, again: not fetched again" || fail "corrupt, again: fetched again"
put flows.keras "$M/flows.keras"
n0=$(gets)
sync_once; expect '^installed 0$' "fixed upload (the installed version again): nothing to do"
expect '^pending 0$' "fixed upload: nothing pending"
[ "$(gets)" = "$n0" ] && pass "fixed upload: nothing fetched" || fail "fixed upload: fetched"

# partial: only the .keras of a new model
put other.keras "$M/flows.keras"
sync_once; expect '^incomplete other' "partial: incomplete"
[ -e "$tmp/dir/other.keras" ] && fail "partial: other.keras installed" || pass "partial: nothing installed"
sync_once; grep -q '^incomplete' "$tmp/out" && fail "partial: logged again" || pass "partial: logged once"

# delete: every object of flows removed from the bucket
for x in keras ini druid.json; do
	curl -sf -o /dev/null --aws-sigv4 "aws:amz:us-east-1:s3" --user S3RVER:S3RVER -X DELETE \
		-H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
		"$ep/models/rbaioutliers/latest/flows.$x" || fail "delete flows.$x"
done
sync_once; expect '^gone flows' "delete: logged"
[ -e "$tmp/dir/flows.keras" ] && pass "delete: the installed files stay" || fail "delete: files removed"
sync_once; grep -q '^gone' "$tmp/out" && fail "delete: logged twice" || pass "delete: logged once"

# wrong credentials: an unknown access key; a known key with a wrong secret
sync_once "$tmp/dir" "$tmp/bad-creds"; expect '^error: .*HTTP 403 InvalidAccessKeyId' "wrong credentials: 403"
sync_once "$tmp/dir" "$tmp/bad-secret"
expect '^error: .*HTTP 403 SignatureDoesNotMatch' "wrong secret: 403 SignatureDoesNotMatch"
# every request so far carried the signature AWS's signer computes (the proxy refused only those)
n_bad=$(grep -c '^sigv4_proxy: 403' "$tmp/sigv4.log")
[ "$n_bad" = 2 ] && pass "Signature V4: every other request signed as AWS's signer signs it" \
	|| { fail "Signature V4: $n_bad refusals, wanted 2:"; cat "$tmp/sigv4.log"; }
# rb-aioutliers-train --upload: a small model trained on synthetic rows, put, then synced
python3 -c 'import json, math; print(json.dumps([{"timestamp": "2023-10-02T%02d:%02d:00.000Z" % (i // 60, i % 60), "result": {"bytes": 1000 + 500 * math.sin(i / 20.0) + (i % 7) * 10}} for i in range(480)]))' >"$tmp/train.json"
mkdir "$tmp/trainer"
cat >"$tmp/train.conf" <<EOC
trained_models_dir = $tmp/trainer
models_url = s3://models/up/latest
models_s3_endpoint = $ep
models_s3_credentials = $tmp/creds
EOC
if "$bld/rb-aioutliers-train" --name up -c "$tmp/train.conf" --data "$tmp/train.json" \
	--druid-template "$M/flows.druid.json" --epochs 2 --upload >"$tmp/train.log" 2>&1; then
	pass "train --upload: exit 0"
else
	fail "train --upload: $(tail -2 "$tmp/train.log")"
fi
"$probe" "$ep" "$tmp/creds" s3://models/up/latest sync "$tmp/updir" >"$tmp/out" 2>&1
"$probe" "$ep" "$tmp/creds" s3://models/up/latest sync "$tmp/updir" >"$tmp/out" 2>&1
expect '^installed up' "train --upload: the daemon's sync takes it"
cmp -s "$tmp/trainer/up.keras" "$tmp/updir/up.keras" && pass "train --upload: same .keras" || fail "train --upload: .keras differs"
sed 's#^models_s3_credentials.*#models_s3_credentials = '"$tmp"'/bad-creds#' "$tmp/train.conf" >"$tmp/train-bad.conf"
if "$bld/rb-aioutliers-train" --name up2 -c "$tmp/train-bad.conf" --data "$tmp/train.json" \
	--druid-template "$M/flows.druid.json" --epochs 1 --upload >"$tmp/train.log" 2>&1; then
	fail "train --upload, wrong credentials: exit 0"
else
	grep -q 'HTTP 403' "$tmp/train.log" && pass "train --upload, wrong credentials: exit 1, 403 said" \
		|| fail "train --upload, wrong credentials: $(tail -1 "$tmp/train.log")"
fi

# server down
kill -TERM "$s3pid" "$proxypid"; wait "$s3pid" "$proxypid" 2>/dev/null
sync_once; expect '^error: S3 GET .*(onnect|refused)' "server down: the listing fails"
[ -e "$tmp/dir/flows.keras" ] && pass "server down: files stay" || fail "server down: files gone"

# ---- part 2: the daemon's helper behind lighttpd ----------------------------------------
start_s3
for x in keras ini druid.json; do put "flows.$x" "$M/flows.$x"; done  # restore for part 1's state
mkdir "$tmp/www" "$tmp/trained"
synced_url=s3://models/synced # the daemon's models_url, where part 2 uploads
write_daemon_conf "$tmp/daemon.conf" "$tmp/svc.sock" 127.0.0.1:9 "listen_mode = 0600" \
	"workers = 1" "models_dir = $M" "trained_models_dir = $tmp/trained" \
	"models_url = $synced_url" "models_s3_endpoint = $ep" \
	"models_s3_credentials = $tmp/creds" "models_sync_interval = PT5S"
start_bg daemon.log env OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/daemon.conf"
master=$bg_pid
start_lighttpd "$tmp/svc.sock"
base=$url
wait_health_http "$port" 300
curl -s "$base/health" | grep -q '"synced"' && fail "daemon: synced served before its upload" \
	|| pass "daemon: up, no synced model yet"
for x in keras ini druid.json; do put "synced.$x" "$M/flows.$x" "$synced_url"; done
ok=0
for _ in $(seq 300); do
	curl -s "$base/health" | grep -q '"synced"' && { ok=1; break; }
	sleep 0.1
done
[ "$ok" = 1 ] && pass "daemon: the upload is served after the helper's reload" \
	|| { fail "daemon: synced not served within 30 s"; tail -20 "$tmp/daemon.log"; }
data_b64=$(base64 -w0 "$src/etc/samples/traffic-sample.json")
model_b64=$(printf synced | base64 -w0)
ask_synced() {
	curl -s --data-urlencode "data=$data_b64" --data-urlencode "model=$model_b64" \
		"$base/api/v1/outliers" | grep -q '"model": *"synced"'
}
ask_synced && pass "daemon: a request with model=synced answers" || fail "daemon: model=synced failed"
gen=$(grep -c 'reloaded: generation' "$tmp/daemon.log")
head -c 20000 "$M/flows.keras" >"$tmp/bad.keras"
put synced.keras "$tmp/bad.keras" "$synced_url"
for _ in $(seq 300); do grep -q 'model synced rejected' "$tmp/daemon.log" && break; sleep 0.1; done
grep -q 'model synced rejected' "$tmp/daemon.log" && pass "daemon: the corrupt upload is rejected and logged" \
	|| fail "daemon: no rejection logged"
[ "$(grep -c 'reloaded: generation' "$tmp/daemon.log")" = "$gen" ] && pass "daemon: no reload for it" \
	|| fail "daemon: reloaded for a corrupt upload"
ask_synced && pass "daemon: model=synced still answers" || fail "daemon: model=synced broken"
# A sync process that dies (kill -9) is started again by the helper, and syncs on.
sync_proc=""
for c in $(pgrep -P "$master"); do
	g=$(pgrep -P "$c" | head -1)
	[ -n "$g" ] && sync_proc=$g
done
if [ -z "$sync_proc" ]; then
	fail "daemon: no sync process under the helper"
else
	kill -9 "$sync_proc"
	for x in keras ini druid.json; do put "again.$x" "$M/flows.$x" "$synced_url"; done
	ok=0
	for _ in $(seq 400); do
		curl -s "$base/health" | grep -q '"again"' && { ok=1; break; }
		sleep 0.1
	done
	[ "$ok" = 1 ] && pass "daemon: after a kill -9 of the sync process, a new upload is served" \
		|| { fail "daemon: model 'again' not served within 40 s of a kill -9"; tail -8 "$tmp/daemon.log"; }
	grep -q "the sync process $sync_proc was killed by signal 9; restarting it" "$tmp/daemon.log" \
		&& pass "daemon: the sync process's death is logged" || fail "daemon: no log of the sync process's death"
fi
# The helper counts on the pool's metrics board: two installs, one rejection (at least: the
# first upload may have been seen mid-way), no failed listing.
curl -s "$base/metrics" >"$tmp/metrics"
sync_count() { sed -n "s/^rb_aioutliers_model_sync_total{outcome=\"$1\"} //p" "$tmp/metrics"; }
[ "$(sync_count installed)" = 2 ] && pass "metrics: model_sync installed 2" \
	|| fail "metrics: model_sync installed '$(sync_count installed)', wanted 2"
[ "$(sync_count rejected)" -ge 1 ] 2>/dev/null && pass "metrics: model_sync rejected $(sync_count rejected)" \
	|| fail "metrics: model_sync rejected '$(sync_count rejected)', wanted >= 1"
[ "$(sync_count list_failed)" = 0 ] && pass "metrics: model_sync list_failed 0" \
	|| fail "metrics: model_sync list_failed '$(sync_count list_failed)', wanted 0"

hosting_finish s3_sync

#!/usr/bin/env bash
# hosting_cgi: the shipped Apache snippets for a program Apache starts itself,
# run on loopback with the build's daemon in place of /usr/sbin/rb-aioutliers:
#   - etc/apache/rb-aioutliers-cgi.conf (mod_cgi, one process per request):
#     GET /health, POST /api/v1/outliers with inline data (default detector
#     and model=flows, the project's own model models/flows.*), /calculate, a bad request (a JSON 400, not Apache's
#     500 "End of script output before headers"), an unknown path (404), and
#     a script-path mount (ScriptAlias /rb: SCRIPT_NAME /rb, PATH_INFO
#     /api/v1/outliers);
#   - etc/apache/rb-aioutliers-fcgid.conf (mod_fcgid: the daemon on the
#     socket Apache hands over, though the configuration sets listen): the
#     same requests, and the same script-path mount.
# Apache runs as www-data, so the program does too.
set -u
src=${RB_SOURCE_DIR:?run through ctest}
bld=${RB_BUILD_DIR:?run through ctest}
daemon=$bld/fcgi/rb-aioutliers
mods=/usr/lib/apache2/modules
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
tmp=$(mktemp -d)
chmod 755 "$tmp"
apache_pid=
cleanup() {
	[ -n "$apache_pid" ] && kill "$apache_pid" 2>/dev/null && sleep 0.5
	pkill -f "^$daemon" 2>/dev/null
	[ -n "${RB_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
. "$src/tests/hosting/free-port.sh"
for m in mod_cgi.so mod_fcgid.so mod_alias.so mod_env.so mod_mpm_prefork.so; do
	[ -f "$mods/$m" ] || { echo "FAIL: $mods/$m missing (packaging/debian-deps.txt)"; exit 1; }
done
mkdir -m 755 "$tmp/models" "$tmp/www" "$tmp/run"
cp "$src/models/flows.keras" "$src/models/flows.ini" "$tmp/models/"
chmod 644 "$tmp/models/"*
chown www-data "$tmp/run"
cat >"$tmp/daemon.conf" <<EOC
listen = unix:$tmp/run/ignored.sock
workers = 2
models_dir = $tmp/models
trained_models_dir =
druid_url = http://127.0.0.1:9/druid/v2/
EOC
chmod 644 "$tmp/daemon.conf"
data_b64=$(base64 -w0 "$src/etc/samples/traffic-sample.json")
model_b64=$(printf flows | base64)

# The shipped snippet with the daemon and its configuration moved into place.
subst() {
	sed -e "s#/usr/sbin/rb-aioutliers#$daemon#g" -e "s#\"/usr/sbin\"#\"$bld/fcgi\"#g" \
	    -e "s#/etc/rb-aioutliers/rb-aioutliers.conf#$tmp/daemon.conf#g" "$1"
}

# $1 = mpm, $2.. = modules; the snippet is $tmp/snippet.conf, plus a script-path mount.
start_apache() {
	local mpm=$1
	shift
	{
		echo "ServerRoot \"$tmp\""
		echo "ServerName 127.0.0.1"
		echo "Listen 127.0.0.1:$port"
		echo "PidFile $tmp/apache.pid"
		echo "DefaultRuntimeDir $tmp/run"
		echo "Mutex file:$tmp/run default"
		echo "ErrorLog $tmp/apache.error.log"
		echo "LogLevel warn"
		echo "LoadModule mpm_${mpm}_module $mods/mod_mpm_${mpm}.so"
		for m in authz_core alias env "$@"; do echo "LoadModule ${m}_module $mods/mod_$m.so"; done
		echo "User www-data"
		echo "Group www-data"
		echo "DocumentRoot $tmp/www"
		[ "$*" = fcgid ] && echo "FcgidIPCDir $tmp/run" && echo "FcgidProcessTableFile $tmp/run/fcgid_shm"
		echo "Include $tmp/snippet.conf"
		# a script-path mount: SCRIPT_NAME /rb, PATH_INFO the route
		echo "ScriptAlias /rb $daemon"
		if [ "$*" = fcgid ]; then
			printf '<Location /rb>\n  SetHandler fcgid-script\n</Location>\n'
		else
			printf '<Location /rb>\n  SetEnv RB_AIOUTLIERS_CONF %s\n</Location>\n' "$tmp/daemon.conf"
		fi
	} >"$tmp/apache.conf"
	/usr/sbin/apache2 -t -f "$tmp/apache.conf" >"$tmp/apachet.log" 2>&1 ||
		{ fail "apache2 -t: $(cat "$tmp/apachet.log")"; return 1; }
	/usr/sbin/apache2 -X -f "$tmp/apache.conf" >"$tmp/apache.log" 2>&1 &
	apache_pid=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
		sleep 0.1
	done
	fail "Apache did not start: $(tail -n 5 "$tmp/apache.error.log")"
	return 1
}

stop_apache() {
	kill "$apache_pid" 2>/dev/null
	wait "$apache_pid" 2>/dev/null
	apache_pid=
	pkill -f "^$daemon" 2>/dev/null
	sleep 0.3
}

# $1 label, $2 path, $3 want status, $4 want text in the body, rest: curl args
ask() {
	local label=$1 path=$2 want=$3 text=$4
	shift 4
	local code
	code=$(curl -s -o "$tmp/answer" -w '%{http_code}' "$@" "http://127.0.0.1:$port$path")
	if [ "$code" = "$want" ] && grep -q -- "$text" "$tmp/answer"; then
		pass "$label: $path -> $code"
	else
		fail "$label: $path -> $code (wanted $want with '$text'): $(head -c 300 "$tmp/answer")"
		tail -n 5 "$tmp/apache.error.log"
	fi
}

requests() {
	local l=$1
	ask "$l" /health 200 '"status":"ok"'
	ask "$l" /api/v1/outliers 200 '"status":"success"' --data-urlencode "data=$data_b64"
	ask "$l" /api/v1/outliers 200 '"model":"flows"' --data-urlencode "data=$data_b64" \
		--data-urlencode "model=$model_b64"
	ask "$l" /calculate 200 '"status":"success"' --data-urlencode "data=$data_b64"
	ask "$l" /api/v1/outliers 400 '"status":"error"' --data-urlencode "data=bm90IGpzb24="
	ask "$l" /rb/api/v1/outliers 200 '"status":"success"' --data-urlencode "data=$data_b64"
	ask "$l" /rb/health 200 '"status":"ok"'
	ask "$l" /rb/other 404 '"status":"error"'
}

port=$(free_port)
subst "$src/etc/apache/rb-aioutliers-cgi.conf" >"$tmp/snippet.conf"
if start_apache prefork cgi; then
	requests "mod_cgi"
	# what one CGI request costs, start to answer, through Apache (20 each)
	for what in detector model; do
		extra=()
		[ "$what" = model ] && extra=(--data-urlencode "model=$model_b64")
		t0=$(date +%s%N)
		for _ in $(seq 20); do
			curl -s -o /dev/null "${extra[@]}" --data-urlencode "data=$data_b64" \
				"http://127.0.0.1:$port/api/v1/outliers"
		done
		echo "measure: mod_cgi, one request with the $what: $((($(date +%s%N) - t0) / 20000000)) ms wall"
	done
	stop_apache
fi
subst "$src/etc/apache/rb-aioutliers-fcgid.conf" >"$tmp/snippet.conf"
if start_apache event fcgid; then
	requests "mod_fcgid"
	grep -q "'listen' is ignored" "$tmp/apache.error.log" &&
		pass "mod_fcgid: the daemon used Apache's socket and said that listen is ignored" ||
		fail "mod_fcgid: no 'listen is ignored' line in Apache's error log"
	stop_apache
fi

[ "$failures" = 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all CGI checks passed"

#!/usr/bin/env bash
# bench/emulator_days.sh: the model-free detectors end to end on the Druid emulator —
# what they flag of the injected anomalies A1-A6 and what they flag on normal days.
# A measurement, not a test: it prints tables and has no pass/fail on what is flagged.
#
# Starts on loopback: rb-druid-emulator (seed 42), rb-aioutliers (2 workers, Unix socket,
# history = P7D, OMP_NUM_THREADS=1) and lighttpd on a free port, configured from
# etc/lighttpd/rb-aioutliers.conf; every request goes through lighttpd as a `query` form
# field (base64 of a Druid timeseries query: rb_flow, selector on sensor_name, granularity
# PT1M, one aggregation) plus `detector` (plain text), and so gets the configured history
# (P7D; less at the start of the emulator's range, which begins 2023-09-01).
# 1. Anomalies (docs/EMULATOR.md, "Injected anomalies"): per anomaly and metric where it
#    shows, a few hours around its window, once per detector: flagged rows inside the
#    window, flagged rows outside it, the answer's events by kind, history_rows. A4 (an
#    outage) is asked twice: with context.skipEmptyBuckets (the outage is missing rows, a
#    `gap` event) and without it (Druid zero-fills: the outage is rows of 0).
# 2. Normal days: per sensor, per day, per detector, one request for the day's bytes
#    (00:00-24:00 UTC, skipEmptyBuckets as the seed README's query); flagged rows outside the
#    anomaly windows (A5, a level shift that lasts to the end of the data, counts as an
#    anomaly on its first day, 2023-10-16, only: afterwards the new level is normal): per
#    detector the total and the distribution over days, per sensor, and the worst days.
#   bash bench/emulator_days.sh              (builds rb-aioutliers and the emulator into build/)
# Environment:
#   RB_BUILD_DIR        build tree (default build)
#   RB_DAYS_DETECTORS   detectors (default "default novelty iforest-legacy"); "model:NAME"
#                       asks for the model NAME (form field model=NAME: the query is
#                       rewritten with NAME.druid.json, the model sees all its columns)
#   RB_DAYS_MODELS_DIR  the daemon's models_dir (default models/ of the source tree: flows)
#   RB_DAYS_SENSORS     sensors for part 2 (default "FlowSensor FlowSensor2 ASA-Gateway")
#   RB_DAYS_RANGE       days for part 2, START/END dates, END exclusive
#                       (default 2023-09-01/2023-11-01, the emulator's whole range)
#   RB_DAYS_PARTS       "anomalies days" (default both)
#   RB_DAYS_JOBS        requests in flight (default 2, the daemon's workers)
#   RB_DAYS_WORST       worst days listed per detector (default 8)
#   RB_KEEP=1           keep the temporary directory (logs, answers of part 1)
set -euo pipefail
# lighttpd lives in /usr/sbin, which is not in a normal user's PATH on Debian.
export PATH="$PATH:/usr/sbin:/sbin"
cd "$(dirname "$0")/.."
build=$(realpath -m "${RB_BUILD_DIR:-build}")
me=bench/emulator_days.sh
die() { echo "$me: $*" >&2; exit 1; }

for tool in cmake lighttpd curl python3; do
	command -v "$tool" >/dev/null || die "$tool is not installed"
done
if [ ! -f "$build/CMakeCache.txt" ]; then
	cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j2 --target rb-aioutliers rb-druid-emulator >/dev/null
daemon=$build/fcgi/rb-aioutliers
emulator=$build/tests/emulator/rb-druid-emulator

tmp=$(mktemp -d /tmp/rb-emulator-days-XXXXXX)
pids=()
cleanup() {
	local p
	trap - EXIT INT TERM
	local i
	# the last started first: the driver, lighttpd, the daemon, the emulator
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		for _ in $(seq 150); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	if [ -n "${RB_KEEP:-}" ]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

. tests/hosting/free-port.sh

# ---- the stack -------------------------------------------------------------
"$emulator" --listen 127.0.0.1:0 --seed 42 >"$tmp/emulator.log" 2>&1 </dev/null &
pids+=($!)
druid=
for _ in $(seq 100); do
	druid=$(sed -n 's/^listening //p' "$tmp/emulator.log")
	[ -n "$druid" ] && break
	kill -0 "${pids[-1]}" 2>/dev/null || break
	sleep 0.1
done
[ -n "$druid" ] || die "the emulator did not start: $(tail -5 "$tmp/emulator.log")"

models_dir=$(realpath -m "${RB_DAYS_MODELS_DIR:-models}")
mkdir "$tmp/www"
cat >"$tmp/rb-aioutliers.conf" <<EOF
# written by $me
listen = unix:$tmp/svc.sock
listen_mode = 0600
workers = 2
models_dir = $models_dir
druid_url = http://$druid/druid/v2/
allow_root = yes
history = P7D
log_level = warn
EOF
OMP_NUM_THREADS=1 "$daemon" -f -c "$tmp/rb-aioutliers.conf" >"$tmp/daemon.log" 2>&1 </dev/null &
pids+=($!)

port=$(free_port)
sed "s#/run/rb-aioutliers/rb-aioutliers.sock#$tmp/svc.sock#" etc/lighttpd/rb-aioutliers.conf \
	>"$tmp/lighttpd.snippet"
cat >"$tmp/lighttpd.conf" <<EOF
server.document-root = "$tmp/www"
server.bind = "127.0.0.1"
server.port = $port
server.errorlog = "$tmp/lighttpd.error.log"
include "$tmp/lighttpd.snippet"
EOF
lighttpd -D -f "$tmp/lighttpd.conf" >"$tmp/lighttpd.log" 2>&1 </dev/null &
pids+=($!)
base=http://127.0.0.1:$port
for _ in $(seq 300); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ] && break
	sleep 0.1
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health")" = 200 ] ||
	die "the service did not come up: $(tail -5 "$tmp/daemon.log" "$tmp/lighttpd.error.log")"

echo "# $me, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git rev-parse --short HEAD 2>/dev/null || echo '?')," \
     "$(nproc) cores; lighttpd -> rb-aioutliers (2 workers, history P7D) -> rb-druid-emulator (seed 42)"

# ---- the requests and the tables -------------------------------------------
# The driver runs in the background so that SIGINT/SIGTERM reach the trap at once.
cat >"$tmp/driver.py" <<'PY'
import base64, collections, concurrent.futures, datetime as dt, json, os, sys, time
import urllib.parse, urllib.request, urllib.error

URL = os.environ["RB_URL"]
TMP = os.environ["RB_TMP"]
DETECTORS = os.environ.get("RB_DAYS_DETECTORS", "default novelty iforest-legacy").split()
SENSORS = os.environ.get("RB_DAYS_SENSORS", "FlowSensor FlowSensor2 ASA-Gateway").replace(",", " ").split()
RANGE = os.environ.get("RB_DAYS_RANGE", "2023-09-01/2023-11-01")
PARTS = os.environ.get("RB_DAYS_PARTS", "anomalies days").split()
JOBS = int(os.environ.get("RB_DAYS_JOBS", "2"))
WORST = int(os.environ.get("RB_DAYS_WORST", "8"))

# The emulator's metrics (docs/EMULATOR.md): longs sum_bytes, sum_pkts, events (flows);
# clients is a hyperUnique column (exact distinct client IPs).
AGG = {
	"bytes": {"type": "longSum", "name": "bytes", "fieldName": "sum_bytes"},
	"pkts": {"type": "longSum", "name": "pkts", "fieldName": "sum_pkts"},
	"flows": {"type": "longSum", "name": "flows", "fieldName": "events"},
	"clients": {"type": "hyperUnique", "name": "clients", "fieldName": "clients", "round": True},
}

def ts(s):
	return dt.datetime.strptime(s[:16], "%Y-%m-%dT%H:%M").replace(tzinfo=dt.timezone.utc)

def iso(t):
	return t.strftime("%Y-%m-%dT%H:%M:%S+00:00")

DATA_END = ts("2023-11-01T00:00")
# id, sensor, window start, window end (exclusive): docs/EMULATOR.md
WINDOWS = [
	("A1", "FlowSensor", ts("2023-09-21T09:31"), ts("2023-09-21T09:34")),
	("A2", "FlowSensor", ts("2023-09-28T07:00"), ts("2023-09-28T07:05")),
	("A3", "FlowSensor", ts("2023-10-05T10:00"), ts("2023-10-05T11:00")),
	("A4", "FlowSensor2", ts("2023-10-10T14:00"), ts("2023-10-10T16:00")),
	("A5", "ASA-Gateway", ts("2023-10-16T00:00"), DATA_END),
	("A6", "FlowSensor", ts("2023-10-19T02:00"), ts("2023-10-19T02:30")),
]
WIN = {w[0]: w for w in WINDOWS}

def query(sensor, start, end, metric, skip=True):
	q = {
		"dataSource": "rb_flow",
		"granularity": {"type": "period", "period": "PT1M", "origin": iso(start)},
		"intervals": [iso(start) + "/" + iso(end)],
		"filter": {"type": "selector", "dimension": "sensor_name", "value": sensor},
		"queryType": "timeseries",
		"aggregations": [AGG[metric]],
		"postAggregations": [],
	}
	if skip:
		q["context"] = {"skipEmptyBuckets": "true"}
	return q

def ask(q, detector):
	# "model:NAME" asks for a model, anything else for a model-free detector
	# (the model field is base64, as the old API's; detector is plain text)
	if detector.startswith("model:"):
		name = detector[6:]
		field, value = "model", base64.b64encode(name.encode()).decode()
	else:
		name = field = value = detector
		field = "detector"
	body = urllib.parse.urlencode({
		"query": base64.b64encode(json.dumps(q).encode()).decode(),
		field: value,
	}).encode()
	req = urllib.request.Request(URL, data=body, headers={"Expect": ""})
	t0 = time.monotonic()
	try:
		with urllib.request.urlopen(req, timeout=120) as r:
			code, text = r.status, r.read()
	except urllib.error.HTTPError as e:
		code, text = e.code, e.read()
	a = json.loads(text)
	if code != 200 or a.get("status") != "success":
		sys.exit("HTTP %d for detector %s, %s: %s" % (code, detector, q["intervals"][0], text[:300]))
	if a.get("model") != name:
		sys.exit("asked for %s, the answer says model %s" % (detector, a.get("model")))
	a["_secs"] = time.monotonic() - t0
	return a

def flagged(a):
	return [ts(x["timestamp"]) for x in a.get("anomalies", [])]

def kinds(a):
	c = collections.Counter(e["kind"] for e in a.get("events", []))
	return " ".join("%s:%d" % (k, c[k]) for k in sorted(c)) or "-"

def run_all(jobs):
	"""jobs: list of (key, query, detector); returns {key: answer}, in parallel."""
	out = {}
	with concurrent.futures.ThreadPoolExecutor(JOBS) as ex:
		futs = {ex.submit(ask, q, d): k for k, q, d in jobs}
		for f in concurrent.futures.as_completed(futs):
			out[futs[f]] = f.result()
	return out

def hm(t):
	return t.strftime("%H:%M")

# ---- 1. the injected anomalies ----
if "anomalies" in PARTS:
	H = dt.timedelta(hours=1)
	# (id, metric, interval start, end, skipEmptyBuckets)
	cases = [
		("A1", "bytes", ts("2023-09-21T07:00"), ts("2023-09-21T12:00"), True),
		("A1", "bytes", ts("2023-09-21T09:00"), ts("2023-09-21T10:00"), True),  # the demo's hour
		("A2", "bytes", ts("2023-09-28T04:00"), ts("2023-09-28T10:00"), True),
		("A2", "flows", ts("2023-09-28T04:00"), ts("2023-09-28T10:00"), True),
		("A3", "bytes", ts("2023-10-05T07:00"), ts("2023-10-05T14:00"), True),
		("A3", "flows", ts("2023-10-05T07:00"), ts("2023-10-05T14:00"), True),
		("A4", "bytes", ts("2023-10-10T11:00"), ts("2023-10-10T19:00"), True),
		("A4", "bytes", ts("2023-10-10T11:00"), ts("2023-10-10T19:00"), False),
		("A5", "bytes", ts("2023-10-15T21:00"), ts("2023-10-16T15:00"), True),
		("A5", "flows", ts("2023-10-15T21:00"), ts("2023-10-16T15:00"), True),
		("A6", "flows", ts("2023-10-18T23:00"), ts("2023-10-19T05:00"), True),
		("A6", "clients", ts("2023-10-18T23:00"), ts("2023-10-19T05:00"), True),
		("A6", "bytes", ts("2023-10-18T23:00"), ts("2023-10-19T05:00"), True),
	]
	jobs = []
	for i, (aid, metric, s, e, skip) in enumerate(cases):
		for d in DETECTORS:
			jobs.append(((i, d), query(WIN[aid][1], s, e, metric, skip), d))
	t0 = time.monotonic()
	ans = run_all(jobs)
	secs = time.monotonic() - t0
	print()
	print("## 1. Injected anomalies (PT1M, history P7D, %d requests, %.1f s)" % (len(jobs), secs))
	print()
	print("| anomaly | metric | interval (UTC) | detector | in window | first | outside | events | history_rows |")
	print("|---|---|---|---|---|---|---|---|---|")
	for i, (aid, metric, s, e, skip) in enumerate(cases):
		_, sensor, ws, we = WIN[aid]
		for d in DETECTORS:
			a = ans[(i, d)]
			with open("%s/anomaly-%s-%s-%s-%s.json" % (TMP, aid, metric, "skip" if skip else "fill", d.replace(":", "-")), "w") as f:
				json.dump(a, f)
			fl = flagged(a)
			ins = [t for t in fl if ws <= t < we]
			inside = len(ins)
			label = aid + ("" if aid != "A4" else (" skip" if skip else " zero-fill"))
			wend = "end" if we == DATA_END else hm(we)
			print("| %s %s-%s | %s | %s %s-%s | %s | %d | %s | %d | %s | %s |" % (
				label, hm(ws), wend, metric, s.strftime("%m-%d"), hm(s), hm(e), d,
				inside, hm(min(ins)) if ins else "-", len(fl) - inside, kinds(a), a.get("history_rows", "absent")))
	print()
	print("A4 skip: skipEmptyBuckets true, the outage is missing rows (a gap event, no row of its own);")
	print("A4 zero-fill: without it the emulator, like Druid, answers the outage's 120 minutes as 0.")
	gaps = []
	for i, (aid, metric, s, e, skip) in enumerate(cases):
		for d in DETECTORS:
			gaps += ["%s %s %s: %s-%s, %d rows" % (aid, metric, d, hm(ts(g["start"])), hm(ts(g["end"])), g["rows"])
			         for g in ans[(i, d)].get("events", []) if g["kind"] == "gap"]
	print("Gap events (start-end as answered, rows = missing grid points): " + ("; ".join(gaps) or "none"))

# ---- 2. normal days ----
if "days" in PARTS:
	d0, d1 = (dt.date.fromisoformat(x) for x in RANGE.split("/"))
	days = [d0 + dt.timedelta(n) for n in range((d1 - d0).days)]
	# anomaly windows excluded from the count; A5 only on its first day
	excl = [(w[1], w[2], min(w[3], w[2] + dt.timedelta(days=1))) for w in WINDOWS]
	def excluded(sensor, t):
		return any(sensor == s and a <= t < b for s, a, b in excl)
	jobs = []
	for sensor in SENSORS:
		for day in days:
			s = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
			for d in DETECTORS:
				jobs.append(((sensor, day, d), query(sensor, s, s + dt.timedelta(days=1), "bytes"), d))
	t0 = time.monotonic()
	ans = run_all(jobs)
	secs = time.monotonic() - t0
	per = collections.defaultdict(dict)       # detector -> (sensor, day) -> flagged rows
	hours = collections.defaultdict(collections.Counter)  # detector -> hour -> flagged rows
	ev = collections.Counter()                # detector -> events outside the windows
	hist = collections.defaultdict(list)      # detector -> history_rows
	excl_rows = collections.Counter()         # detector -> flagged rows inside the windows
	for (sensor, day, d), a in ans.items():
		fl = flagged(a)
		n = sum(1 for t in fl if not excluded(sensor, t))
		hours[d].update(t.hour for t in fl if not excluded(sensor, t))
		per[d][(sensor, day)] = n
		excl_rows[d] += len(fl) - n
		ev[d] += sum(1 for e in a.get("events", []) if not excluded(sensor, ts(e["start"])))
		hist[d].append(a.get("history_rows", 0))
	print()
	print("## 2. Normal days: bytes, PT1M, one request per sensor-day (00:00-24:00 UTC), history P7D")
	print("%s, %s; %d requests, %.1f s; flagged rows outside the anomaly windows (A5: its first day only)"
	      % (" ".join(SENSORS), RANGE, len(jobs), secs))
	print()
	full = dt.date(2023, 9, 8)   # the first day with a whole week of history before it
	print("| detector | sensor-days | flagged rows | of which from %s | events | days 0 | days 1-5 | days >5 | max day | in windows | history_rows |" % full.strftime("%m-%d"))
	print("|---|---|---|---|---|---|---|---|---|---|---|")
	for d in DETECTORS:
		v = per[d]
		mx = min(v.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))   # the worst, earliest
		print("| %s | %d | %d | %d | %d | %d | %d | %d | %d (%s %s) | %d | %d-%d |" % (
			d, len(v), sum(v.values()), sum(n for (_, day), n in v.items() if day >= full), ev[d], sum(1 for x in v.values() if x == 0),
			sum(1 for x in v.values() if 1 <= x <= 5), sum(1 for x in v.values() if x > 5),
			mx[1], mx[0][0], mx[0][1], excl_rows[d], min(hist[d]), max(hist[d])))
	print()
	print("Flagged rows per sensor:")
	print()
	print("| detector | " + " | ".join(SENSORS) + " |")
	print("|---|" + "---|" * len(SENSORS))
	for d in DETECTORS:
		print("| %s | %s |" % (d, " | ".join(
			str(sum(n for (s, _), n in per[d].items() if s == sensor)) for sensor in SENSORS)))
	print()
	print("Flagged rows by hour of day (UTC hour: rows):")
	for d in DETECTORS:
		print("- %s: %s" % (d, " ".join("%02d:%d" % (h, hours[d][h]) for h in sorted(hours[d])) or "none"))
	print()
	print("Worst days (sensor date: flagged rows):")
	for d in DETECTORS:
		w = sorted(per[d].items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))[:WORST]
		print("- %s: %s" % (d, ", ".join("%s %s: %d" % (s, day.strftime("%m-%d"), n)
		                                  for (s, day), n in w if n > 0) or "none"))
PY
RB_URL=$base/api/v1/outliers RB_TMP=$tmp python3 -u "$tmp/driver.py" </dev/null &
pids+=($!)
wait "${pids[-1]}"

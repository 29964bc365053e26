#!/usr/bin/env bash
# install_manifest: installs this build with `cmake --install` into a scratch
# DESTDIR and checks, against packaging/manifest.txt:
#   - every listed path is installed (a trailing / : an empty directory; a *
#     pattern matches at least one file), and no file is installed that the
#     manifest does not list;
#   - the installed units, snippets and configuration name the installed
#     daemon, configuration and models directory (the paths rewritten for the
#     prefix in use: packaging/install.cmake), and the programs' built-in
#     defaults are those paths;
#   - no installed file is group- or world-writable, every program is
#     executable.
# Usage (ctest sets both): RB_SOURCE_DIR=... RB_BUILD_DIR=... check_manifest.sh
set -u
src=${RB_SOURCE_DIR:?run through ctest}
build=${RB_BUILD_DIR:?run through ctest}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# shellcheck source=/dev/null
. "$build/install-dirs.sh"
root=$tmp/root
if ! out=$(DESTDIR=$root cmake --install "$build" 2>&1); then
	echo "$out"
	fail "cmake --install failed"
	exit 1
fi

# The tree against the manifest (packaging/check-payload.sh, shared with the package builds).
(cd "$root" && find . -mindepth 1 \( -type d -printf 'd /%P\n' \) -o \( -type l -printf 'l /%P\n' \) \
	-o -printf 'f /%P\n') >"$tmp/listing"
if out=$(bash "$src/packaging/check-payload.sh" "$build/install-dirs.sh" "$tmp/listing"); then
	echo "$out"
else
	echo "$out"
	fail "the installed tree does not match packaging/manifest.txt"
fi

# Installed files name installed paths.
unit=$root$UNITDIR/rb-aioutliers.service
exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
conf=$(sed -n 's/^ExecStart=.* -c \([^ ]*\).*/\1/p' "$unit")
[ "$exe" = "$SBINDIR/rb-aioutliers" ] && [ -x "$root$exe" ] &&
	[ "$conf" = "$CONFDIR/rb-aioutliers.conf" ] && [ -f "$root$conf" ] &&
	pass "rb-aioutliers.service starts the installed daemon ($exe) with the installed configuration" ||
	fail "rb-aioutliers.service: ExecStart names '$exe' -c '$conf'"
spawn=$(sed -n 's/^ExecStart=.* -- \([^ ]*\).*/\1/p' "$root$UNITDIR/rb-aioutliers-spawn-fcgi.service")
[ "$spawn" = "$SBINDIR/rb-aioutliers" ] && pass "rb-aioutliers-spawn-fcgi.service runs $spawn" ||
	fail "rb-aioutliers-spawn-fcgi.service runs '$spawn'"
binpath=$(grep -o '"bin-path" => "[^ "]*' "$root$SHAREDIR/lighttpd/rb-aioutliers-spawn.conf" |
	sed 's/.*"//')
[ "$binpath" = "$SBINDIR/rb-aioutliers" ] && pass "the lighttpd bin-path snippet runs $binpath" ||
	fail "lighttpd snippet bin-path '$binpath'"
listen=$(sed -n 's/^listen = //p' "$root$CONFDIR/rb-aioutliers.conf")
[ "$listen" = "unix:/run/rb-aioutliers/rb-aioutliers.sock" ] &&
	pass "the installed configuration listens on the unit's socket ($listen)" ||
	fail "installed configuration: listen = '$listen'"
models=$(sed -n 's/^models_dir = //p' "$root$CONFDIR/rb-aioutliers.conf")
[ "$models" = "$SHAREDIR/models" ] && [ -d "$root$models" ] &&
	pass "the installed configuration reads models from $models" ||
	fail "installed configuration: models_dir = '$models'"
# A fresh install has a model of its own: the shipped flows (models/flows.*) loads in the
# daemon (-t) and answers through the installed rb-aioutliers-detect, with nothing of ../shared.
printf 'models_dir = %s\ntrained_models_dir =\nallow_root = yes\n' "$root$SHAREDIR/models" \
	>"$root/fresh.conf"
"$root$SBINDIR/rb-aioutliers" -t -c "$root/fresh.conf" 2>&1 | grep -q "^# model flows from " &&
	pass "a fresh install's daemon loads the shipped model flows (-t)" ||
	fail "rb-aioutliers -t does not load the shipped model flows"
rm -f "$root/fresh.conf"
"$root$BINDIR/rb-aioutliers-detect" --models-dir "$root$SHAREDIR/models" --model flows \
	"$src/etc/samples/traffic-sample.json" 2>&1 | grep -q '"model":"flows"' &&
	pass "the installed rb-aioutliers-detect answers with the shipped model flows" ||
	fail "rb-aioutliers-detect --model flows on the installed models failed"
"$root$SBINDIR/rb-aioutliers" -h 2>&1 | grep -qF "$CONFDIR/rb-aioutliers.conf)" &&
	pass "the daemon's built-in configuration path is $CONFDIR/rb-aioutliers.conf" ||
	fail "rb-aioutliers -h does not name $CONFDIR/rb-aioutliers.conf"
"$root$BINDIR/rb-aioutliers-train" --help 2>&1 | grep -qF "default $STATEDIR/models" &&
	pass "rb-aioutliers-train writes to $STATEDIR/models by default (the writable models directory)" ||
	fail "rb-aioutliers-train --help does not name $STATEDIR/models"
"$root$BINDIR/rb-aioutliers-detect" --help 2>&1 | grep -qF "default $SHAREDIR/models" &&
	pass "rb-aioutliers-detect's built-in models directory is $SHAREDIR/models" ||
	fail "rb-aioutliers-detect --help does not name $SHAREDIR/models"

# Modes.
writable=$(cd "$root" && find . -type f -perm /022 -printf '/%P\n')
[ -z "$writable" ] && pass "no installed file is group- or world-writable" ||
	fail "group- or world-writable: $writable"
for p in "$SBINDIR/rb-aioutliers" "$BINDIR/rb-aioutliers-detect" \
	"$LIBEXECDIR/rb-aioutliers/rb-aioutliers-detect-full"; do
	[ -x "$root$p" ] || fail "$p is not executable"
done

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all install checks passed"

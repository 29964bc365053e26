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

# Expected paths, variables expanded; globs expanded against the install.
expand() {
	sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$src/packaging/manifest.txt" |
	while read -r line; do
		eval "printf '%s\n' \"$line\""
	done
}
: >"$tmp/want"
while read -r p; do
	case $p in
	*/) if [ -d "$root$p" ] && [ -z "$(ls -A "$root$p")" ]; then echo "${p%/}" >>"$tmp/want"
	    else fail "manifest: $p is not installed as an empty directory"; fi ;;
	*\**) n=0
	    for f in $root$p; do [ -f "$f" ] && { echo "${f#"$root"}" >>"$tmp/want"; n=$((n + 1)); }; done
	    [ "$n" -gt 0 ] || fail "manifest: $p matches no installed file" ;;
	*) echo "$p" >>"$tmp/want" ;;
	esac
done < <(expand)
sort -u -o "$tmp/want" "$tmp/want"
(cd "$root" && find . \( -type f -o -type l \) -printf '/%P\n'
 find . -type d -empty -printf '/%P\n') | sort -u >"$tmp/have"
missing=$(comm -23 "$tmp/want" "$tmp/have")
extra=$(comm -13 "$tmp/want" "$tmp/have")
[ -z "$missing" ] && pass "every path of the manifest is installed ($(wc -l <"$tmp/want") paths)" ||
	fail "listed in packaging/manifest.txt but not installed:"$'\n'"$missing"
[ -z "$extra" ] && pass "nothing is installed that the manifest does not list" ||
	fail "installed but not in packaging/manifest.txt:"$'\n'"$extra"

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
models=$(sed -n 's/^models_dir = //p' "$root$CONFDIR/rb-aioutliers.conf")
[ "$models" = "$SHAREDIR/models" ] && [ -d "$root$models" ] &&
	pass "the installed configuration reads models from $models" ||
	fail "installed configuration: models_dir = '$models'"
"$root$SBINDIR/rb-aioutliers" -h 2>&1 | grep -qF "(default $CONFDIR/rb-aioutliers.conf)" &&
	pass "the daemon's built-in configuration path is $CONFDIR/rb-aioutliers.conf" ||
	fail "rb-aioutliers -h does not name $CONFDIR/rb-aioutliers.conf"
"$root$BINDIR/rb-aioutliers-detect" --help 2>&1 | grep -qF "default $SHAREDIR/models" &&
	pass "rb-aioutliers-detect's built-in models directory is $SHAREDIR/models" ||
	fail "rb-aioutliers-detect --help does not name $SHAREDIR/models"

# Modes.
writable=$(cd "$root" && find . -type f -perm /022 -printf '/%P\n')
[ -z "$writable" ] && pass "no installed file is group- or world-writable" ||
	fail "group- or world-writable: $writable"
for p in "$SBINDIR/rb-aioutliers" "$BINDIR/rb-aioutliers-detect"; do
	[ -x "$root$p" ] || fail "$p is not executable"
done

if [ "$failures" -gt 0 ]; then
	echo "$failures check(s) failed"
	exit 1
fi
echo "all install checks passed"

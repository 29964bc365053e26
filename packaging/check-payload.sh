#!/usr/bin/env bash
# packaging/check-payload.sh DIRS LISTING: checks a package payload (or an
# install tree) against packaging/manifest.txt. DIRS is a shell file setting
# the manifest's directory variables (the install-dirs.sh CMake writes into a
# build directory); LISTING has one "TYPE /absolute/path" per line: TYPE is d
# (directory), - (file), l (symlink) or a whole mode string (drwxr-xr-x) as
# `dpkg-deb -c` or rpm's FILEMODES:perms give it; only its first letter
# counts, and anything but d is a file. Checks: every file of the manifest is
# in the payload; the payload has no file the manifest does not list (allowed:
# what the package tools add, i.e. changelog and copyright under
# /usr/share/doc/rb-aioutliers/, the deb's lintian overrides and rpm's
# /usr/lib/.build-id/ links; manual pages and documentation may be
# compressed, NAME.gz standing for NAME); a directory the manifest lists with
# a trailing / is there with nothing under it. Prints ok:/FAIL: lines; exit 1
# on a failure.
set -u
dirs=${1:?usage: check-payload.sh DIRS LISTING}
listing=${2:?usage: check-payload.sh DIRS LISTING}
src=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=/dev/null
. "$dirs"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

cat "$listing" >"$tmp/listing" # read twice below; LISTING may be a pipe
# Package tools compress manual pages and documentation: compare without .gz.
awk 'substr($1, 1, 1) != "d" {print $2}' "$tmp/listing" | sed -e 's#/$##' -e "s#^\(\($MANDIR\|$DOCDIR\)/.*\)\.gz\$#\1#" |
	sort -u >"$tmp/files"
awk 'substr($1, 1, 1) == "d" {print $2}' "$tmp/listing" | sed 's#/$##' | sort -u >"$tmp/dirs"
: >"$tmp/want"
: >"$tmp/globs"
sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$src/packaging/manifest.txt" |
while read -r line; do
	eval "printf '%s\n' \"$line\""
done >"$tmp/expanded"
while read -r p; do
	case $p in
	*/) d=${p%/}
	    if ! grep -qxF "$d" "$tmp/dirs"; then fail "manifest: directory $p is not in the payload"
	    elif grep -q "^$d/" "$tmp/files"; then fail "manifest: directory $p is not empty"; fi ;;
	*\**) echo "$p" >>"$tmp/globs" ;;
	*) echo "$p" >>"$tmp/want" ;;
	esac
done <"$tmp/expanded"
# Globs match within one path component, against the payload's files.
while read -r g; do
	n=0
	while read -r f; do
		# shellcheck disable=SC2053
		if [[ $f == $g && ${f#"${g%%\**}"} != */* ]]; then echo "$f" >>"$tmp/want"; n=$((n + 1)); fi
	done <"$tmp/files"
	[ "$n" -gt 0 ] || fail "manifest: $g matches no file of the payload"
done <"$tmp/globs"
sort -u -o "$tmp/want" "$tmp/want"
missing=$(comm -23 "$tmp/want" "$tmp/files")
extra=$(comm -13 "$tmp/want" "$tmp/files" |
	grep -vxE "$DOCDIR/(changelog\.Debian|changelog|copyright)|/usr/share/lintian/overrides/rb-aioutliers" |
	grep -v '^/usr/lib/\.build-id/' || true)
if [ -z "$missing" ]; then echo "ok: every file of the manifest is in the payload ($(wc -l <"$tmp/want") files)"
else fail "listed in packaging/manifest.txt but not in the payload:"$'\n'"$missing"; fi
if [ -z "$extra" ]; then echo "ok: the payload has no file the manifest does not list"
else fail "in the payload but not in packaging/manifest.txt:"$'\n'"$extra"; fi
[ "$failures" = 0 ]

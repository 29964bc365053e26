#!/usr/bin/env bash
# packaging/build-deb.sh OUTDIR: builds the Debian binary package of this tree
# (its git-tracked files as they are in the working tree) into OUTDIR, checks
# its payload against packaging/manifest.txt and runs lintian on it (errors
# and warnings fail).
#   bash packaging/build-deb.sh /tmp/debs
# Needs debhelper, dpkg-dev, fakeroot, lintian and the build dependencies of
# packaging/debian/control (etc/setup.sh installs them). debian/ is kept in
# packaging/debian/ (the top level of the tree is fixed) and copied into a
# scratch copy of the tree for dpkg-buildpackage.
set -euo pipefail
out=${1:?usage: build-deb.sh OUTDIR}
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
version=$(sed -n 's/^project(rb-aioutliers VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
debversion=$(sed -n '1s/^rb-aioutliers (\([^)]*\)).*/\1/p' "$src/packaging/debian/changelog")
if [ "${debversion%-*}" != "$version" ] && [ "$debversion" != "$version" ]; then
	echo "build-deb.sh: packaging/debian/changelog says $debversion, CMakeLists.txt $version" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/rb-aioutliers-$version
mkdir "$tree"
(cd "$src" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$tree"
cp -r "$src/packaging/debian" "$tree/debian"
echo "== dpkg-buildpackage -b -us -uc ($tree)"
(cd "$tree" && dpkg-buildpackage -b -us -uc -j"$(nproc)") >"$tmp/build.log" 2>&1 || {
	tail -n 60 "$tmp/build.log"
	echo "build-deb.sh: dpkg-buildpackage failed (log above)" >&2
	exit 1
}
debs=("$tmp"/rb-aioutliers_*.deb)
cp "${debs[@]}" "$out/"
deb=$out/$(basename "${debs[0]}")
echo "== built $deb"

# Payload against the manifest, with Debian's directories.
obj=$(ls -d "$tree"/obj-*/ | head -n 1)
bash "$src/packaging/check-payload.sh" "$obj/install-dirs.sh" \
	<(dpkg-deb -c "$deb" | awk '{print substr($1, 1, 1) " " $6}' | sed 's#^\(.\) \./#\1 /#')

# Lintian: clean, or the tag is overridden with its reason in
# packaging/debian/rb-aioutliers.lintian-overrides. Errors and warnings fail the build.
echo "== lintian"
lintian --fail-on error,warning --info "$deb"
echo "== lintian clean: $deb"

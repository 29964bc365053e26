#!/usr/bin/env bash
# packaging/build-rpm.sh OUTDIR: builds the rpm of this tree (its git-tracked
# files as they are in the working tree) with packaging/rpm/rb-aioutliers.spec
# into OUTDIR and checks its payload against packaging/manifest.txt (rpm -qp).
#   bash packaging/build-rpm.sh /tmp/rpms
# On an EL8/EL9 host with the BuildRequires installed this is the real build.
# On Debian (here, CI) it uses Debian's rpmbuild with --nodeps (the build
# dependencies are Debian packages, which rpm's database does not know) and
# without a debuginfo subpackage (no find-debuginfo); the payload is the same.
set -euo pipefail
out=${1:?usage: build-rpm.sh OUTDIR}
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
spec=$src/packaging/rpm/rb-aioutliers.spec
version=$(sed -n 's/^project(rb-aioutliers VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
specversion=$(sed -n 's/^Version: *//p' "$spec")
if [ "$specversion" != "$version" ]; then
	echo "build-rpm.sh: the spec says $specversion, CMakeLists.txt $version" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{SOURCES,SPECS,BUILD,RPMS,SRPMS}
(cd "$src" && git ls-files -z | tar --null -T - --transform "s#^#rb-aioutliers-$version/#" \
	-czf "$tmp/SOURCES/rb-aioutliers-$version.tar.gz")
cp "$spec" "$tmp/SPECS/"
extra=()
if [ -f /etc/debian_version ]; then
	extra=(--nodeps --define 'debug_package %{nil}')
fi
echo "== rpmbuild -bb ${extra[*]}"
rpmbuild -bb "${extra[@]}" --define "_topdir $tmp" --define "rb_dirs_out $tmp/install-dirs.sh" \
	"$tmp/SPECS/rb-aioutliers.spec" \
	>"$tmp/build.log" 2>&1 || {
	tail -n 60 "$tmp/build.log"
	echo "build-rpm.sh: rpmbuild failed (log above)" >&2
	exit 1
}
rpms=("$tmp"/RPMS/*/rb-aioutliers-"$version"-*.rpm)
cp "${rpms[@]}" "$out/"
rpmfile=$out/$(basename "${rpms[0]}")
echo "== built $rpmfile"
bash "$src/packaging/check-payload.sh" "$tmp/install-dirs.sh" \
	<(rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null)
flags=$(rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILENAMES}\n]' "$rpmfile" 2>/dev/null |
	sed -n 's#^\([a-z]*\) /etc/rb-aioutliers/rb-aioutliers.conf$#\1#p')
case $flags in
*c*n* | *n*c*) echo "ok: /etc/rb-aioutliers/rb-aioutliers.conf is %config(noreplace)" ;;
*) echo "FAIL: /etc/rb-aioutliers/rb-aioutliers.conf has flags '$flags', wanted config noreplace"
   exit 1 ;;
esac
echo "== scriptlets"
macros=$(rpm -qp --scripts "$rpmfile" 2>/dev/null | grep -c '%' || true) # grep -c: 1 when none
if [ "$macros" = 0 ]; then
	echo "ok: no unexpanded macro in the scriptlets"
else
	echo "FAIL: $macros scriptlet lines with an unexpanded macro (%):"
	rpm -qp --scripts "$rpmfile" 2>/dev/null | grep '%'
	exit 1
fi

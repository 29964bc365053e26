#!/usr/bin/env bash
# The layout rules of docs/ARCHITECTURE.md, checked on the source tree:
#  1. every C source of core/ sits in a subsystem folder (core/<subsystem>/), and every
#     public header is include/rb/<subsystem>/<module>.h for a folder that exists;
#  2. quoted includes follow one rule: "rb/<subsystem>/<module>.h" for public headers, a bare
#     "x.h" only for a private header beside the including file, a source-root path
#     ("core/...", "fcgi/...", "tests/...") only from tests/ and bench/; never "../";
#  3. the subsystems depend on each other in one direction (the table below): base <- input,
#     model <- druid, detect <- answer, model + druid <- store, input + druid <- explain; nothing in core/ or include/ sees fcgi/.
# Exit 0 when all hold; otherwise one line per violation and exit 1.
set -uo pipefail
cd "${RB_SOURCE_DIR:-$(dirname "$0")/../..}"

# Subsystem -> the subsystems it may include (itself and base always allowed).
declare -A allowed=(
  [base]=""
  [input]=""
  [model]=""
  [druid]="input model"
  [detect]="input model"
  [answer]="input detect"
  [train]="input model detect druid"
  [explain]="input druid"
  [store]="input model druid"
)
fail=0
bad() { echo "layout: $*"; fail=1; }

for f in core/*.c core/*.h; do
  [ -e "$f" ] && bad "$f: a core source outside a subsystem folder"
done
for d in core/*/; do
  s=$(basename "$d")
  [ "$s" = bin ] && continue
  [ -n "${allowed[$s]+x}" ] || bad "core/$s/: a subsystem missing from the dependency table of tests/layout/check_layout.sh and docs/ARCHITECTURE.md"
done
for h in include/rb/*/*.h; do
  s=$(basename "$(dirname "$h")")
  [ -d "core/$s" ] || [ -d "$s" ] || bad "$h: no core/$s/ or $s/ folder for this header"
done
ls include/*.h >/dev/null 2>&1 && bad "include/: headers outside include/rb/<subsystem>/"

while IFS= read -r line; do
  file=${line%%:*}
  rest=${line#*:}
  lineno=${rest%%:*}
  inc=$(printf '%s' "$rest" | sed -n 's/^[0-9]*:[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p')
  [ -n "$inc" ] || continue
  dir=$(dirname "$file")
  case "$inc" in
    ../*|*/../*) bad "$file:$lineno: \"$inc\": no ../ in includes" ;;
    rb/*)
      [ -f "include/$inc" ] || bad "$file:$lineno: \"$inc\": no such public header" ;;
    */*)
      case "$file" in
        tests/*|bench/*) [ -f "$inc" ] || [ -f "$dir/$inc" ] || [ -f "tests/$inc" ] ||
                           bad "$file:$lineno: \"$inc\": not found from the source root" ;;
        *) bad "$file:$lineno: \"$inc\": outside tests/ and bench/ only rb/... or a header beside the file" ;;
      esac ;;
    *)
      case "$file" in
        tests/*|bench/*) ;;
        *) [ -f "$dir/$inc" ] || bad "$file:$lineno: \"$inc\": not a private header beside the file" ;;
      esac ;;
  esac
  # Dependency direction, for core/<s>/ and include/rb/<s>/.
  case "$file" in
    core/bin/*) [[ "$inc" == rb/fcgi/* ]] && bad "$file:$lineno: a core command includes fcgi ($inc)" ;;
    core/*/*|include/rb/*/*)
      case "$file" in core/*) s=$(echo "$file" | cut -d/ -f2) ;; *) s=$(echo "$file" | cut -d/ -f3) ;; esac
      [ "$s" = fcgi ] && continue
      if [[ "$inc" == rb/*/* ]]; then
        t=$(echo "$inc" | cut -d/ -f2)
        if [ "$t" != "$s" ] && [ "$t" != base ] && [[ " ${allowed[$s]:-} " != *" $t "* ]]; then
          bad "$file:$lineno: $s may not include $inc (allowed: base ${allowed[$s]:-})"
        fi
      fi ;;
  esac
done < <(grep -rn --include='*.c' --include='*.h' --include='*.inc' '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' \
           core fcgi include tests bench | grep -v '^tests/emulator/')

[ "$fail" = 0 ] && echo "layout: core/ subsystems, include/rb/ and every quoted include follow docs/ARCHITECTURE.md"
exit "$fail"

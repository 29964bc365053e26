#!/usr/bin/env bash
# Installs the Debian packages listed in packaging/debian-deps.txt that are missing.
#   bash etc/setup.sh          install what is missing (needs root)
#   bash etc/setup.sh --check  print the missing package names, install nothing
set -euo pipefail
cd "$(dirname "$0")/.."
wanted=$(sed 's/#.*//' packaging/debian-deps.txt | tr -s ' \n' '\n' | sed '/^$/d')
missing=""
for p in $wanted; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
missing=${missing# }
if [ "${1:-}" = "--check" ]; then
  echo "$missing"
  exit 0
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "etc/setup.sh: need root to install:$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# lighttpd and apache2 would both try to start on port 80 when installed; the project starts
# its own instances on loopback ports, so keep the packages' services from starting here.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=1
fi
trap '[ "$own_policy" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing

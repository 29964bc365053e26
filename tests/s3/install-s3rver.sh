#!/usr/bin/env bash
# Installs s3rver (the npm package: an S3-compatible server in Node.js, for tests on
# loopback) and AWS's Signature V4 signer (@smithy/signature-v4, for tests/s3/sigv4_proxy.js)
# into DIR (default build/s3rver) with npm; prints the path of s3rver's command.
# Used by .ci/run and by hand; tests/s3/check_s3_sync.sh looks there (or at $RB_S3RVER).
set -euo pipefail
dir=${1:-$(dirname "$0")/../../build/s3rver}
mkdir -p "$dir"
bin=$dir/node_modules/.bin/s3rver
if [ ! -x "$bin" ]; then
	if ! command -v npm >/dev/null; then
		# Debian's npm (not in packaging/debian-deps.txt: it conflicts with a nodejs that
		# bundles npm, as NodeSource's does); as root, install it here
		[ "$(id -u)" = 0 ] || { echo "install-s3rver: npm is missing (apt-get install npm)" >&2; exit 1; }
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends npm >&2
	fi
	npm install --prefix "$dir" --no-audit --no-fund --silent s3rver@3.7.1 >&2
fi
# AWS's own Signature V4 signer, for tests/s3/sigv4_proxy.js (s3rver checks no signature)
if [ ! -d "$dir/node_modules/@smithy/signature-v4" ] || [ ! -d "$dir/node_modules/@aws-crypto/sha256-js" ]; then
	npm install --prefix "$dir" --no-audit --no-fund --silent @smithy/signature-v4@5.7.5 \
		@aws-crypto/sha256-js@5.2.0 >&2
fi
echo "$(cd "$(dirname "$bin")" && pwd)/s3rver"

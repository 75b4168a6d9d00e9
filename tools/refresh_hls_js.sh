#!/bin/sh
# Refresh the vendored hls.js (light build) from npm: the version lives in one place, the VERSION file beside it.
#   tools/refresh_hls_js.sh            re-fetch the pinned version
#   tools/refresh_hls_js.sh 1.7.5      pin and fetch another version
set -eu
dest="$(cd "$(dirname "$0")/.." && pwd)/episodes/static/episodes/vendor/hls.js"
[ $# -ge 1 ] && printf '%s\n' "$1" > "$dest/VERSION"
version="$(cat "$dest/VERSION")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "hls.js@$version" >/dev/null && tar xzf "hls.js-$version.tgz")
cp "$work/package/dist/hls.light.min.js" "$dest/hls.light.min.js"
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "hls.js $version -> $dest"

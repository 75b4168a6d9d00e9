#!/bin/sh
# Refresh the studio's vendored npm libraries to the versions pinned in static/studio/vendor/VERSIONS.
# Usage: sh episodes/studio/vendor_refresh.sh   (needs npm; nothing is fetched at run time, never a CDN)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vendor="$here/static/studio/vendor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' "$vendor/VERSIONS" | while read -r name version file licence; do
  [ -n "$name" ] || continue
  (cd "$tmp" && npm pack --silent "$name@$version" >/dev/null && mkdir -p "$name" && tar xzf ./*"$version".tgz -C "$name")
  mkdir -p "$vendor/$name"
  cp "$tmp/$name/package/$file" "$vendor/$name/"
  cp "$tmp/$name/package/LICENSE" "$vendor/$name/LICENSE"
  echo "$name $version ($licence) -> $vendor/$name/$(basename "$file")"
  rm -f "$tmp"/*.tgz
done

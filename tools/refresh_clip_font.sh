#!/bin/sh
# Refresh the caption font of social clips (Noto Sans Bold, SIL OFL 1.1) from npm's @fontsource/noto-sans:
# the Latin, Latin Extended and Cyrillic subsets (libass picks the file that has each glyph). Version: VERSION.
#   tools/refresh_clip_font.sh [version]
set -eu
dest="$(cd "$(dirname "$0")/.." && pwd)/episodes/media/fonts/noto-sans"
[ $# -ge 1 ] && printf '%s\n' "$1" > "$dest/VERSION"
version="$(cat "$dest/VERSION")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@fontsource/noto-sans@$version" >/dev/null && tar xzf fontsource-noto-sans-*.tgz)
for subset in latin latin-ext cyrillic; do
  cp "$work/package/files/noto-sans-$subset-700-normal.woff" "$dest/"
done
cp "$work/package/LICENSE" "$dest/LICENSE"
echo "@fontsource/noto-sans $version -> $dest"

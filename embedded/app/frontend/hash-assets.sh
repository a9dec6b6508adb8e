#!/bin/sh
# hash-assets.sh SITE_DIR: renames app.js and app.css to app.<first 12 hex of their SHA-256>.js/.css
# and points index.html at the new names, so nginx can serve them `immutable` and a redeploy
# never meets a stale bundle (index.html itself is served no-cache). Run at image build.
set -eu
site=$1
for asset in app.js app.css; do
    [ -f "$site/$asset" ] || { echo "hash-assets: $site/$asset missing" >&2; exit 1; }
    hash=$(sha256sum "$site/$asset" | cut -c1-12)
    hashed="${asset%.*}.$hash.${asset##*.}"
    mv "$site/$asset" "$site/$hashed"
    sed "s|\"$asset\"|\"$hashed\"|" "$site/index.html" >"$site/index.html.tmp"
    mv "$site/index.html.tmp" "$site/index.html"
    grep -q "\"$hashed\"" "$site/index.html" || { echo "hash-assets: index.html does not load $asset" >&2; exit 1; }
done

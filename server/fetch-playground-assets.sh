#!/usr/bin/env bash
# Fills a directory with the GraphiQL playground's assets from the npm
# registry, for networks without internet access:
#   server/fetch-playground-assets.sh ./playground-assets
#   CLOUDBILL_PLAYGROUND_ASSETS=./playground-assets go run ./server
# The files are the CDN's own (graphiql@4.1.2, react@18.2.0,
# react-dom@18.2.0), so the page's subresource-integrity hashes still hold.
set -euo pipefail
dest=${1:-./playground-assets}
mkdir -p "$dest"
dest=$(cd "$dest" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for pkg in graphiql@4.1.2 react@18.2.0 react-dom@18.2.0; do
  npm pack --silent "$pkg" >/dev/null
done
for t in *.tgz; do mkdir -p "${t%.tgz}" && tar -xzf "$t" -C "${t%.tgz}"; done
cp graphiql-4.1.2/package/graphiql.min.js graphiql-4.1.2/package/graphiql.min.css "$dest/"
cp react-18.2.0/package/umd/react.production.min.js "$dest/"
cp react-dom-18.2.0/package/umd/react-dom.production.min.js "$dest/"
echo "playground assets in $dest:"
ls -1 "$dest"

#!/usr/bin/env bash
# Runs the graphql-http audit suite (npm graphql-http) against a running
# server: server/graphql-http-audit.sh [http://127.0.0.1:8080/graphql]
# Prints every check that is not ok and the totals by level (MUST/SHOULD/MAY).
set -euo pipefail
url=${1:-http://127.0.0.1:8080/graphql}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
npm init -y >/dev/null
npm install --silent graphql-http@1 graphql@16 >/dev/null 2>&1
cat > audit.js <<'JS'
const { auditServer } = require('graphql-http');
(async () => {
  const results = await auditServer({ url: process.argv[2] });
  const counts = {};
  let mustFailed = 0;
  for (const r of results) {
    const key = r.name.split(' ')[0] + ' ' + r.status;
    counts[key] = (counts[key] || 0) + 1;
    if (r.status !== 'ok') console.log(r.status, r.id, r.name);
    if (r.name.startsWith('MUST') && r.status !== 'ok') mustFailed++;
  }
  console.log(JSON.stringify(counts));
  process.exit(mustFailed ? 1 : 0);
})();
JS
node audit.js "$url"

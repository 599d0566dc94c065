#!/usr/bin/env bash
# Rebuild the web UI's vendored JavaScript from the npm registry. Run while developing only:
# the built files are committed and ship in the wheel, so no Node.js is needed at run time.
set -euo pipefail
cd "$(dirname "$0")/.."

MERMAID_VERSION=11.17.2
VENDOR=src/statemachine_engine/ui/static/vendor

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
npm install --silent --no-audit --no-fund --prefix "$work" "mermaid@$MERMAID_VERSION"

mkdir -p "$VENDOR"
cp "$work/node_modules/mermaid/dist/mermaid.min.js" "$VENDOR/mermaid.min.js"
cp "$work/node_modules/mermaid/LICENSE" "$VENDOR/mermaid.LICENSE"
echo "$MERMAID_VERSION" >"$VENDOR/mermaid.VERSION"
echo "vendored mermaid $MERMAID_VERSION into $VENDOR"

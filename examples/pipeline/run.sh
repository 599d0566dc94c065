#!/usr/bin/env bash
# Starts the three stages; ingest sends its items down the pipeline followed by an
# end-of-stream marker, and each stage ends once the marker has passed through it.
set -euo pipefail
cd "$(dirname "$0")"
statemachine publish.yaml &
publish=$!
statemachine transform.yaml &
transform=$!
statemachine ingest.yaml
wait "$transform" "$publish"

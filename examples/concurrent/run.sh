#!/usr/bin/env bash
# Queues five jobs, then starts the controller: it spawns one task machine per job in
# its own process, waits for all of them, and ends.
set -euo pipefail
cd "$(dirname "$0")"
for item in alpha beta gamma delta epsilon; do
    statemachine-db add-job "$item" --type task \
        --payload "{\"item\": \"$item\", \"seconds\": 0.2}" >/dev/null
done
statemachine controller.yaml

#!/usr/bin/env bash
# Queues five jobs, then starts the dispatcher: it spawns one task machine per job in
# its own process, waits for all of them, and ends. The store gives each job a new id,
# so the script can run again and again; the machines are named after the items.
set -euo pipefail
cd "$(dirname "$0")"
for item in alpha beta gamma delta epsilon; do
    statemachine-db add-job --type task \
        --payload "{\"item\": \"$item\", \"seconds\": 0.2}" >/dev/null
done
statemachine dispatcher.yaml

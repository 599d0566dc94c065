#!/usr/bin/env bash
# Starts the worker in the background and the controller in the foreground; the
# controller hands out its tasks, then stops the worker, and both end by themselves.
set -euo pipefail
cd "$(dirname "$0")"
statemachine worker.yaml &
worker=$!
statemachine controller.yaml
wait "$worker"

#!/usr/bin/env bash
# Sends the router five files, then starts the media worker in the background and the
# router in the foreground. Events wait in the router's inbox until it starts; it
# queues the work, checks the backlog until it is done, then stops the worker.
set -euo pipefail
cd "$(dirname "$0")"
# (2>/dev/null: each send would warn that no router has run yet; it gets them on start)
send() { statemachine-db send-event --target router --type "$@" > /dev/null 2>&1; }
send new_file --payload '{"path": "cat.png", "kind": "image", "size": 1200}'
send new_file --payload '{"path": "talk.mp4", "kind": "video", "size": 5000000}'
send new_file --payload '{"path": "notes.txt", "kind": "text", "size": 300}'
send new_file --payload '{"path": "cat.png", "kind": "image", "size": 1200}'
send new_file --payload '{"path": "film.mkv", "kind": "video", "size": 900000000}'
send no_more_files
statemachine media_worker.yaml &
worker=$!
statemachine router.yaml
wait "$worker"

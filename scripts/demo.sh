#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the end-to-end demo: local registry seeded with sample images
# -> crawl -> scan -> stats -> report. Prints the report's path. Extra arguments go to `hubscope demo`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
exec "$VENV/bin/hubscope" demo "$@"

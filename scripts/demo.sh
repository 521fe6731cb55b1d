#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the end-to-end demo: local registry seeded with sample images
# -> crawl -> scan -> stats -> report. Prints the report's path. Extra arguments go to `hubscope demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
bash scripts/setup.sh
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"
exec "$VENV/bin/hubscope" demo "$@"

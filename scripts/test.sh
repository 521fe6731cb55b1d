#!/usr/bin/env bash
# Set up (scripts/setup.sh) and run the whole test suite. Tests start their own services on loopback.
set -euo pipefail
HUBSCOPE_SETUP_ARGS=--tests source "$(dirname "$0")/env.sh"
set +e
"$VENV/bin/python" -m pytest "$@"
rc=$?
set -e
if [ "$rc" = 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi
exit "$rc"

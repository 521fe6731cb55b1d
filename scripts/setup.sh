#!/usr/bin/env bash
# Install everything hubscope needs on a fresh Debian/Ubuntu machine: system packages (apt) and a
# virtualenv at $VENV (default .venv) with hubscope and its dev extras. Safe to rerun.
#
#   bash scripts/setup.sh            # what the demo and hubscope itself need
#   bash scripts/setup.sh --tests    # also what only some tests need: docker.io (the daemon-source
#                                    # and container tests start a private dockerd) and chromium
#                                    # (the report's screenshot test); scripts/test.sh passes it
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
APT_PACKAGES=(docker-registry skopeo umoci apache2-utils libmagic1 isal openjdk-17-jre-headless python3-venv dpkg)
NEEDED_BINS=(docker-registry skopeo umoci htpasswd igzip java)
if [ "${1:-}" = "--tests" ]; then
  APT_PACKAGES+=(docker.io chromium)
  NEEDED_BINS+=(dockerd chromium)
fi

need_apt=0
for bin in "${NEEDED_BINS[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || need_apt=1
done
if [ "$need_apt" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  apt_retry() { for i in $(seq 1 30); do $SUDO apt-get -o DPkg::Lock::Timeout=120 "$@" && return 0; echo "apt-get $1 failed, retry $i" >&2; sleep 5; done; return 1; }
  apt_retry update
  # A JRE is only installed when no java is on PATH (many machines already have one).
  pkgs=("${APT_PACKAGES[@]}")
  command -v java >/dev/null 2>&1 && pkgs=("${pkgs[@]/openjdk-17-jre-headless}")
  echo "setup: installing system packages: ${pkgs[*]}" >&2
  apt_retry install -y --no-install-recommends ${pkgs[@]}
fi
# apt-get download (sample images) needs package lists even when nothing had to be installed.
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"; $SUDO apt-get update
fi

PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# pyspark is an sdist on PyPI: the first install builds it (~2 min), later ones use pip's cache.
echo "setup: installing hubscope and its Python dependencies into $VENV (the first time builds pyspark, ~2 min)" >&2
"$VENV/bin/python" -m pip install --progress-bar on -e '.[dev]'
"$VENV/bin/python" -c 'import hubscope, pyfastcdc, pyspark' # fail here, not in a test, if the install is incomplete
echo "setup done: $VENV" >&2

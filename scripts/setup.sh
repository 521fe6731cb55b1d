#!/usr/bin/env bash
# Install everything hubscope needs on a fresh Debian/Ubuntu machine: system packages (apt) and a
# virtualenv at $VENV (default .venv) with hubscope and its dev extras. Safe to rerun.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/.venv}
APT_PACKAGES=(docker-registry skopeo umoci apache2-utils libmagic1 isal docker.io openjdk-17-jre-headless python3-venv dpkg)

need_apt=0
for bin in docker-registry skopeo umoci htpasswd igzip dockerd java; do
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
# pyspark 4.3.0 is an sdist on PyPI: the first install builds it (~2 min), later ones use pip's cache.
"$VENV/bin/python" -m pip install --quiet -e '.[dev]'
echo "setup done: $VENV" >&2

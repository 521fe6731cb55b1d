# Sourced by test.sh and demo.sh: set up the machine, then the environment Spark and the tests need.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV=${VENV:-$PWD/.venv}
bash scripts/setup.sh ${HUBSCOPE_SETUP_ARGS:-}
export SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$VENV/bin/python" PYSPARK_DRIVER_PYTHON="$VENV/bin/python"
export PATH="$VENV/bin:$PATH"

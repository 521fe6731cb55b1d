"""Environment for Spark processes the tests start (standalone master/worker, spark-submit).

A module of its own (not conftest) so test files can import it: several conftest modules share
the name ``conftest`` on sys.path, and which one ``import conftest`` finds depends on order.
"""
from __future__ import annotations

import os
import sys

VENV_BIN = os.path.dirname(sys.executable)


def spark_env() -> dict:
    import pyspark

    env = dict(os.environ)
    env.update(SPARK_HOME=os.path.dirname(pyspark.__file__), SPARK_LOCAL_IP="127.0.0.1",
               PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable)
    return env

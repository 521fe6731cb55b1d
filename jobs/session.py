"""The one SparkSession builder: loopback-safe defaults for a laptop, overridable by spark-submit.

Two defaults come from profiling the stats job's group-by-digest on 10^7 rows (benchmarks/bench_stats.py,
JFR): the parallel collector (a batch job wants throughput, not G1's pause targets) and no two-level
"fast" aggregation map, which high-cardinality keys such as content digests overflow, so every row
then probes two maps. Together they took the warm query from ~1.8 s to ~1.4 s on 2 cores.

The scan's JVM only hands small Arrow batches to and from Python workers, so it stops at the C1
JIT compiler: C2 spent 0.4-0.9 CPU-s recompiling that glue on every 1.3 GB benchmark scan (JFR and
per-thread CPU: "C2 CompilerThread"), a third of the job's overhead over the bare scanner. Java
options apply to the JVM a Python process starts first; under spark-submit yours rule.
"""
from __future__ import annotations

import os
import sys
from typing import Optional

from common.settings import Settings


def _ensure_python_env() -> None:
    # Executors must run the same interpreter as the driver (they need pyarrow, pandas, magic).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


LOG4J2_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")
SQL_JAVA_OPTIONS = "-XX:+UseParallelGC"
SCAN_JAVA_OPTIONS = "-XX:+UseParallelGC -XX:TieredStopAtLevel=1"


def get_spark(app_name: str = "hubscope", master: Optional[str] = None, shuffle_partitions: int = 8,
              java_options: str = SQL_JAVA_OPTIONS):
    """Return the active session or build one; ``master`` defaults to ``local[*]`` unless spark-submit set one.

    ``java_options`` go to a driver JVM started here (``$HUBSCOPE_DRIVER_JAVA_OPTIONS`` overrides).
    """
    _ensure_python_env()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName(app_name)
    settings = Settings.load(spark_master=master)
    conf_master = settings.spark_master
    if conf_master:
        builder = builder.master(conf_master)
    elif not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Under spark-submit the JVM already knows its master (PythonRunner sets the gateway port);
        # a plain ``python`` process has to pick one.
        builder = builder.master("local[*]")
    java = settings.driver_java_options if settings.driver_java_options is not None else java_options
    java += f" -Dlog4j2.configurationFile=file:{LOG4J2_CONFIG}"  # quiet start-up: no banner, no native-hadoop warning
    builder = (
        builder.config("spark.ui.enabled", settings.spark_ui)
        .config("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")  # jobs log their own progress
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.driver.extraJavaOptions", java)
        .config("spark.sql.codegen.aggregate.map.twolevel.enabled", "false")
    )
    if not settings.spark_public:
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    spark = builder.getOrCreate()
    quiet_spark_logs(spark)
    return spark


def quiet_spark_logs(spark) -> None:
    """Spark's own log at WARN unless asked otherwise, under spark-submit too (its default log4j2 is INFO:
    ~5,000 lines for one stats run). ``--conf spark.log.level=INFO`` or ``HUBSCOPE_SPARK_LOG_LEVEL=INFO``
    brings the INFO lines back."""
    if spark.sparkContext.getConf().get("spark.log.level", None):
        return  # the user's choice; Spark applied it at start-up
    spark.sparkContext.setLogLevel(Settings.load().spark_log_level)


"""The one SparkSession builder: hubscope's defaults, applied only where the user set nothing.

What the user set wins, wherever it was set: ``spark-submit --conf``, ``spark-defaults.conf``,
``PYSPARK_SUBMIT_ARGS`` or a ``SparkConf`` already in the JVM. A cluster run needs that: a driver
that advertised 127.0.0.1 could not be reached by executors on other hosts, and a group-by over
billions of rows must not run with a constant handful of partitions. So hubscope binds the driver
to loopback only for a session it starts itself in local mode, and sizes shuffles from the
cluster's cores.

Two defaults come from profiling the stats job's group-by-digest on 10^7 rows (benchmarks/bench_stats.py,
JFR): the parallel collector (a batch job wants throughput, not G1's pause targets) and no two-level
"fast" aggregation map, which high-cardinality keys such as content digests overflow, so every row
then probes two maps. Together they took the warm query from ~1.8 s to ~1.4 s on 2 cores.

The scan's JVM only hands small Arrow batches to and from Python workers, so it stops at the C1
JIT compiler: C2 spent 0.4-0.9 CPU-s recompiling that glue on every 1.3 GB benchmark scan (JFR and
per-thread CPU: "C2 CompilerThread"), a third of the job's overhead over the bare scanner. Java
options apply only to a driver JVM a plain Python process starts here; under spark-submit the JVM
is already running with yours.
"""
from __future__ import annotations

import logging
import os
import re
import shlex
import sys
from typing import Optional

from common.settings import Settings

log = logging.getLogger(__name__)

LOG4J2_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "log4j2.properties")
SQL_JAVA_OPTIONS = "-XX:+UseParallelGC"
SCAN_JAVA_OPTIONS = "-XX:+UseParallelGC -XX:TieredStopAtLevel=1"
SHUFFLE_PARTITIONS_PER_CORE = 3  # adaptive execution coalesces small ones; too few cannot be split
MIN_SHUFFLE_PARTITIONS = 8
LOOPBACK = "127.0.0.1"
_PROPERTY = re.compile(r"^([^\s=:]+)\s*[=:\s]\s*(.*)$")  # java.util.Properties: key value, key=value, key:value


def _jvm_running() -> bool:
    from pyspark import SparkContext

    # spark-submit started the JVM and told us its gateway port; or this process already has one.
    return bool(os.environ.get("PYSPARK_GATEWAY_PORT")) or SparkContext._gateway is not None


def _conf_file_settings() -> dict[str, str]:
    """``spark-defaults.conf`` of ``$SPARK_CONF_DIR`` (else ``$SPARK_HOME/conf``), as spark-submit reads it."""
    conf_dir = os.environ.get("SPARK_CONF_DIR")
    if not conf_dir:
        import pyspark

        conf_dir = os.path.join(os.environ.get("SPARK_HOME") or os.path.dirname(pyspark.__file__), "conf")
    settings: dict[str, str] = {}
    try:
        with open(os.path.join(conf_dir, "spark-defaults.conf"), encoding="utf-8") as fh:
            for line in fh:
                match = _PROPERTY.match(line.strip())
                if match and not line.lstrip().startswith(("#", "!")):
                    settings[match.group(1)] = match.group(2).strip()
    except FileNotFoundError:
        pass
    return settings


def _submit_args_settings() -> dict[str, str]:
    """``--conf k=v`` and ``--master`` in ``PYSPARK_SUBMIT_ARGS`` (what a plain ``python`` process passes on)."""
    words = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    settings: dict[str, str] = {}
    for flag, value in zip(words, words[1:]):
        if flag in ("--conf", "-c") and "=" in value:
            key, _, val = value.partition("=")
            settings[key] = val
        elif flag == "--master":
            settings["spark.master"] = value
    return settings


def preset_conf() -> dict[str, str]:
    """Every Spark setting the user made before hubscope builds a session (the JVM's view when it runs)."""
    if _jvm_running():
        from pyspark import SparkConf, SparkContext

        SparkContext._ensure_initialized()
        return dict(SparkConf().getAll())  # the JVM's spark.* system properties: --conf, spark-defaults.conf
    return {**_conf_file_settings(), **_submit_args_settings()}


def _cluster_cores(spark, preset: dict[str, str]) -> int:
    """Cores the job may use: what is registered now, or what the configuration asks for if more."""
    cores = spark.sparkContext.defaultParallelism  # standalone: max(registered cores, 2) at this moment
    asked = [preset.get("spark.cores.max")]
    if preset.get("spark.executor.instances"):
        asked.append(str(int(preset["spark.executor.instances"]) * int(preset.get("spark.executor.cores", "1"))))
    for value in asked:
        if value and value.isdigit():
            cores = max(cores, int(value))
    return cores


def get_spark(app_name: str = "hubscope", master: Optional[str] = None, shuffle_partitions: Optional[int] = None,
              java_options: str = SQL_JAVA_OPTIONS):
    """Return the active session or build one with hubscope's defaults where the user set nothing.

    ``master``: explicit choice (``--master`` of a hubscope command), else ``$HUBSCOPE_SPARK_MASTER``,
    else the user's ``spark.master``, else ``local[*]``. ``shuffle_partitions`` defaults to
    ``3 x cores`` (at least 8). ``java_options`` go to a driver JVM started here
    (``$HUBSCOPE_DRIVER_JAVA_OPTIONS`` overrides).
    """
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    started_here = not _jvm_running()
    preset = preset_conf()
    settings = Settings.load(spark_master=master)
    chosen_master = settings.spark_master or preset.get("spark.master") or "local[*]"
    local = chosen_master.startswith("local")
    if started_here and local:
        os.environ.setdefault("SPARK_LOCAL_IP", LOOPBACK)  # no "hostname resolves to a loopback address" warning
    if "spark.pyspark.python" not in preset:
        # Executors run the driver's interpreter unless told otherwise (e.g. a shipped environment).
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

    defaults = {
        "spark.app.name": app_name,
        "spark.ui.enabled": settings.spark_ui,
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",  # jobs log their own progress
        "spark.sql.codegen.aggregate.map.twolevel.enabled": "false",
    }
    if started_here:  # JVM options only mean something for a JVM not yet running
        java = settings.driver_java_options if settings.driver_java_options is not None else java_options
        java += f" -Dlog4j2.configurationFile=file:{LOG4J2_CONFIG}"  # quiet start-up: no banner, no native-hadoop warning
        defaults["spark.driver.extraJavaOptions"] = java
        defaults["spark.driver.memory"] = settings.driver_memory
        if local and not settings.spark_public:
            defaults["spark.driver.host"] = LOOPBACK
            defaults["spark.driver.bindAddress"] = LOOPBACK
    builder = SparkSession.builder
    if settings.spark_master or "spark.master" not in preset:
        builder = builder.master(chosen_master)
    for key, value in defaults.items():
        if key not in preset:
            builder = builder.config(key, value)
    spark = builder.getOrCreate()
    quiet_spark_logs(spark)
    if "spark.sql.shuffle.partitions" not in preset:
        partitions = shuffle_partitions or max(MIN_SHUFFLE_PARTITIONS, SHUFFLE_PARTITIONS_PER_CORE * _cluster_cores(spark, preset))
        spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    log.debug("session %s: master %s, user settings kept: %s", app_name, spark.sparkContext.master, sorted(preset))
    return spark


def quiet_spark_logs(spark) -> None:
    """Spark's own log at WARN unless asked otherwise, under spark-submit too (its default log4j2 is INFO:
    ~5,000 lines for one stats run). ``--conf spark.log.level=INFO`` or ``HUBSCOPE_SPARK_LOG_LEVEL=INFO``
    brings the INFO lines back."""
    if spark.sparkContext.getConf().get("spark.log.level", None):
        return  # the user's choice; Spark applied it at start-up
    spark.sparkContext.setLogLevel(Settings.load().spark_log_level)

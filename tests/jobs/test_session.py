"""``jobs.session.get_spark`` keeps what the user set: spark-submit --conf, spark-defaults.conf.

Real spark-submit runs; the job script prints the live session's settings as JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import textwrap

from hubscope.demo.localregistry import free_port
from jobs_sparkkit import VENV_BIN, spark_env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEYS = ("spark.driver.host", "spark.driver.bindAddress", "spark.sql.shuffle.partitions", "spark.ui.enabled",
        "spark.ui.port", "spark.sql.codegen.aggregate.map.twolevel.enabled", "spark.sql.session.timeZone", "spark.master")


def _job(tmp_path) -> str:
    path = tmp_path / "show_conf.py"
    path.write_text(textwrap.dedent(f"""
        import json, sys
        sys.path.insert(0, {REPO!r})
        from jobs.session import get_spark
        spark = get_spark("conf-check")
        conf = spark.sparkContext.getConf()
        shown = {{k: spark.conf.get(k, None) for k in {KEYS!r}}}
        shown["ui_url"] = spark.sparkContext.uiWebUrl
        shown["parallelism"] = spark.sparkContext.defaultParallelism
        print("CONF=" + json.dumps(shown))
        spark.stop()
    """))
    return str(path)


def _shown(out: str) -> dict:
    lines = [l for l in out.splitlines() if l.startswith("CONF=")]
    assert lines, out
    return json.loads(lines[-1][len("CONF="):])


def test_spark_submit_settings_reach_the_live_session(tmp_path):
    ui_port = free_port()
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    # spark-defaults.conf is the user's too: a hubscope default must not override it
    (conf_dir / "spark-defaults.conf").write_text("spark.sql.codegen.aggregate.map.twolevel.enabled  true\n")
    env = spark_env()
    env["SPARK_CONF_DIR"] = str(conf_dir)
    cmd = [os.path.join(VENV_BIN, "spark-submit"), "--master", "local[2]",
           "--conf", "spark.driver.host=localhost", "--conf", "spark.driver.bindAddress=0.0.0.0",
           "--conf", "spark.sql.shuffle.partitions=2000", "--conf", "spark.ui.enabled=true",
           "--conf", f"spark.ui.port={ui_port}", _job(tmp_path)]
    run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    shown = _shown(run.stdout)
    assert shown["spark.driver.host"] == "localhost"
    assert shown["spark.driver.bindAddress"] == "0.0.0.0"
    assert shown["spark.sql.shuffle.partitions"] == "2000"
    assert shown["spark.ui.enabled"] == "true" and shown["ui_url"].endswith(f":{ui_port}")
    assert shown["spark.sql.codegen.aggregate.map.twolevel.enabled"] == "true"
    assert shown["spark.sql.session.timeZone"] == "UTC"  # a default nobody set still applies


def test_plain_python_local_session_defaults(tmp_path):
    """Nothing set: loopback driver, UI off, shuffle partitions from the cores (local[2]: max(8, 3 x 2))."""
    env = spark_env()
    env.pop("SPARK_LOCAL_IP", None)
    env["SPARK_CONF_DIR"] = str(tmp_path)  # no spark-defaults.conf
    env["HUBSCOPE_SPARK_MASTER"] = "local[4]"
    run = subprocess.run([os.path.join(VENV_BIN, "python"), _job(tmp_path)], env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    shown = _shown(run.stdout)
    assert (shown["spark.driver.host"], shown["spark.driver.bindAddress"]) == ("127.0.0.1", "127.0.0.1")
    assert shown["spark.ui.enabled"] == "false" and shown["ui_url"] is None
    assert shown["parallelism"] == 4 and shown["spark.sql.shuffle.partitions"] == "12"
    assert shown["spark.sql.codegen.aggregate.map.twolevel.enabled"] == "false"

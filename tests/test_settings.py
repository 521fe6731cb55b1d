"""One settings object: flag -> environment -> default, every HUBSCOPE_* variable declared once and documented once."""
from __future__ import annotations

import ast
import os
import re

import pytest

from common.settings import Settings, documented, env_name

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = ("common", "crawler", "traces", "jobs", "analyze", "hubscope", "notebooks")
NAME = re.compile(r"HUBSCOPE_[A-Z0-9_]+")


def test_flag_beats_environment_beats_default():
    env = {"HUBSCOPE_DRIVER_MEMORY": "6g", "HUBSCOPE_SPARK_MASTER": "spark://m:7077"}
    assert Settings.load({}).driver_memory == "2g"  # default
    assert Settings.load(env).driver_memory == "6g"  # environment
    assert Settings.load(env, driver_memory="8g").driver_memory == "8g"  # flag
    assert Settings.load(env, spark_master=None).spark_master == "spark://m:7077"  # a flag not given is no flag
    assert Settings.load({}).spark_master is None
    with pytest.raises(TypeError):
        Settings.load({}, no_such_setting="x")
    assert env_name("registry") == "HUBSCOPE_REGISTRY"


def _names_in_code() -> set[str]:
    found = set()
    for package in SHIPPED:
        for folder, _, files in os.walk(os.path.join(ROOT, package)):
            for name in files:
                path = os.path.join(folder, name)
                if name.endswith(".py"):
                    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
                        if isinstance(node, ast.Constant) and isinstance(node.value, str):
                            found.update(NAME.findall(node.value))
                elif name.endswith(".ipynb"):
                    found.update(NAME.findall(open(path, encoding="utf-8").read()))
    return found


def test_every_variable_the_code_names_is_declared():
    declared = {env for env, _, _ in documented()}
    assert _names_in_code() - declared == set()
    assert len(declared) == len(documented())  # no variable declared twice


def test_readme_documents_every_variable_once_in_its_table():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    rows = [line for line in readme.splitlines() if line.startswith("| `HUBSCOPE_")]
    in_table = [NAME.search(row).group(0) for row in rows]
    assert sorted(in_table) == sorted(env for env, _, _ in documented())

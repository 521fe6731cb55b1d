"""The one ``hubscope`` command: every stage is a subcommand with help, and usage errors are clear."""
import subprocess
import sys

import pytest
from click.testing import CliRunner

from jobs.cli import COMMANDS, main

STAGES = ["crawl", "scan", "stats", "report", "demo"]


def test_group_lists_every_stage():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for stage in STAGES:
        assert stage in result.output
    assert set(COMMANDS) == set(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_each_stage_has_help(stage):
    result = CliRunner().invoke(main, [stage, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output
    assert "--" in result.output  # documents at least one option


def test_unknown_stage_is_a_usage_error():
    result = CliRunner().invoke(main, ["unpack"])
    assert result.exit_code == 2
    assert "No such command" in result.output


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "jobs.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "crawl" in out.stdout

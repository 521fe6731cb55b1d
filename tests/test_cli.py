"""The one ``hubscope`` command: every stage is a subcommand with help, and usage errors are clear."""
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from common.errors import EXIT_FAILED, EXIT_INTERNAL, HubscopeError, LayerError
from hubscope.cli import COMMANDS, main

STAGES = ["crawl", "ratelimit", "scan", "stats", "report", "demo", "trace", "whatif", "inspect"]


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
    out = subprocess.run([sys.executable, "-m", "hubscope.cli", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "crawl" in out.stdout


def test_scan_of_a_missing_store_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["scan", "--store", str(tmp_path / "nope"), "--tables", str(tmp_path / "t")])
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert not (tmp_path / "nope").exists()  # nothing created on a typo


def test_scan_of_a_store_without_records_is_a_usage_error(tmp_path):
    (tmp_path / "store").mkdir()
    result = CliRunner().invoke(main, ["scan", "--store", str(tmp_path / "store"), "--tables", str(tmp_path / "t")])
    assert result.exit_code == 2
    assert "no crawl records" in result.output


def test_report_of_a_folder_without_summary_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["report", "--results", str(tmp_path), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert "summary.json" in result.output


def test_stats_of_a_folder_without_tables_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(main, ["stats", "--tables", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "hubscope scan --tables" in result.output


# Stand-ins for a stage, loaded through the group's lazy table like every real stage.
@click.command("fails")
def stage_that_fails() -> None:
    raise LayerError("blob_missing", "no blob sha256:abc in the store")


@click.command("crashes")
def stage_with_a_bug() -> None:
    {}["missing"]


@pytest.mark.parametrize("name, target, code, shown", [
    ("fails", "test_cli:stage_that_fails", EXIT_FAILED, "error (scan): no blob sha256:abc in the store"),
    ("crashes", "test_cli:stage_with_a_bug", EXIT_INTERNAL, "internal error"),
])
def test_errors_exit_with_the_documented_codes(monkeypatch, caplog, name, target, code, shown):
    monkeypatch.setitem(COMMANDS, name, target)
    result = CliRunner().invoke(main, [name])
    assert result.exit_code == code
    assert shown in result.output + caplog.text


def test_every_error_class_derives_from_the_one_base():
    from common.digest import DigestError
    from common.storage import DigestMismatch
    from crawler.auth import AuthError
    from crawler.http import RetriesExhausted
    from crawler.local_import import LocalSourceError
    from crawler.manifest import ManifestError
    from crawler.reference import InvalidReference
    from crawler.registry import RegistryError
    from crawler.repo_listing import SourceError

    for cls in (DigestError, DigestMismatch, AuthError, RetriesExhausted, LocalSourceError, ManifestError,
                InvalidReference, RegistryError, SourceError, LayerError):
        assert issubclass(cls, HubscopeError), cls
    assert issubclass(InvalidReference, ValueError) and issubclass(DigestError, ValueError)  # callers catching ValueError still do


@pytest.mark.parametrize("argv, option", [
    (["scan", "--store", "{d}", "--tables", "{blocked}/tables"], "--tables"),
    (["stats", "--tables", "{d}", "--out", "{blocked}/results"], "--out"),
    (["report", "--results", "{d}", "--out", "{blocked}/report"], "--out"),
])
def test_unwritable_output_is_a_one_line_usage_error(tmp_path, argv, option):
    # a path below a regular file cannot be created, even by root (tests may run as root, where modes do not bite)
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    args = [a.format(d=tmp_path, blocked=blocked) for a in argv]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}': cannot write into {blocked}/" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()[-1]) < 200

"""Rate-limit budgets against a real registry behind a proxy that enforces a manifest budget (``budget_proxy``)."""
from __future__ import annotations

import logging

import pytest
from click.testing import CliRunner

from common.records import latest_records
from crawler.crawl_command import crawl
from crawler.ratelimit import Budget, BudgetExhausted, parse_budget_header, read_budget
from crawler.ratelimit_command import ratelimit_command
from hubscope.demo.localregistry import LocalRegistry
from budget_proxy import BudgetProxy
from snapshots_kit import build_images, push

REPOS = [f"budget/r{i}" for i in range(5)]


@pytest.fixture(scope="module")
def budget_registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("budget")
    images = build_images(str(work / "layout"))
    names = list(images.descriptors)
    with LocalRegistry(str(work / "registry")) as registry:
        push(images, registry.host, {f"{repo}:latest": names[i] for i, repo in enumerate(REPOS)})
        yield registry


def _crawl(proxy, store, *extra):
    return CliRunner().invoke(crawl, ["--registry", proxy.url, "--store", store, "--no-progress", "--concurrency", "2",
                                      *extra, *REPOS], catch_exceptions=False)


def test_budget_headers_parse_and_a_spent_budget_waits_for_the_window():
    assert parse_budget_header("76;w=21600") == (76, 21600.0) and parse_budget_header(None) == (None, None)
    reading = read_budget({"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600"})
    assert (reading.limit, reading.remaining, reading.window_s) == (100, 0, 21600.0)
    now, slept, shown = [0.0], [], []

    def sleep(s):
        slept.append(s)
        now[0] += s

    budget = Budget(max_wait_s=10, sleep=sleep, clock=lambda: now[0], on_wait=shown.append)
    budget.observe({"ratelimit-remaining": "0;w=3"}, 200, None)
    budget.wait()
    assert slept == [1.0, 1.0, 1.0] and shown == [3.0, 2.0, 1.0, 0.0] and budget.waited_s == 3.0
    budget.observe({}, 429, 8.0)  # 3 + 8 > 10: past --max-wait
    with pytest.raises(BudgetExhausted):
        budget.wait()


def test_crawl_waits_for_the_window_and_completes(budget_registry, tmp_path, caplog):
    proxy = BudgetProxy(budget_registry.url, limit=2, window_s=2).start()
    try:
        with caplog.at_level(logging.INFO, logger="crawler.ratelimit"):
            result = _crawl(proxy, str(tmp_path / "store"), "--max-wait", "60")
    finally:
        proxy.stop()
    assert result.exit_code == 0, result.output
    records = list(latest_records(str(tmp_path / "store")).values())
    assert sorted(r.repository for r in records if r.status == "ok") == REPOS
    assert proxy.served == 5  # one manifest GET per image, none lost
    assert any("waiting" in m for m in caplog.messages) and any("s left" in m for m in caplog.messages)


def test_max_wait_records_rate_limited_and_a_rerun_finishes(budget_registry, tmp_path):
    store = str(tmp_path / "store")
    proxy = BudgetProxy(budget_registry.url, limit=2, window_s=600).start()
    try:
        _crawl(proxy, store, "--max-wait", "1")
        first = {r.repository: r for r in latest_records(store).values()}
        assert sorted(r.status for r in first.values()) == ["error", "error", "error", "ok", "ok"]
        assert {r.error_class for r in first.values() if r.status == "error"} == {"rate_limited"}
        proxy.new_window(limit=3)  # the window turned
        result = _crawl(proxy, store, "--max-wait", "1")
        assert result.exit_code == 0, result.output
        assert proxy.served == 2 + 3  # the rerun fetched only the three rate-limited images
    finally:
        proxy.stop()
    assert sorted(r.repository for r in latest_records(store).values() if r.status == "ok") == REPOS


def test_ratelimit_command_uses_a_head(budget_registry):
    proxy = BudgetProxy(budget_registry.url, limit=7, window_s=600).start()
    try:
        result = CliRunner().invoke(ratelimit_command, ["--registry", proxy.url, f"{REPOS[0]}:latest"],
                                    catch_exceptions=False)
    finally:
        proxy.stop()
    assert result.exit_code == 0, result.output
    assert "limit 7" in result.output and "remaining 7" in result.output and "window 600 s" in result.output
    assert proxy.served == 0  # a HEAD: nothing counted

"""The scan's and stats' progress display: items, bytes, rate and ETA, worked out by hand."""
import logging

from common import progress as progress_mod
from common.progress import StageProgress, eta_s


def test_eta_at_the_rate_so_far():
    assert eta_s(25, 100, 10.0) == 30.0  # 25 done in 10 s -> 75 left at 2.5/s
    assert eta_s(0, 100, 10.0) is None and eta_s(100, 100, 5.0) == 0.0


def test_log_line_has_items_bytes_rate_and_eta(monkeypatch, caplog):
    now = [1000.0]
    monkeypatch.setattr(progress_mod.time, "monotonic", lambda: now[0])
    p = StageProgress("scan", 40, "layers", total_bytes=4 << 30, bar=False, every_s=5.0)
    now[0] += 10.0  # 1 GiB of 4 GiB in 10 s: 102.4 MiB/s, 30 s left
    with caplog.at_level(logging.INFO, logger="common.progress"):
        p.update(12, 1 << 30)
    assert caplog.messages == ["scan: 12/40 layers, 1.0 GiB of 4.0 GiB, 102.4 MiB/s, ETA 30 s"]
    now[0] += 1.0  # within every_s: no second line
    with caplog.at_level(logging.INFO, logger="common.progress"):
        p.update(13, (1 << 30) + 1)
    assert len(caplog.messages) == 1


def test_items_only_progress_and_the_bar(capsys):
    p = StageProgress("stats", 4, "results", bar=False)
    p.update(1)
    assert p.line().startswith("stats: 1/4 results, ETA ")
    bar = StageProgress("stats", 4, "results", bar=True)
    bar.update(2)
    bar.close()
    assert "2/4" in capsys.readouterr().err  # tqdm draws on stderr

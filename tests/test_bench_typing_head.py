"""The typing-head benchmark's arithmetic on inputs worked out by hand (the benchmark itself runs in test_benchmarks)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))

import bench_typing_head as bth  # noqa: E402


def test_class_shares_weigh_every_file_occurrence_by_count_and_bytes():
    # content a: 2 files of 100 B (script), b: 1 file of 700 B (document) -> files 2/3 and 1/3, bytes 200/900 and 700/900
    got = bth.shares({b"a": (2, 100), b"b": (1, 700)}, {b"a": "script", b"b": "document"})
    assert got["script"] == pytest.approx((200 / 3, 200 / 9))
    assert got["document"] == pytest.approx((100 / 3, 700 / 9))


def test_measure_compares_each_head_with_the_full_read():
    script = b"#!/bin/sh\necho hi\n"
    contents = [(b"s", script, 2), (b"s", script, 1), (b"t", b"plain words\n" * 10, 1)]
    result = bth.measure(iter(contents), heads=(2, 2048))
    assert (result["contents"], result["files"]) == (2, 4)
    # a 2-byte head "#!" is plain text to libmagic: the script (3 of 4 files) becomes a document, 75 points
    assert result["rows"][2]["classes_changed"] == 1
    assert result["rows"][2]["worst_points"] == pytest.approx(75.0)
    assert result["rows"][2048]["worst_points"] == 0 and result["rows"][2048]["answers_changed"] == 0
    assert bth.choose(result) == 2048

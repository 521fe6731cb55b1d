"""Test-only fault injection for a scan run in its own processes: sleep after every layer.

Put this folder first on ``PYTHONPATH`` and set ``HUBSCOPE_TEST_SCAN_DELAY_S``; every Python process
of the run (the driver and Spark's Python workers, which inherit the environment) then wraps
``jobs.scan._scan_one`` as soon as ``jobs.scan`` is imported, so a test can kill the run mid-way.
The product has no such knob.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import time

DELAY_ENV = "HUBSCOPE_TEST_SCAN_DELAY_S"
_delay = float(os.environ.get(DELAY_ENV, "0") or 0)


class _SlowScan(importlib.abc.MetaPathFinder):
    """Finds ``jobs.scan`` like the normal finders do, then slows its per-layer function once loaded."""

    def find_spec(self, name, path=None, target=None):
        if name != "jobs.scan":
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_slow(module):
            exec_module(module)
            inner = module._scan_one

            def _scan_one(*args, **kwargs):
                out = inner(*args, **kwargs)
                time.sleep(_delay)
                return out

            module._scan_one = _scan_one

        spec.loader.exec_module = exec_and_slow
        return spec


if _delay > 0:
    sys.meta_path.insert(0, _SlowScan())

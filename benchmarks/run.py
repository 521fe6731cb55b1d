"""Run every hubscope benchmark; each builds its own inputs and prints ratios against a baseline
run in the same script (see each module's docstring for the baseline).

    python benchmarks/run.py            # full size (tens of minutes)
    python benchmarks/run.py --tiny     # smoke run on tiny inputs (what the test suite runs)
    python benchmarks/run.py scan crawl # only these
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
import traceback
from typing import Optional

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = ("scan", "typing", "typing_head", "crawl", "stats", "scaling", "memory", "replay", "restore")


def load(name: str):
    """Import ``benchmarks/bench_<name>.py`` by path (benchmarks/ is not a package)."""
    path = os.path.join(HERE, f"bench_{name}.py")
    # Spark's Python workers unpickle the module's functions by name: they must be able to import it.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.path.dirname(HERE), os.environ.get("PYTHONPATH")) if p)
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # process pools pickle its functions by module name
    sys.path.insert(0, os.path.dirname(HERE))
    spec.loader.exec_module(module)
    return module


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default all: {', '.join(BENCHMARKS)})")
    parser.add_argument("--tiny", action="store_true", help="tiny inputs: checks that every benchmark runs")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    failures = []
    for name in args.names or BENCHMARKS:
        print(f"=== {name} ===", flush=True)
        started = time.monotonic()
        try:
            result = load(name).main(["--tiny"] if args.tiny else [])
            rc = result if isinstance(result, int) else 0  # some return their numbers instead of an exit code
        except Exception:  # one broken benchmark must not hide the others' numbers
            traceback.print_exc()
            rc = 1
        print(f"=== {name}: {'ok' if rc == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s ===", flush=True)
        if rc:
            failures.append(name)
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

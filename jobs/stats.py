"""spark-submit entry point of the stats job: ``spark-submit jobs/stats.py --tables DIR --out DIR [...]``.

Thin on purpose: the options are those of ``hubscope stats``; the work is ``analyze.results.run_stats``.
"""
from __future__ import annotations

import logging
import os
import sys

if __package__ in (None, ""):
    # spark-submit runs this file as a script; make the repository importable when not installed.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: list[str] | None = None) -> None:
    """Parse ``argv`` like ``hubscope stats`` and run it (session from ``jobs.session.get_spark``)."""
    from analyze.report_command import stats_command

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("py4j").setLevel(logging.WARNING)
    stats_command.main(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)


if __name__ == "__main__":
    main()

"""Output folders checked before any work starts: an unwritable ``--tables`` / ``--out`` is a one-line
usage error, not a traceback after minutes of Spark.

The check creates the folder and a probe file in it, which also catches what ``os.access`` misses
(a read-only mount, a path below a regular file, running as root).
"""
from __future__ import annotations

import os
import tempfile
from typing import Optional

import click


def unwritable_reason(path: str) -> Optional[str]:
    """Why files cannot be written into folder ``path`` (or created there), or None when they can."""
    if "://" in path:
        return None  # an object store: its own client reports access errors
    created = []  # folders made for the probe are removed again: a later usage error leaves nothing behind
    try:
        missing, folder = [], os.path.abspath(path)
        while not os.path.exists(folder):
            missing.append(folder)
            folder = os.path.dirname(folder)
        for folder in reversed(missing):
            os.mkdir(folder)
            created.append(folder)
        fd, probe = tempfile.mkstemp(prefix=".hubscope-write-check-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    finally:
        for folder in reversed(created):
            os.rmdir(folder)
    return None


def writable_dir(ctx: click.Context, param: click.Parameter, value: Optional[str]) -> Optional[str]:
    """A click callback: ``value`` must be a folder hubscope can write into."""
    if value is not None:
        reason = unwritable_reason(value)
        if reason:
            raise click.BadParameter(f"cannot write into {value}: {reason}", ctx=ctx, param=param)
    return value

"""Every ``HUBSCOPE_*`` environment variable, declared once: its field, default and meaning.

Precedence is always flag -> environment -> default: ``Settings.load(registry=flag_value)`` takes a
flag that was given (not None), else ``$HUBSCOPE_REGISTRY``, else the default. The click options of
the commands name the same variables (``envvar=env_name("registry")``-style) so ``--help`` shows them;
the README's table lists them (``tests/test_settings.py`` checks that every ``HUBSCOPE_*`` name in the
code is declared here and documented there once).
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Mapping, Optional


def _var(env: str, default: Optional[str], doc: str):
    return field(default=default, metadata={"env": env, "doc": doc})


@dataclass(frozen=True)
class Settings:
    """The resolved settings of one process (strings as the environment gives them; None = unset)."""

    registry: Optional[str] = _var("HUBSCOPE_REGISTRY", "https://registry-1.docker.io", "crawl: registry base URL (`--registry`)")
    hub_url: Optional[str] = _var("HUBSCOPE_HUB_URL", "https://hub.docker.com", "crawl: Docker Hub API for search, namespaces and tag dates (`--hub-url`)")
    registry_user: Optional[str] = _var("HUBSCOPE_REGISTRY_USER", None, "crawl: registry user (`--username`)")
    registry_password: Optional[str] = _var("HUBSCOPE_REGISTRY_PASSWORD", None, "crawl: registry password (`--password`)")
    s3_endpoint: Optional[str] = _var("HUBSCOPE_S3_ENDPOINT", None, "crawl: S3 endpoint URL of an `s3://` store (`--s3-endpoint`)")
    log_level: Optional[str] = _var("HUBSCOPE_LOG_LEVEL", "WARNING", "`python -m crawler.crawl_command`: log level (the `hubscope` command uses `-v`/`-q`)")
    type_cache: Optional[str] = _var("HUBSCOPE_TYPE_CACHE", None, "scan: folder of the workers' shared file-type cache, or `off` (default: a per-user temp folder)")
    spark_master: Optional[str] = _var("HUBSCOPE_SPARK_MASTER", None, "scan, stats: Spark master when `--master` is not given (default `local[*]`)")
    driver_memory: Optional[str] = _var("HUBSCOPE_DRIVER_MEMORY", "2g", "scan, stats: memory of a driver JVM hubscope starts")
    driver_java_options: Optional[str] = _var("HUBSCOPE_DRIVER_JAVA_OPTIONS", None, "scan, stats: replaces the JVM options of a driver hubscope starts (warnings-only logging, parallel GC, C1 for the scan)")
    spark_log_level: Optional[str] = _var("HUBSCOPE_SPARK_LOG_LEVEL", "WARN", "scan, stats: Spark's own log level (`INFO` brings its INFO lines back)")
    spark_ui: Optional[str] = _var("HUBSCOPE_SPARK_UI", "false", "scan, stats: `true` turns the Spark UI on")
    spark_public: Optional[str] = _var("HUBSCOPE_SPARK_PUBLIC", None, "scan, stats: set to bind the driver beyond loopback (executors on other machines)")
    tables: Optional[str] = _var("HUBSCOPE_TABLES", None, "`notebooks/explore.ipynb`: the tables folder (default: the demo's)")

    @classmethod
    def load(cls, environ: Optional[Mapping[str, str]] = None, **flags: Optional[str]) -> "Settings":
        """Flags given (not None) win, then the environment, then the defaults."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            if flags.get(f.name) is not None:
                values[f.name] = flags[f.name]
            elif f.metadata["env"] in environ:
                values[f.name] = environ[f.metadata["env"]]
        unknown = set(flags) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown settings: {sorted(unknown)}")
        return cls(**values)


def env_name(name: str) -> str:
    """The environment variable of setting ``name`` (``env_name("registry") == "HUBSCOPE_REGISTRY"``)."""
    return {f.name: f.metadata["env"] for f in dataclasses.fields(Settings)}[name]


def documented() -> list[tuple[str, Optional[str], str]]:
    """``(variable, default, meaning)`` of every setting, in declaration order (the README's table)."""
    return [(f.metadata["env"], f.default, f.metadata["doc"]) for f in dataclasses.fields(Settings)]

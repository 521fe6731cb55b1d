"""``hubscope demo`` and its scaffolding: a local registry, sample images from Debian packages, OCI layouts.

Imported only by the ``demo`` subcommand (lazily), by tests and by benchmarks; no stage imports it.
"""

"""The package-database parsers on the content corpus's files, counts worked out by hand in ``content_corpus``."""
from __future__ import annotations

import content_corpus as cc
from analyze.package_dbs import parse_apk_installed, parse_dpkg_status, parse_os_release


def test_parsers():
    assert parse_os_release(cc.OS_DEBIAN.decode()) == {"id": "debian", "version_id": "12", "pretty_name": "Debian GNU/Linux 12 (bookworm)"}
    assert parse_dpkg_status(cc.DPKG.decode()) == {"packages": 2, "bytes": 30 * 1024}  # the deinstalled one is not counted
    assert parse_apk_installed(cc.APK.decode()) == {"packages": 2, "bytes": 300}

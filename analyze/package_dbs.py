"""The package databases an image's layers may hold, and their parsers (text in, counts out).

Pure functions: the content pass (``jobs.content_pass``) reads the files named in
``PACKAGE_DB_PATHS`` from the layers and hands their text to ``PARSERS``.
"""
from __future__ import annotations

PACKAGE_DB_PATHS = {
    "/etc/os-release": "os-release",
    "/usr/lib/os-release": "os-release",
    "/var/lib/dpkg/status": "dpkg",
    "/lib/apk/db/installed": "apk",
}


def parse_os_release(text: str) -> dict:
    """``/etc/os-release`` -> ``{"id", "version_id", "pretty_name"}`` (quotes removed)."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            values[key] = value.strip().strip("\"'")
    return {"id": values.get("ID"), "version_id": values.get("VERSION_ID"), "pretty_name": values.get("PRETTY_NAME")}


def dpkg_installed(text: str) -> list[dict]:
    """The fields of each installed package's stanza in dpkg's status file (continuation lines skipped)."""
    out = []
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace():
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields.get("Package") and fields.get("Status", "").endswith(" installed"):
            out.append(fields)
    return out


def parse_dpkg_status(text: str) -> dict:
    """dpkg's status file -> installed package count and their ``Installed-Size`` (KiB) in bytes."""
    installed = dpkg_installed(text)
    return {"packages": len(installed), "bytes": sum(int(f.get("Installed-Size", "0") or 0) * 1024 for f in installed)}


def parse_apk_installed(text: str) -> dict:
    """apk's installed database -> package count (``P:`` lines) and ``I:`` installed bytes."""
    packages = size = 0
    for line in text.splitlines():
        if line.startswith("P:"):
            packages += 1
        elif line.startswith("I:"):
            size += int(line[2:].strip() or 0)
    return {"packages": packages, "bytes": size}


PARSERS = {"os-release": parse_os_release, "dpkg": parse_dpkg_status, "apk": parse_apk_installed}

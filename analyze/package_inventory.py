"""Per-package inventory of an image: name, version, ecosystem and the bytes each package owns.

What syft catalogues, cut to what a storage study needs. Pure functions over texts and the image's
final filesystem (``analyze.finalfs.final_tree``); the caller reads the few files named by
``wanted_paths`` from the layers. Bytes owned come from where each ecosystem records them:
dpkg's ``Installed-Size`` (KiB) and apk's ``I:`` (bytes), the files a Python ``RECORD`` lists, the
files under an npm package's folder (its own ``node_modules`` excluded), rpm's ``SIZE`` tag.
"""
from __future__ import annotations

import csv
import io
import json
import posixpath
import re
import sqlite3
import struct
import tempfile
from typing import Iterable, Optional

from analyze.entries import Entry
from analyze.package_dbs import dpkg_installed

DPKG_STATUS = "/var/lib/dpkg/status"
APK_INSTALLED = "/lib/apk/db/installed"
RPM_SQLITE = "/var/lib/rpm/rpmdb.sqlite"
_PY_META = re.compile(r"^(?P<dir>.*/[^/]+\.(?:dist-info|egg-info))/(?:METADATA|PKG-INFO)$")
_NODE_PKG = re.compile(r"^(?P<dir>.*/node_modules/(?:@[^/]+/)?[^/@][^/]*)/package\.json$")


def package(ecosystem: str, name: Optional[str], version: Optional[str], bytes_: Optional[int], path: str) -> dict:
    return {"ecosystem": ecosystem, "name": name, "version": version, "bytes": bytes_, "path": path}


def wanted_paths(tree: dict[str, Entry]) -> list[str]:
    """The final-filesystem files whose contents name packages."""
    out = [p for p in (DPKG_STATUS, APK_INSTALLED, RPM_SQLITE) if p in tree]
    for path in tree:
        if _PY_META.match(path) or _NODE_PKG.match(path):
            out.append(path)
        elif path.endswith(".dist-info/RECORD"):
            out.append(path)
    return sorted(set(out))


def dpkg_packages(text: str) -> list[dict]:
    """Installed packages of dpkg's status file."""
    out = []
    for fields in dpkg_installed(text):
        size = fields.get("Installed-Size")
        out.append(package("dpkg", fields["Package"], fields.get("Version"),
                           int(size) * 1024 if size and size.isdigit() else None, DPKG_STATUS))
    return out


def apk_packages(text: str) -> list[dict]:
    """Packages of apk's installed database (``P:`` name, ``V:`` version, ``I:`` installed bytes)."""
    out, fields = [], {}
    for line in text.splitlines() + [""]:
        if not line.strip():
            if fields.get("P"):
                size = fields.get("I", "")
                out.append(package("apk", fields["P"], fields.get("V"), int(size) if size.isdigit() else None, APK_INSTALLED))
            fields = {}
        elif len(line) > 2 and line[1] == ":":
            fields.setdefault(line[0], line[2:].strip())
    return out


_RPM_TAGS = {1000: "name", 1001: "version", 1002: "release", 1009: "size"}


def rpm_header(blob: bytes) -> dict:
    """One rpm header blob (as rpmdb.sqlite stores it: index count, data length, index, data) -> its tags."""
    count, _ = struct.unpack(">II", blob[:8])
    data = 8 + 16 * count
    out = {}
    for i in range(count):
        tag, kind, offset, n = struct.unpack(">iIiI", blob[8 + 16 * i: 24 + 16 * i])
        if tag in _RPM_TAGS:
            if kind == 6:  # STRING
                end = blob.index(b"\0", data + offset)
                out[_RPM_TAGS[tag]] = blob[data + offset:end].decode("utf-8", "replace")
            elif kind == 4:  # INT32
                out[_RPM_TAGS[tag]] = struct.unpack(">I", blob[data + offset:data + offset + 4])[0]
    return out


def rpm_packages(db: bytes) -> list[dict]:
    """Packages of an rpm sqlite database (``Packages`` table, one header blob per package)."""
    with tempfile.NamedTemporaryFile(suffix=".sqlite") as fh:
        fh.write(db)
        fh.flush()
        con = sqlite3.connect(f"file:{fh.name}?mode=ro", uri=True)
        try:
            blobs = [row[0] for row in con.execute("SELECT blob FROM Packages")]
        finally:
            con.close()
    out = []
    for blob in blobs:
        tags = rpm_header(blob)
        version = "-".join(v for v in (tags.get("version"), tags.get("release")) if v) or None
        out.append(package("rpm", tags.get("name"), version, tags.get("size"), RPM_SQLITE))
    return out


def _header_fields(text: str) -> dict:
    fields = {}
    for line in text.splitlines():
        if not line.strip():
            break  # the description follows the headers
        key, sep, value = line.partition(":")
        if sep and key and not key[0].isspace():
            fields.setdefault(key.strip(), value.strip())
    return fields


def python_package(meta_path: str, meta_text: str, record_text: Optional[str], tree: dict[str, Entry]) -> dict:
    """A ``*.dist-info`` / ``*.egg-info`` package; bytes are the final-fs files its ``RECORD`` lists."""
    fields = _header_fields(meta_text)
    owned = None
    if record_text is not None:
        root = posixpath.dirname(posixpath.dirname(meta_path))  # the site-packages folder
        owned = 0
        for row in csv.reader(io.StringIO(record_text)):
            if row:
                entry = tree.get(posixpath.normpath(posixpath.join(root, row[0])))
                owned += (entry.size_bytes or 0) if entry is not None and entry.type == "reg" else 0
    return package("python", fields.get("Name"), fields.get("Version"), owned, meta_path)


def npm_package(pkg_path: str, text: str, tree: dict[str, Entry]) -> dict:
    """An npm ``package.json``; bytes are the regular files under its folder, nested node_modules excluded."""
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {}
    folder = posixpath.dirname(pkg_path) + "/"
    owned = sum(e.size_bytes or 0 for p, e in tree.items()
                if p.startswith(folder) and "/node_modules/" not in p[len(folder) - 1:] and e.type == "reg")
    name = doc.get("name") if isinstance(doc, dict) else None
    version = doc.get("version") if isinstance(doc, dict) else None
    return package("npm", name if isinstance(name, str) else None, version if isinstance(version, str) else None,
                   owned, pkg_path)


def inventory(tree: dict[str, Entry], contents: dict[str, bytes]) -> list[dict]:
    """Every package the final filesystem ``tree`` names, from the ``contents`` of ``wanted_paths``."""
    text = {p: data.decode("utf-8", "replace") for p, data in contents.items() if p != RPM_SQLITE}
    out: list[dict] = []
    if DPKG_STATUS in text:
        out += dpkg_packages(text[DPKG_STATUS])
    if APK_INSTALLED in text:
        out += apk_packages(text[APK_INSTALLED])
    if RPM_SQLITE in contents:
        try:
            out += rpm_packages(contents[RPM_SQLITE])
        except (sqlite3.DatabaseError, struct.error, ValueError):
            pass  # an unreadable rpm database names no packages; the rest of the inventory stands
    for path in sorted(text):
        meta = _PY_META.match(path)
        if meta:
            out.append(python_package(path, text[path], text.get(meta.group("dir") + "/RECORD"), tree))
        elif _NODE_PKG.match(path):
            out.append(npm_package(path, text[path], tree))
    return out


def summarize_packages(packages: Iterable[dict]) -> list[dict]:
    """``ecosystem, packages, bytes`` per ecosystem, largest first."""
    totals: dict[str, list[int]] = {}
    for p in packages:
        slot = totals.setdefault(p["ecosystem"], [0, 0])
        slot[0] += 1
        slot[1] += p["bytes"] or 0
    return [{"ecosystem": k, "packages": v[0], "bytes": v[1]} for k, v in sorted(totals.items(), key=lambda kv: -kv[1][1])]

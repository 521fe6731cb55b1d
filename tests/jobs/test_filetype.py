"""File typing: the taxonomy mapping as a pure function, and libmagic paid once per unique digest."""
from __future__ import annotations

import pytest

from jobs.filetype import TYPE_CLASSES, FileTyper, classify
from jobs_layerkit import gz, member, rows, scan, sha, tar_of


@pytest.mark.parametrize("description, mime, expected", [
    ("ELF 64-bit LSB shared object, x86-64, version 1 (GNU/Linux)", "application/x-sharedlib", ("executable", "elf_shared_object")),
    ("ELF 64-bit LSB pie executable, x86-64, dynamically linked", "application/x-pie-executable", ("executable", "elf_executable")),
    ("ELF 64-bit LSB relocatable, x86-64, version 1 (SYSV)", "application/x-object", ("executable", "elf_relocatable")),
    ("current ar archive", "application/x-archive", ("executable", "static_library")),
    ("python 3.11 byte-compiled", "application/x-bytecode.python", ("bytecode", "python")),
    ("compiled Java class data, version 52.0 (Java 1.8)", "application/x-java-applet", ("bytecode", "java_class")),
    ("Compiled terminfo entry \"xterm\"", "application/x-terminfo", ("bytecode", "terminfo")),
    ("Python script, ASCII text executable", "text/x-script.python", ("script", "python")),
    ("POSIX shell script, ASCII text executable", "text/x-shellscript", ("script", "shell")),
    ("Perl script text executable", "text/x-perl", ("script", "perl")),
    ("Ruby script, ASCII text", "text/x-ruby", ("script", "ruby")),
    ("C source, ASCII text", "text/x-c", ("source", "c")),
    ("C++ source, ASCII text", "text/x-c++", ("source", "cpp")),
    ("HTML document, ASCII text", "text/html", ("document", "html_xml")),
    ("XML 1.0 document, ASCII text", "text/xml", ("document", "html_xml")),
    ("PDF document, version 1.4", "application/pdf", ("document", "ps_pdf")),
    ("UTF-8 Unicode text", "text/plain", ("document", "text")),
    ("ASCII text", "text/plain", ("document", "text")),
    ("gzip compressed data, max compression, from Unix", "application/gzip", ("archive", "gzip")),
    ("XZ compressed data, checksum CRC64", "application/x-xz", ("archive", "xz")),
    ("Zip archive data, at least v2.0 to extract", "application/zip", ("archive", "zip")),
    ("Debian binary package (format 2.0)", "application/vnd.debian.binary-package", ("archive", "deb")),
    ("PNG image data, 48 x 48, 8-bit/color RGBA, non-interlaced", "image/png", ("image", "png")),
    ("JPEG image data, JFIF standard 1.01", "image/jpeg", ("image", "jpeg")),
    ("SVG Scalable Vector Graphics image", "image/svg+xml", ("image", "svg")),
    ("SQLite 3.x database, last written using SQLite version 3040001", "application/vnd.sqlite3", ("database", "sqlite")),
    ("Berkeley DB (Hash, version 9, native byte-order)", "application/x-dbm", ("database", "berkeley_db")),
    ("TrueType Font data, 18 tables", "font/sfnt", ("other", "font")),
    ("empty", "inode/x-empty", ("empty", "empty")),
    ("data", "application/octet-stream", ("other", "data")),
    ("something nobody has seen", "application/octet-stream", ("other", "other")),
    (None, None, (None, None)),
])
def test_classify_maps_libmagic_answers_to_the_taxonomy(description, mime, expected):
    assert classify(description, mime) == expected
    assert expected[0] is None or expected[0] in TYPE_CLASSES


def test_libmagic_is_called_once_per_unique_digest():
    typer = FileTyper()
    script = b"#!/bin/sh\necho hello\n"
    members = [member(f"copy{i}.sh", script) for i in range(5)] + [member("empty", b""), member("other", b"\x7fELF\x02\x01\x01")]
    result = scan(gz(tar_of(members)), typer=typer)
    assert typer.calls == 3 and typer.hits == 4
    got = rows(result, "path", "content_sha256", "magic_mime", "type_class", "type_fine")
    assert got[0] == ("/copy0.sh", sha(script), "text/x-shellscript", "script", "shell")
    assert got[1:5] == [(f"/copy{i}.sh", sha(script), "text/x-shellscript", "script", "shell") for i in range(1, 5)]
    assert got[5] == ("/empty", sha(b""), "application/x-empty", "empty", "empty")
    assert got[6][3] == "executable"
    assert rows(result, "magic_description")[5] == ("empty",)
    # Cached across layers (and tasks in a reused Python worker): a second layer costs no libmagic call.
    scan(gz(tar_of([member("again.sh", script)])), typer=typer)
    assert typer.calls == 3


def test_hardlinks_inherit_typing_and_untyped_scan_leaves_nulls():
    import tarfile

    members = [member("bin/tool", b"#!/usr/bin/env python3\nprint(1)\n"), member("bin/tool2", type=tarfile.LNKTYPE, linkname="bin/tool")]
    typed = scan(gz(tar_of(members)), typer=FileTyper())
    assert rows(typed, "type", "type_class", "type_fine") == [("reg", "script", "python"), ("hardlink", "script", "python")]
    untyped = scan(gz(tar_of(members)))
    assert rows(untyped, "magic_description", "magic_mime", "type_class", "type_fine") == [(None,) * 4] * 2

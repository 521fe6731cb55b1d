"""The reference study's file-type taxonomy as one table: libmagic pattern -> study class -> finer type.

Zhao et al. (CLUSTER 2019) typed every file with libmagic and mapped the description strings to
classes; ``RULES`` is that mapping, one row per kind of file, each row tested with real libmagic on
a generated file of that kind (``tests/jobs/test_taxonomy.py``). Patterns are regular expressions
searched in the lower-cased libmagic description; the first matching row wins, so the order is
part of the mapping: bytecode before scripts (libmagic says "Byte-compiled Python module"), scripts
before sources and documents ("Python script, ASCII text executable"), sources, images and
archives before the documents' catch-all ``text`` ("C source, ASCII text", "X pixmap image text").
Where this table follows the study rather than libmagic's own wording: a Java module image
(``jimage``) is bytecode; JavaScript and Perl *modules* (no ``#!``) are source code, scripts are
files with an interpreter line; XPM and XBM are images; Lisp and Fortran programs are source code;
PostScript is a document; an empty file is its own class.
"""
from __future__ import annotations

import re
from typing import NamedTuple, Optional


class Rule(NamedTuple):
    pattern: str  # regular expression over the lower-cased libmagic description
    type_class: str  # the study's class (``CLASS_LABELS`` has its wording)
    type_fine: str  # a finer label within the class


CLASS_LABELS = {
    "executable": "executables, objects and libraries",
    "bytecode": "compiled bytecode",
    "script": "scripts",
    "source": "source code",
    "document": "documents",
    "archive": "archives",
    "image": "images",
    "database": "databases",
    "empty": "empty files",
    "other": "others",
}
TYPE_CLASSES = tuple(CLASS_LABELS)

RULES: tuple[Rule, ...] = (
    Rule(r"^empty$", "empty", "empty"),
    Rule(r"^elf .*relocatable", "executable", "elf_relocatable"),
    Rule(r"^elf .*shared object", "executable", "elf_shared_object"),
    Rule(r"^elf .*executable", "executable", "elf_executable"),
    Rule(r"^elf .*core file", "executable", "elf_core"),
    Rule(r"^elf ", "executable", "elf_other"),
    Rule(r"^pe32\+? executable|^ms-dos executable", "executable", "pe"),
    Rule(r"\bcoff\b", "executable", "coff"),
    Rule(r"^mach-o", "executable", "mach_o"),
    Rule(r"^current ar archive", "executable", "static_library"),
    Rule(r"\blibrary\b", "executable", "library_other"),
    Rule(r"python .*byte-compiled|^byte-compiled python", "bytecode", "python"),
    Rule(r"^compiled java class", "bytecode", "java_class"),
    Rule(r"^java module image", "bytecode", "jimage"),
    Rule(r"terminfo", "bytecode", "terminfo"),
    Rule(r"emacs.*byte-compiled", "bytecode", "emacs"),
    Rule(r"byte-compiled|bytecode", "bytecode", "other_bytecode"),
    Rule(r"^postscript", "document", "ps_pdf"),
    Rule(r"python script", "script", "python"),
    Rule(r"(posix shell|bourne-again shell|\bsh|zsh|dash|ksh|c shell) script", "script", "shell"),
    Rule(r"ruby script", "script", "ruby"),
    Rule(r"node\.?js script", "script", "node"),
    Rule(r"^perl script", "script", "perl"),
    Rule(r"php script", "script", "php"),
    Rule(r"\bscript\b", "script", "other_script"),
    Rule(r"^c source", "source", "c"),
    Rule(r"^c\+\+ source", "source", "cpp"),
    Rule(r"^javascript source", "source", "javascript"),
    Rule(r"^perl5? module source", "source", "perl_module"),
    Rule(r"^lisp/scheme program", "source", "lisp"),
    Rule(r"^fortran program", "source", "fortran"),
    Rule(r"\bsource\b", "source", "other_source"),
    Rule(r"^zip archive|^java archive", "archive", "zip"),
    Rule(r"^gzip compressed", "archive", "gzip"),
    Rule(r"^xz compressed", "archive", "xz"),
    Rule(r"^bzip2 compressed", "archive", "bzip2"),
    Rule(r"^zstandard compressed", "archive", "zstd"),
    Rule(r"tar archive", "archive", "tar"),
    Rule(r"^rpm", "archive", "rpm"),
    Rule(r"^debian binary package", "archive", "deb"),
    Rule(r"archive|compressed data", "archive", "other_archive"),
    Rule(r"^jpeg image", "image", "jpeg"),
    Rule(r"^png image", "image", "png"),
    Rule(r"^svg ", "image", "svg"),
    Rule(r"^tiff image", "image", "tiff"),
    Rule(r"^gif image", "image", "gif"),
    Rule(r"^x pixmap image", "image", "xpm"),
    Rule(r"^xbm image", "image", "xbm"),
    Rule(r"icon resource", "image", "icon"),
    Rule(r"\bimage data\b|\bbitmap\b|^netpbm", "image", "other_image"),
    Rule(r"^berkeley db", "database", "berkeley_db"),
    Rule(r"^sqlite", "database", "sqlite"),
    Rule(r"dbase|\bdbf\b", "database", "dbase"),
    Rule(r"database", "database", "other_database"),
    Rule(r"^html document|^xml |^exported sgml|\bxhtml\b", "document", "html_xml"),
    Rule(r"\btex\b|latex", "document", "tex"),
    Rule(r"^pdf document", "document", "ps_pdf"),
    Rule(r"microsoft (word|excel|powerpoint|office)|opendocument|composite document file", "document", "office"),
    Rule(r"^json ", "document", "json"),
    Rule(r"\btext\b", "document", "text"),
    Rule(r"font", "other", "font"),
    Rule(r"keystore|certificate|private key|public key", "other", "keystore"),
    Rule(r"^data$", "other", "data"),
)
_COMPILED = tuple((re.compile(rule.pattern), rule.type_class, rule.type_fine) for rule in RULES)
_MIME_FALLBACK = (
    ("image/", "image", "other_image"),
    ("text/", "document", "text"),
)


def rule_index(description: str) -> Optional[int]:
    """The position in ``RULES`` of the first row matching a libmagic description, None if none does."""
    lowered = description.lower()
    for index, (pattern, _, _) in enumerate(_COMPILED):
        if pattern.search(lowered):
            return index
    return None


def classify(description: Optional[str], mime: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """The study's class and the finer label for libmagic's answers; ``(None, None)`` if untyped."""
    if description is None:
        return None, None
    index = rule_index(description)
    if index is not None:
        return RULES[index].type_class, RULES[index].type_fine
    for prefix, cls, fine in _MIME_FALLBACK:
        if mime and mime.startswith(prefix):
            return cls, fine
    return "other", "other"

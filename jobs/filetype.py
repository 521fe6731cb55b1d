"""File typing: libmagic on a head of the content, paid once per unique digest, mapped to the study's taxonomy.

libmagic costs ~0.3 ms per call (two calls: description and MIME), which is more than hashing a
typical 2 KB file a hundred times over; but most files in a registry are copies of content seen
before, so answers are cached by content digest (process-wide, so the cache outlives a Spark task
in a reused Python worker, and machine-wide through ``jobs.typecache``). The answer for a digest
depends only on the content, so caching never changes a result. ``classify`` is a pure function from libmagic's answers to the reference study's
classes (``type_class``) and a finer label (``type_fine``); see ``../shared/REFERENCE.md``.
"""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from typing import Optional

from jobs.typecache import BUSY, CLAIMED, SharedTypeCache, open_shared_cache

HEAD_BYTES = 2048  # what libmagic sees; the study's analyzer typed extracted files, we type a head
CACHE_ENTRIES = 1 << 20

Typing = tuple  # (magic_description, magic_mime, type_class, type_fine)

TYPE_CLASSES = ("executable", "bytecode", "script", "source", "document", "archive", "image", "database", "other")

# Ordered rules over the lower-cased libmagic description: the first match wins. Scripts before
# documents because libmagic says "Python script, ASCII text executable"; archives before documents
# because "gzip compressed data" never is text.
_RULES: tuple[tuple[str, str, str], ...] = (
    ("other", "empty", r"^empty$"),
    ("executable", "elf_relocatable", r"^elf .*relocatable"),
    ("executable", "elf_shared_object", r"^elf .*shared object"),
    ("executable", "elf_executable", r"^elf .*executable"),
    ("executable", "elf_core", r"^elf .*core file"),
    ("executable", "elf_other", r"^elf "),
    ("executable", "pe", r"^pe32\+? executable|^ms-dos executable"),
    ("executable", "coff", r"coff"),
    ("executable", "mach_o", r"^mach-o"),
    ("executable", "static_library", r"^current ar archive"),
    ("executable", "library_other", r"\blibrary\b"),
    ("bytecode", "python", r"python .*byte-compiled|^byte-compiled python"),
    ("bytecode", "java_class", r"^compiled java class"),
    ("bytecode", "terminfo", r"terminfo"),
    ("bytecode", "emacs", r"emacs.*(byte-compiled|lisp)|^emacs"),
    ("bytecode", "other_bytecode", r"byte-compiled|bytecode"),
    ("script", "python", r"python script|python.*text executable"),
    ("script", "shell", r"(posix shell|bourne-again shell|sh|zsh|dash|ksh|c shell) script"),
    ("script", "ruby", r"ruby script"),
    ("script", "node", r"node\.?js script|javascript"),
    ("script", "perl", r"perl( \S+)* script|perl5? module"),
    ("script", "php", r"php script"),
    ("script", "other_script", r"script"),
    ("source", "c", r"^c source"),
    ("source", "cpp", r"^c\+\+ source"),
    ("source", "other_source", r"\bsource\b"),
    ("archive", "zip", r"^zip archive|^java archive|^jar"),
    ("archive", "gzip", r"^gzip compressed"),
    ("archive", "xz", r"^xz compressed"),
    ("archive", "bzip2", r"^bzip2 compressed"),
    ("archive", "zstd", r"^zstandard compressed"),
    ("archive", "tar", r"tar archive"),
    ("archive", "rpm", r"^rpm"),
    ("archive", "deb", r"debian binary package"),
    ("archive", "other_archive", r"archive|compressed data"),
    ("image", "jpeg", r"^jpeg image"),
    ("image", "png", r"^png image"),
    ("image", "svg", r"^svg "),
    ("image", "tiff", r"^tiff image"),
    ("image", "gif", r"^gif image"),
    ("image", "icon", r"icon resource|^ms windows icon"),
    ("image", "other_image", r"\bimage data\b|\bbitmap\b|^netpbm"),
    ("database", "berkeley_db", r"berkeley db"),
    ("database", "sqlite", r"^sqlite"),
    ("database", "dbase", r"dbase"),
    ("database", "other_database", r"database"),
    ("document", "html_xml", r"^html document|^xml |^exported sgml|\bxhtml\b"),
    ("document", "tex", r"\btex\b|latex"),
    ("document", "ps_pdf", r"^postscript|^pdf document"),
    ("document", "office", r"microsoft (word|excel|powerpoint|office)|opendocument|composite document file"),
    ("document", "json", r"^json "),
    ("document", "text", r"\btext\b"),
    ("other", "font", r"font"),
    ("other", "keystore", r"keystore|certificate|pem |private key|public key"),
    ("other", "data", r"^data$"),
)
_COMPILED = tuple((cls, fine, re.compile(pattern)) for cls, fine, pattern in _RULES)
_MIME_FALLBACK = (
    ("image/", "image", "other_image"),
    ("text/", "document", "text"),
)


def classify(description: Optional[str], mime: Optional[str]) -> tuple[Optional[str], Optional[str]]:
    """The taxonomy class and finer label for libmagic's answers; ``(None, None)`` if untyped."""
    if description is None:
        return None, None
    lowered = description.lower()
    for cls, fine, pattern in _COMPILED:
        if pattern.search(lowered):
            return cls, fine
    for prefix, cls, fine in _MIME_FALLBACK:
        if mime and mime.startswith(prefix):
            return cls, fine
    return "other", "other"


class FileTyper:
    """libmagic description + MIME for a content head, cached by content digest (thread-safe)."""

    def __init__(self, head_bytes: int = HEAD_BYTES, cache_entries: int = CACHE_ENTRIES,
                 shared: Optional[SharedTypeCache] = None) -> None:
        import magic

        self.head_bytes = head_bytes
        self.shared = shared  # answers other processes on this machine already paid for
        self._describe = magic.Magic()
        self._mime = magic.Magic(mime=True)
        self._cache: OrderedDict[str, Typing] = OrderedDict()
        self._limit = cache_entries
        self._lock = threading.Lock()
        self.calls = 0  # libmagic answers paid here
        self.hits = 0  # answers found in a cache
        self.deferred = 0  # times a content was left for later because another worker was typing it

    def type_of(self, digest: str, head: bytes, defer: bool = False) -> Optional[Typing]:
        """Typing of the content with ``digest`` whose first bytes are ``head``.

        With ``defer``, None when another worker on this machine is typing that content right now:
        ask again later (``jobs.layer_scanner`` does, before it writes the rows). Without, always an answer.
        """
        cached = self._cache.get(digest)
        if cached is not None:
            self.hits += 1
            return cached
        with self._lock:
            known = self._claim(digest, defer)
            if known is None:
                self.deferred += 1
                return None
            if isinstance(known, tuple):
                description, mime = known
                self.hits += 1
            else:
                head = head[: self.head_bytes]
                description = self._describe.from_buffer(head)
                mime = self._mime.from_buffer(head)
                self.calls += 1
                if self.shared is not None:
                    self.shared.put(digest, description, mime)
            typing = (description, mime, *classify(description, mime))
            self._cache[digest] = typing
            if len(self._cache) > self._limit:
                self._cache.popitem(last=False)
        return typing

    def _claim(self, digest: str, defer: bool):
        """The shared answer, CLAIMED (type it here), or None (deferred: another worker has it)."""
        if self.shared is None:
            return CLAIMED
        if not defer:
            return self.shared.get(digest) or CLAIMED
        known = self.shared.claim(digest)
        return None if known == BUSY else known


_shared: Optional[FileTyper] = None
_shared_dir: Optional[str] = None


def shared_typer(cache_dir: Optional[str] = None) -> FileTyper:
    """One typer per process, so its cache serves every task a reused Spark Python worker runs;
    beneath it the machine's shared cache (``jobs.typecache``, in ``cache_dir`` or its default)
    serves every worker on the node."""
    global _shared, _shared_dir
    if _shared is None or cache_dir != _shared_dir:
        import magic

        _shared = FileTyper(shared=open_shared_cache(str(magic.version()), cache_dir))
        _shared_dir = cache_dir
    return _shared

"""The taxonomy table row by row, with real libmagic on a generated file of each kind."""
from __future__ import annotations

import magic
import pytest

from jobs.filetype import FileTyper
from jobs.taxonomy import RULES, TYPE_CLASSES, classify, rule_index
from taxonomy_samples import SAMPLES

DESCRIBE, MIME = magic.Magic(), magic.Magic(mime=True)


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_kind_gets_the_studys_class(name):
    content, expected = SAMPLES[name]
    description = DESCRIBE.from_buffer(content)
    assert classify(description, MIME.from_buffer(content)) == expected, description
    assert expected[0] in TYPE_CLASSES


def test_every_row_of_the_table_is_reached_by_a_real_file():
    reached = {rule_index(DESCRIBE.from_buffer(content)) for content, _ in SAMPLES.values()}
    missing = [RULES[i] for i in range(len(RULES)) if i not in reached]
    assert missing == []


def test_what_the_study_classes_differently_from_libmagics_wording():
    """Issue 11's cases: jimage is bytecode, JS/Perl modules and Lisp/Fortran are source, XPM/XBM are
    images, PostScript is a document, an empty file is its own class."""
    typer = FileTyper()
    got = {name: typer.type_of(name, SAMPLES[name][0])[2:] for name in (
        "jimage", "javascript_module", "perl_module", "node_script", "perl_script", "xpm", "xbm", "lisp", "fortran",
        "postscript", "empty")}
    assert got == {
        "jimage": ("bytecode", "jimage"), "javascript_module": ("source", "javascript"),
        "perl_module": ("source", "perl_module"), "node_script": ("script", "node"), "perl_script": ("script", "perl"),
        "xpm": ("image", "xpm"), "xbm": ("image", "xbm"), "lisp": ("source", "lisp"), "fortran": ("source", "fortran"),
        "postscript": ("document", "ps_pdf"), "empty": ("empty", "empty"),
    }


def test_unmatched_answers_fall_back_by_mime_then_other():
    assert classify("something nobody has seen", "image/x-new") == ("image", "other_image")
    assert classify("something nobody has seen", "text/x-new") == ("document", "text")
    assert classify("something nobody has seen", "application/octet-stream") == ("other", "other")
    assert classify(None, None) == (None, None)
